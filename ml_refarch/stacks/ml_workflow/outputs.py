"""The stack outputs of the ml-workflow pattern: their names, as the stack declares them.

The stack (``self.output(Outputs.X, ...)``), the smoke checks (``smoke.py``) and the tests
all use these constants; each name is the output's logical id in the template.
"""

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
