"""Root conftest: the shared fixtures come from the package, so executor authors get the same."""

pytest_plugins = ["spark_enrich.testing.fixtures"]
