"""Data stores that feed training and hold captured data: S3 buckets and FSx for Lustre.

Notes sections "S3" (FSx for Lustre serves S3 training data; KMS for sensitive data) and
"Security".
"""

from __future__ import annotations

from ml_refarch.aws_facts import LUSTRE_PORT_RANGES
from ml_refarch.cfn import Unresolved, as_list, get, number, raw
from ml_refarch.compliance.rules.model import (
    COMPLIANT,
    NON_COMPLIANT,
    NOT_APPLICABLE,
    Resource,
    judge_present,
    rule,
)

BUCKET = "AWS::S3::Bucket"
FSX = "AWS::FSx::FileSystem"

#: Resource types whose properties name the buckets that SageMaker reads or writes.
_ML_CONSUMER_PREFIXES = ("AWS::SageMaker::", "AWS::FSx::")
_ML_CONSUMER_TYPES = ("AWS::StepFunctions::StateMachine",)
_KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")

#: Lustre's network ports (aws_facts.LUSTRE_PORT_RANGES), one by one.
LUSTRE_PORTS = tuple(port for first, last in LUSTRE_PORT_RANGES for port in range(first, last + 1))
_PERSISTENT = ("PERSISTENT_1", "PERSISTENT_2")


def _feeds_sagemaker(bucket: Resource) -> bool:
    return any(
        (other.type.startswith(_ML_CONSUMER_PREFIXES) or other.type in _ML_CONSUMER_TYPES)
        and other.references(bucket)
        for other in bucket.others()
    )


@rule(
    "S3B1",
    types=BUCKET,
    applies=_feeds_sagemaker,
    info="A bucket that SageMaker reads or writes is not encrypted with KMS by default.",
    explanation=(
        "Training data, model artifacts and captured inference data are often sensitive. "
        "Buckets that a SageMaker resource, a Step Functions ML workflow or an FSx file system "
        "refers to should default to SSE-KMS, so access needs both the bucket policy and the "
        "key policy."
    ),
    notes="S3",
)
def ml_bucket_kms(resource: Resource):
    rules = resource.get("BucketEncryption.ServerSideEncryptionConfiguration")
    if isinstance(rules, Unresolved):
        return NOT_APPLICABLE
    algorithms = [
        get(item, "ServerSideEncryptionByDefault.SSEAlgorithm") for item in as_list(rules)
    ]
    if any(isinstance(algorithm, Unresolved) for algorithm in algorithms):
        return NOT_APPLICABLE
    return COMPLIANT if any(a in _KMS_ALGORITHMS for a in algorithms) else NON_COMPLIANT


def _is_lustre(resource: Resource) -> bool:
    return str(resource.get("FileSystemType", "")).upper() == "LUSTRE"


def _covers_lustre(rule_body) -> bool | None:
    """Whether an ingress rule opens a Lustre port; None when its ports are unknown."""
    protocol = str(raw(get(rule_body, "IpProtocol", ""))).lower()
    if protocol in ("-1", "all"):
        return True
    if protocol not in ("tcp", "6"):
        return False
    low, high = number(get(rule_body, "FromPort")), number(get(rule_body, "ToPort"))
    if low is None or high is None:
        return None
    return any(low <= port <= high for port in LUSTRE_PORTS)


def _from_itself(rule_body, group: Resource) -> bool | None:
    """Whether an ingress rule's source is the group itself; None when a deploy-time value."""
    source = raw(get(rule_body, "SourceSecurityGroupId"))
    if source in ({"fn::getatt": [group.logical_id, "GroupId"]}, {"ref": group.logical_id}):
        return True
    return None if group.depends_on_inputs(source) else False


@rule(
    "FX1",
    types=FSX,
    applies=_is_lustre,
    info="The Lustre file system's security group opens Lustre ports to other sources.",
    explanation=(
        "Ports 988 and 1018-1023 carry Lustre traffic between the file system and its "
        "clients. Opening them only to the file system's own security group (which the "
        "training instances also use) keeps every other host in the VPC off the data."
    ),
    notes="S3",
)
def lustre_ports_self_only(resource: Resource):
    groups = [resource.resolve_ref(g) for g in as_list(resource.get("SecurityGroupIds"))]
    groups = [g for g in groups if g is not None]
    if not groups:
        return NOT_APPLICABLE
    findings = []
    for group in groups:
        ingress = [*as_list(group.get("SecurityGroupIngress"))]
        for separate in group.others("AWS::EC2::SecurityGroupIngress"):
            target = separate.resolve_ref(separate.get("GroupId"))
            if target is not None and target.logical_id == group.logical_id:
                ingress.append(separate.properties)
        for body in ingress:
            # Ports or a source known only at deploy time are neither passed nor failed.
            if _covers_lustre(body) and _from_itself(body, group) is False:
                findings.append(f"SecurityGroup::{group.logical_id}")
                break
    return findings


@rule(
    "FX2",
    types=FSX,
    applies=_is_lustre,
    info="A persistent Lustre file system is not encrypted with a customer-managed key.",
    explanation=(
        "Persistent deployment types keep training data for the life of the file system. "
        "Without KmsKeyId they use the AWS-managed aws/fsx key; a customer-managed key puts "
        "access and deletion of the data under your key policy."
    ),
    notes="S3",
)
def persistent_lustre_cmk(resource: Resource):
    deployment = resource.get("LustreConfiguration.DeploymentType")
    if isinstance(deployment, Unresolved):
        return NOT_APPLICABLE
    if deployment not in _PERSISTENT:
        return NOT_APPLICABLE
    key = resource.get("KmsKeyId")
    if isinstance(key, str) and key.endswith("alias/aws/fsx"):
        return NON_COMPLIANT
    return judge_present(key)
