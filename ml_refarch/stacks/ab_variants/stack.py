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
a later ``cdk deploy`` that changes the configuration sets the weights from the configuration again.
"""

from __future__ import annotations

from ml_refarch.constructs.model_endpoint import ServedVariant, committed_model_endpoint
from ml_refarch.model_artifacts import RECIPES
from ml_refarch.stacks.ab_variants.settings import AbVariantsSettings
from ml_refarch.stacks.base import PatternStack


class AbVariantsStack(PatternStack):
    """One production variant per committed model version, weighted, scaled and alarmed.

    Attributes:
        settings: the pattern's settings.
        hosting: the foundation (``.key``, ``.network``, ``.role``, ``.topic``).
        endpoint: the models and the endpoint, its scaling and alarms.
    """

    def build(self, settings: AbVariantsSettings) -> None:
        # The config allows at most one weight per committed model, in RECIPES order.
        names = [recipe.name for recipe in RECIPES[: len(settings.weights)]]
        self.endpoint = committed_model_endpoint(
            self,
            defaults=self.defaults,
            purpose="A/B production variants",
            variants=[
                ServedVariant(model=name, name=name, initial_weight=weight)
                for name, weight in zip(names, settings.weights, strict=True)
            ],
            hosting=settings,
        )
        self.hosting = self.endpoint.foundation
        self.endpoint_outputs(self.endpoint)
