"""Pattern ``multi-az-endpoint``: a real-time endpoint that survives losing an instance or a zone.

Notes sections "Inference" (SageMaker spreads an endpoint's instances across Availability
Zones, but only when there are two or more of them and the model's VPC has subnets in two or
more zones; production endpoints scale with a policy on a target metric, minimum and maximum
capacity and cooldowns), "SG Endpoint" (an endpoint answers only signed requests) and
"Security" (KMS for the instance volumes, network-isolated containers). Resources:

- the committed ``churn-v1`` XGBoost model, network isolated, in the isolated subnets of
  two or more zones,
- an endpoint configuration with one variant (``AllTraffic``) of
  ``multi-az-endpoint.instance_count`` (2 or more) instances and the stack's key,
- the endpoint; target tracking on invocations per instance between the configured minimum
  (2 or more) and maximum, with both cooldowns,
- CloudWatch alarms on 5xx errors and average model latency, sent to an encrypted SNS topic.

Built from :class:`~ml_refarch.constructs.model_endpoint.ModelEndpoint`, as the A/B variants
pattern is.
"""

from __future__ import annotations

from ml_refarch.constructs.model_endpoint import ServedVariant, committed_model_endpoint
from ml_refarch.model_artifacts import DEFAULT_MODEL
from ml_refarch.stacks.base import PatternStack
from ml_refarch.stacks.multi_az_endpoint.settings import MultiAzEndpointSettings


class MultiAzEndpointStack(PatternStack):
    """One committed model on two or more instances across zones, scaled and alarmed.

    Attributes:
        settings: the pattern's settings.
        hosting: the foundation (``.key``, ``.network``, ``.role``, ``.topic``).
        endpoint: the model and the endpoint, its scaling and alarms.
    """

    def build(self, settings: MultiAzEndpointSettings) -> None:
        self.endpoint = committed_model_endpoint(
            self,
            defaults=self.defaults,
            purpose="multi-AZ endpoint",
            variants=[ServedVariant(model=DEFAULT_MODEL)],
            hosting=settings,
        )
        self.hosting = self.endpoint.foundation
        self.endpoint_outputs(self.endpoint)
