"""The stack outputs of the serverless-inference pattern: their names, as the stack declares them.

The stack (``self.output(Outputs.X, ...)``), the smoke checks (``smoke.py``) and the tests
all use these constants; each name is the output's logical id in the template.
"""

from __future__ import annotations


class Outputs:
    """The serverless-inference stack's outputs."""

    ENDPOINT_NAME = "EndpointName"
    VARIANT_NAME = "VariantName"
    MODEL_NAME = "ModelName"
    ALARM_TOPIC_ARN = "AlarmTopicArn"
