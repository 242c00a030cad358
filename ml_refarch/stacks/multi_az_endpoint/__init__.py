"""Pattern ``multi-az-endpoint``: Multi-AZ real-time endpoint.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import Pattern
from ml_refarch.endpoint_settings import ENDPOINT_IDLE_COST_REASON, ONE_VARIANT_IDLE_BAND

PATTERN = Pattern(
    id="multi-az-endpoint",
    order=60,
    stack_name="MlRefArch-MultiAzEndpoint",
    title="Multi-AZ real-time endpoint",
    notes_section="Inference; SG Endpoint; Security",
    summary=(
        "Network-isolated model in isolated subnets of 2+ AZs on 2+ instances, KMS "
        "volumes, target tracking with cooldowns, 5xx and latency alarms to encrypted SNS"
    ),
    stack_class="MultiAzEndpointStack",
    idle_cost_reason=ENDPOINT_IDLE_COST_REASON,
    idle_cost_band=ONE_VARIANT_IDLE_BAND,
)
