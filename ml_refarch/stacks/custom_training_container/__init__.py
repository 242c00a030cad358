"""Pattern ``custom-training-container``: Your own training image, built by CodeBuild.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import CostBand, Pattern

PATTERN = Pattern(
    id="custom-training-container",
    order=220,
    stack_name="MlRefArch-CustomTrainingContainer",
    title="Custom training container built by CodeBuild",
    notes_section="Docker; Data input; Security",
    summary=(
        "A committed Dockerfile in the /opt/ml layout (SAGEMAKER_PROGRAM), built by CodeBuild "
        "in isolated subnets into a KMS, scan-on-push, immutable-tag ECR repository; a "
        "workflow builds it and trains with File, FastFile or Pipe input"
    ),
    stack_class="CustomTrainingContainerStack",
    # 5 interface endpoints (ECR x2, Logs, CodeArtifact x2) x 1 AZ (sandbox) or 2 AZs, key;
    # the build, the training job and the repositories bill per use.
    idle_cost_band=CostBand(sandbox=(37, 38), production=(73, 75)),
)
