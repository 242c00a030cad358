"""Pattern ``batch-jobs``: AWS Batch on Spot EC2 and Fargate, scheduled and orchestrated.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import CostBand, Pattern

PATTERN = Pattern(
    id="batch-jobs",
    order=150,
    stack_name="MlRefArch-BatchJobs",
    title="Batch jobs on Spot and Fargate",
    notes_section="AWS Batch; Step functions; EBS",
    summary=(
        "Managed Spot EC2 and Fargate compute environments with their queues, a retried "
        "container job from ECR Public (through a pull through cache), a schedule and a "
        "Step Functions workflow that submit it, in isolated subnets"
    ),
    stack_class="BatchJobsStack",
    # 6 interface endpoints x 1 AZ (sandbox) or 2 AZs, key; Batch capacity scales from 0 vCPUs.
    idle_cost_band=CostBand(sandbox=(44, 46), production=(88, 90)),
)
