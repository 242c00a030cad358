"""The redshift-ml stack's output names (see ``ml_refarch/smoke/outputs.py``)."""

from __future__ import annotations


class Outputs:
    """The redshift-ml stack's outputs."""

    STREAM_NAME = "StreamName"
    NAMESPACE_NAME = "NamespaceName"
    WORKGROUP_NAME = "WorkgroupName"
    DATABASE_NAME = "DatabaseName"
    STREAMING_VIEW = "StreamingView"
    REDSHIFT_ROLE_ARN = "RedshiftRoleArn"
    MODEL_BUCKET_NAME = "ModelBucketName"
    KEY_ID = "KeyId"
