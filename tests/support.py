"""Test support: synthesizing the app's variants and reading templates.

Variants are the profiles plus the settings that change which resources exist (the CSV
transform, the S3 wheelhouse). A settings variant synthesizes only the stacks it changes.
Every template test reads these shared assemblies.
"""

from __future__ import annotations

import json
import re
import runpy
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

import ml_refarch  # noqa: F401  (points jsii at the pinned Node before aws_cdk starts it)
from ml_refarch.app import add_pattern_stacks, project_context, register_packs
from ml_refarch.catalog import PATTERNS, package_name
from ml_refarch.cfn import resources_of_type
from ml_refarch.config import read_config

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Variant:
    """Context overrides on top of cdk.json's, and the stacks they concern (all if None)."""

    context: dict[str, Any]
    stacks: frozenset[str] | None = None
    #: False for templates that only the local deploy rehearsal uses: they are not
    #: snapshotted or linted for AWS (the rehearsal and the gate cover them).
    for_aws: bool = True


#: The time every variant's sandbox TTL counts from (``sandbox_ttl_from``), so templates do
#: not change with the clock: with the default 24 hours, stacks expire at 2026-01-02T09:00Z.
PINNED_TTL_FROM = "2026-01-01T09:00"

#: The app-wide variants; each pattern adds its settings variants in its tests' package.
BASE_VARIANTS: dict[str, Variant] = {
    "sandbox": Variant({}),
    "production": Variant({"profile": "production"}),
    # The deploy rehearsal's templates (tests/rehearsal): no Lambda-backed custom
    # resources, named Availability Zones, no bootstrap-version rule.
    "local": Variant({"target": "local"}, for_aws=False),
}

#: The module in ``tests/stacks/<pattern>/`` where a pattern declares its settings variants:
#: ``VARIANTS = {"sandbox-csv": {"<pattern-id>.input_format": "csv"}}``. Patterns that
#: declare a variant of one name are synthesized together in it, each with its own values.
UNIT_VARIANTS_FILE = "variants.py"


def unit_variants(patterns=PATTERNS, tests_root: Path = ROOT / "tests") -> dict[str, Variant]:
    """The settings variants the patterns' test packages declare, merged by name."""
    context: dict[str, dict[str, Any]] = {}
    stacks: dict[str, set[str]] = {}
    for pattern in patterns:
        path = tests_root / "stacks" / package_name(pattern.id) / UNIT_VARIANTS_FILE
        if not path.is_file():
            continue
        declared = runpy.run_path(str(path)).get("VARIANTS", {})
        for name, overrides in declared.items():
            if name in BASE_VARIANTS:
                raise ValueError(f"{path}: variant {name!r} is an app-wide variant's name")
            context.setdefault(name, {}).update(overrides)
            stacks.setdefault(name, set()).add(pattern.stack_name)
    return {name: Variant(context[name], frozenset(stacks[name])) for name in sorted(context)}


VARIANTS: dict[str, Variant] = {**BASE_VARIANTS, **unit_variants()}

#: (variant, stack name) for every stack a variant synthesizes.
VARIANT_STACKS = [
    (name, pattern.stack_name)
    for name, variant in VARIANTS.items()
    for pattern in PATTERNS
    if variant.stacks is None or pattern.stack_name in variant.stacks
]
#: The same for the variants whose templates are meant for AWS.
AWS_VARIANT_STACKS = [(name, stack) for name, stack in VARIANT_STACKS if VARIANTS[name].for_aws]


@dataclass
class Synthesized:
    """One synthesized variant: the app's stacks, and their templates by stack name."""

    name: str
    outdir: Path
    stacks: dict[str, cdk.Stack]
    templates: dict[str, dict]

    def template_path(self, stack_name: str) -> Path:
        return self.outdir / f"{stack_name}.template.json"


def synthesize(outdir: Path, variant: Variant, *, compliance_gate: bool = True) -> Synthesized:
    """Synthesize the app as ``cdk synth`` does: with the rule packs registered, unless not."""
    context = project_context(**{"sandbox_ttl_from": PINNED_TTL_FROM, **variant.context})
    app = cdk.App(context=context, outdir=str(outdir))
    stacks = add_pattern_stacks(app, read_config(app.node.get_all_context()), only=variant.stacks)
    if compliance_gate:
        register_packs(app)
    assembly = app.synth()
    templates = {name: assembly.get_stack_by_name(name).template for name in stacks}
    return Synthesized(outdir.name, outdir, stacks, templates)


_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def normalise_assets(template: dict) -> dict:
    """The template with asset hashes replaced, so unrelated code changes do not churn it."""
    return json.loads(_HASH.sub("<asset-hash>", json.dumps(template)))


def only_resource(template: dict, resource_type: str) -> dict:
    found = resources_of_type(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.values()))


CHECKOV = ROOT / ".venv" / "checkov" / "bin" / "checkov"


class BackgroundLinters:
    """cfn-lint and checkov over a set of templates, running while other tests do.

    Each tool is one single-threaded process; their output goes to files (not pipes, which
    would fill up and stall them) and is read when :meth:`results` is first called.
    """

    def __init__(self, template_files: list[Path], workdir: Path):
        cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
        assert cfn_lint, "cfn-lint is not installed in this venv; run make test"
        assert CHECKOV.is_file(), f"{CHECKOV} is missing; run make test to install it"
        checkov = [str(CHECKOV), "--framework", "cloudformation", "--output", "json"]
        for path in template_files:
            checkov += ["--file", str(path)]
        self.template_files = template_files
        self.commands = {
            "cfn-lint": [cfn_lint, "--format", "json", "--", *map(str, template_files)],
            "checkov": checkov,
        }
        self._processes = {}
        for name, command in self.commands.items():
            stdout = (workdir / f"{name}.out").open("w")
            stderr = (workdir / f"{name}.err").open("w")
            process = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True)
            self._processes[name] = (process, stdout, stderr)
        self._results = None

    def results(self) -> dict:
        if self._results is None:
            self._results = {}
            for name, (process, stdout, stderr) in self._processes.items():
                returncode = process.wait()
                stdout.close()
                stderr.close()
                self._results[name] = subprocess.CompletedProcess(
                    self.commands[name],
                    returncode,
                    Path(stdout.name).read_text(),
                    Path(stderr.name).read_text(),
                )
        return self._results

    def stop(self) -> None:
        for process, stdout, stderr in self._processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
            stdout.close()
            stderr.close()


def pattern_template(pattern, **context: Any) -> dict:
    """The template of ``pattern``'s stack alone, in an app with cdk.json's context and
    ``context`` on top: for settings the shared variants do not cover."""
    app = cdk.App(context=project_context(**context))
    config = read_config(app.node.get_all_context())
    stack = pattern.stack_type(
        app,
        pattern.stack_name,
        profile=config.profile,
        settings=config.settings_for(pattern),
        title=pattern.title,
        notes_section=pattern.notes_section,
    )
    return Template.from_stack(stack).to_json()
