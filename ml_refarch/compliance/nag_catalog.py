"""The rules of the installed cdk-nag packs, read from the package's own sources.

cdk-nag exposes no list of its rule ids. Each pack's JavaScript applies its rules with
``this.applyRule({ruleSuffixOverride?, rule: <area>_1.<Check>, ...})`` and names the
finding ``<packName>-<ruleSuffixOverride or Check>`` (``NagPack.applyRule`` in
``lib/nag-pack.js``), where ``<Check>`` is the rule function shared by every pack that
checks the same thing. The Python package carries those sources in its jsii bundle
(``cdk_nag/_jsii/cdk-nag@<version>.jsii.tgz``), which this module reads.

Reading it takes about half a second, so only the tests do (they check
``controls.FAMILIES`` against it); a synth never does.
"""

from __future__ import annotations

import functools
import re
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

_PACK_SOURCES = re.compile(r"package/lib/packs/[^/]+\.js")
_PACK_NAME = re.compile(r"this\.packName = '([^']+)'")
_APPLY_RULE = re.compile(r"this\.applyRule\(\{(?P<body>.*?)\}\);", re.DOTALL)
_SUFFIX = re.compile(r"ruleSuffixOverride: '([^']+)'")
_CHECK = re.compile(r"rule: \w+_1\.(\w+),")


@dataclass(frozen=True)
class NagRule:
    """One rule of one pack: its id and the rule function (the check) it applies."""

    rule_id: str
    pack: str
    check: str


class CatalogError(Exception):
    """The installed cdk-nag's sources are not where, or not in the shape, expected."""


def pack_rules(pack_source: str) -> list[NagRule]:
    """The rules one pack's compiled source applies, in the order it applies them."""
    name = _PACK_NAME.search(pack_source)
    if name is None:
        raise CatalogError("a cdk-nag pack source without a packName")
    rules = []
    for call in _APPLY_RULE.finditer(pack_source):
        body = call["body"]
        check = _CHECK.search(body)
        if check is None:
            raise CatalogError(f"{name[1]}: an applyRule call without a rule function: {body}")
        suffix = _SUFFIX.search(body)
        rule_id = f"{name[1]}-{suffix[1] if suffix else check[1]}"
        rules.append(NagRule(rule_id, name[1], check[1]))
    return rules


@functools.cache
def installed_rules() -> dict[str, NagRule]:
    """Every rule of every pack in the installed cdk-nag, by rule id."""
    bundles = [
        entry
        for entry in resources.files("cdk_nag._jsii").iterdir()
        if entry.name.endswith(".jsii.tgz")
    ]
    if len(bundles) != 1:
        raise CatalogError(f"expected one jsii bundle in cdk_nag._jsii, found {len(bundles)}")
    rules: dict[str, NagRule] = {}
    with bundles[0].open("rb") as raw, tarfile.open(fileobj=raw, mode="r:gz") as bundle:
        for member in bundle.getmembers():
            if _PACK_SOURCES.fullmatch(member.name):
                source = bundle.extractfile(member).read().decode()
                rules.update((rule.rule_id, rule) for rule in pack_rules(source))
    if not rules:
        raise CatalogError(f"no pack sources in {bundles[0].name}")
    return rules


def checks_by_rule(rule_prefixes: Iterable[str]) -> dict[str, str]:
    """The check each rule of the packs with ``rule_prefixes`` applies, by rule id."""
    prefixes = set(rule_prefixes)
    return {
        rule_id: rule.check for rule_id, rule in installed_rules().items() if rule.pack in prefixes
    }
