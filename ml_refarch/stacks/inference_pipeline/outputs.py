"""The stack outputs of the inference-pipeline pattern: their names, as the stack declares them.

The stack (``self.output(Outputs.X, ...)``), the smoke checks (``smoke.py``) and the tests
all use these constants; each name is the output's logical id in the template.
"""

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
