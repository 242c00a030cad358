"""The seventh pack: AWS Control Tower's proactive controls, run with cfn-guard.

Accounts governed by AWS Control Tower can enforce these controls as CloudFormation hooks,
which refuse a non-compliant resource before CloudFormation creates or updates it
(https://docs.aws.amazon.com/controltower/latest/controlreference/proactive-controls.html).
The rules and the guard engine come from cdklabs' ``cdk-validator-cfnguard`` (PyPI
``cdklabs.cdk-validator-cfnguard``, pinned in requirements.txt): a maintained package that
bundles the Control Tower guard rules and a cfn-guard binary per platform in its jsii
tarball. Both are unpacked from that tarball into a cache directory and the binary is run
directly, so ``check`` runs the same rules over any template, outside a CDK synth.

Rule ids are ``ControlTower-<guard rule name>`` (``ControlTower-sqs_dlq_check``); each rule
is one control (``CT.SQS.PR.1``). A resource acknowledges a rule in its metadata, the
convention of cfn-guard rule sets (``Metadata.guard.SuppressedRules``, a list of rule
names). The bundled Control Tower rules do not read that list themselves (the guard engine
leaves suppression to each rule), so this module drops cfn-guard's findings on a resource
that lists the rule; a Control Tower hook in an account would still refuse the resource.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PACK_NAME = "ControlTower"
RULE_PREFIX = "ControlTower"
#: The tool that reports the pack's findings in ``check``.
TOOL = "cfn-guard"
DISTRIBUTION = "cdklabs.cdk-validator-cfnguard"
#: Points at another cfn-guard executable (to test, or to use a newer engine).
ENGINE_ENV = "ML_REFARCH_CFN_GUARD"
#: Where a resource lists the rules it acknowledges: ``Metadata.guard.SuppressedRules``.
METADATA_KEY, SUPPRESSED_KEY = "guard", "SuppressedRules"
#: cfn-guard exits 0 when every rule passes or skips, 19 when one fails.
_GUARD_EXIT_CODES = (0, 19)
_STDERR_KEPT = 2000
_RULES_IN_TARBALL = "package/rules/control-tower/cfn-guard/"
#: The package's README links every bundled control to its page in the AWS documentation.
_README_IN_TARBALL = "package/README.md"
#: Where a control without a link in the README is documented.
_CONTROLS_PAGE = (
    "https://docs.aws.amazon.com/controltower/latest/controlreference/proactive-controls.html"
)
#: The unpacked cache's layout; a new layout unpacks afresh.
_LAYOUT = "v2"
_PLATFORMS = {"Linux": "ubuntu", "Darwin": "macos"}
_ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}
_RESOURCE_PATH = re.compile(r"^/Resources/([^/\[]+)")


class GuardFailure(Exception):
    """cfn-guard did not produce a report: a message and its standard error."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message, self.detail = message, detail


@dataclass(frozen=True)
class GuardRule:
    """One Control Tower rule: its guard name, its control, what it reports on."""

    name: str
    control: str  # CT.SQS.PR.1
    title: str
    resource_types: tuple[str, ...]
    path: Path
    doc_url: str = _CONTROLS_PAGE  # the control's page in the AWS documentation

    @property
    def rule_id(self) -> str:
        return f"{RULE_PREFIX}-{self.name}"


@dataclass(frozen=True)
class GuardFinding:
    """A rule that fails on one resource of one template."""

    template: str  # the template's name in the run
    rule: GuardRule
    resource: str  # logical id


# ------------------------------------------------------------------------------------------
# The bundle: rules and engine from the package's jsii tarball


def bundle_version() -> str:
    return importlib.metadata.version(DISTRIBUTION)


def _tarball() -> Path:
    for file in importlib.metadata.files(DISTRIBUTION) or []:
        if file.name.endswith(".jsii.tgz"):
            return Path(file.locate())
    raise GuardFailure(f"{DISTRIBUTION} has no jsii tarball; reinstall it")


def _engine_member() -> str:
    system, machine = platform.system(), platform.machine().lower()
    if system not in _PLATFORMS or machine not in _ARCHITECTURES:
        raise GuardFailure(f"{DISTRIBUTION} bundles no cfn-guard for {system} {machine}")
    return f"package/bin/{_PLATFORMS[system]}/{_ARCHITECTURES[machine]}/cfn-guard"


@functools.cache
def bundle_dir() -> Path:
    """The unpacked rules and engine of the installed package, unpacked once per version.

    Raises:
        GuardFailure: the package is not installed or has no engine for this platform.
    """
    try:
        version = bundle_version()
    except importlib.metadata.PackageNotFoundError:
        raise GuardFailure(
            f"{DISTRIBUTION} is not installed (pip install {DISTRIBUTION})"
        ) from None
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ml-refarch"
    target = cache / f"cdk-validator-cfnguard-{version}-{_LAYOUT}"
    if (target / "complete").is_file():
        return target
    try:
        _unpack(version, cache, target)
    except (OSError, tarfile.TarError) as error:
        raise GuardFailure(f"cannot unpack {DISTRIBUTION} into {cache}: {error}") from None
    return target


def _unpack(version: str, cache: Path, target: Path) -> None:
    """The rules, README and this platform's engine of the tarball into ``target``."""
    cache.mkdir(parents=True, exist_ok=True)
    engine = _engine_member()
    staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=cache))
    try:
        with tarfile.open(_tarball()) as tar:
            members = [
                member
                for member in tar.getmembers()
                if member.name.startswith(_RULES_IN_TARBALL)
                or member.name in (engine, _README_IN_TARBALL)
            ]
            tar.extractall(staging, members=members, filter="data")
        shutil.move(str(staging / engine), str(staging / "cfn-guard"))
        shutil.move(str(staging / _RULES_IN_TARBALL), str(staging / "rules"))
        shutil.move(str(staging / _README_IN_TARBALL), str(staging / "README.md"))
        shutil.rmtree(staging / "package", ignore_errors=True)
        (staging / "complete").write_text(version)
        with contextlib.suppress(OSError):  # another process may have won the race
            staging.rename(target)  # atomic
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def engine_command() -> tuple[str | None, str]:
    """The cfn-guard to run, or None and why there is none."""
    configured = os.environ.get(ENGINE_ENV)
    if configured:
        path = Path(configured)
        if not path.is_file() or not os.access(path, os.X_OK):
            return None, f"{ENGINE_ENV}={configured}: not an executable file"
        return configured, ""
    try:
        return str(bundle_dir() / "cfn-guard"), ""
    except GuardFailure as failure:
        return None, failure.message


# ------------------------------------------------------------------------------------------
# The rules

_TITLE = re.compile(r"\[(CT\.[A-Z0-9-]+\.PR\.\d+)\]:\s*(.+)")
_REPORTS_ON = re.compile(r"# Reports on:\s*\n((?:#\s+AWS::\S+.*\n)+)")


@functools.cache
def catalog() -> dict[str, GuardRule]:
    """Every bundled Control Tower rule by its guard rule name.

    Raises:
        GuardFailure: the bundle cannot be unpacked.
    """
    readme = (bundle_dir() / "README.md").read_text()
    pages = dict(re.findall(r"\[(CT\.[A-Z0-9-]+\.PR\.\d+)\]\((https://[^)\s]+)\)", readme))
    rules = {}
    for path in sorted((bundle_dir() / "rules").rglob("*.guard")):
        text = path.read_text()
        names = re.findall(r"^rule ([a-z0-9_]+) when ", text, flags=re.MULTILINE)
        title = _TITLE.search(text)
        reports_on = _REPORTS_ON.search(text)
        if not names or not title:
            continue
        types = re.findall(r"AWS::\w+::\w+", reports_on.group(1)) if reports_on else []
        for name in dict.fromkeys(names):
            rules[name] = GuardRule(
                name,
                title[1],
                title[2].strip(),
                tuple(types),
                path,
                pages.get(title[1], _CONTROLS_PAGE),
            )
    return rules


def rule_of(rule_id: str) -> GuardRule:
    """The rule that ``ControlTower-<name>`` (or ``<name>``) names.

    Raises:
        ValueError: no bundled Control Tower rule has that name.
    """
    name = rule_id.removeprefix(f"{RULE_PREFIX}-")
    rules = catalog()
    if name not in rules:
        close = [n for n in rules if n.split("_")[:2] == name.split("_")[:2]][:3]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"{rule_id}: not a Control Tower rule of {DISTRIBUTION}{hint}")
    return rules[name]


def rules_for(resource_types: Iterable[str]) -> list[GuardRule]:
    """The rules that report on any of ``resource_types`` (a rule whose file names no
    type is always run); running only these makes cfn-guard several times faster."""
    present = set(resource_types)
    return [
        rule
        for rule in catalog().values()
        if not rule.resource_types or present & set(rule.resource_types)
    ]


# ------------------------------------------------------------------------------------------
# Acknowledgments in the template: Metadata.guard.SuppressedRules


def suppressed_rules(body: Mapping) -> tuple[list[str], str]:
    """The rule names a resource acknowledges, and what is wrong with how it lists them."""
    metadata = body.get("Metadata")
    guard = metadata.get(METADATA_KEY) if isinstance(metadata, Mapping) else None
    if guard is None:
        return [], ""
    listed = guard.get(SUPPRESSED_KEY) if isinstance(guard, Mapping) else None
    if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed):
        return [], (
            f"Metadata.{METADATA_KEY}.{SUPPRESSED_KEY} must be a list of cfn-guard rule "
            f"names, got {json.dumps(guard)[:200]}"
        )
    return listed, ""


# ------------------------------------------------------------------------------------------
# Running cfn-guard


def run_guard(command: str, bodies: Mapping[str, dict]) -> list[GuardFinding]:
    """Every rule failing on a resource, before acknowledgments, over the templates
    ``bodies`` (name -> template in the long, JSON form).

    cfn-guard reads each template from a JSON copy with a ``.json`` name: it passes over
    files whose name ends otherwise, and the copy is in the form every reader here agrees on.

    Raises:
        GuardFailure: cfn-guard cannot start, exits abnormally or prints no valid report.
    """
    types = {body.get("Type") for b in bodies.values() for body in _resources(b).values()}
    rules = rules_for(t for t in types if isinstance(t, str))
    if not rules or not bodies:
        return []
    with tempfile.TemporaryDirectory(prefix="ml-refarch-guard-") as tmp:
        by_path = {}
        for number, (name, body) in enumerate(bodies.items()):
            path = Path(tmp).resolve() / f"{number}.json"
            path.write_text(json.dumps(body))
            by_path[str(path)] = name
        arguments = [command, "validate", "--output-format", "json", "--show-summary", "none"]
        arguments += ["--structured"]
        for rule in dict.fromkeys(r.path for r in rules):
            arguments += ["--rules", str(rule)]
        for path in by_path:
            arguments += ["--data", path]
        try:
            result = subprocess.run(arguments, capture_output=True, text=True, check=False)
        except OSError as error:
            raise GuardFailure(f"cfn-guard could not be started ({error})") from None
    stderr = result.stderr.strip()[-_STDERR_KEPT:]
    if result.returncode not in _GUARD_EXIT_CODES:
        raise GuardFailure(f"cfn-guard exited abnormally (exit code {result.returncode})", stderr)
    try:
        reports = json.loads(result.stdout)
    except (ValueError, RecursionError):
        raise GuardFailure(
            f"cfn-guard printed no valid JSON report (exit code {result.returncode})", stderr
        ) from None
    return _findings(reports, by_path, {r.name: r for r in rules}, stderr)


def _findings(
    reports: object, by_path: Mapping[str, str], rules: Mapping[str, GuardRule], stderr: str
) -> list[GuardFinding]:
    if not isinstance(reports, list) or not all(isinstance(r, dict) for r in reports):
        raise GuardFailure("cfn-guard printed JSON that is not a list of file reports", stderr)
    seen_files = {str(Path(str(r.get("name", ""))).resolve()) for r in reports}
    if seen_files != set(by_path):
        raise GuardFailure(
            f"cfn-guard reported on {len(seen_files)} of {len(by_path)} templates", stderr
        )
    findings = []
    for report in reports:
        template = by_path[str(Path(str(report["name"])).resolve())]
        entries = report.get("not_compliant") or []
        if isinstance(entries, dict):  # cfn-guard at times prints an object of entries
            entries = list(entries.values())
        if not isinstance(entries, list):
            raise GuardFailure("cfn-guard printed a report whose not_compliant is no list", stderr)
        for entry in entries:
            body = entry.get("Rule") if isinstance(entry, dict) else None
            rule = rules.get(body.get("name")) if isinstance(body, dict) else None
            if rule is None:
                raise GuardFailure(f"cfn-guard reported an unknown rule: {str(entry)[:200]}")
            # A failure that names no resource is reported on the template (never dropped).
            for logical_id in sorted(_resource_ids(entry)) or [""]:
                findings.append(GuardFinding(template, rule, logical_id))
    return findings


def _resource_ids(tree: object) -> set[str]:
    """The logical ids of the resources a failed rule's checks traversed to."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "path" and isinstance(value, str):
                    match = _RESOURCE_PATH.match(value)
                    if match:
                        found.add(match[1])
                else:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _resources(template: Mapping) -> dict:
    resources = template.get("Resources")
    return (
        {k: v for k, v in resources.items() if isinstance(v, dict)}
        if isinstance(resources, dict)
        else {}
    )


@dataclass(frozen=True)
class Outcome:
    """What the pack decided over a set of templates."""

    findings: list[GuardFinding]  # not acknowledged
    acknowledged: list[GuardFinding]
    #: (template, logical id, problem): badly shaped lists, and names that are not rules
    #: of the bundle (a warning: they may be meant for another rule set).
    bad_suppressions: list[tuple[str, str, str]]
    unknown_suppressions: list[tuple[str, str, str]]


def evaluate(command: str, bodies: Mapping[str, dict]) -> Outcome:
    """cfn-guard's findings over the templates ``bodies`` (by name), split by the
    acknowledgments in them.

    Raises:
        GuardFailure: as :func:`run_guard`.
    """
    findings = run_guard(command, bodies)
    suppressed: dict[tuple[str, str], set[str]] = {}
    bad, unknown = [], []
    known = catalog()
    for name, body in bodies.items():
        for logical_id, resource in _resources(body).items():
            listed, problem = suppressed_rules(resource)
            if problem:
                bad.append((name, logical_id, problem))
            for rule_name in listed:
                if rule_name not in known:
                    unknown.append((name, logical_id, f"{rule_name} is not a Control Tower rule"))
            suppressed[(name, logical_id)] = set(listed)
    open_, acknowledged = [], []
    for finding in findings:
        names = suppressed.get((finding.template, finding.resource), set())
        (acknowledged if finding.rule.name in names else open_).append(finding)
    return Outcome(open_, acknowledged, bad, unknown)


def message(rule: GuardRule) -> str:
    return f"[{rule.control}] {rule.title}"
