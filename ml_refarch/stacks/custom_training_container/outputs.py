"""The custom-training-container stack's output names (see ``ml_refarch/smoke/outputs.py``)."""

from __future__ import annotations


class Outputs:
    """The custom-training-container stack's outputs."""

    STATE_MACHINE_ARN = "StateMachineArn"
    BUILD_PROJECT_NAME = "BuildProjectName"
    REPOSITORY_URI = "RepositoryUri"
    IMAGE_URI = "ImageUri"
    BUCKET_NAME = "BucketName"
    DATA_URI = "DataUri"
    OUTPUT_URI = "OutputUri"
    TOPIC_ARN = "TopicArn"
    INPUT_MODE = "InputMode"
