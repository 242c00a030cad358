"""A template's resources sorted for a diagram: nodes, folded plumbing, skipped plumbing.

Plumbing is left out (CDK metadata, custom resources and their providers, Lambda
permissions, route tables, a schedule that deletes the stack itself with its role and group)
or folded into the resource it serves (IAM policies into their
role, bucket and topic policies into the bucket or topic, security group rules into their
group, subnets into their VPC, an endpoint's own security group into the endpoint, an
access-log bucket into the bucket it logs, a data repository association into its file
system). References come from :mod:`ml_refarch.cfn`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ml_refarch.aws_facts import DELETE_STACK_UNIVERSAL_TARGET, endpoint_service_short_name
from ml_refarch.cfn import joined_text, properties_of, references, resource_references

#: Plumbing that is left out, with everything that refers to it.
SKIPPED_TYPES = frozenset(
    {
        "AWS::CDK::Metadata",
        "AWS::CloudFormation::CustomResource",
        "AWS::Lambda::Permission",
        "AWS::EC2::RouteTable",
        "AWS::EC2::Route",
        "AWS::EC2::SubnetRouteTableAssociation",
    }
)

#: Plumbing folded into the resource it serves: the property naming that resource, and
#: whether the host takes over the folded resource's references. Policies do not pass
#: theirs on: permissions are the role's detail, the diagram shows who runs as the role.
FOLDED_TYPES: dict[str, tuple[str, bool]] = {
    "AWS::IAM::Policy": ("Roles", False),
    "AWS::IAM::ManagedPolicy": ("Roles", False),
    "AWS::S3::BucketPolicy": ("Bucket", False),
    "AWS::SNS::TopicPolicy": ("Topics", False),
    "AWS::SQS::QueuePolicy": ("Queues", False),
    "AWS::EC2::SecurityGroupIngress": ("GroupId", False),
    "AWS::EC2::SecurityGroupEgress": ("GroupId", False),
    "AWS::EC2::Subnet": ("VpcId", False),
    "AWS::Logs::LogStream": ("LogGroupName", False),
    "AWS::FSx::DataRepositoryAssociation": ("FileSystemId", True),
}

#: Provider plumbing: skipped when only skipped resources refer to it.
_PROVIDER_TYPES = frozenset({"AWS::Lambda::Function", "AWS::IAM::Role", "AWS::Logs::LogGroup"})
#: Keys of IAM policy documents: a reference there grants, it does not connect.


def deletes_its_stack(resource: Mapping[str, Any]) -> bool:
    """A schedule whose target is CloudFormation's DeleteStack: the stack's own expiry, a
    matter of its lifecycle rather than of its architecture."""
    if resource.get("Type") != "AWS::Scheduler::Schedule":
        return False
    target = properties_of(resource).get("Target", {})
    arn = joined_text(target.get("Arn", "")) if isinstance(target, Mapping) else None
    return arn is not None and arn.endswith(":" + DELETE_STACK_UNIVERSAL_TARGET)


def endpoint_service(resource: Mapping[str, Any]) -> str:
    """``sagemaker.api`` for a VPC endpoint to com.amazonaws.<region>.sagemaker.api."""
    name = joined_text(properties_of(resource).get("ServiceName", ""))
    return "" if name is None else endpoint_service_short_name(name)


@dataclass
class ParsedTemplate:
    """A template's resources, sorted into nodes, folded plumbing and skipped plumbing."""

    resources: dict[str, Any]
    skipped: set[str] = field(default_factory=set)
    #: folded logical id -> (host logical id, host takes over its references)
    folded: dict[str, tuple[str, bool]] = field(default_factory=dict)
    references: dict[str, list] = field(default_factory=dict)

    @classmethod
    def read(cls, template: Mapping[str, Any]) -> ParsedTemplate:
        resources = dict(sorted(template.get("Resources", {}).items()))
        self = cls(resources)
        self.references = {
            logical_id: [
                (found.logical_id, found.key)
                for found in resource_references(resource)
                if found.logical_id in resources
            ]
            for logical_id, resource in resources.items()
        }
        self._skip_plumbing()
        self._fold_plumbing()
        self._skip_providers()
        self._fold_dedicated_resources()
        return self

    def type_of(self, logical_id: str) -> str:
        return self.resources[logical_id].get("Type", "")

    def _skip_plumbing(self) -> None:
        for logical_id in self.resources:
            resource_type = self.type_of(logical_id)
            if (
                resource_type in SKIPPED_TYPES
                or resource_type.startswith("Custom::")
                # CDK's singleton providers (auto-delete objects, restrict default SG).
                or "CustomResourceProvider" in logical_id
            ):
                self.skipped.add(logical_id)
            if resource_type.startswith("Custom::") or resource_type.endswith("CustomResource"):
                for target, key in self.references[logical_id]:
                    if key == "ServiceToken":
                        self.skipped.add(target)
            if deletes_its_stack(self.resources[logical_id]):
                self.skipped.add(logical_id)
                self.skipped.update(target for target, _ in self.references[logical_id])

    def _fold_plumbing(self) -> None:
        for logical_id in self.resources:
            resource_type = self.type_of(logical_id)
            if logical_id in self.skipped or resource_type not in FOLDED_TYPES:
                continue
            host_property, transfer = FOLDED_TYPES[resource_type]
            properties = self.resources[logical_id].get("Properties", {})
            hosts = [
                found.logical_id
                for found in references(properties.get(host_property))
                if found.logical_id in self.resources
            ]
            if not hosts and resource_type == "AWS::IAM::ManagedPolicy":
                # Attached from the role's side (ManagedPolicyArns) instead.
                hosts = [
                    source
                    for source, refs in self.references.items()
                    if self.type_of(source) == "AWS::IAM::Role"
                    and (logical_id, "ManagedPolicyArns") in refs
                ]
            if hosts:
                self.folded[logical_id] = (hosts[0], transfer)
            else:
                self.skipped.add(logical_id)

    def _referrers(self, logical_id: str) -> set[str]:
        """Resources whose references to this one count: not those of folded policies."""
        return {
            source
            for source, refs in self.references.items()
            if source != logical_id
            and not (source in self.folded and not self.folded[source][1])
            and any(target == logical_id for target, _ in refs)
        }

    def _skip_providers(self) -> None:
        # Lambda functions, roles and log groups that only skipped resources refer to serve
        # the custom resources that were left out.
        changed = True
        while changed:
            changed = False
            for logical_id in self.resources:
                if logical_id in self.skipped or self.type_of(logical_id) not in _PROVIDER_TYPES:
                    continue
                referrers = self._referrers(logical_id)
                if referrers and referrers <= self.skipped:
                    self.skipped.add(logical_id)
                    changed = True

    def _fold_dedicated_resources(self) -> None:
        for logical_id in self.resources:
            if logical_id in self.skipped or logical_id in self.folded:
                continue
            resource_type = self.type_of(logical_id)
            referrers = {
                source for source in self._referrers(logical_id) if source not in self.skipped
            }
            if resource_type == "AWS::EC2::SecurityGroup" and len(referrers) == 1:
                (user,) = referrers
                # An interface endpoint's own group says nothing the endpoint does not.
                if self.type_of(user) == "AWS::EC2::VPCEndpoint":
                    self.folded[logical_id] = (user, False)
            if resource_type == "AWS::S3::Bucket":
                loggers = sorted(
                    source
                    for source in referrers
                    if self.type_of(source) == "AWS::S3::Bucket"
                    and (logical_id, "DestinationBucketName") in self.references[source]
                )
                if loggers:
                    self.folded[logical_id] = (loggers[0], False)

    def host(self, logical_id: str) -> str | None:
        """The node that stands for this resource, or None if it is left out."""
        seen: set[str] = set()
        while logical_id in self.folded and logical_id not in seen:
            seen.add(logical_id)
            logical_id = self.folded[logical_id][0]
        if logical_id in self.skipped or logical_id in self.folded:
            return None
        return logical_id

    def nodes(self) -> list[str]:
        return [
            logical_id
            for logical_id in self.resources
            if logical_id not in self.skipped and logical_id not in self.folded
        ]

    def folded_into(self, host: str, resource_type: str) -> list[str]:
        return [
            logical_id
            for logical_id in self.folded
            if self.type_of(logical_id) == resource_type and self.host(logical_id) == host
        ]

    def node_references(self) -> dict[tuple[str, str], list[str]]:
        """(source node, target node) -> property keys, for references between nodes."""
        found: dict[tuple[str, str], list[str]] = {}
        for logical_id in self.resources:
            if logical_id in self.skipped or not self.folded.get(logical_id, ("", True))[1]:
                continue
            source = self.host(logical_id)
            for target, key in self.references[logical_id]:
                target_node = self.host(target)
                if source is None or target_node is None or target_node == source:
                    continue
                found.setdefault((source, target_node), []).append(key)
        return found
