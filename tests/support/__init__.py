"""Helpers shared by the test folders (on ``sys.path`` through pytest's ``pythonpath``).

- :mod:`support.registry`: the isolated executor registry every test builds its executors in.
- :mod:`support.jobs`: the Spark jobs a block of code runs, and which of them failed.
- :mod:`support.config`: the configuration tests' executors and sample folders (no pyspark).
- :mod:`support.engine`: the engine tests' raw events, tiny executors and pipeline config.
- :mod:`support.executors`: hand-written decoded events and contract rows for executor tests.
- :mod:`support.corpus` and :mod:`support.deadletters`: the hostile corpus and its pipeline.
- :mod:`support.runtime`, :mod:`support.service` and :mod:`support.checked_executor`: the demo
  pipeline on fresh topics, a flaky enrichment service and stream subprocesses.
"""
