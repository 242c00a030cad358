"""The fsx-training stack's output names (see ``ml_refarch/smoke/outputs.py``)."""

from __future__ import annotations


class Outputs:
    """The fsx-training stack's outputs."""

    FILE_SYSTEM_ID = "FileSystemId"
    MOUNT_NAME = "MountName"
    DIRECTORY_PATH = "DirectoryPath"
    SUBNET_IDS = "SubnetIds"
    SECURITY_GROUP_ID = "SecurityGroupId"
    TRAINING_ROLE_ARN = "TrainingRoleArn"
    BUCKET_NAME = "BucketName"
    DATA_URI = "DataUri"
    CHECKPOINT_URI = "CheckpointUri"
    OUTPUT_URI = "OutputUri"
    CODE_URI = "CodeUri"
    KEY_ARN = "KeyArn"
    IMAGE_URI = "ImageUri"
