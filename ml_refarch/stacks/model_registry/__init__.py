"""Pattern ``model-registry``: Model registry, approval events and Inference Recommender.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import CostBand, Pattern

PATTERN = Pattern(
    id="model-registry",
    order=210,
    stack_name="MlRefArch-ModelRegistry",
    title="Model registry, approval events and Inference Recommender",
    notes_section="Sagemaker tools; Inference recommender",
    summary=(
        "A model package group with the committed model registered (metrics, approval "
        "status), an EventBridge rule on approval, and Inference Recommender default and "
        "advanced jobs run from Step Functions with bounded polling, results in S3"
    ),
    stack_class="ModelRegistryStack",
    # The key: the registry is free, Inference Recommender jobs bill instance-hours per run.
    idle_cost_band=CostBand(sandbox=(0.5, 2), production=(0.5, 2)),
)
