"""The document-ai stack's output names (see ``ml_refarch/smoke/outputs.py``)."""

from __future__ import annotations


class Outputs:
    """The document-ai stack's outputs."""

    BUCKET_NAME = "BucketName"
    UPLOAD_URI = "UploadUri"
    RESULTS_URI = "ResultsUri"
    STATE_MACHINE_ARN = "StateMachineArn"
    REVIEW_TABLE_NAME = "ReviewTableName"
    REVIEW_QUEUE_URL = "ReviewQueueUrl"
    TOPIC_ARN = "TopicArn"
    LOG_GROUP_NAME = "LogGroupName"
    CONFIDENCE_THRESHOLD = "ConfidenceThreshold"
