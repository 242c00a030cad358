"""The inference-pipeline stack's output names (see ``ml_refarch/smoke/outputs.py``)."""

from __future__ import annotations


class Outputs:
    """The inference-pipeline stack's outputs."""

    ENDPOINT_NAME = "EndpointName"
    MODEL_NAME = "ModelName"
    BUCKET_NAME = "BucketName"
    INPUT_URI = "InputUri"
    OUTPUT_URI = "OutputUri"
    STATE_MACHINE_ARN = "StateMachineArn"
    TOPIC_ARN = "TopicArn"
    LOG_GROUP_NAME = "LogGroupName"
