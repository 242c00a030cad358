"""Pattern ``studio-domain``: VPC-only SageMaker Studio.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import CostBand, Pattern

PATTERN = Pattern(
    id="studio-domain",
    order=30,
    stack_name="MlRefArch-StudioDomain",
    title="VPC-only SageMaker Studio",
    notes_section="Sagemaker notebook; Security",
    summary=(
        "Studio domain in VPC-only mode with KMS, a guarded user profile and a JupyterLab"
        " lifecycle configuration"
    ),
    stack_class="StudioDomainStack",
    # 7 interface endpoints x 1 AZ (sandbox) or 2 AZs, and the key.
    idle_cost_band=CostBand(sandbox=(51, 53), production=(100, 106)),
)
