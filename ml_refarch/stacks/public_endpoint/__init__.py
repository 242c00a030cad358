"""Pattern ``public-endpoint``: Public REST API in front of a private endpoint.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import CostBand, Pattern
from ml_refarch.endpoint_settings import ENDPOINT_IDLE_COST_REASON

PATTERN = Pattern(
    id="public-endpoint",
    order=80,
    stack_name="MlRefArch-PublicEndpoint",
    title="Public REST API in front of a private endpoint",
    notes_section="SG Endpoint; Inference; Security",
    summary=(
        "POST /predict on API Gateway calls the private endpoint directly (no Lambda) "
        "with a role for that endpoint only; IAM or API-key auth, JSON schema validation,"
        " throttling, encrypted access logs, WAF in production"
    ),
    stack_class="PublicEndpointStack",
    idle_cost_reason=ENDPOINT_IDLE_COST_REASON,
    # One variant of two instances and the key; production adds the web ACL ($5) and 3 rules ($3).
    idle_cost_band=CostBand(sandbox=(148, 151), production=(173, 180)),
)
