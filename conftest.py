"""Root conftest: the shared fixtures come from the package so executor authors get the same ones."""

pytest_plugins = ["spark_enrich.testing.fixtures"]
