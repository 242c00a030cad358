"""The stack outputs of the multi-model-endpoint pattern: their names, as the stack declares them.

The stack (``self.output(Outputs.X, ...)``), the smoke checks (``smoke.py``) and the tests
all use these constants; each name is the output's logical id in the template.
"""

from __future__ import annotations


class Outputs:
    """The multi-model-endpoint stack's outputs."""

    ENDPOINT_NAME = "EndpointName"
    VARIANT_NAME = "VariantName"
    MODELS_BUCKET_NAME = "ModelsBucketName"
    MODELS_URI = "ModelsUri"
    COMMITTED_MODELS = "CommittedModels"
    ALARM_TOPIC_ARN = "AlarmTopicArn"
