"""Pattern ``ml-workflow``: Train, tune and deploy with Step Functions.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import CostBand, Pattern

PATTERN = Pattern(
    id="ml-workflow",
    order=50,
    stack_name="MlRefArch-MlWorkflow",
    title="Train, tune and deploy with Step Functions",
    notes_section="Step functions; Sagemaker; Security; Automatic model tuning",
    summary=(
        "State machine: spot training with checkpoints or log-scale tuning, then model, "
        "endpoint config and endpoint; retries, SNS alerts, encrypted logs, X-Ray"
    ),
    stack_class="MlWorkflowStack",
    # The key; the endpoint the state machine deploys is usage-based.
    idle_cost_band=CostBand(sandbox=(0.5, 2), production=(0.5, 2)),
)
