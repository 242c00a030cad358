"""Every pattern is one unit: what its package, tests and docs must contain, and that nothing
outside the unit names it.

Adding a pattern means adding ``ml_refarch/stacks/<package>/`` with :data:`UNIT_MODULES`,
``tests/stacks/<package>/`` with :data:`UNIT_TESTS`, ``docs/patterns/<id>.md`` and its
diagram (``python -m ml_refarch diagram <id>``), and, if it has any, its
``lambdas/<function>/`` folders. Everything else (catalog, config, app, cost, diagrams,
rehearsal, smoke command, generated docs) finds the unit through :mod:`ml_refarch.catalog`.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ml_refarch.catalog import PATTERNS, Pattern, discover, package_name

ROOT = Path(__file__).resolve().parents[2]

#: The modules every pattern package holds, and what each defines.
UNIT_MODULES = {
    "__init__": "PATTERN",  # the catalog entry (imports nothing from aws_cdk)
    "settings": "SETTINGS",  # the settings dataclass, its fields and its own checks
    "stack": None,  # the stack class named by PATTERN.stack_class
    "outputs": "Outputs",  # the stack outputs' names, shared with the smoke checks and tests
    "flows": "FLOWS",  # the data flows its diagram draws
    "smoke": "SMOKE",  # the checks of `python -m ml_refarch smoke <id>`
}
#: The test modules every pattern's tests package holds.
UNIT_TESTS = ("test_stack.py", "test_smoke.py")

#: What must not name a pattern outside its unit: the product and the test harness. Tests of
#: an engine may use a pattern's templates as their example; generated documents and
#: recorded snapshots name them all by design.
CHECKED = ("ml_refarch/", "scripts/", "lambdas/", ".ci/", "app.py", "cdk.json", "Makefile")
CHECKED_FILES = ("pyproject.toml", "tests/support.py", "tests/conftest.py")
#: Files that name an AWS framework spelled like a pattern: SageMaker's "model-monitor" image.
NOT_CHECKED = ("ml_refarch/data/framework-images.json", "ml_refarch/constructs/images.py")


def _unit_of(path: str) -> str | None:
    """The package a path belongs to, if it sits in a unit (or in a unit's tests)."""
    match = re.match(r"(?:ml_refarch|tests)/stacks/([a-z0-9_]+)/", path)
    return match.group(1) if match else None


def _names_of(pattern: Pattern) -> re.Pattern[str]:
    words = [pattern.id, pattern.stack_name, package_name(pattern.id)]
    return re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, words)) + r")(?![\w-])")


def _tracked_text_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [
        path
        for path in listed
        if (path.startswith(CHECKED) or path in CHECKED_FILES)
        and path not in NOT_CHECKED
        and not path.endswith((".gz", ".svg", ".png"))
    ]


def mentions(path: str, text: str, patterns=PATTERNS) -> list[str]:
    """``path:line: name`` for each mention in ``text`` of a pattern whose unit ``path`` is
    not in."""
    found = []
    for pattern in patterns:
        if _unit_of(path) == package_name(pattern.id):
            continue
        for match in _names_of(pattern).finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{path}:{line}: {match.group(1)}")
    return found


def missing_modules(pattern: Pattern) -> list[str]:
    """What the pattern's package lacks of :data:`UNIT_MODULES`."""
    missing = []
    for name, attribute in UNIT_MODULES.items():
        if name != "__init__" and not pattern.has_module(name):
            missing.append(f"{pattern.package}.{name}")
            continue
        module = importlib.import_module(pattern.package) if name == "__init__" else None
        module = module or pattern.module(name)
        if attribute is not None and not hasattr(module, attribute):
            missing.append(f"{module.__name__}.{attribute}")
    return missing


@pytest.mark.parametrize("pattern", PATTERNS, ids=[p.id for p in PATTERNS])
def test_the_unit_holds_every_module(pattern):
    assert missing_modules(pattern) == []
    assert pattern.stack_type.__module__ == f"{pattern.package}.stack"


def _fake_stacks_package(tmp_path, monkeypatch, pattern_id: str, modules=()) -> None:
    """A stacks package with one unit, ``pattern_id`` declared in ``some_pattern``."""
    stacks = tmp_path / "ml_refarch_fake_stacks"
    (stacks / "some_pattern").mkdir(parents=True)
    (stacks / "__init__.py").write_text("")
    (stacks / "some_pattern" / "__init__.py").write_text(
        "from ml_refarch.catalog import Pattern\n"
        f"PATTERN = Pattern(id={pattern_id!r}, order=1, stack_name='S', title='t',\n"
        "    notes_section='n', summary='s', stack_class='C')\n"
    )
    for name in modules:
        (stacks / "some_pattern" / f"{name}.py").write_text("")
    for loaded in [name for name in sys.modules if name.startswith(stacks.name)]:
        monkeypatch.delitem(sys.modules, loaded)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("ml_refarch.catalog.STACKS_PACKAGE", stacks.name)
    discover.cache_clear()


def test_the_module_check_names_what_a_unit_lacks(monkeypatch, tmp_path):
    _fake_stacks_package(tmp_path, monkeypatch, "some-pattern", modules=["stack", "flows"])
    try:
        (pattern,) = discover()
        missing = missing_modules(pattern)
    finally:
        discover.cache_clear()
    fake = "ml_refarch_fake_stacks.some_pattern"
    assert f"{fake}.settings" in missing and f"{fake}.smoke" in missing
    assert f"{fake}.flows.FLOWS" in missing and f"{fake}.stack" not in missing


@pytest.mark.parametrize("pattern", PATTERNS, ids=[p.id for p in PATTERNS])
def test_the_unit_has_its_tests_docs_page_and_diagram(pattern):
    tests = ROOT / "tests" / "stacks" / package_name(pattern.id)
    for name in ("__init__.py", *UNIT_TESTS):
        assert (tests / name).is_file(), f"{tests / name} is missing"
    page = " ".join((ROOT / pattern.docs_page).read_text(encoding="utf-8").split())
    assert f"`ml_refarch/stacks/{package_name(pattern.id)}/" in page, "the page names its unit"
    assert f"python -m ml_refarch smoke {pattern.id}" in page, "the page shows its smoke test"
    assert (ROOT / "docs" / "diagrams" / f"{pattern.id}.svg").is_file()


def test_no_file_outside_a_unit_names_a_pattern():
    found = [
        line
        for path in _tracked_text_files()
        for line in mentions(path, (ROOT / path).read_text(encoding="utf-8", errors="replace"))
    ]
    assert not found, "\n".join(found)


def test_the_name_check_finds_a_pattern_named_outside_its_unit():
    pattern, other = PATTERNS[0], PATTERNS[1]
    text = f'STACK = "{pattern.stack_name}"\nID = "{pattern.id}"\n'
    assert len(mentions("ml_refarch/app.py", text, [pattern])) == 2
    assert mentions(f"tests/stacks/{package_name(other.id)}/test_stack.py", text, [pattern])
    assert mentions(f"ml_refarch/stacks/{package_name(pattern.id)}/stack.py", text, [pattern]) == []
    assert mentions("scripts/x.py", f'"{pattern.id}-extra" "my{pattern.id}"', [pattern]) == []


def test_discovery_rejects_a_package_whose_id_is_not_its_name(monkeypatch, tmp_path):
    _fake_stacks_package(tmp_path, monkeypatch, "other-id")
    try:
        with pytest.raises(TypeError, match="does not match the package name"):
            discover()
    finally:
        discover.cache_clear()
