"""How batches are scheduled: once (batch), per date chunk (backfill), per trigger (stream).
Every runtime hands its batches to :func:`spark_enrich.process.process_batch`."""
