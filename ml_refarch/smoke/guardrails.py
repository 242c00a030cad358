"""Checks shared by the notebook patterns: SageMaker guardrails and the package source.

:func:`guardrail_checks` verifies a data scientist's SageMaker guardrails with
``iam:SimulatePrincipalPolicy``: it evaluates the role's policies against simulated requests
(a compliant job, then the same job with one control left out or turned off) without
creating anything, so it is safe against a real account.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from ml_refarch.smoke.core import Check, Log, SetupError, aws_error_message, require, split_ids
from ml_refarch.smoke.outputs import NotebookOutputs

ALLOWED = "allowed"
EXPLICIT_DENY = "explicitDeny"

#: Name of the resource in simulated ARNs; the simulation never creates it.
SIMULATED_RESOURCE_NAME = "ml-refarch-smoke-simulated"
#: An endpoint id that belongs to no stack, for the request the guardrail must deny.
FOREIGN_VPC_ENDPOINT_ID = "vpce-0000000000000000"

PACKAGE_SOURCES = {
    "codeartifact": ("CodeArtifactDomain", "CodeArtifactRepository"),
    "s3-wheelhouse": ("WheelhouseUri",),
}


def package_source(outputs: Mapping[str, str]) -> str:
    """Describes where notebooks get packages; raises SetupError if the outputs disagree."""
    require(outputs, "PackageSource")
    source = outputs["PackageSource"]
    if source not in PACKAGE_SOURCES:
        raise SetupError(
            f"PackageSource output must be one of {', '.join(PACKAGE_SOURCES)}, got {source!r}"
        )
    require(outputs, *PACKAGE_SOURCES[source])
    if source == "codeartifact":
        return (
            f"codeartifact (domain {outputs['CodeArtifactDomain']}, "
            f"repository {outputs['CodeArtifactRepository']})"
        )
    return f"s3-wheelhouse ({outputs['WheelhouseUri']})"


@dataclass(frozen=True)
class SimulatedRequest:
    """A request to evaluate with the IAM policy simulator, and the decision it must get.

    ``context`` holds ContextEntries in the SimulatePrincipalPolicy format. ``resource_type``
    is the SageMaker resource type in the ARN of the simulated resource.
    """

    name: str
    action: str
    resource_type: str
    context: tuple[dict[str, Any], ...]
    expected: str


def context_entry(key: str, key_type: str, values: Iterable[str]) -> dict[str, Any]:
    """One ContextEntries item: ``context_entry("sagemaker:VpcSubnets", "stringList", ids)``.

    Booleans are ``context_entry(key, "boolean", ["true"])``.
    """
    return {"ContextKeyName": key, "ContextKeyValues": list(values), "ContextKeyType": key_type}


_ISOLATION = "sagemaker:NetworkIsolation"
_ENCRYPTION = "sagemaker:InterContainerTrafficEncryption"
_SUBNETS = "sagemaker:VpcSubnets"
_VOLUME_KEY = "sagemaker:VolumeKmsKey"

#: Context entries by key: the controls a compliant request carries.
_Controls = dict[str, dict[str, Any]]


def guardrail_requests(
    *, subnet_ids: Sequence[str], key_arn: str, endpoint_ids: Sequence[str] | None = None
) -> list[SimulatedRequest]:
    """The requests :func:`guardrail_checks` simulates, with the decisions they must get.

    Each compliant request must be allowed, so the guardrails leave the data scientist able
    to work; each request with one control left out, or turned off, must hit an explicit
    Deny. "Left out" and "off" are separate requests because the policy denies them with
    separate statements.
    """
    subnets = context_entry(_SUBNETS, "stringList", subnet_ids)
    volume_key = context_entry(_VOLUME_KEY, "string", [key_arn])
    job_controls = {
        _SUBNETS: subnets,
        _ISOLATION: _flag(_ISOLATION, True),
        _ENCRYPTION: _flag(_ENCRYPTION, True),
        _VOLUME_KEY: volume_key,
    }
    model_controls = {_SUBNETS: subnets, _ISOLATION: _flag(_ISOLATION, True)}
    return [
        *_training_job_requests(job_controls),
        *_model_requests(model_controls),
        *_transform_job_requests(volume_key),
        *(_presigned_url_requests(endpoint_ids) if endpoint_ids else []),
    ]


def _flag(key: str, value: bool) -> dict[str, Any]:
    return context_entry(key, "boolean", ["true" if value else "false"])


def _request(
    action: str, resource_type: str, what: str, context: Iterable[dict[str, Any]], expected: str
) -> SimulatedRequest:
    return SimulatedRequest(
        name=f"guardrail {action} {what} -> {expected}",
        action=f"sagemaker:{action}",
        resource_type=resource_type,
        context=tuple(context),
        expected=expected,
    )


def _without(controls: _Controls, key: str) -> list[dict[str, Any]]:
    return [entry for name, entry in controls.items() if name != key]


def _turned_off(controls: _Controls, key: str) -> list[dict[str, Any]]:
    return [*_without(controls, key), _flag(key, False)]


def _training_job_requests(controls: _Controls) -> list[SimulatedRequest]:
    """Compliant; then without each control; then with isolation or encryption off."""
    training = ("CreateTrainingJob", "training-job")
    return [
        _request(*training, "compliant", controls.values(), ALLOWED),
        *(
            _request(*training, f"without {key}", _without(controls, key), EXPLICIT_DENY)
            for key in controls
        ),
        *(
            _request(*training, f"with {key}=false", _turned_off(controls, key), EXPLICIT_DENY)
            for key in (_ISOLATION, _ENCRYPTION)
        ),
    ]


def _model_requests(controls: _Controls) -> list[SimulatedRequest]:
    model = ("CreateModel", "model")
    return [
        _request(*model, "compliant", controls.values(), ALLOWED),
        _request(*model, f"without {_ISOLATION}", _without(controls, _ISOLATION), EXPLICIT_DENY),
        _request(
            *model, f"with {_ISOLATION}=false", _turned_off(controls, _ISOLATION), EXPLICIT_DENY
        ),
        _request(*model, f"without {_SUBNETS}", _without(controls, _SUBNETS), EXPLICIT_DENY),
    ]


def _transform_job_requests(volume_key: dict[str, Any]) -> list[SimulatedRequest]:
    transform = ("CreateTransformJob", "transform-job")
    return [
        _request(*transform, "compliant", [volume_key], ALLOWED),
        _request(*transform, f"without {_VOLUME_KEY}", [], EXPLICIT_DENY),
    ]


def _presigned_url_requests(endpoint_ids: Sequence[str]) -> list[SimulatedRequest]:
    """Through the stack's first endpoint, through a foreign one, and from no endpoint."""
    presigned = ("CreatePresignedNotebookInstanceUrl", "notebook-instance")

    def source_vpce(endpoint_id: str) -> list[dict[str, Any]]:
        return [context_entry("aws:SourceVpce", "string", [endpoint_id])]

    return [
        _request(*presigned, f"via {endpoint_ids[0]}", source_vpce(endpoint_ids[0]), ALLOWED),
        _request(
            *presigned,
            f"via {FOREIGN_VPC_ENDPOINT_ID}",
            source_vpce(FOREIGN_VPC_ENDPOINT_ID),
            EXPLICIT_DENY,
        ),
        _request(*presigned, "from outside any VPC endpoint", [], EXPLICIT_DENY),
    ]


def format_context(context: Iterable[Mapping[str, Any]]) -> str:
    """``key (type) = v1,v2; ...`` or ``(no context keys)``, for log lines and dry runs."""
    parts = [
        f"{entry['ContextKeyName']} ({entry['ContextKeyType']}) = "
        + ",".join(entry["ContextKeyValues"])
        for entry in context
    ]
    return "; ".join(parts) if parts else "(no context keys)"


def _arn_parts(arn: str) -> list[str]:
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 and parts[0] == "arn" else []


def _evaluation(response: Mapping[str, Any], action: str) -> tuple[str, str]:
    """The decision for ``action`` in a SimulatePrincipalPolicy response, and notes on it."""
    for result in response.get("EvaluationResults", []):
        if result.get("EvalActionName", "").lower() != action.lower():
            continue
        notes = []
        missing = result.get("MissingContextValues") or []
        if missing:
            notes.append(f"missing context values: {', '.join(missing)}")
        boundary = result.get("PermissionsBoundaryDecisionDetail", {})
        if boundary and not boundary.get("AllowedByPermissionsBoundary", True):
            notes.append("denied by the permissions boundary")
        organizations = result.get("OrganizationsDecisionDetail", {})
        if organizations and not organizations.get("AllowedByOrganizations", True):
            notes.append("denied by an organizations policy")
        return result.get("EvalDecision", "unknown"), "; ".join(notes)
    return "no result", ""


def guardrail_checks(
    iam_client: Any,
    role_arn: str,
    *,
    subnet_ids: Sequence[str],
    key_arn: str,
    endpoint_ids: Sequence[str] | None = None,
) -> list[Check]:
    """Simulates :func:`guardrail_requests` as ``role_arn``; one Check per request.

    Each request names one resource of the matching type in the role's account, in the
    region of ``key_arn`` (the stack's region): the role's Allow statements are scoped to
    such ARNs, and a simulation against the default resource ``*`` would not match them.
    If the simulator cannot be called (for example, the caller lacks
    ``iam:SimulatePrincipalPolicy``), the checks end with one failed check naming the error.
    """
    role_parts = _arn_parts(role_arn)
    if not role_parts or role_parts[2] != "iam":
        raise SetupError(f"DataScientistRoleArn is not an IAM role ARN: {role_arn!r}")
    partition, account = role_parts[1], role_parts[4]
    key_parts = _arn_parts(key_arn)
    region = key_parts[3] if key_parts else ""
    if not region:
        raise SetupError(f"KeyArn is not a regional KMS key ARN: {key_arn!r}")

    checks: list[Check] = []
    requests = guardrail_requests(subnet_ids=subnet_ids, key_arn=key_arn, endpoint_ids=endpoint_ids)
    for position, request in enumerate(requests):
        resource_arn = (
            f"arn:{partition}:sagemaker:{region}:{account}:"
            f"{request.resource_type}/{SIMULATED_RESOURCE_NAME}"
        )
        try:
            response = iam_client.simulate_principal_policy(
                PolicySourceArn=role_arn,
                ActionNames=[request.action],
                ResourceArns=[resource_arn],
                ContextEntries=list(request.context),
            )
        except botocore.exceptions.ClientError as error:
            checks.append(
                Check(
                    "guardrail simulation",
                    False,
                    f"iam:SimulatePrincipalPolicy failed ({aws_error_message(error)}); "
                    f"{len(requests) - position} of {len(requests)} requests not simulated",
                )
            )
            break
        decision, notes = _evaluation(response, request.action)
        detail = f"{decision} (expected {request.expected})" + (f"; {notes}" if notes else "")
        checks.append(Check(request.name, decision == request.expected, detail))
    return checks


# --- the notebook patterns' use -----------------------------------------------------------------


def role_guardrail_checks(
    iam_client: Any,
    outputs: Mapping[str, str],
    log: Log,
    *,
    endpoint_ids: Sequence[str] | None = None,
) -> list[Check]:
    """:func:`guardrail_checks` of a notebook stack: its data-scientist role, subnets and key,
    read from the outputs every notebook pattern declares (:class:`NotebookOutputs`)."""
    role_arn = outputs[NotebookOutputs.DATA_SCIENTIST_ROLE_ARN]
    log(f"simulating guardrail requests as {role_arn}")
    return guardrail_checks(
        iam_client,
        role_arn,
        subnet_ids=split_ids(outputs[NotebookOutputs.SUBNET_IDS]),
        key_arn=outputs[NotebookOutputs.KEY_ARN],
        endpoint_ids=endpoint_ids,
    )


def plan_lines(*, endpoint_ids: Sequence[str] | None = None) -> list[str]:
    """What a dry run says :func:`role_guardrail_checks` would simulate, with placeholders
    for the outputs."""
    lines = ["would simulate as <DataScientistRoleArn> (iam:SimulatePrincipalPolicy):"]
    requests = guardrail_requests(
        subnet_ids=["<SubnetIds>"], key_arn="<KeyArn>", endpoint_ids=endpoint_ids
    )
    for request in requests:
        lines.append(f"  {request.name}")
        lines.append(f"      context: {format_context(request.context)}")
    return lines
