"""Pattern ``fsx-training``: SageMaker training that reads its data from FSx for Lustre.

Notes sections "S3" (FSx for Lustre serves S3 training data to SageMaker and speeds up
training and its start-up), "Data input" (File mode), "Sagemaker" (managed spot training with
checkpoints) and "Security" (KMS for the training volumes, VPC, network isolation).
Resources:

- a KMS-encrypted training bucket whose ``data/`` prefix is linked to the file system by a
  data repository association (new and changed objects are imported automatically),
- an FSx for Lustre file system in an isolated subnet: SCRATCH_2 in the sandbox profile,
  PERSISTENT_2 with a customer-managed key and a per-TiB throughput in production; its
  security group opens the Lustre ports (988, 1018-1023) only to itself,
- a training role scoped to the bucket, the key, the file system and the VPC's network
  interfaces; ``python -m ml_refarch.stacks.fsx_training.train`` starts jobs against it.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_fsx as fsx
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from ml_refarch.compliance.acknowledge import skip_checkov
from ml_refarch.constructs import SecureBucket
from ml_refarch.constructs.execution_role import SageMakerExecutionRole
from ml_refarch.constructs.images import framework_image_uri
from ml_refarch.constructs.isolated_vpc import IsolatedVpc
from ml_refarch.stacks.base import PatternStack
from ml_refarch.stacks.fsx_training.outputs import Outputs
from ml_refarch.stacks.fsx_training.settings import FsxTrainingSettings

#: Lustre's network ports (FSx for Lustre user guide, "File system access control with
#: Amazon VPC"): clients and servers talk on 988 and 1018-1023.
LUSTRE_PORTS = (ec2.Port.tcp(988), ec2.Port.tcp_range(1018, 1023))
DATA_PREFIX = "data/"
FILE_SYSTEM_PATH = "/data"


class FsxTrainingStack(PatternStack):
    """Training data in S3, served to SageMaker by an FSx for Lustre file system.

    Attributes:
        network: the isolated VPC (S3 gateway only: network-isolated jobs need no other
            endpoint, SageMaker fetches images and writes logs itself).
        bucket: the training bucket.
        file_system: the Lustre file system (L1).
        training_role: the role training jobs run as.
    """

    def build(self, settings: FsxTrainingSettings) -> None:
        key = self.data_key("training data, Lustre, volumes and outputs")
        self._allow_fsx_data_repository(key)
        self.network = IsolatedVpc(
            self,
            "Network",
            **self.defaults.vpc_props(),
            encryption_key=key,
            services={},
            internal_ports=LUSTRE_PORTS,
        )
        self.bucket = SecureBucket(
            self,
            "Training",
            **self.defaults.bucket_props(),
            encryption_key=key,
            contents="training data, checkpoints and model artifacts",
            no_replication_because=(
                "Training data is a copy of a source the team keeps elsewhere, checkpoints are "
                "transient and artifacts can be retrained; replication is left to the team."
            ),
        ).bucket

        # Lustre lives in one Availability Zone; jobs must use the same subnet to mount it.
        subnet = self.network.subnets[0]
        self.file_system = self._file_system(settings, key, subnet)
        self._link_data_repository()
        self.training_role = self._training_role(key)
        self._declare_outputs(key, subnet)

    def _file_system(
        self, settings: FsxTrainingSettings, key: kms.IKey, subnet: ec2.ISubnet
    ) -> fsx.CfnFileSystem:
        """Persistent (with this stack's key) or scratch (AWS-owned key), by profile."""
        persistent = self.profile.persistent_file_systems
        lustre = fsx.CfnFileSystem.LustreConfigurationProperty(
            deployment_type="PERSISTENT_2" if persistent else "SCRATCH_2",
            per_unit_storage_throughput=(
                settings.per_unit_storage_throughput if persistent else None
            ),
            data_compression_type="LZ4",
        )
        file_system = fsx.CfnFileSystem(
            self,
            "Lustre",
            file_system_type="LUSTRE",
            file_system_type_version="2.15",
            storage_capacity=settings.storage_capacity_gib,
            subnet_ids=[subnet.subnet_id],
            security_group_ids=[self.network.workload_security_group.security_group_id],
            lustre_configuration=lustre,
            # Scratch file systems encrypt with an AWS-owned key and accept no other.
            kms_key_id=key.key_id if persistent else None,
        )
        file_system.apply_removal_policy(self.defaults.removal_policy)
        return file_system

    def _link_data_repository(self) -> None:
        """The bucket's data prefix, imported into the file system and kept in sync."""
        association = fsx.CfnDataRepositoryAssociation(
            self,
            "DataRepository",
            file_system_id=self.file_system.ref,
            file_system_path=FILE_SYSTEM_PATH,
            data_repository_path=self.bucket.s3_url_for_object(DATA_PREFIX),
            batch_import_meta_data_on_create=True,
            s3=fsx.CfnDataRepositoryAssociation.S3Property(
                auto_import_policy=fsx.CfnDataRepositoryAssociation.AutoImportPolicyProperty(
                    events=["NEW", "CHANGED", "DELETED"]
                )
            ),
        )
        association.apply_removal_policy(self.defaults.removal_policy)

    def _training_role(self, key: kms.IKey) -> iam.Role:
        file_system_arn = f"{self.arn_prefix('fsx')}:file-system/{self.file_system.ref}"
        return SageMakerExecutionRole(
            self,
            "TrainingRole",
            data_bucket=self.bucket,
            encryption_key=key,
            description="SageMaker training jobs that read from the Lustre file system",
            extra_statements=[
                iam.PolicyStatement(
                    sid="LustreFileSystem",
                    actions=["fsx:DescribeFileSystems"],
                    resources=[file_system_arn],
                )
            ],
        ).role

    def _declare_outputs(self, key: kms.IKey, subnet: ec2.ISubnet) -> None:
        image_uri = framework_image_uri(self)
        bucket_url = self.bucket.s3_url_for_object
        self.output(Outputs.FILE_SYSTEM_ID, self.file_system.ref, "Lustre file system")
        self.output(
            Outputs.MOUNT_NAME, self.file_system.attr_lustre_mount_name, "Lustre mount name"
        )
        self.output(
            Outputs.DIRECTORY_PATH,
            f"/{self.file_system.attr_lustre_mount_name}{FILE_SYSTEM_PATH}",
            "FSx path of the training data (the FileSystemDataSource DirectoryPath)",
        )
        self.output(
            Outputs.SUBNET_IDS, subnet.subnet_id, "Subnet for training jobs (the file system's)"
        )
        self.output(
            Outputs.SECURITY_GROUP_ID,
            self.network.workload_security_group.security_group_id,
            "Security group for training jobs (Lustre ports open within it)",
        )
        self.output(Outputs.TRAINING_ROLE_ARN, self.training_role.role_arn, "Training job role")
        self.output(Outputs.BUCKET_NAME, self.bucket.bucket_name, "Training bucket")
        self.output(Outputs.DATA_URI, bucket_url(DATA_PREFIX), "Upload training data here")
        self.output(Outputs.CHECKPOINT_URI, bucket_url("checkpoints/"), "Spot checkpoints")
        self.output(Outputs.OUTPUT_URI, bucket_url("output/"), "Model artifacts")
        self.output(Outputs.CODE_URI, bucket_url("code/"), "Training code, one prefix per job")
        self.output(Outputs.KEY_ARN, key.key_arn, "KMS key for volumes and outputs")
        self.output(Outputs.IMAGE_URI, image_uri, "scikit-learn training image for this region")

    def _allow_fsx_data_repository(self, key) -> None:
        # FSx reads the linked bucket through a service-linked role named after the file
        # system, which does not exist until the association is created; the key policy
        # admits it by name pattern, in this account only.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowFsxDataRepositoryRole",
                principals=[iam.AnyPrincipal()],
                actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "aws:PrincipalArn": (
                            f"arn:{self.partition}:iam::{self.account}:role/aws-service-role/"
                            "s3.data-source.lustre.fsx.amazonaws.com/"
                            "AWSServiceRoleForFSxS3Access_*"
                        )
                    },
                    "StringEquals": {"kms:CallerAccount": self.account},
                },
            )
        )
        skip_checkov(
            key,
            "The wildcard principal is narrowed by conditions to FSx's data-repository "
            "service-linked role of this account, whose name includes a file system id that "
            "does not exist when the key policy is written.",
            "CKV_AWS_33",
        )
