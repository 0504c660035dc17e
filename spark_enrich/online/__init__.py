"""Online serving: per-user sequences in a Redis-protocol store, written by the sequence sink's
fold, read by an HTTP API (``spark-enrich serve``) — the third runtime of one definition."""
