"""Which templates ``python -m ml_refarch check`` reads, and what became of each.

A target is a cloud assembly (a directory with a ``manifest.json``), a plain directory of
templates, or one template file:

- in a cloud assembly, every stack artifact of the manifest, the nested assemblies it lists
  (``cdk:cloud-assembly`` artifacts: the ``assembly-*`` directories of a CDK ``Stage``, so of
  every CDK Pipelines app), walked to any depth, ``assembly-*`` directories with a manifest
  that the manifest does not list, and the templates of CDK nested stacks
  (``*.nested.template.json``);
- in a plain directory, the files directly in it whose name ends in ``.json``, ``.yaml``,
  ``.yml`` or ``.template``; a file that reads as a mapping with none of
  ``AWSTemplateFormatVersion``, ``Resources`` and ``Transform`` is not a template and is left
  out, unless its name contains ``.template``.

Templates are read by content, JSON or YAML, CloudFormation's short-form tags (``!Ref``,
``!GetAtt a.b``, ``!Sub`` ...) included (cfn-lint's YAML reader). Each ends with one status:
checked, skipped with the reason, or failed to load with the reason.

A stack of a cloud assembly also carries the acknowledgments CDK recorded for it
(``aws:cdk:acknowledged-rules`` entries in its artifact's metadata, inline in the manifest or
in its ``additionalMetadataFile``), by construct path, with each construct's logical id
(:func:`stack_metadata`, :func:`artifact_acknowledgments`). Where a template's own resource
metadata lacks them (cdk-nag writes ``Metadata.cdk_nag`` only into the stacks of the
assembly it validates directly, not into those of a nested stage's assembly), ``check``
honours these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

CHECKED = "checked"
SKIPPED = "skipped"
FAILED = "failed to load"

#: The file name endings read in a plain directory.
TEMPLATE_SUFFIXES = (".json", ".yaml", ".yml", ".template")
#: Top-level keys of which a CloudFormation template has at least one.
_TEMPLATE_KEYS = ("AWSTemplateFormatVersion", "Resources", "Transform")
_STACK = "aws:cloudformation:stack"
_NESTED_ASSEMBLY = "cdk:cloud-assembly"
_NESTED_STACK_SUFFIX = ".nested.template.json"
_LOGICAL_ID = "aws:cdk:logicalId"
_ACKNOWLEDGED = "aws:cdk:acknowledged-rules"
#: How CDK prefixes an acknowledged rule id in the metadata.
_ACKNOWLEDGED_PREFIX = "Annotation::"


class CheckError(Exception):
    """Bad input for the whole run: no such target, an unreadable manifest, no templates."""


class TemplateError(Exception):
    """One template cannot be loaded; the others are still checked."""


@dataclass
class Template:
    """One template found, and what became of it."""

    name: str
    path: Path
    status: str = CHECKED
    reason: str = ""
    body: dict = field(default_factory=dict, repr=False, compare=False)
    #: Acknowledged rule ids and their reasons by logical id, from the assembly's metadata.
    acknowledgments: dict[str, dict[str, str]] = field(
        default_factory=dict, repr=False, compare=False
    )


# ------------------------------------------------------------------------------------------
# Finding


def find_templates(target: str | Path) -> dict[str, Path]:
    """Stack or file name -> template file: every candidate, before any is read."""
    path = Path(target)
    if path.is_file():
        return {_file_stack_name(path): path}
    if not path.is_dir():
        raise CheckError(f"{path}: no such file or directory")
    templates: dict[str, Path] = {}
    if (path / "manifest.json").is_file():
        _assembly_templates(path, "", templates, set())
    else:
        for file in sorted(path.iterdir()):
            if file.is_file() and file.name.endswith(TEMPLATE_SUFFIXES):
                _add(templates, _file_stack_name(file), file)
    if not templates:
        raise CheckError(
            f"{path}: no CloudFormation templates (expected a cloud assembly, or "
            f"{', '.join('*' + s for s in TEMPLATE_SUFFIXES)} files)"
        )
    return templates


def _file_stack_name(path: Path) -> str:
    name = path.name
    for suffix in (_NESTED_STACK_SUFFIX, *(".template" + s for s in TEMPLATE_SUFFIXES)):
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return path.stem


def _add(templates: dict[str, Path], name: str, path: Path) -> None:
    unique, n = name, 2
    while unique in templates:
        unique, n = f"{name}~{n}", n + 1
    templates[unique] = path


def _assembly_templates(out: Path, prefix: str, templates: dict[str, Path], seen: set) -> None:
    """The stacks of one assembly and of the assemblies nested in it, to any depth."""
    if out.resolve() in seen:
        return
    seen.add(out.resolve())
    manifest = out / "manifest.json"
    try:
        artifacts = json.loads(manifest.read_text()).get("artifacts") or {}
    except (OSError, ValueError, AttributeError) as error:
        raise CheckError(f"{manifest}: not a valid cloud assembly manifest ({error})") from None
    nested = []
    for artifact_id, artifact in sorted(artifacts.items()):
        properties = artifact.get("properties") or {}
        if artifact.get("type") == _STACK and properties.get("templateFile"):
            name = artifact.get("displayName") if prefix else artifact_id
            _add(templates, name or prefix + artifact_id, out / properties["templateFile"])
        elif artifact.get("type") == _NESTED_ASSEMBLY and properties.get("directoryName"):
            nested.append(out / properties["directoryName"])
    for file in sorted(out.glob("*" + _NESTED_STACK_SUFFIX)):
        _add(templates, prefix + _file_stack_name(file), file)
    nested += [d for d in sorted(out.glob("assembly-*")) if (d / "manifest.json").is_file()]
    for directory in nested:
        if (directory / "manifest.json").is_file():
            _assembly_templates(directory, f"{prefix}{directory.name}/", templates, seen)
        else:
            _add(templates, prefix + directory.name, directory / "manifest.json")


# ------------------------------------------------------------------------------------------
# What the assembly says of a stack


def stack_metadata(directory: Path, artifact_id: str, artifact: dict) -> dict[str, list]:
    """A stack artifact's metadata by construct path: inline in the manifest, or (recent
    CDK versions) in its ``additionalMetadataFile`` (``<artifact>.metadata.json``); empty
    when neither can be read."""
    metadata = artifact.get("metadata") or {}
    if metadata:
        return metadata
    name = artifact.get("additionalMetadataFile") or f"{artifact_id}.metadata.json"
    try:
        found = json.loads((directory / name).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def acknowledgments_by_path(metadata: dict[str, list]) -> dict[str, dict[str, str]]:
    """Acknowledged rule id -> reason, by construct path, from a stack's metadata."""
    found: dict[str, dict[str, str]] = {}
    for path, entries in metadata.items():
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("type") == _ACKNOWLEDGED:
                for key, reason in (entry.get("data") or {}).items():
                    rule_id = key.removeprefix(_ACKNOWLEDGED_PREFIX)
                    found.setdefault(path, {})[rule_id] = str(reason)
    return found


def artifact_acknowledgments(template: Path) -> dict[str, dict[str, str]]:
    """The acknowledgments CDK recorded for the stack whose template this is, by logical
    id; empty for a template that is no stack of a cloud assembly."""
    manifest = template.parent / "manifest.json"
    try:
        artifacts = json.loads(manifest.read_text()).get("artifacts") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    for artifact_id, artifact in artifacts.items():
        properties = (artifact or {}).get("properties") or {}
        if artifact.get("type") == _STACK and properties.get("templateFile") == template.name:
            metadata = stack_metadata(template.parent, artifact_id, artifact)
            logical_ids = {
                path: entry.get("data")
                for path, entries in metadata.items()
                for entry in (entries if isinstance(entries, list) else [])
                if isinstance(entry, dict) and entry.get("type") == _LOGICAL_ID
            }
            return {
                logical_ids[path]: rules
                for path, rules in acknowledgments_by_path(metadata).items()
                if isinstance(logical_ids.get(path), str)
            }
    return {}


# ------------------------------------------------------------------------------------------
# Loading


def load_template(path: Path) -> dict:
    """A template's body, JSON or YAML with short-form tags, in the long (JSON) form.

    Raises:
        TemplateError: unreadable, not JSON or YAML, nested too deep, not a mapping.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise TemplateError(f"cannot be read ({error})") from None
    try:
        if text.lstrip().startswith("{"):
            body = json.loads(text)
        else:
            from cfnlint.decode import cfn_yaml

            # Plain values: cfn-lint's nodes carry line marks that JSON does not need.
            body = json.loads(json.dumps(cfn_yaml.loads(text, str(path)), default=str))
    except RecursionError:
        raise TemplateError("nested too deeply to be read") from None
    except ValueError as error:
        raise TemplateError(f"not valid JSON ({error})") from None
    except Exception as error:  # YAML errors have no common base below this
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise TemplateError(f"not valid YAML ({type(error).__name__}: {first_line})") from None
    if not isinstance(body, dict):
        raise TemplateError(f"not a CloudFormation template (a {type(body).__name__})")
    return body


def is_template_file(path: Path, body: dict) -> bool:
    """Whether a file read from a plain directory is a template, by its content or name."""
    return ".template" in path.name or any(key in body for key in _TEMPLATE_KEYS)


def why_skipped(body: dict) -> str:
    """Why a loaded template is not checked, or "" when it is.

    CloudFormation processes a template's transforms (SAM's ``AWS::Serverless-2016-10-31``,
    ``AWS::Include``, macros) when it creates a change set, and ``GetTemplate`` with
    ``TemplateStage=Processed`` returns the result:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/transform-section-structure.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_GetTemplate.html
    """
    transform = body.get("Transform")
    if transform:
        names = ", ".join(map(str, transform if isinstance(transform, list) else [transform]))
        sam = " (a SAM template)" if "AWS::Serverless" in names else ""
        return (
            f"Transform {names}{sam} is expanded only by CloudFormation, at deploy time; check "
            "the processed template instead (aws cloudformation get-template "
            "--template-stage Processed)"
        )
    return ""


#: The reason beside a checked template that has no resources (a CDK stack left empty, such
#: as an integration test's assertion stack): nothing in it is left unchecked, so it is
#: checked, not skipped, and ``--strict`` does not fail on it.
NOTHING_TO_CHECK = "no resources: nothing to check"


def has_resources(body: dict) -> bool:
    return isinstance(body.get("Resources"), dict) and bool(body["Resources"])


def account(target: str | Path) -> list[Template]:
    """Every template of ``target``, loaded, each checked-to-be or skipped or failed.

    Raises:
        CheckError: no such target, an unreadable manifest, no templates at all.
    """
    in_plain_directory = Path(target).is_dir() and not (Path(target) / "manifest.json").is_file()
    found = []
    for name, path in find_templates(target).items():
        try:
            body = load_template(path)
        except TemplateError as error:
            found.append(Template(name, path, FAILED, str(error)))
            continue
        if in_plain_directory and not is_template_file(path, body):
            continue
        reason = why_skipped(body)
        if reason:
            found.append(Template(name, path, SKIPPED, reason, body))
        else:
            checked = "" if has_resources(body) else NOTHING_TO_CHECK
            acknowledged = {} if in_plain_directory else artifact_acknowledgments(path)
            found.append(Template(name, path, CHECKED, checked, body, acknowledged))
    if not found:
        raise CheckError(f"{target}: no CloudFormation templates among its files")
    return found
