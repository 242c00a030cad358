"""Pattern ``ab-variants``: several model versions behind one endpoint, traffic split by weight.

Notes section "SG Endpoint" (production variants test several models on live traffic by
sharing it among them), with "Inference" (each variant runs two or more instances in two or
more zones and scales on invocations per instance) and "Security" (KMS volumes, isolated
containers). Resources:

- one network-isolated XGBoost model per committed model version that
  ``ab-variants.weights`` gives a weight (``churn-v1``, ``churn-v2``), in the isolated VPC,
- an endpoint configuration with one production variant per model, named after it, with
  that initial weight, each on ``ab-variants.instance_count`` instances, and the stack's key,
- the endpoint; per variant, target tracking on invocations per instance with cooldowns and
  alarms on 5xx errors and model latency to an encrypted SNS topic.

The weights are the starting split. ``UpdateEndpointWeightsAndCapacities`` shifts traffic on
the running endpoint without redeploying (``python -m ml_refarch smoke ab-variants --set-weights``);
a later ``cdk deploy`` that changes the configuration sets the weights from cdk.json again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ml_refarch.config import AbVariantsSettings
from ml_refarch.constructs.hosting import HostedModel, Variant
from ml_refarch.model_artifacts import RECIPES
from ml_refarch.stacks._endpoint_common import EndpointPatternStack


class AbVariantsStack(EndpointPatternStack):
    """One production variant per committed model version, weighted, scaled and alarmed."""

    pattern_id = "ab-variants"
    purpose = "A/B production variants"

    def model_names(self, settings: AbVariantsSettings) -> Sequence[str]:
        # The config allows at most one weight per committed model, in RECIPES order.
        return [recipe.name for recipe in RECIPES[: len(settings.weights)]]

    def variants(
        self, settings: AbVariantsSettings, models: Mapping[str, HostedModel]
    ) -> list[Variant]:
        return [
            Variant.from_settings(name, models[name], settings, initial_weight=weight)
            for name, weight in zip(self.model_names(settings), settings.weights, strict=True)
        ]
