"""The kinesis-parquet stack's output names (see ``ml_refarch/smoke/outputs.py``)."""

from __future__ import annotations


class Outputs:
    """The kinesis-parquet stack's outputs."""

    STREAM_NAME = "StreamName"
    DELIVERY_STREAM_NAME = "DeliveryStreamName"
    BUCKET_NAME = "BucketName"
    DATA_PREFIX = "DataPrefix"
    ERROR_PREFIX = "ErrorPrefix"
    GLUE_DATABASE_NAME = "GlueDatabaseName"
    GLUE_TABLE_NAME = "GlueTableName"
    INPUT_FORMAT = "InputFormat"
    COLUMNS_JSON = "ColumnsJson"
