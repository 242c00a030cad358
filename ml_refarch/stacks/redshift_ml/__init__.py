"""Pattern ``redshift-ml``: Redshift streaming ingestion and Redshift ML.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import CostBand, Pattern

PATTERN = Pattern(
    id="redshift-ml",
    order=160,
    stack_name="MlRefArch-RedshiftMl",
    title="Redshift streaming ingestion and Redshift ML",
    notes_section="Redshift; Kinesis data firehose",
    summary=(
        "KMS-encrypted Kinesis stream -> Redshift Serverless materialized view (streaming "
        "ingestion, auto refresh) -> CREATE MODEL trained by SageMaker; SQL through the Data API"
    ),
    stack_class="RedshiftMlStack",
    # One shard, the Kinesis endpoint in 1 AZ (3 in production), key; RPU-hours bill per query.
    idle_cost_band=CostBand(sandbox=(18, 21), production=(32, 36)),
)
