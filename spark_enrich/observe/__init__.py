"""What a pipeline shows its operators: ``spark-enrich status`` (last runs, stream liveness,
thresholds, completeness per day) and ``spark-enrich report`` (charts), read from the metrics
table, the checkpoint and the sink."""
