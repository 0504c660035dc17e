"""Example executors of a pin-sharing app: ``engagement``, ``search`` and ``impressions``.

Importing this package imports every executor module, so their ``@executor`` declarations
register them; the ``spark_enrich.executors`` entry point ``examples`` names this package.
Executors use only the engine's public API (``from spark_enrich import ...``).
"""

from executors.engagement import Engagement, EngagementParams
from executors.impressions import Impressions, ImpressionsParams
from executors.search import Search, SearchParams

__all__ = [
    "Engagement",
    "EngagementParams",
    "Impressions",
    "ImpressionsParams",
    "Search",
    "SearchParams",
]
