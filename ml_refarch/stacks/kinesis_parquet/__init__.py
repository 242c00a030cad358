"""Pattern ``kinesis-parquet``: Streaming ingest to Parquet.

The pattern's catalog entry. This module imports nothing from aws_cdk, so listing the
catalog stays fast; the stack is in :mod:`.stack`.
"""

from ml_refarch.catalog import CostBand, Pattern

PATTERN = Pattern(
    id="kinesis-parquet",
    order=10,
    stack_name="MlRefArch-KinesisParquet",
    title="Streaming ingest to Parquet",
    notes_section="Kinesis data streams; Kinesis data firehose",
    summary=(
        "KMS-encrypted Kinesis stream -> Firehose JSON-to-Parquet via a Glue table -> "
        "date-partitioned S3, optional CSV transform Lambda"
    ),
    stack_class="KinesisParquetStack",
    # One shard and the key, about $12.
    idle_cost_band=CostBand(sandbox=(11, 13), production=(11, 13)),
)
