"""Every policy of one template that decides a runtime request, and the decision.

For a role of the template: its identity policies (inline ``Policies``, ``AWS::IAM::Policy``
and ``AWS::IAM::ManagedPolicy`` attached to it, the AWS managed policies in
:data:`ml_refarch.aws_facts.AWS_MANAGED_POLICIES`), its permissions boundary, and the
resource policies of the template's resources (KMS key policies, bucket, topic and queue
policies, Lambda permissions). For an AWS service principal: the resource policies alone.

The decision follows "Policy evaluation logic" (IAM User Guide) for a request within one
account: an explicit Deny in any of those policies wins; otherwise an Allow in either an
identity policy (within the boundary, if the role has one) or a resource policy that names
the principal allows. KMS is the exception ("Key policies in AWS KMS", KMS Developer
Guide): no principal uses a key unless the key policy allows it, either directly or by
allowing the account, which lets IAM policies decide.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ml_refarch import cfn
from ml_refarch.aws_facts import AWS_MANAGED_POLICIES
from ml_refarch.permissions.policy import (
    Context,
    Explanation,
    Principal,
    UnresolvedCondition,
    explain,
    substitute,
)
from ml_refarch.permissions.values import ACCOUNT, REGION, reference_values

Outcome = Literal["Allow", "Deny", "ImplicitDeny", "Unresolved"]


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str


@dataclass
class RolePolicies:
    """What a role of the template may do, by its identity policies."""

    logical_id: str
    arn: str
    statements: list[dict] = field(default_factory=list)
    boundary: list[dict] | None = None
    #: Managed policies attached by ARN whose content is not known here.
    unknown_policies: list[str] = field(default_factory=list)
    #: Service principals the role trusts (who can act as it).
    trusted_by: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class ResourcePolicy:
    """A resource policy and the resource ARNs it governs (``/...`` below an ARN too)."""

    kind: str  # the resource type that holds the policy
    owner: str  # the logical id of the resource it protects
    arns: tuple[str, ...]
    statements: tuple[dict, ...]

    def covers(self, resource: str) -> bool:
        return any(resource == arn or resource.startswith(f"{arn}/") for arn in self.arns)


@dataclass
class StackPolicies:
    """The policies of one template, with references replaced by :mod:`.values`."""

    template: Mapping[str, Any]
    values: dict[str, str]
    roles: dict[str, RolePolicies]
    resource_policies: list[ResourcePolicy]
    key_arns: set[str]

    def role(self, logical_id: str) -> RolePolicies:
        return self.roles[logical_id]

    def decide(self, principal: str, action: str, resource: str, context: Context) -> Decision:
        """The decision for ``principal``: a role's logical id, ``service:NAME``, or the ARN
        of a role outside the template (a service-linked role, say)."""
        try:
            if principal.startswith("service:"):
                return self._decide_service(
                    principal.removeprefix("service:"), action, resource, context
                )
            if principal.startswith("arn:"):
                return self._decide_external(principal, action, resource, context)
            return self._decide_role(self.roles[principal], action, resource, context)
        except UnresolvedCondition as error:
            return Decision("Unresolved", f"a condition is unresolved: {error}")

    def _covering(self, resource: str) -> list[ResourcePolicy]:
        return [policy for policy in self.resource_policies if policy.covers(resource)]

    def _decide_role(
        self, role: RolePolicies, action: str, resource: str, context: Context
    ) -> Decision:
        who = Principal(ACCOUNT, arn=role.arn)
        identity = explain(role.statements, action, resource, context, strict=True)
        boundary = (
            explain(role.boundary, action, resource, context, strict=True)
            if role.boundary is not None
            else None
        )
        direct, through = self._resource_explanations(who, action, resource, context)
        denials = _denials(identity, "an identity policy") + (
            _denials(boundary, "the permissions boundary") if boundary else []
        )
        for policy, explanation in [*direct, *through]:
            denials += _denials(explanation, f"the {policy.kind} policy of {policy.owner}")
        if denials:
            return Decision("Deny", "; ".join(denials))
        within_boundary = boundary is None or boundary.decision == "Allow"
        by_identity = identity.decision == "Allow" and within_boundary
        if any(e.decision == "Allow" for _, e in direct):
            return Decision("Allow", "a resource policy allows the role")
        if resource in self.key_arns:
            if by_identity and any(e.decision == "Allow" for _, e in through):
                return Decision("Allow", "the key policy lets IAM policies decide; one allows")
            missing = "an identity policy" if not by_identity else "the key policy"
            return Decision("ImplicitDeny", f"{missing} does not allow it")
        if by_identity:
            return Decision("Allow", f"allowed by {', '.join(identity.allowed_by)}")
        if role.unknown_policies:
            return Decision(
                "Unresolved",
                f"no known policy allows it; unknown policies {role.unknown_policies}",
            )
        if identity.decision == "Allow":
            return Decision("ImplicitDeny", "outside the role's permissions boundary")
        return Decision("ImplicitDeny", "no identity policy allows it")

    def _decide_service(
        self, service: str, action: str, resource: str, context: Context
    ) -> Decision:
        who = Principal(ACCOUNT, service=service)
        direct, _ = self._resource_explanations(who, action, resource, context)
        if not direct:
            return Decision("ImplicitDeny", f"no resource policy of the stack covers {resource}")
        return _by_resource_policies(direct, "the service", "no resource policy allows the service")

    def _decide_external(self, arn: str, action: str, resource: str, context: Context) -> Decision:
        """A role the template does not hold: its own policies are unknown here, so only a
        resource policy that names it (directly, not through the account) can allow."""
        who = Principal(ACCOUNT, arn=arn)
        direct, _ = self._resource_explanations(who, action, resource, context)
        return _by_resource_policies(
            direct, "the role", f"no resource policy of the stack allows {arn}"
        )

    def _resource_explanations(
        self, who: Principal, action: str, resource: str, context: Context
    ) -> tuple[list[tuple[ResourcePolicy, Explanation]], list[tuple[ResourcePolicy, Explanation]]]:
        direct, through = [], []
        for policy in self._covering(resource):
            direct.append(
                (
                    policy,
                    explain(
                        policy.statements, action, resource, context, principal=who, strict=True
                    ),
                )
            )
            if not who.service:
                through.append(
                    (
                        policy,
                        explain(
                            policy.statements,
                            action,
                            resource,
                            context,
                            principal=who,
                            through_account=True,
                            strict=True,
                        ),
                    )
                )
        return direct, through


def _by_resource_policies(
    direct: list[tuple[ResourcePolicy, Explanation]], who: str, none_allows: str
) -> Decision:
    """The decision of the resource policies alone: a Deny in any wins, else an Allow."""
    denials = []
    for policy, explanation in direct:
        denials += _denials(explanation, f"the {policy.kind} policy of {policy.owner}")
    if denials:
        return Decision("Deny", "; ".join(denials))
    if any(e.decision == "Allow" for _, e in direct):
        return Decision("Allow", f"a resource policy allows {who}")
    return Decision("ImplicitDeny", none_allows)


def _denials(explanation: Explanation, where: str) -> list[str]:
    if explanation.decision != "Deny":
        return []
    return [f"denied by {where} ({', '.join(explanation.denied_by)})"]


# --- reading a template -----------------------------------------------------------------


def read_policies(template: Mapping[str, Any]) -> StackPolicies:
    """The policies of ``template``.

    Raises:
        ValueError: for a policy the evaluator cannot read (an intrinsic function it does
            not evaluate, a reference to nothing).
    """
    values = reference_values(template)
    resources = cfn.resources(template)
    roles: dict[str, RolePolicies] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") == "AWS::IAM::Role":
            roles[logical_id] = _role(logical_id, resource, template, values)
    for resource in resources.values():
        kind = resource.get("Type")
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            properties = cfn.properties_of(resource)
            document = substitute(properties.get("PolicyDocument", {}), values)
            for role_id in _attached_roles(properties, roles):
                roles[role_id].statements += _statement_list(document)
    return StackPolicies(
        template=template,
        values=values,
        roles=roles,
        resource_policies=_resource_policies(resources, values),
        key_arns={values[f"{i}.Arn"] for i in cfn.resources_of_type(template, "AWS::KMS::Key")},
    )


def _statement_list(document: Mapping[str, Any]) -> list[dict]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _attached_roles(properties: Mapping[str, Any], roles: Mapping[str, RolePolicies]) -> list[str]:
    attached = []
    for entry in cfn.as_list(properties.get("Roles", [])):
        role_id = cfn.ref_target(entry)
        if role_id in roles:
            attached.append(role_id)
    return attached


def _role(
    logical_id: str, resource: Mapping[str, Any], template: Mapping[str, Any], values: dict
) -> RolePolicies:
    properties = cfn.properties_of(resource)
    role = RolePolicies(logical_id, values[f"{logical_id}.Arn"])
    role.trusted_by = cfn.trusted_services(resource)
    for policy in cfn.as_list(properties.get("Policies", [])):
        role.statements += _statement_list(substitute(policy.get("PolicyDocument", {}), values))
    for arn in cfn.as_list(properties.get("ManagedPolicyArns", [])):
        role.statements += _managed(arn, template, values, role)
    boundary = properties.get("PermissionsBoundary")
    if boundary is not None:
        role.boundary = _managed(boundary, template, values, role)
    return role


def _managed(
    reference: Any, template: Mapping[str, Any], values: dict, role: RolePolicies
) -> list[dict]:
    """The statements of a managed policy given by ARN or by reference to the template's."""
    target = cfn.ref_target(reference)
    if target is not None:
        # A policy of the template attaches itself through its Roles (read elsewhere), or
        # is referenced here: read it here only if it does not also list this role.
        policy = cfn.resources(template)[target]
        properties = cfn.properties_of(policy)
        if role.logical_id in _attached_roles(properties, {role.logical_id: role}):
            return []
        return _statement_list(substitute(properties.get("PolicyDocument", {}), values))
    arn = substitute(reference, values)
    name = arn.rsplit(":policy/", 1)[-1] if isinstance(arn, str) else str(arn)
    if name in AWS_MANAGED_POLICIES:
        return [dict(statement) for statement in AWS_MANAGED_POLICIES[name]]
    role.unknown_policies.append(name)
    return []


def _resource_policies(
    resources: Mapping[str, Mapping[str, Any]], values: dict
) -> list[ResourcePolicy]:
    policies = []
    for logical_id, resource in resources.items():
        kind = resource.get("Type", "")
        properties = cfn.properties_of(resource)
        reader = _RESOURCE_POLICY_READERS.get(kind)
        if reader is not None:
            policies += reader(logical_id, properties, values)
    return policies


def _document(raw: Any, values: dict) -> list[dict]:
    document = substitute(raw, values)
    if isinstance(document, str):
        document = json.loads(document)
    return _statement_list(document)


def _targets(references: Any, values: dict, attribute: str = "Arn") -> tuple[str, ...]:
    """The ARNs of the resources a policy lists (by Ref or by literal ARN)."""
    arns = []
    for entry in cfn.as_list(references):
        target = cfn.ref_target(entry) or cfn.getatt_target(entry)
        logical_id = target[0] if isinstance(target, tuple) else target
        if logical_id and f"{logical_id}.{attribute}" in values:
            arns.append(values[f"{logical_id}.{attribute}"])
        else:
            arns.append(substitute(entry, values))
    return tuple(arns)


def _key_policy(logical_id: str, properties: Mapping, values: dict) -> list[ResourcePolicy]:
    statements = _document(properties.get("KeyPolicy", {}), values)
    return [ResourcePolicy("key", logical_id, (values[f"{logical_id}.Arn"],), tuple(statements))]


def _attached_policy(kind: str, targets: str) -> Callable[..., list[ResourcePolicy]]:
    """A reader for a policy resource that lists what it protects under ``targets``
    (``AWS::S3::BucketPolicy`` ``Bucket``, ``AWS::SNS::TopicPolicy`` ``Topics``, ...)."""

    def read(logical_id: str, properties: Mapping, values: dict) -> list[ResourcePolicy]:
        statements = _document(properties.get("PolicyDocument", {}), values)
        arns = _targets(properties.get(targets), values)
        return [ResourcePolicy(kind, logical_id, arns, tuple(statements))]

    return read


def _lambda_permission(logical_id: str, properties: Mapping, values: dict) -> list[ResourcePolicy]:
    """A Lambda permission is one statement of the function's resource policy ("Using
    resource-based policies in Lambda", Lambda Developer Guide)."""
    principal = substitute(properties.get("Principal"), values)
    function = substitute(properties.get("FunctionName"), values)
    if not function.startswith("arn:"):
        function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
    kind = "Service" if str(principal).endswith(".amazonaws.com") else "AWS"
    statement: dict[str, Any] = {
        "Sid": logical_id,
        "Effect": "Allow",
        "Principal": {kind: principal},
        "Action": substitute(properties.get("Action"), values),
        "Resource": function,
    }
    conditions: dict[str, dict[str, str]] = {}
    if "SourceArn" in properties:
        conditions["ArnLike"] = {"aws:SourceArn": substitute(properties["SourceArn"], values)}
    if "SourceAccount" in properties:
        conditions["StringEquals"] = {
            "aws:SourceAccount": substitute(properties["SourceAccount"], values)
        }
    if conditions:
        statement["Condition"] = conditions
    return [ResourcePolicy("function", logical_id, (function,), (statement,))]


_RESOURCE_POLICY_READERS = {
    "AWS::KMS::Key": _key_policy,
    "AWS::S3::BucketPolicy": _attached_policy("bucket", "Bucket"),
    "AWS::SNS::TopicPolicy": _attached_policy("topic", "Topics"),
    "AWS::SQS::QueuePolicy": _attached_policy("queue", "Queues"),
    "AWS::Lambda::Permission": _lambda_permission,
}
