"""Dependencies point down: the bottom layer imports nothing of the project, and stacks and
constructs import no engine that reads their templates (rules, cost, diagram, rehearsal).

Imports are read from the source with :mod:`ast`, including those inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ml_refarch"

BOTTOM_LAYER = ("cfn.py", "aws_facts.py")
BUILDERS = ("stacks", "constructs")
ENGINES = (
    "ml_refarch.compliance.rules",
    "ml_refarch.cost",
    "ml_refarch.diagram",
    "ml_refarch.rehearsal",
)
#: What a pattern unit's own engine-facing module may import: its flows describe the
#: diagram in the diagram's data model, which itself imports no engine.
UNIT_INTERFACES = {"flows.py": ("ml_refarch.diagram.model",)}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    """``ml_refarch.stacks.base`` for ``<root>/stacks/base.py``."""
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path = PACKAGE) -> set[str]:
    """Every module ``path`` (a file of the package at ``root``) imports: ``from a.b import
    c`` counts as ``a.b`` and ``a.b.c``; relative imports are made absolute."""
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_imports_are_read_from_from_imports_relative_imports_and_function_bodies(tmp_path):
    root = tmp_path / "ml_refarch"
    path = root / "stacks" / "example" / "stack.py"
    path.parent.mkdir(parents=True)
    path.write_text(
        "import ml_refarch.cost\n"
        "from ml_refarch.compliance import rules\n"
        "from . import flows\n"
        "def f():\n"
        "    from ..base import MlRefArchStack\n"
    )
    found = imported_modules(path, root)
    assert {
        "ml_refarch.cost",
        "ml_refarch.compliance.rules",
        "ml_refarch.stacks.example.flows",
        "ml_refarch.stacks.base",
    } <= found
    assert within("ml_refarch.compliance.rules.model", "ml_refarch.compliance.rules")
    assert not within("ml_refarch.costs", "ml_refarch.cost")


@pytest.mark.parametrize("name", BOTTOM_LAYER)
def test_the_bottom_layer_imports_nothing_of_the_project(name):
    imports = imported_modules(PACKAGE / name)
    assert not [m for m in imports if within(m, "ml_refarch")], name


def test_stacks_and_constructs_import_no_engine():
    offenders = []
    for folder in BUILDERS:
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            allowed = UNIT_INTERFACES.get(path.name, ()) if folder == "stacks" else ()
            for module in sorted(imported_modules(path)):
                if any(within(module, ok) for ok in allowed):
                    continue
                if any(within(module, engine) for engine in ENGINES):
                    offenders.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not offenders, "\n".join(offenders)


def test_what_units_may_import_of_an_engine_imports_no_engine_itself():
    for modules in UNIT_INTERFACES.values():
        for module in modules:
            path = PACKAGE.parent / (module.replace(".", "/") + ".py")
            imports = [m for m in imported_modules(path) if within(m, "ml_refarch")]
            assert not imports, f"{module} imports {imports}"
