"""Pattern ``model-monitor``: drift monitoring of an endpoint, with alarms.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import Pattern
from ml_refarch.endpoint_settings import ENDPOINT_IDLE_COST_REASON, ONE_VARIANT_IDLE_BAND

PATTERN = Pattern(
    id="model-monitor",
    order=110,
    stack_name="MlRefArch-ModelMonitor",
    title="Drift monitoring of an endpoint, with alarms",
    notes_section="Model monitor; Pre-training bias metrics in Clarify; Inference; Security",
    summary=(
        "Endpoint with KMS data capture; a Scheduler schedule starts a network-isolated "
        "processing job (KMS, VPC) computing data drift (PSI, KS), model quality and Clarify "
        "bias drift; CloudWatch metrics and alarms to SNS, JSON/HTML report to S3 "
        "(Model Monitor, closed to new customers, as a setting)"
    ),
    stack_class="ModelMonitorStack",
    idle_cost_reason=ENDPOINT_IDLE_COST_REASON,
    idle_cost_band=ONE_VARIANT_IDLE_BAND,
    replaces=("Amazon SageMaker Model Monitor",),
)
