"""The serverless-inference stack's output names (see ``ml_refarch/smoke/outputs.py``)."""

from __future__ import annotations


class Outputs:
    """The serverless-inference stack's outputs."""

    ENDPOINT_NAME = "EndpointName"
    VARIANT_NAME = "VariantName"
    MODEL_NAME = "ModelName"
    ALARM_TOPIC_ARN = "AlarmTopicArn"
