"""The feature-store-spark stack's output names (see ``ml_refarch/smoke/outputs.py``)."""

from __future__ import annotations


class Outputs:
    """The feature-store-spark stack's outputs."""

    STATE_MACHINE_ARN = "StateMachineArn"
    BUCKET_NAME = "BucketName"
    LAKE_URI = "LakeUri"
    FEATURE_GROUP_NAME = "FeatureGroupName"
    RECORD_IDENTIFIER = "RecordIdentifier"
    APPLICATION_ID = "ApplicationId"
    TOPIC_ARN = "TopicArn"
    LOG_GROUP_NAME = "LogGroupName"
    SPARK_LOG_GROUP_NAME = "SparkLogGroupName"
    MODELS_URI = "ModelsUri"
