"""``sink.dedup``: a window for append and merge sinks; refused with a sequence fold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from spark_enrich.config.models import Sink


def test_a_merge_sink_takes_a_dedup_window() -> None:
    sink = Sink.model_validate({"path": "/tmp/x", "mode": "merge", "dedup": {"window": "1h"}})
    assert sink.dedup is not None and sink.dedup.window == timedelta(hours=1)


def test_dedup_with_a_sequence_fold_is_refused_naming_the_modes_allowed() -> None:
    with pytest.raises(ValidationError) as raised:
        Sink.model_validate(
            {
                "path": "/tmp/x",
                "mode": "sequence",
                "sequence": {"group_by": ["user_id"], "order_by": ["event_time"], "length": 5},
                "dedup": {"window": "1h"},
            }
        )
    errors = raised.value.errors()
    assert [e["type"] for e in errors] == ["DEDUP_NEEDS_ROWS"]
    assert "mode: append or mode: merge" in str(errors[0]["ctx"])


def test_a_dedup_window_must_be_a_positive_duration() -> None:
    with pytest.raises(ValidationError):
        Sink.model_validate({"path": "/tmp/x", "dedup": {"window": "0s"}})
