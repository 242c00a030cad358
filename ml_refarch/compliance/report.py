"""Reads a cloud assembly (``cdk.out``): stack templates and acknowledged findings."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ml_refarch.cfn import resources
from ml_refarch.compliance.controls import control_of
from ml_refarch.compliance.packs import PACKS, pack_of_rule
from ml_refarch.compliance.templates import stack_metadata

_ACK_TYPE = "aws:cdk:acknowledged-rules"
_NESTED_ASSEMBLY = "cdk:cloud-assembly"
_ACK_PREFIX = "Annotation::"
#: CDK acknowledges findings of its own built-in template validator under this prefix; they
#: are not rule-pack findings.
_CDK_VALIDATOR_PREFIX = "CloudFormation-Validate::"


@dataclass(frozen=True)
class Acknowledgment:
    """One acknowledged finding: where, which rule, why."""

    construct_path: str
    rule_id: str
    reason: str

    @property
    def pack(self) -> str:
        return pack_of_rule(self.rule_id)


@dataclass(frozen=True)
class StackReport:
    """What ``make synth`` prints for one stack."""

    stack_name: str
    template: dict
    acknowledgments: tuple[Acknowledgment, ...] = field(default=())

    @property
    def resource_count(self) -> int:
        return len(resources(self.template))

    @property
    def acknowledgments_by_pack(self) -> Counter:
        return Counter(ack.pack for ack in self.acknowledgments)

    @property
    def acknowledged_controls(self) -> int:
        """How many controls are acknowledged: per resource, a control family
        (``controls.FAMILIES``) counts once however many packs report it, and every other
        rule id (each finding of a multi-finding rule) once."""
        return len({(ack.construct_path, control_of(ack.rule_id)) for ack in self.acknowledgments})


class AssemblyError(Exception):
    """The directory is not a readable cloud assembly."""


def read_assembly(out_dir: str | Path, *, nested: bool = False) -> list[StackReport]:
    """Every CloudFormation stack in ``out_dir``, with its template and acknowledgments; with
    ``nested``, those of its nested assemblies too (a CDK ``Stage``'s ``assembly-*``
    directories, to any depth), named as CDK displays them (``<stage>/<stack id>``)."""
    out = Path(out_dir)
    manifest_path = out / "manifest.json"
    if not manifest_path.is_file():
        raise AssemblyError(f"{out} is not a cloud assembly: no manifest.json (run make synth)")
    return _stack_reports(out, nested=nested, top=True)


def _stack_reports(out: Path, *, nested: bool, top: bool) -> list[StackReport]:
    manifest = json.loads((out / "manifest.json").read_text())
    reports = []
    for artifact_id, artifact in sorted(manifest.get("artifacts", {}).items()):
        properties = artifact.get("properties") or {}
        if artifact.get("type") == _NESTED_ASSEMBLY and nested:
            inner = out / properties.get("directoryName", "")
            if (inner / "manifest.json").is_file():
                reports += _stack_reports(inner, nested=nested, top=False)
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template = json.loads((out / properties["templateFile"]).read_text())
        metadata = stack_metadata(out, artifact_id, artifact)
        # "Sandbox-111122223333-us-east-1/MlRefArch-X (Sandbox-...-MlRefArch-X)"
        name = artifact_id if top else artifact.get("displayName", artifact_id).split(" (")[0]
        reports.append(StackReport(name, template, tuple(_acknowledgments(metadata))))
    return reports


def _acknowledgments(metadata: dict) -> list[Acknowledgment]:
    """The rule-pack acknowledgments in a stack's construct-path -> entries metadata; of an
    id written both with pseudo parameters and with a pinned stack's values
    (``acknowledge.in_environment``), one finding, so counted once."""
    acks = []
    for construct_path, entries in metadata.items():
        for entry in entries:
            if entry.get("type") != _ACK_TYPE:
                continue
            for key, reason in entry["data"].items():
                rule_id = key.removeprefix(_ACK_PREFIX)
                if not rule_id.startswith(_CDK_VALIDATOR_PREFIX):
                    acks.append(Acknowledgment(construct_path, rule_id, reason))
    return [ack for ack in acks if not _has_pinned_twin(ack, acks)]


_PSEUDO_PARAMETER = re.compile(r"<AWS::(Partition|Region|AccountId)>")


def _has_pinned_twin(ack: Acknowledgment, acks: list[Acknowledgment]) -> bool:
    """Whether ``ack``'s id has pseudo parameters and another acknowledgment of the same
    resource, for the same reason, spells them as values."""
    if not _PSEUDO_PARAMETER.search(ack.rule_id):
        return False
    parts = _PSEUDO_PARAMETER.split(ack.rule_id)[::2]  # the text between the parameters
    twin = re.compile("[^:]+".join(re.escape(part) for part in parts))
    return any(
        other is not ack
        and other.construct_path == ack.construct_path
        and other.reason == ack.reason
        and twin.fullmatch(other.rule_id)
        for other in acks
    )


def summary_lines(reports: list[StackReport]) -> list[str]:
    """One line per stack (resources, acknowledged controls and findings by pack), then the
    totals."""
    width = max([len(r.stack_name) for r in reports] + [5])
    total_by_pack: Counter = Counter()
    for report in reports:
        total_by_pack.update(report.acknowledgments_by_pack)
    rows = [
        (r.stack_name, r.resource_count, r.acknowledged_controls, r.acknowledgments_by_pack)
        for r in reports
    ]
    rows.append(
        (
            "total",
            sum(r.resource_count for r in reports),
            sum(r.acknowledged_controls for r in reports),
            total_by_pack,
        )
    )
    return [
        f"{name:<{width}}  resources {resources:>4}  acknowledged controls {controls:>3}, "
        f"findings {sum(by_pack.values()):>3} ({_by_pack(by_pack)})"
        for name, resources, controls, by_pack in rows
    ]


def _by_pack(counts: Counter) -> str:
    return ", ".join(f"{name} {counts.get(name, 0)}" for name in PACKS)


# --------------------------------------------------------------------------------------
# Which profile and target an assembly holds

#: The stack description names the profile (ml_refarch/stacks/base.py) ...
_PROFILE_IN_DESCRIPTION = re.compile(r"\((\w+) profile\)")
#: ... and every stack is tagged with it.
_PROFILE_TAG = "ml-refarch:profile"


def template_profile(template: dict) -> str | None:
    """The profile a template was synthesized for, from its description or its tags."""
    found = _PROFILE_IN_DESCRIPTION.search(template.get("Description", ""))
    if found:
        return found.group(1)
    for resource in template.get("Resources", {}).values():
        tags = resource.get("Properties", {}).get("Tags")
        if isinstance(tags, list):
            for tag in tags:
                if isinstance(tag, dict) and tag.get("Key") == _PROFILE_TAG:
                    return tag.get("Value")
    return None


def template_target(template: dict) -> str:
    """``local`` for the deploy rehearsal's templates: they carry no bootstrap-version rule."""
    return "aws" if "CheckBootstrapVersion" in template.get("Rules", {}) else "local"


def _one_of(values: set, what: str) -> str:
    if not values or values == {None}:
        return f"unknown {what}"
    if len(values) > 1:
        return f"mixed {what}s ({', '.join(sorted(str(v) for v in values))})"
    return f"{next(iter(values))} {what}"


def assembly_line(reports: list[StackReport]) -> str:
    """``assembly: 12 stacks, sandbox profile, aws target`` (or mixed / unknown)."""
    profiles = {template_profile(r.template) for r in reports}
    targets = {template_target(r.template) for r in reports}
    stacks = f"{len(reports)} stack{'' if len(reports) == 1 else 's'}"
    return f"assembly: {stacks}, {_one_of(profiles, 'profile')}, {_one_of(targets, 'target')}"
