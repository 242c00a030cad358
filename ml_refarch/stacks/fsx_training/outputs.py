"""The stack outputs of the fsx-training pattern: their names, as the stack declares them.

The stack (``self.output(Outputs.X, ...)``), the smoke checks (``smoke.py``) and the tests
all use these constants; each name is the output's logical id in the template.
"""

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
