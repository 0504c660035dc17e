"""Parity you can prove: compare two tables field by field (:func:`diff_frames`), recompute a
pipeline's output and compare it with its sink, and check that executors are deterministic.

Importing it starts no JVM; like the rest of the engine, it never imports the executors.
"""

from spark_enrich.parity.diff import DiffError, diff_frames
from spark_enrich.parity.report import DiffReport, FieldDiff, RowDiff

__all__ = ["DiffError", "DiffReport", "FieldDiff", "RowDiff", "diff_frames"]
