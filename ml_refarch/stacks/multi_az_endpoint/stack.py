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

The shape is shared with ``ab-variants``: see :mod:`ml_refarch.stacks._endpoint_common`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ml_refarch.constructs.hosting import HostedModel, Variant
from ml_refarch.model_artifacts import DEFAULT_MODEL
from ml_refarch.stacks._endpoint_common import EndpointPatternStack
from ml_refarch.stacks.multi_az_endpoint.settings import MultiAzEndpointSettings

#: The variant name SageMaker's own examples use for an endpoint's only variant.
VARIANT_NAME = "AllTraffic"


class MultiAzEndpointStack(EndpointPatternStack):
    """One committed model on two or more instances across zones, scaled and alarmed."""

    pattern_id = "multi-az-endpoint"
    purpose = "multi-AZ endpoint"

    def model_names(self, settings: MultiAzEndpointSettings) -> Sequence[str]:
        return [DEFAULT_MODEL]

    def variants(
        self, settings: MultiAzEndpointSettings, models: Mapping[str, HostedModel]
    ) -> list[Variant]:
        return [Variant.from_settings(VARIANT_NAME, models[DEFAULT_MODEL], settings)]
