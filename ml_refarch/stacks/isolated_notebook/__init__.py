"""Pattern ``isolated-notebook``: VPC-isolated notebook instance.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import CostBand, Pattern

PATTERN = Pattern(
    id="isolated-notebook",
    order=20,
    stack_name="MlRefArch-IsolatedNotebook",
    title="VPC-isolated notebook instance",
    notes_section="Sagemaker notebook; Security",
    summary=(
        "Notebook without internet or root in isolated subnets with VPC endpoints, "
        "offline package installs, guardrails that keep jobs in the VPC"
    ),
    stack_class="IsolatedNotebookStack",
    # 7 interface endpoints x 1 AZ (sandbox) or 2 AZs, the ml.t3.medium instance, 5 GB, key.
    idle_cost_band=CostBand(sandbox=(88, 91), production=(135, 145)),
)
