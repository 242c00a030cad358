"""Pattern ``model-monitor``: Data quality monitoring with a drift alarm.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import Pattern
from ml_refarch.endpoint_settings import ENDPOINT_IDLE_COST_REASON, ONE_VARIANT_IDLE_BAND

PATTERN = Pattern(
    id="model-monitor",
    order=110,
    stack_name="MlRefArch-ModelMonitor",
    title="Data quality monitoring with a drift alarm",
    notes_section="Model monitor; Inference; Security",
    summary=(
        "Endpoint with KMS data capture, a scheduled data quality job (KMS volume and "
        "output, network isolation, VPC) against a baseline, CloudWatch drift alarm"
    ),
    stack_class="ModelMonitorStack",
    idle_cost_reason=ENDPOINT_IDLE_COST_REASON,
    idle_cost_band=ONE_VARIANT_IDLE_BAND,
    replaces=("Amazon SageMaker Model Monitor",),
)
