"""Example executors of a pin-sharing app: ``engagement``, ``search`` and ``impressions``, and
``sequence_items`` (the enriched events as items of per-user sequences).

Importing this package imports every executor module, so their ``@executor`` declarations
register them; the ``spark_enrich.executors`` entry point ``examples`` names this package.
Executors use only the engine's public API (``from spark_enrich import ...``).
"""

from spark_enrich_examples.engagement import Engagement, EngagementParams
from spark_enrich_examples.impressions import Impressions, ImpressionsParams
from spark_enrich_examples.search import Search, SearchParams
from spark_enrich_examples.sequence_items import SequenceItems

__all__ = [
    "Engagement",
    "EngagementParams",
    "Impressions",
    "ImpressionsParams",
    "Search",
    "SearchParams",
    "SequenceItems",
]
