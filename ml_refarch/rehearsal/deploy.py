"""Deploy a cloud assembly's stacks to the stand-in, then check what really exists.

For each stack: publish its file assets to the bootstrap bucket (as ``cdk deploy`` does),
create the stack through the CloudFormation API, and require CREATE_COMPLETE. Then sort
every resource of the template:

- **skipped**: moto's CloudFormation does not model the type, so it creates nothing (it
  only warns). Reported per type, never silently ignored.
- **verified**: moto models the type, listed it as created, and the service's own API knows
  it (:mod:`ml_refarch.rehearsal.checks`).
- **created, not verified**: modelled and listed, but no check exists for the type.
- **missing**: modelled, but not listed, or the service does not know it. A failure, as is a
  stack that does not reach CREATE_COMPLETE.

Outputs that moto could not resolve (they name a skipped resource) are reported too.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import defaultdict
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ml_refarch.cfn import resources
from ml_refarch.config import LOCAL_ACCOUNT, LOCAL_REGION
from ml_refarch.rehearsal.checks import (
    CHECKED,
    CHECKS,
    SKIPPED,
    disposition,
    is_custom_resource,
    resolved_properties,
    service_of,
)
from ml_refarch.rehearsal.server import UNMODELLED_MARKER
from ml_refarch.rehearsal.stand_in import Clients

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


class RehearsalError(RuntimeError):
    """The rehearsal cannot deploy an assembly (bad input, or an asset it cannot publish)."""


@dataclass
class StackRehearsal:
    """What happened to one stack.

    Attributes:
        stack_name: the CloudFormation stack name.
        status: the stack status, or ``NOT_CREATED`` when the create call failed.
        error: why the create failed, with the stand-in's own exception lines.
        verified: logical ids whose resource the service API returned.
        unverified: logical ids by type, created but without an existence check.
        skipped: logical ids by type, of types moto does not model.
        missing: modelled resources that were not created or that the API does not know.
        unresolved_outputs: outputs moto left out or filled with a placeholder, because
            they refer to a skipped resource.
    """

    stack_name: str
    status: str = "NOT_CREATED"
    error: str | None = None
    verified: list[str] = field(default_factory=list)
    unverified: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    unresolved_outputs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "CREATE_COMPLETE" and self.error is None and not self.missing

    def problems(self) -> list[str]:
        """Every reason the stack failed the rehearsal, one per line."""
        found = []
        if self.status != "CREATE_COMPLETE":
            found.append(f"status {self.status}: {self.error or 'no reason given'}")
        found += [f"missing: {item}" for item in self.missing]
        return found


@dataclass(frozen=True)
class StackArtifact:
    """A stack in a cloud assembly: its template and asset manifest."""

    stack_name: str
    template_path: Path
    assets_path: Path | None
    termination_protection: bool

    @cached_property
    def template(self) -> dict[str, Any]:
        return json.loads(self.template_path.read_text())


def assembly_stacks(assembly_dir: Path) -> dict[str, StackArtifact]:
    """The stacks of the cloud assembly in ``assembly_dir``, by stack name."""
    manifest_path = Path(assembly_dir) / "manifest.json"
    if not manifest_path.is_file():
        raise RehearsalError(f"{assembly_dir} is no cloud assembly (no manifest.json)")
    artifacts = json.loads(manifest_path.read_text()).get("artifacts", {})
    stacks = {}
    for artifact_id, artifact in artifacts.items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        properties = artifact.get("properties", {})
        asset_manifests = [
            artifacts[dependency]["properties"]["file"]
            for dependency in artifact.get("dependencies", [])
            if artifacts.get(dependency, {}).get("type") == "cdk:asset-manifest"
        ]
        name = properties.get("stackName", artifact_id)
        stacks[name] = StackArtifact(
            stack_name=name,
            template_path=Path(assembly_dir) / properties["templateFile"],
            assets_path=Path(assembly_dir) / asset_manifests[0] if asset_manifests else None,
            termination_protection=bool(properties.get("terminationProtection")),
        )
    return stacks


def _substitute(text: str) -> str:
    return (
        text.replace("${AWS::AccountId}", LOCAL_ACCOUNT)
        .replace("${AWS::Region}", LOCAL_REGION)
        .replace("${AWS::Partition}", "aws")
    )


def _asset_bytes(source: Path, packaging: str) -> bytes:
    if packaging == "file":
        return source.read_bytes()
    if packaging != "zip":
        raise RehearsalError(f"asset packaging {packaging!r} of {source} is not supported")
    if source.is_file():  # an archive already
        return source.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(source).as_posix())
    return buffer.getvalue()


def publish_file_assets(clients: Clients, stack: StackArtifact) -> list[str]:
    """Upload the stack's file assets to their buckets (the bootstrap bucket, created if
    needed), as the CDK CLI does before it deploys; returns the ``s3://`` URIs written.

    Raises:
        RehearsalError: for container image assets (they need a container engine) and
            assets that a command must build.
    """
    if stack.assets_path is None:
        return []
    manifest = json.loads(stack.assets_path.read_text())
    if manifest.get("dockerImages"):
        raise RehearsalError(
            f"{stack.stack_name} has container image assets; building them needs a "
            "container engine, which the rehearsal does not have"
        )
    s3 = clients("s3")
    written = []
    for asset_id, asset in manifest.get("files", {}).items():
        source = asset["source"]
        if "path" not in source:
            raise RehearsalError(f"{stack.stack_name}: asset {asset_id} is built by a command")
        body = _asset_bytes(stack.assets_path.parent / source["path"], source.get("packaging"))
        for destination in asset["destinations"].values():
            bucket = _substitute(destination["bucketName"])
            _ensure_bucket(s3, bucket)
            key = _substitute(destination["objectKey"])
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            written.append(f"s3://{bucket}/{key}")
    return written


def _file_asset_destinations(stack: StackArtifact) -> list[tuple[str, str, str]]:
    """(display name, bucket, key) of every file asset destination of the stack."""
    if stack.assets_path is None:
        return []
    manifest = json.loads(stack.assets_path.read_text())
    return [
        (
            asset.get("displayName", asset_id),
            _substitute(destination["bucketName"]),
            _substitute(destination["objectKey"]),
        )
        for asset_id, asset in manifest.get("files", {}).items()
        for destination in asset["destinations"].values()
    ]


def _unpublished_assets(clients: Clients, stack: StackArtifact) -> list[str]:
    missing = []
    for name, bucket, key in _file_asset_destinations(stack):
        try:
            clients("s3").head_object(Bucket=bucket, Key=key)
        except Exception as error:
            missing.append(
                f"asset {name} s3://{bucket}/{key}: not published ({_first_line(error)})"
            )
    return missing


def _ensure_bucket(s3: Any, bucket: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        s3.create_bucket(Bucket=bucket)


def create_stack(clients: Clients, stack: StackArtifact) -> StackRehearsal:
    """Create the stack from its template (the stand-in has no template size limit)."""
    result = StackRehearsal(stack.stack_name)
    template = stack.template
    custom = sorted(
        logical_id
        for logical_id, resource in resources(template).items()
        if is_custom_resource(resource["Type"])
    )
    if custom:
        result.error = (
            f"custom resources {custom} need a Lambda runtime the stand-in does not have; "
            "constructs must leave them out where profile.custom_resources is false"
        )
        return result
    cloudformation = clients("cloudformation")
    try:
        cloudformation.create_stack(
            StackName=stack.stack_name,
            TemplateBody=stack.template_path.read_text(),
            Capabilities=CAPABILITIES,
            EnableTerminationProtection=stack.termination_protection,
        )
    except Exception as error:  # the stand-in answers a failed create with an error
        body = clients.last_error_body()
        result.error = _first_line(error) + (f"; response: {body}" if body else "")
        return result
    result.status = cloudformation.describe_stacks(StackName=stack.stack_name)["Stacks"][0][
        "StackStatus"
    ]
    return result


def _first_line(error: Exception) -> str:
    """The error without the HTML page the stand-in sends with a 500."""
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text.removesuffix(': <!doctype html>')}"


def verify_stack(
    clients: Clients, stack: StackArtifact, result: StackRehearsal, modelled: Collection[str]
) -> None:
    """Sort the template's resources into verified, unverified, skipped and missing;
    ``modelled`` are the types moto's CloudFormation creates."""
    cloudformation = clients("cloudformation")
    try:
        description = cloudformation.describe_stacks(StackName=stack.stack_name)["Stacks"][0]
    except Exception as error:  # the stack was never created
        result.status, result.error = "NOT_CREATED", _first_line(error)
        return
    result.status = description["StackStatus"]
    listed = {
        summary["LogicalResourceId"]: summary
        for page in cloudformation.get_paginator("list_stack_resources").paginate(
            StackName=stack.stack_name
        )
        for summary in page["StackResourceSummaries"]
        if summary.get("LogicalResourceId")
    }
    physical_ids = {name: summary["PhysicalResourceId"] for name, summary in listed.items()}
    skipped: dict[str, list[str]] = defaultdict(list)
    unverified: dict[str, list[str]] = defaultdict(list)
    template = stack.template
    for logical_id, resource in resources(template).items():
        resource_type = resource["Type"]
        label = f"{logical_id} ({resource_type})"
        verdict = disposition(resource_type, modelled)
        if verdict == SKIPPED:
            skipped[resource_type].append(logical_id)
        elif logical_id not in listed:
            condition = resource.get("Condition")
            why = f" (its condition {condition} may be false)" if condition else ""
            result.missing.append(f"{label}: moto models the type but did not create it{why}")
        elif verdict != CHECKED:
            unverified[resource_type].append(logical_id)
        else:
            properties = resolved_properties(resource, physical_ids)
            try:
                CHECKS[resource_type](clients, physical_ids[logical_id], properties)
            except Exception as error:
                result.missing.append(
                    f"{label} {physical_ids[logical_id]!r}: the service API does not know it "
                    f"({_first_line(error)})"
                )
            else:
                result.verified.append(logical_id)
    result.skipped = dict(sorted(skipped.items()))
    result.unverified = dict(sorted(unverified.items()))
    result.missing += _unpublished_assets(clients, stack)
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in description.get("Outputs", [])}
    result.unresolved_outputs = sorted(
        name
        for name in template.get("Outputs", {})
        if name not in outputs or UNMODELLED_MARKER in outputs[name]
    )


def deploy_stack(clients: Clients, stack: StackArtifact) -> StackRehearsal:
    """Publish the stack's file assets and create it, as ``cdk deploy`` would."""
    try:
        publish_file_assets(clients, stack)
    except RehearsalError as error:
        return StackRehearsal(stack.stack_name, error=str(error))
    return create_stack(clients, stack)


def rehearse(
    endpoint_url: str,
    stacks: Iterable[StackArtifact],
    *,
    modelled_types: Collection[str],
    deploy: bool = True,
    max_workers: int = 4,
) -> list[StackRehearsal]:
    """Rehearse ``stacks`` against the stand-in at ``endpoint_url``.

    Unless ``deploy`` is false (the CDK CLI deployed them), stacks are created one after
    the other: moto's backends are not safe for concurrent writes. The checks only read, so
    they run in parallel, and the clients they need are created while the stacks deploy.
    """
    stacks = list(stacks)
    clients = Clients(endpoint_url)
    clients.warm(["cloudformation", "s3"])
    services = {
        service_of(resource["Type"])
        for stack in stacks
        for resource in resources(stack.template).values()
        if resource["Type"] in CHECKS
    }
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        warming = pool.submit(clients.warm, sorted(services))
        if deploy:
            results = [deploy_stack(clients, stack) for stack in stacks]
        else:
            results = [StackRehearsal(stack.stack_name, status="") for stack in stacks]
        warming.result()
        to_verify = [
            (stack, result)
            for stack, result in zip(stacks, results, strict=True)
            if result.status != "NOT_CREATED"
        ]
        list(
            pool.map(lambda pair: verify_stack(clients, *pair, modelled=modelled_types), to_verify)
        )
    return results


def report_lines(results: Iterable[StackRehearsal], server_errors: Iterable[str] = ()) -> list[str]:
    """A readable report: per stack its status, counts, skipped types and problems, and on
    failure the stand-in's own error lines (a 500 response does not carry them)."""
    results = list(results)
    lines = []
    width = max([len(r.stack_name) for r in results] + [5])
    for r in results:
        unverified = sum(map(len, r.unverified.values()))
        skipped = sum(map(len, r.skipped.values()))
        lines.append(
            f"{r.stack_name:<{width}}  {r.status:<16} {len(r.verified)} verified, "
            f"{unverified} created not verified, {skipped} skipped, {len(r.missing)} missing"
        )
        if r.skipped:
            lines.append(f"  skipped (moto does not model the type): {_by_type(r.skipped)}")
        if r.unverified:
            lines.append(f"  created, not verified (no check): {_by_type(r.unverified)}")
        if r.unresolved_outputs:
            lines.append(
                "  outputs naming skipped resources (no real value): "
                + ", ".join(r.unresolved_outputs)
            )
        lines += [f"  FAILED {problem}" for problem in r.problems()]
    failed = [r.stack_name for r in results if not r.ok]
    if failed:
        server_errors = list(server_errors)
        if server_errors:
            lines.append("errors in the stand-in's log:")
            lines += [f"  {line}" for line in server_errors]
        lines.append(f"{len(failed)} of {len(results)} stacks failed: {', '.join(failed)}")
    else:
        lines.append(f"all {len(results)} stacks reached CREATE_COMPLETE and were verified")
    return lines


def _by_type(by_type: dict[str, list[str]]) -> str:
    return ", ".join(
        f"{resource_type} x{len(ids)}" if len(ids) > 1 else resource_type
        for resource_type, ids in by_type.items()
    )
