"""Pattern ``inference-pipeline``: Inference pipeline: real-time and batch transform.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import Pattern
from ml_refarch.endpoint_settings import ENDPOINT_IDLE_COST_REASON, ONE_VARIANT_IDLE_BAND

PATTERN = Pattern(
    id="inference-pipeline",
    order=120,
    stack_name="MlRefArch-InferencePipeline",
    title="Inference pipeline: real-time and batch transform",
    notes_section="Inference pipelines; SG Endpoint; Inference; Step functions; Security",
    summary=(
        "Serial model: scikit-learn preprocessing, XGBoost, postprocessing to labels; "
        "multi-AZ endpoint, and batch transform (filter, join) run by Step Functions on "
        "upload or schedule"
    ),
    stack_class="InferencePipelineStack",
    idle_cost_reason=ENDPOINT_IDLE_COST_REASON,
    idle_cost_band=ONE_VARIANT_IDLE_BAND,
)
