"""The secure-data-lake stack's output names (see ``ml_refarch/smoke/outputs.py``)."""

from __future__ import annotations


class Outputs:
    """The secure-data-lake stack's outputs."""

    RAW_BUCKET_NAME = "RawBucketName"
    CURATED_BUCKET_NAME = "CuratedBucketName"
    ANALYTICS_BUCKET_NAME = "AnalyticsBucketName"
    RAW_PREFIX = "RawPrefix"
    CURATED_PREFIX = "CuratedPrefix"
    REPORTS_PREFIX = "ReportsPrefix"
    JOB_NAME = "JobName"
    GLUE_DATABASE_NAME = "GlueDatabaseName"
    GLUE_TABLE_NAME = "GlueTableName"
    REDACT_TEXT = "RedactText"
    REDACTION_ACTION = "RedactionAction"
