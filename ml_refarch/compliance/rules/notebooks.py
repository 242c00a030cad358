"""Notebook instances and Studio domains (notes: "Sagemaker notebook", "Security").

Studio is the successor of notebook instances; the notes' advice for notebooks (no direct
internet, a VPC with endpoints or a NAT gateway, a KMS key for the storage) applies to a
Studio domain as a whole. Its network access type is a domain setting: neither user
profiles nor spaces can change it (``AWS::SageMaker::UserProfile`` and
``AWS::SageMaker::Space`` have no such property), so the domain is what SD1-SD3 read; a
user profile only adds security groups to the domain's defaults (SD4).
"""

from __future__ import annotations

from ml_refarch.cfn import literal_text, present, raw
from ml_refarch.compliance.rules.model import (
    COMPLIANT,
    NON_COMPLIANT,
    NOT_APPLICABLE,
    Resource,
    judge,
    judge_present,
    rule,
)

NOTEBOOK = "AWS::SageMaker::NotebookInstance"
DOMAIN = "AWS::SageMaker::Domain"
USER_PROFILE = "AWS::SageMaker::UserProfile"
NOTES = "Security"

#: A domain's AppNetworkAccessType when none is set is PublicInternetOnly (apps get internet
#: through a SageMaker-managed VPC); VpcOnly sends all traffic through the domain's subnets:
#: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sagemaker-domain.html
STUDIO_VPC_ONLY = "VpcOnly"
#: The AWS managed key SageMaker uses when a domain names no KmsKeyId (same page).
SAGEMAKER_MANAGED_KEY_ALIAS = "alias/aws/sagemaker"


@rule(
    "NB1",
    types=NOTEBOOK,
    info="The notebook instance has direct internet access.",
    explanation=(
        "Notebook instances get a SageMaker-managed internet connection unless "
        "DirectInternetAccess is Disabled; code in the notebook can then reach anywhere. "
        "Disable it and give the notebook's subnet VPC endpoints (or a NAT gateway)."
    ),
    notes=NOTES,
)
def notebook_internet_disabled(resource: Resource):
    return judge(resource.get("DirectInternetAccess"), lambda value: value == "Disabled")


@rule(
    "NB2",
    types=NOTEBOOK,
    info="Users of the notebook instance have root access.",
    explanation=(
        "Root access (the default) lets notebook users change the instance itself, install "
        "anything and bypass the lifecycle configuration. Set RootAccess to Disabled."
    ),
    notes="Sagemaker notebook",
)
def notebook_root_disabled(resource: Resource):
    return judge(resource.get("RootAccess"), lambda value: value == "Disabled")


@rule(
    "NB3",
    types=NOTEBOOK,
    info="The notebook instance's storage volume has no customer-managed KMS key.",
    explanation=(
        "Everything under /home/ec2-user/SageMaker lives on the notebook's ML storage volume; "
        "a KmsKeyId puts its encryption under a key whose policy and audit trail you control."
    ),
    notes=NOTES,
)
def notebook_volume_kms(resource: Resource):
    return judge_present(resource.get("KmsKeyId"))


@rule(
    "NB4",
    types=NOTEBOOK,
    info="The notebook instance is not placed in a VPC subnet.",
    explanation=(
        "Without SubnetId the notebook runs outside your VPC, where no security group, "
        "endpoint policy or flow log applies to its traffic."
    ),
    notes=NOTES,
)
def notebook_in_subnet(resource: Resource):
    return judge_present(resource.get("SubnetId"))


@rule(
    "NB5",
    types=NOTEBOOK,
    info="The notebook instance allows IMDSv1.",
    explanation=(
        "IMDSv1 answers any request to 169.254.169.254, so a server-side request forgery in "
        "notebook code can read the instance role's credentials. Require IMDSv2 "
        "(MinimumInstanceMetadataServiceVersion 2)."
    ),
    notes="Sagemaker notebook",
)
def notebook_imdsv2(resource: Resource):
    value = resource.get(
        "InstanceMetadataServiceConfiguration.MinimumInstanceMetadataServiceVersion"
    )
    return judge(value, lambda version: str(version) == "2")


#: Services a notebook or Studio app without internet needs: the SageMaker API and runtime.
_REQUIRED_INTERFACE_SERVICES = ("sagemaker.api", "sagemaker.runtime")


def _vpc_of_subnet(resource: Resource) -> object | None:
    subnet = resource.resolve_ref(resource.get("SubnetId"))
    return raw(subnet.get("VpcId")) if subnet is not None else None


def _reaches_sagemaker(resource: Resource, vpc: object | None, *, with_s3: bool) -> str:
    """Compliant when the stack has a NAT route, or interface endpoints for the SageMaker
    API and runtime (and, ``with_s3``, an S3 gateway endpoint) in ``vpc``; ``None`` for
    ``vpc`` (not in this stack) lets any endpoint count."""
    if any(r.get("NatGatewayId") is not None for r in resource.others("AWS::EC2::Route")):
        return COMPLIANT
    services: set[str] = set()
    for endpoint in resource.others("AWS::EC2::VPCEndpoint"):
        if vpc is not None and raw(endpoint.get("VpcId")) != vpc:
            continue
        name = literal_text(endpoint.get("ServiceName", "")).lower()
        endpoint_type = endpoint.get("VpcEndpointType") or "Gateway"
        for service in _REQUIRED_INTERFACE_SERVICES:
            if name.endswith("." + service) and endpoint_type == "Interface":
                services.add(service)
        if name.endswith(".s3") and endpoint_type == "Gateway":
            services.add("s3")
    required = {*_REQUIRED_INTERFACE_SERVICES, *(("s3",) if with_s3 else ())}
    return COMPLIANT if required <= services else NON_COMPLIANT


@rule(
    "NB6",
    types=NOTEBOOK,
    info="The notebook has no internet access and no endpoints or NAT route to SageMaker.",
    explanation=(
        "With direct internet access disabled, the notebook reaches SageMaker and S3 only "
        "through interface endpoints (PrivateLink) for the SageMaker API and runtime plus an "
        "S3 gateway endpoint, or through a NAT gateway. Without either, it cannot start jobs "
        "or read data."
    ),
    notes=NOTES,
)
def notebook_can_reach_sagemaker(resource: Resource):
    if resource.get("DirectInternetAccess") != "Disabled" or not present(resource.get("SubnetId")):
        return NOT_APPLICABLE
    # A subnet from another stack (an import, a parameter) leaves the VPC unknown: the
    # registry turns a failure into not applicable, as the endpoints may be elsewhere.
    return _reaches_sagemaker(resource, _vpc_of_subnet(resource), with_s3=True)


# ---------------------------------------------------------------------------------------------
# Studio domains
# ---------------------------------------------------------------------------------------------


def _vpc_only(resource: Resource) -> bool:
    return resource.get("AppNetworkAccessType") == STUDIO_VPC_ONLY


@rule(
    "SD1",
    types=DOMAIN,
    info="The Studio domain gives its apps direct internet access (not VpcOnly).",
    explanation=(
        "With AppNetworkAccessType PublicInternetOnly (the default), Studio apps reach the "
        "internet through a VPC SageMaker manages, so notebook code can send data anywhere "
        "and no security group or flow log of yours sees it. Set it to VpcOnly: all traffic "
        "then goes through the domain's subnets, which need VPC endpoints or a NAT gateway."
    ),
    notes=NOTES,
)
def domain_vpc_only(resource: Resource):
    return judge(resource.get("AppNetworkAccessType"), lambda value: value == STUDIO_VPC_ONLY)


@rule(
    "SD2",
    types=DOMAIN,
    info="The Studio domain's storage has no customer-managed KMS key.",
    explanation=(
        "Every user's home directory lives on the domain's EFS volume (and apps' EBS "
        "volumes), encrypted with the AWS managed aws/sagemaker key unless KmsKeyId names "
        "another. A customer-managed key puts that data under a key policy and audit trail "
        "you control."
    ),
    notes=NOTES,
)
def domain_kms(resource: Resource):
    key = resource.get("KmsKeyId")
    if isinstance(key, str) and key.endswith(SAGEMAKER_MANAGED_KEY_ALIAS):
        return NON_COMPLIANT
    return judge_present(key)


@rule(
    "SD3",
    types=DOMAIN,
    applies=_vpc_only,
    info="The VpcOnly Studio domain has no endpoints or NAT route to SageMaker.",
    explanation=(
        "In VpcOnly mode Studio runs only when the domain's VPC has interface endpoints "
        "(PrivateLink) for the SageMaker API and runtime, or a NAT gateway, and its security "
        "groups allow outbound connections. Add the endpoints (and an S3 gateway endpoint "
        "for data) to the VPC."
    ),
    notes=NOTES,
)
def domain_can_reach_sagemaker(resource: Resource):
    # https://docs.aws.amazon.com/sagemaker/latest/dg/studio-updated-and-internet-access.html
    return _reaches_sagemaker(resource, raw(resource.get("VpcId")), with_s3=False)


def _domain_of(profile: Resource) -> Resource | None:
    domain = profile.resolve_ref(profile.get("DomainId"))
    return domain if domain is not None and domain.type == DOMAIN else None


@rule(
    "SD4",
    types=USER_PROFILE,
    info="The user profile of a VpcOnly domain has no security group, its own or the domain's.",
    explanation=(
        "In a VpcOnly domain the user's apps talk to the VPC's endpoints and to each other "
        "only through the security groups in UserSettings; SageMaker refuses the profile "
        "when neither it nor the domain's DefaultUserSettings names one. Give the domain's "
        "default user settings the groups (a profile adds its own to them)."
    ),
    notes=NOTES,
)
def user_profile_security_groups(resource: Resource):
    # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UserSettings.html
    domain = _domain_of(resource)
    if domain is None or not _vpc_only(domain):
        return NOT_APPLICABLE
    own = resource.get("UserSettings.SecurityGroups")
    default = domain.get("DefaultUserSettings.SecurityGroups")
    return COMPLIANT if present(own) or present(default) else NON_COMPLIANT
