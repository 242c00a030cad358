"""The multi-model-endpoint stack's output names (see ``ml_refarch/smoke/outputs.py``)."""

from __future__ import annotations


class Outputs:
    """The multi-model-endpoint stack's outputs."""

    ENDPOINT_NAME = "EndpointName"
    VARIANT_NAME = "VariantName"
    MODELS_BUCKET_NAME = "ModelsBucketName"
    MODELS_URI = "ModelsUri"
    COMMITTED_MODELS = "CommittedModels"
    ALARM_TOPIC_ARN = "AlarmTopicArn"
