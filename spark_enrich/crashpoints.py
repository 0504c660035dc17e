"""A test hook for crash tests: hold the driver at a named point between two commits, so a test
can SIGKILL it exactly there. Inert unless the environment variable below names the point.

``SPARK_ENRICH_TEST_PAUSE_AT=<point>:<file>`` makes the process create ``<file>`` when it
reaches ``<point>`` and then wait there for ever (the test kills it). Points:

- ``after-dead-letters``: a batch's dead letters are committed, its sink commit is next.
- ``after-sink``: a batch's sink commit is made; a stream's checkpoint commit is next.
- ``online-sync-bucket-loaded``: (in a Spark task) ``online sync`` recorded a bucket as loaded.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

PAUSE_ENV = "SPARK_ENRICH_TEST_PAUSE_AT"

log = logging.getLogger(__name__)


def reached(point: str) -> None:
    """Hold here for ever when :data:`PAUSE_ENV` names ``point``; otherwise return at once."""
    setting = os.environ.get(PAUSE_ENV)
    if not setting:
        return
    name, _, marker = setting.partition(":")
    if name != point or not marker:
        return
    log.warning("test hook: holding at %s until killed (%s is set)", point, PAUSE_ENV)
    Path(marker).write_text(point)
    while True:
        time.sleep(60)
