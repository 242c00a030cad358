"""Notebook instances (notes: "Sagemaker notebook", "Security")."""

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
NOTES = "Security"


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


#: Services a notebook without internet needs: the SageMaker API and runtime, and S3.
_REQUIRED_INTERFACE_SERVICES = ("sagemaker.api", "sagemaker.runtime")


def _vpc_of_subnet(resource: Resource) -> object | None:
    subnet = resource.resolve_ref(resource.get("SubnetId"))
    return raw(subnet.get("VpcId")) if subnet is not None else None


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
    vpc = _vpc_of_subnet(resource)

    def same_vpc(other: Resource) -> bool:
        # When the subnet is not in this stack its VPC is unknown: any endpoint counts.
        return vpc is None or raw(other.get("VpcId")) == vpc

    if any(r.get("NatGatewayId") is not None for r in resource.others("AWS::EC2::Route")):
        return COMPLIANT
    services: set[str] = set()
    gateways: set[str] = set()
    for endpoint in resource.others("AWS::EC2::VPCEndpoint"):
        if not same_vpc(endpoint):
            continue
        name = literal_text(endpoint.get("ServiceName", "")).lower()
        endpoint_type = str(endpoint.get("VpcEndpointType") or "Gateway")
        for service in _REQUIRED_INTERFACE_SERVICES:
            if name.endswith("." + service) and endpoint_type == "Interface":
                services.add(service)
        if name.endswith(".s3") and endpoint_type == "Gateway":
            gateways.add("s3")
    if set(_REQUIRED_INTERFACE_SERVICES) <= services and "s3" in gateways:
        return COMPLIANT
    return NON_COMPLIANT
