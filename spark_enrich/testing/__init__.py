"""Helpers for executor authors and for spark-enrich's own tests: a real local Kafka broker,
pytest fixtures and parity assertions. Nothing here is imported by the engine's run path."""
