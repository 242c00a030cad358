"""Pattern ``etl-export``: DynamoDB export to CSV for SageMaker, the Data Pipeline successor.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import CostBand, Pattern

PATTERN = Pattern(
    id="etl-export",
    order=140,
    stack_name="MlRefArch-EtlExport",
    title="Scheduled DynamoDB export to CSV for SageMaker (Data Pipeline successor)",
    notes_section="Data pipelines; Step functions",
    summary=(
        "Scheduler starts a state machine: DynamoDB point-in-time export to S3, bounded "
        "polling, a Lambda converts DynamoDB JSON to CSV for training; retries, SNS alerts"
    ),
    stack_class="EtlExportStack",
    # The key: the table, exports, Lambda and state machine bill per use.
    idle_cost_band=CostBand(sandbox=(0.5, 2), production=(0.5, 2)),
    replaces=("AWS Data Pipeline",),
)
