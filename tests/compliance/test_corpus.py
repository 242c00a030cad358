"""The check engine over templates nobody here wrote: ``tests/compliance/corpus``.

The corpus (sources and licences in its ``SOURCES.md``) holds CDK-synthesized JSON templates,
YAML templates with CloudFormation's short-form tags, SAM templates and a cloud assembly with
a nested ``assembly-*`` directory. Each directory of templates is checked as one assembly, as
``python -m ml_refarch check DIR --no-cfn-lint --no-checkov`` would (the packs only, for speed;
an ``assembly-*`` directory is read through its parent's manifest). The tests assert that the
engine does not crash, that every template in the corpus is accounted for (checked, skipped
with a reason, or failed with a reason), and that the findings per pack per template equal the
committed snapshot.

The snapshot is syrupy's, as in ``tests/snapshots``: after a change to the engine or the packs,
review and update it with
``.venv/bin/python -m pytest tests/compliance/test_corpus.py --snapshot-update``.

What today's engine cannot do (YAML, SAM, nested assemblies) is marked ``xfail(strict=True)``:
those tests pass, and so must lose their mark, once the engine does it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from ml_refarch.compliance.checker import CheckError, find_templates, run_packs
from ml_refarch.compliance.packs import pack_of_rule

CORPUS = Path(__file__).resolve().parent / "corpus"
TEMPLATE_SUFFIXES = (".json", ".yaml", ".yml", ".template")
SAM_TRANSFORM = re.compile(r"""^\s*"?Transform"?\s*:\s*"?AWS::Serverless-2016-10-31""", re.M)


@dataclass(frozen=True)
class Outcome:
    """What the engine did with one template (or with a directory it could not read)."""

    status: str  # "checked", "skipped" or "failed"
    reason: str = ""
    findings: dict[str, int] = field(default_factory=dict)  # pack name -> findings

    def as_json(self) -> dict:
        if self.status == "checked":
            return {"status": self.status, "findings": dict(sorted(self.findings.items()))}
        return {"status": self.status, "reason": self.reason}


def relative(path: Path) -> str:
    return path.resolve().relative_to(CORPUS).as_posix()


def check_directory(directory: Path) -> dict[str, Outcome]:
    """Template (path relative to the corpus) -> outcome, for one assembly directory.

    The only place that calls the engine: adapt it to the checker's API as that changes.
    A directory the engine refuses as a whole is one outcome, keyed by the directory.
    """
    try:
        templates = find_templates(directory)
    except CheckError as error:
        return {relative(directory): Outcome("failed", _without_corpus_path(error))}
    outcomes = {}
    for name, path in templates.items():
        try:
            findings = run_packs(name, path)
        except CheckError as error:
            outcomes[relative(path)] = Outcome("failed", _without_corpus_path(error))
            continue
        counts: dict[str, int] = {}
        for finding in findings:
            pack = pack_of_rule(finding.rule_id)
            counts[pack] = counts.get(pack, 0) + 1
        outcomes[relative(path)] = Outcome("checked", findings=counts)
    return outcomes


def _without_corpus_path(error: Exception) -> str:
    return str(error).replace(f"{CORPUS}/", "")


def corpus_templates() -> list[Path]:
    """Every template file in the corpus: JSON or YAML, other than assembly manifests."""
    return sorted(
        path
        for path in CORPUS.rglob("*")
        if path.is_file() and path.suffix in TEMPLATE_SUFFIXES and path.name != "manifest.json"
    )


def assemblies() -> list[Path]:
    """The directories checked one by one: each holding templates, but not ``assembly-*``."""
    directories = {path.parent for path in corpus_templates()}
    return sorted(d for d in directories if not any(p.startswith("assembly-") for p in d.parts))


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    results: dict[str, Outcome] = {}
    for directory in assemblies():
        results.update(check_directory(directory))
    return results


def test_the_corpus_is_what_sources_md_lists():
    """Every template has its source and licence; every licence's text is beside it."""
    sources = (CORPUS / "SOURCES.md").read_text()
    listed = set(re.findall(r"^\| `([^`]+)` \|", sources, re.M))
    assert listed == {relative(path) for path in corpus_templates()}
    assert len(listed) >= 40
    for line in sources.splitlines():
        if line.startswith("| `") and line.endswith(("| Apache-2.0 |", "| MIT-0 |")):
            source = line.split("`")[1].split("/")[0]
            licence_dir = CORPUS / source
            if source == "aws-samples":  # one repository per directory, each with its LICENSE
                licence_dir = licence_dir / line.split("`")[1].split("/")[1]
            elif source == "cdk-pipelines-assembly":  # files of aws-solutions-constructs
                licence_dir = CORPUS / "aws-solutions-constructs"
            assert any(licence_dir.glob("LICENSE*")), f"no licence text in {licence_dir}"
        elif line.startswith("| `"):
            pytest.fail(f"no licence named for {line}")


def test_the_engine_reads_the_whole_corpus_without_crashing(outcomes):
    """A template the engine cannot read is a failed outcome with its reason, not a crash."""
    assert outcomes
    assert {outcome.status for outcome in outcomes.values()} <= {"checked", "skipped", "failed"}
    assert all(outcome.reason for outcome in outcomes.values() if outcome.status != "checked")
    # the CDK-synthesized JSON templates are all checked, and the packs find something in them
    constructs = {k: v for k, v in outcomes.items() if k.startswith("aws-solutions-constructs/")}
    assert len(constructs) == len(list((CORPUS / "aws-solutions-constructs").glob("*.json")))
    assert all(outcome.status == "checked" for outcome in constructs.values())
    assert sum(sum(outcome.findings.values()) for outcome in constructs.values()) > 0


NOT_YET = "issue 15: the engine reads only JSON *.template.json files"
NOT_NESTED = "issue 15: nested assemblies (assembly-*/) are not walked"


@pytest.mark.parametrize(
    "source",
    [
        "aws-solutions-constructs",
        pytest.param("aws-samples", marks=pytest.mark.xfail(strict=True, reason=NOT_YET)),
        pytest.param(
            "cdk-pipelines-assembly", marks=pytest.mark.xfail(strict=True, reason=NOT_NESTED)
        ),
    ],
)
def test_every_template_is_accounted_for(outcomes, source):
    templates = {relative(path) for path in corpus_templates() if relative(path).startswith(source)}
    assert templates
    assert sorted(templates - set(outcomes)) == []


@pytest.mark.xfail(strict=True, reason="issue 15: SAM templates are not found, nor said skipped")
def test_sam_templates_are_skipped_with_the_reason(outcomes):
    sam = [path for path in corpus_templates() if SAM_TRANSFORM.search(path.read_text())]
    assert len(sam) == 2
    for path in sam:
        outcome = outcomes.get(relative(path))
        assert outcome is not None, f"{relative(path)} not accounted for"
        assert outcome.status == "skipped"
        assert "Serverless" in outcome.reason or "SAM" in outcome.reason


def test_findings_per_pack_match_the_snapshot(outcomes, snapshot):
    recorded = {name: outcome.as_json() for name, outcome in sorted(outcomes.items())}
    assert recorded == snapshot.use_extension(JSONSnapshotExtension)
