"""Pattern ``fsx-training``: Training from FSx for Lustre.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import CostBand, Pattern

PATTERN = Pattern(
    id="fsx-training",
    order=40,
    stack_name="MlRefArch-FsxTraining",
    title="Training from FSx for Lustre",
    notes_section="S3; Data input; Sagemaker; Security",
    summary=(
        "Lustre file system linked to a KMS bucket, Lustre ports open only within its "
        "group, a scoped training role; spot jobs with checkpoints via its train command"
    ),
    stack_class="FsxTrainingStack",
    idle_cost_reason=(
        "an FSx for Lustre file system bills for its whole capacity every hour it exists, "
        "and the smallest SSD file system is 1,200 GiB (SCRATCH_2 at $0.14 per GB-month)"
    ),
    # 1200 GiB of Lustre (scratch in sandbox, persistent in production) and the key.
    idle_cost_band=CostBand(sandbox=(165, 172), production=(170, 178)),
)
