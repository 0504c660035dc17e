"""Benchmarks of spark-enrich, each printed as ratios against references measured in the same
run (``python -m benchmarks --help``). Speed belongs here, never in timed tests."""
