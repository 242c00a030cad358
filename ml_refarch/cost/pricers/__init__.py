"""The pricers, one module per service area; importing this package registers them all.

See :mod:`ml_refarch.cost.registry` for what a pricer is. Each module's docstring says what
its resource types cost idle and what they leave to use.
"""

# Importing the area modules registers their pricers, in this order.
from ml_refarch.cost.pricers import (  # noqa: F401  isort: skip
    networking,
    streaming,
    storage,
    notebooks,
    hosting,
    api,
    jobs,
    warehouse,
    analytics,
)
