"""The rule packs of the compliance gate, registered on the app by ``app.py``.

Six are cdk-nag packs (``NagPack``); the seventh, ``ControlTower``, runs AWS Control
Tower's proactive controls with cfn-guard over the synthesized templates
(``control_tower.py``), registered as a CDK validation plugin of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cdk_nag
from constructs import IConstruct

from ml_refarch.compliance import control_tower
from ml_refarch.compliance.ml_pack import PACK_NAME as ML_PACK_NAME
from ml_refarch.compliance.ml_pack import MLSpecialtyChecks
from ml_refarch.compliance.rules.model import PACK_PREFIX as ML_RULE_PREFIX


@dataclass(frozen=True)
class PackInfo:
    """A pack: how to build it, the prefix of its rule ids, and whether it is a cdk-nag pack
    (``validate_scope`` over constructs) or a plugin that reads the synthesized templates."""

    factory: Callable[..., object]
    rule_prefix: str
    nag: bool = True


def _control_tower_plugin(*_: object, **__: object) -> object:
    from ml_refarch.compliance.control_tower_plugin import ControlTowerChecks

    return ControlTowerChecks()


#: Every pack the gate runs, by the name used in reports.
PACKS: dict[str, PackInfo] = {
    "AwsSolutions": PackInfo(cdk_nag.AwsSolutionsChecks, "AwsSolutions"),
    "HIPAA.Security": PackInfo(cdk_nag.HIPAASecurityChecks, "HIPAA.Security"),
    "NIST.800.53.R5": PackInfo(cdk_nag.NIST80053R5Checks, "NIST.800.53.R5"),
    "PCI.DSS.321": PackInfo(cdk_nag.PCIDSS321Checks, "PCI.DSS.321"),
    "Serverless": PackInfo(cdk_nag.ServerlessChecks, "Serverless"),
    ML_PACK_NAME: PackInfo(MLSpecialtyChecks, ML_RULE_PREFIX),
    control_tower.PACK_NAME: PackInfo(_control_tower_plugin, control_tower.RULE_PREFIX, nag=False),
}


def make_packs(
    scope: IConstruct | None = None, *, write_acknowledgments: bool = False
) -> dict[str, cdk_nag.NagPack]:
    """A fresh instance of every cdk-nag pack, keyed by pack name (see :func:`make_plugins`).

    With ``write_acknowledgments`` (and a ``scope``), the packs copy every acknowledgment
    into the CloudFormation metadata of the resource it covers (``Metadata.cdk_nag``), so
    the templates carry their own audit trail and ``python -m ml_refarch check`` honours it.
    """
    return {
        name: info.factory(scope, write_suppressions_to_cloud_formation=write_acknowledgments)
        for name, info in PACKS.items()
        if info.nag
    }


def make_plugins(scope: IConstruct) -> list[object]:
    """Every pack of the gate as a CDK validation plugin for ``scope`` (the app): the cdk-nag
    packs writing their acknowledgments into the templates, then the Control Tower pack."""
    plugins: list[object] = list(make_packs(scope, write_acknowledgments=True).values())
    plugins += [info.factory() for info in PACKS.values() if not info.nag]
    return plugins


def pack_of_rule(rule_id: str) -> str:
    """The name of the pack a rule id (``NIST.800.53.R5-S3BucketLoggingEnabled``) belongs to."""
    for name, info in PACKS.items():
        if rule_id.startswith(info.rule_prefix + "-"):
            return name
    return rule_id.split("-", 1)[0]
