"""Pattern ``ab-variants``: A/B testing with production variants.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import CostBand, Pattern
from ml_refarch.endpoint_settings import ENDPOINT_IDLE_COST_REASON

PATTERN = Pattern(
    id="ab-variants",
    order=70,
    stack_name="MlRefArch-AbVariants",
    title="A/B testing with production variants",
    notes_section="SG Endpoint; Inference; Security",
    summary=(
        "One weighted production variant per model version on one endpoint, each on 2+ "
        "instances with scaling and alarms; shift traffic without redeploying"
    ),
    stack_class="AbVariantsStack",
    idle_cost_reason=f"an A/B test needs two variants, and {ENDPOINT_IDLE_COST_REASON}",
    # Two variants of two instances each, and the key.
    idle_cost_band=CostBand(sandbox=(297, 300), production=(335, 338)),
)
