"""The documents (or parts of them) that code writes: ``make docs`` and a test keep them current.

Each entry of ``DOCUMENTS`` names a file, the function that writes it, and, for a part of a
file, the marker that encloses that part::

    <!-- generated: patterns (make docs) -->
    ...written by the generator...
    <!-- end generated: patterns -->

Text outside the markers is never touched. A generator is named as ``"module:function"`` so
that listing the documents imports nothing heavy; it takes no argument, or, with ``profile``
set, the templates synthesized for that profile (stack name -> template), and then, with
``argument`` set, that argument (a pattern id for the sections of pattern pages).

Add a document with one entry here; ``python -m ml_refarch docs`` writes it,
``docs --check`` and ``tests/unit/test_generated_docs.py`` fail while it is stale.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ml_refarch.catalog import discover

ROOT = Path(__file__).resolve().parents[1]

#: Templates by stack name, for a profile name.
TemplateSource = Callable[[str], dict[str, dict]]


@dataclass(frozen=True)
class Generated:
    """One generated document, or one marked block of a document."""

    path: str  # relative to the project root
    generator: str  # "module:function"
    block: str | None = None  # the marker name when only a block of the file is generated
    profile: str | None = None  # when set, the generator takes that profile's templates
    argument: str | None = None  # when set, passed to the generator after the templates

    def render(self, templates: TemplateSource) -> str:
        module, _, name = self.generator.partition(":")
        function = getattr(importlib.import_module(module), name)
        arguments = [templates(self.profile)] if self.profile else []
        if self.argument is not None:
            arguments.append(self.argument)
        return function(*arguments).rstrip("\n")

    @property
    def label(self) -> str:
        return f"{self.path} ({self.block})" if self.block else self.path


def sandbox_cost_table(templates: dict[str, dict]) -> str:
    """The README's idle-cost table: every stack of the ``sandbox`` profile."""
    from ml_refarch.cost import cost_table_markdown, estimate_assembly, load_prices

    prices = load_prices()
    return cost_table_markdown(estimate_assembly(templates, prices), "sandbox", prices)


_EXPIRY_SECTION = """\
### Sandbox expiry

In the sandbox profile the stack deletes itself {hours} hours (`sandbox_ttl_hours`) after the
synth it was deployed from: a one-time EventBridge Scheduler schedule calls CloudFormation
`DeleteStack` on it, with a role that may delete only this stack. The `ExpiresAt` output
says when (UTC):

```bash
aws cloudformation describe-stacks --stack-name {stack} \\
  --query "Stacks[0].Outputs[?OutputKey=='ExpiresAt'].OutputValue" --output text
```

To extend it, deploy again: the clock restarts at that synth, with another TTL if you like.
A TTL of 0 removes the schedule, and the stack stays until `cdk destroy`:

```bash
npx cdk deploy {stack} -c sandbox_ttl_hours=72
```

Production stacks never expire. See [configuration](../configuration.md#app-wide) and the
README's "Sandbox expiry"."""


def sandbox_expiry_section(pattern_id: str) -> str:
    """A pattern page's "Sandbox expiry" section: when its stack expires, how to extend it."""
    from ml_refarch.catalog import by_id
    from ml_refarch.config import APP_FIELDS

    hours = APP_FIELDS["sandbox_ttl_hours"].default
    return _EXPIRY_SECTION.format(hours=hours, stack=by_id(pattern_id).stack_name)


def _pattern_page_sections() -> tuple[Generated, ...]:
    """Each pattern page's generated sections: what runs as whom, and the sandbox expiry."""
    sections = []
    for pattern in discover():
        sections += [
            Generated(
                pattern.docs_page,
                "ml_refarch.permissions.docs:runs_as_markdown",
                block="runs-as",
                profile="sandbox",
                argument=pattern.id,
            ),
            Generated(
                pattern.docs_page,
                "ml_refarch.generated_docs:sandbox_expiry_section",
                block="sandbox-expiry",
                argument=pattern.id,
            ),
        ]
    return tuple(sections)


DOCUMENTS: tuple[Generated, ...] = (
    Generated("README.md", "ml_refarch.catalog:markdown_table", block="patterns"),
    Generated("README.md", "ml_refarch.generated_docs:sandbox_cost_table", "idle-cost", "sandbox"),
    Generated("docs/rules.md", "ml_refarch.compliance.docs:rules_markdown"),
    Generated("docs/configuration.md", "ml_refarch.config:configuration_markdown"),
    Generated("docs/retired-services.md", "ml_refarch.retired:document", "retired-services"),
    *_pattern_page_sections(),
)


class StaleMarkers(Exception):
    """A document lacks the markers of a block, or has them more than once or out of order."""


def begin_marker(block: str) -> str:
    return f"<!-- generated: {block} (make docs) -->"


def end_marker(block: str) -> str:
    return f"<!-- end generated: {block} -->"


def splice(text: str, block: str, content: str) -> str:
    """``text`` with the lines between ``block``'s markers replaced by ``content``."""
    begin, end = begin_marker(block), end_marker(block)
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise StaleMarkers(f"expected one '{begin}' followed by one '{end}'")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{content}\n{end}{tail}"


def synthesize(profile: str) -> dict[str, dict]:
    """The templates ``cdk synth`` writes for ``profile`` (without the rule packs)."""
    from ml_refarch.app import synthesize_templates

    return synthesize_templates(profile=profile)


def expected(
    root: Path = ROOT,
    templates: TemplateSource | None = None,
    documents: Iterable[Generated] = DOCUMENTS,
) -> dict[Path, str]:
    """What every generated file should contain, by path (blocks spliced into the file)."""
    templates = templates or synthesize
    cache: dict[str, dict[str, dict]] = {}

    def cached(profile: str) -> dict[str, dict]:
        if profile not in cache:
            cache[profile] = templates(profile)
        return cache[profile]

    files: dict[Path, str] = {}
    for document in documents:
        path = root / document.path
        content = document.render(cached)
        if document.block is None:
            files[path] = content + "\n"
        else:
            current = files[path] if path in files else path.read_text()
            files[path] = splice(current, document.block, content)
    return files


def stale(files: dict[Path, str]) -> list[Path]:
    """The files whose text on disk differs from ``files``."""
    return [p for p, text in files.items() if not p.is_file() or p.read_text() != text]


def write(files: dict[Path, str]) -> list[Path]:
    """Write the stale files; return them."""
    changed = stale(files)
    for path in changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path])
    return changed
