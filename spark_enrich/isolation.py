"""Poison-row isolation: finding the rows that make an executor raise by re-running it on halves
of them, and telling such rows apart from failures that are not about rows (which fail the
batch at once, with their real cause)."""

from __future__ import annotations

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_enrich.columns import META
from spark_enrich.errors import ExecutorContractError, PipelineRunError
from spark_enrich.failures import not_about_rows
from spark_enrich.stages import BoundExecutor, Conformance, apply_stages

MAX_POISON_ROWS = 64
"""More failing rows than this in one batch is an executor bug, not poison: the batch fails."""


def fail_if_not_about_rows(exc: BaseException, executors: list[str]) -> None:
    """Raise the batch's failure at once when ``exc`` cannot be blamed on any row.

    Raises:
        PipelineRunError: ``INFRASTRUCTURE_ERROR`` naming the real cause (the missing module,
            the lost executor, the unreachable service), or ``SERVICE_FAILED`` for a service
            whose ``on_failure`` is ``fail``.
    """
    found = not_about_rows(exc)
    if found is None:
        return
    names = ", ".join(repr(n) for n in executors)
    who = f"Executor {names}" if len(executors) == 1 else f"Executors {names} (in one job)"
    params: dict[str, object] = {"executors": executors, "kind": found.kind, "cause": found.cause}
    if found.kind == "service_failed":
        raise PipelineRunError(
            "SERVICE_FAILED",
            f"{who} failed: {found.cause}. {found.hint} Nothing of the batch was written.",
            params,
        ) from exc
    if found.module is not None:
        params["module"] = found.module
    what = f"module {found.module!r} not found on the workers" if found.module else found.kind
    raise PipelineRunError(
        "INFRASTRUCTURE_ERROR",
        f"{who} failed for a reason that is not about the rows ({what}): {found.cause}. "
        f"{found.hint} No row was dead-lettered and nothing of the batch was written.",
        params,
    ) from exc


def fails(bound: BoundExecutor, rows: DataFrame, contract: Conformance) -> BaseException | None:
    """The exception the executor raises on ``rows`` (``None`` when it does not), by one job
    computing every output column as the batch's own job does.

    Raises:
        PipelineRunError: the failure is not about the rows (:func:`fail_if_not_about_rows`).
    """
    _, normalised = apply_stages(bound, rows)
    try:
        contract.apply(normalised, bound.name).write.format("noop").mode("overwrite").save()
    except ExecutorContractError:
        raise
    except Exception as exc:
        fail_if_not_about_rows(exc, [bound.name])
        return exc
    return None


class PoisonSearch:
    """Finds the rows that make an executor fail, by re-running it on halves of them.

    The rows' ids are sorted once on the driver, so every part is a contiguous range of ids
    whose size is known without a job; each test is one job. A row is a poison row only when
    the executor fails on that row alone, and the search stops as soon as more than
    :data:`MAX_POISON_ROWS` are found: past that the batch fails anyway.
    """

    def __init__(self, bound: BoundExecutor, rows: DataFrame, contract: Conformance) -> None:
        self.bound = bound
        self.rows = rows
        self.contract = contract
        row_id = F.col(f"{META}.row_id")
        # 8 bytes per row through Arrow, only for an executor that failed on its rows.
        self.ids = np.unique(rows.select(row_id.alias("id")).toArrow().column("id").to_numpy())
        self.found: dict[int, BaseException] = {}
        """Poison row id -> the error the executor raises on that row alone."""

    def run(self) -> dict[int, BaseException]:
        """Search every row (they failed together); stops after ``MAX_POISON_ROWS + 1``."""
        self._search(0, len(self.ids), None)
        return self.found

    def _done(self) -> bool:
        return len(self.found) > MAX_POISON_ROWS

    def _test(self, lo: int, hi: int) -> BaseException | None:
        row_id = F.col(f"{META}.row_id")
        part = self.rows.where(row_id.between(int(self.ids[lo]), int(self.ids[hi - 1])))
        return fails(self.bound, part, self.contract)

    def _search(self, lo: int, hi: int, error: BaseException | None) -> None:
        """Find the failing rows among ``ids[lo:hi]``; ``error`` is the part's own failure
        when it was tested, ``None`` when it is only known that it should fail."""
        if self._done() or hi <= lo:
            return
        if hi - lo == 1:
            if error is None:
                error = self._test(lo, hi)
            if error is not None:
                self.found[int(self.ids[lo])] = error
            return
        mid = (lo + hi) // 2
        left = self._test(lo, mid)
        if left is not None:
            self._search(lo, mid, left)
            if not self._done():
                right = self._test(mid, hi)
                if right is not None:
                    self._search(mid, hi, right)
        else:
            # The left half passed, so the failure is in the right half: it is not tested as a
            # whole, only its parts (a single row always is, so none is blamed untested).
            self._search(mid, hi, None)
