"""Pattern ``multi-model-endpoint``: Multi-model endpoint.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import Pattern
from ml_refarch.endpoint_settings import ENDPOINT_IDLE_COST_REASON, ONE_VARIANT_IDLE_BAND

PATTERN = Pattern(
    id="multi-model-endpoint",
    order=90,
    stack_name="MlRefArch-MultiModelEndpoint",
    title="Multi-model endpoint",
    notes_section="SG Endpoint; Inference; Security",
    summary=(
        "One network-isolated XGBoost container in MultiModel mode over a KMS bucket "
        "prefix holding several artifacts, picked per request by TargetModel; 2+ "
        "instances with scaling and alarms"
    ),
    stack_class="MultiModelEndpointStack",
    idle_cost_reason=ENDPOINT_IDLE_COST_REASON,
    idle_cost_band=ONE_VARIANT_IDLE_BAND,
)
