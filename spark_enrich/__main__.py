"""``python -m spark_enrich`` and ``spark-submit .../spark_enrich/__main__.py``: the CLI."""

from spark_enrich.cli import main

if __name__ == "__main__":
    main()
