"""Settings variants this pattern's templates are also synthesized, snapshotted and linted in
(see ``tests/support.py``): settings that change which resources exist."""

VARIANTS = {"sandbox-model-monitor": {"model-monitor.engine": "model-monitor"}}
