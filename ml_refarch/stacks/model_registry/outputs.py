"""The model-registry stack's output names (see ``ml_refarch/smoke/outputs.py``)."""

from __future__ import annotations


class Outputs:
    """The model-registry stack's outputs."""

    MODEL_PACKAGE_GROUP_NAME = "ModelPackageGroupName"
    MODEL_PACKAGE_ARN = "ModelPackageArn"
    STATE_MACHINE_ARN = "StateMachineArn"
    TOPIC_ARN = "TopicArn"
    RESULTS_BUCKET_NAME = "ResultsBucketName"
    RESULTS_URI = "ResultsUri"
    LOG_GROUP_NAME = "LogGroupName"
    RECOMMENDER_ROLE_ARN = "RecommenderRoleArn"
