"""Pattern ``serverless-inference``: Serverless inference endpoint.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import CostBand, Pattern

PATTERN = Pattern(
    id="serverless-inference",
    order=100,
    stack_name="MlRefArch-ServerlessInference",
    title="Serverless inference endpoint",
    notes_section="Serverless inference",
    summary=(
        "Endpoint with a serverless variant (memory, max and optional provisioned "
        "concurrency from config), no instances and no VPC, so it costs nothing idle"
    ),
    stack_class="ServerlessInferenceStack",
    # The key: serverless capacity bills per request.
    idle_cost_band=CostBand(sandbox=(0.5, 2), production=(0.5, 2)),
    replaces=("Amazon Elastic Inference",),
)
