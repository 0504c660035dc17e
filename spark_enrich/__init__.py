"""spark-enrich: one enrichment engine for Spark streaming, batch and backfill into Delta Lake."""
