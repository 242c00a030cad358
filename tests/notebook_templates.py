"""Reading the templates of the stacks that build a notebook environment (the isolated
notebook and Studio patterns): interface endpoints, the workload group, lifecycle scripts and
the data scientist's guardrails."""

from __future__ import annotations

from ml_refarch.cfn import literal_text
from tests.support import resources_of_type


def logical_id_of(template: dict, resource_type: str) -> str:
    (logical_id,) = resources_of_type(template, resource_type)
    return logical_id


def interface_services(template: dict) -> set[str]:
    services = set()
    for endpoint in resources_of_type(template, "AWS::EC2::VPCEndpoint").values():
        properties = endpoint["Properties"]
        if properties.get("VpcEndpointType") == "Interface":
            assert properties["PrivateDnsEnabled"] is True
            name = literal_text(properties["ServiceName"])
            services.add(name.split("*.", 1)[1])
    return services


def workload_group(template: dict) -> str:
    (group_id,) = [
        logical_id
        for logical_id in resources_of_type(template, "AWS::EC2::SecurityGroup")
        if "WorkloadSecurityGroup" in logical_id
    ]
    return group_id


def lifecycle_text(content: dict) -> str:
    """The script's literal text, with deploy-time values shown as ``*``."""
    return literal_text(content["Fn::Base64"])


def guardrail_statements(template: dict) -> list[dict]:
    (policy,) = [
        p["Properties"]
        for logical_id, p in resources_of_type(template, "AWS::IAM::ManagedPolicy").items()
        if "DataScientistPolicy" in logical_id
    ]
    return policy["PolicyDocument"]["Statement"]
