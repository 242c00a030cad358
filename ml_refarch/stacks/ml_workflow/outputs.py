"""The ml-workflow stack's output names (see ``ml_refarch/smoke/outputs.py``)."""

from __future__ import annotations


class Outputs:
    """The ml-workflow stack's outputs."""

    STATE_MACHINE_ARN = "StateMachineArn"
    TOPIC_ARN = "TopicArn"
    BUCKET_NAME = "BucketName"
    DATA_URI = "DataUri"
    ENDPOINT_NAME = "EndpointName"
    LOG_GROUP_NAME = "LogGroupName"
    JOB_ROLE_ARN = "JobRoleArn"
