"""``check`` over templates nobody here wrote: the corpus of tests/corpus (see its README).

One run over the whole corpus, the rule packs only (cfn-lint and checkov are left out for
speed: they read the files themselves, and test_linters.py covers how their reports are
read). It must not crash, must account for every template file exactly once, and the counts
(templates per status, findings and rule errors per pack, per package) are recorded in a JSON
snapshot, so a change in what ``check`` finds on third-party templates shows in review.
Update with ``.venv/bin/python -m pytest tests/compliance/test_corpus.py --snapshot-update``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from ml_refarch.compliance.checker import CheckResult, check_assembly
from ml_refarch.compliance.packs import PACKS, pack_of_rule
from ml_refarch.compliance.templates import CHECKED, FAILED, SKIPPED
from tests.load import load_by_path
from tests.support import ROOT

fetch_corpus = load_by_path("ml_refarch_scripts_fetch_corpus", ROOT / "scripts" / "fetch_corpus.py")

STATUSES = (CHECKED, SKIPPED, FAILED)


def corpus_or_fail(corpus: Path = fetch_corpus.CORPUS) -> Path:
    """The fetched corpus; a failure (never a skip) when it is missing or not the pinned one."""
    stamp = corpus / fetch_corpus.STAMP_NAME
    if not stamp.is_file():
        pytest.fail(f"no template corpus in {corpus}: run `make setup-dev` (it fetches it)")
    if stamp.read_text().strip() != fetch_corpus.sources_digest():
        pytest.fail(
            f"{corpus} is not the corpus tests/corpus/sources.json pins: run `make setup-dev`"
        )
    return corpus


def template_files(package_dir: Path) -> list[Path]:
    """Every template file the fetch extracted (all it keeps but the assembly manifests)."""
    return sorted(
        p.resolve() for p in package_dir.rglob("*") if p.is_file() and p.name != "manifest.json"
    )


def package_counts(results: list[CheckResult]) -> dict:
    """Templates per status, findings and cdk-nag rule errors per pack: integers only."""
    statuses = Counter(t.status for r in results for t in r.accounted)
    findings = Counter((pack_of_rule(f.rule_id), f.level) for r in results for f in r.findings)
    rule_errors = Counter(pack_of_rule(e.rule_id) for r in results for e in r.tool_errors)
    # Every registered pack, even without findings, and any other source of rule ids.
    packs = sorted({*PACKS, *(pack for pack, _ in findings), *rule_errors})
    return {
        "templates": {status: statuses[status] for status in STATUSES},
        "findings": {
            pack: {level: findings[pack, level] for level in ("error", "warning")} for pack in packs
        },
        "rule errors": {pack: rule_errors[pack] for pack in packs},
    }


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


def test_check_accounts_for_every_corpus_template(snapshot_json):
    corpus = corpus_or_fail()
    by_package, reasons = {}, Counter()
    for package_dir in sorted(d for d in corpus.iterdir() if d.is_dir() and d.name[0] != "."):
        results = [
            check_assembly(target, cfn_lint=False, checkov=False)
            for target in fetch_corpus.check_targets(package_dir)
        ]
        accounted = Counter(t.path.resolve() for r in results for t in r.accounted)
        files = template_files(package_dir)
        assert sorted(accounted) == files, f"{package_dir.name}: templates missed or extra"
        assert set(accounted.values()) == {1}, f"{package_dir.name}: a template read twice"
        # Without cfn-lint and checkov, the only tool errors are rules that threw.
        assert [e.message for r in results for e in r.tool_errors if not e.rule_id] == []
        reasons.update(t.reason for r in results for t in r.accounted if t.status == SKIPPED)
        by_package[package_dir.name] = package_counts(results)
    assert len(by_package) == len(fetch_corpus.read_sources())
    total, findings = Counter(), Counter()
    for counts in by_package.values():
        total.update(counts["templates"])
        findings.update({pack: sum(n.values()) for pack, n in counts["findings"].items()})
    assert {
        "templates": {status: total[status] for status in STATUSES},
        "findings": dict(sorted(findings.items())),
        "skip reasons": dict(sorted(reasons.items())),
        "by package": by_package,
    } == snapshot_json


def test_a_missing_corpus_fails_and_says_how_to_fetch_it(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="make setup-dev"):
        corpus_or_fail(tmp_path)
    (tmp_path / fetch_corpus.STAMP_NAME).write_text("an older sources.json\n")
    with pytest.raises(pytest.fail.Exception, match="make setup-dev"):
        corpus_or_fail(tmp_path)
