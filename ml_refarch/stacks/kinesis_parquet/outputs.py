"""The stack outputs of the kinesis-parquet pattern: their names, as the stack declares them.

The stack (``self.output(Outputs.X, ...)``), the smoke checks (``smoke.py``) and the tests
all use these constants; each name is the output's logical id in the template.
"""

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
