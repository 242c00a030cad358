"""The rule packs of the compliance gate, registered on the app by ``app.py``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cdk_nag
from constructs import IConstruct

from ml_refarch.compliance.ml_pack import PACK_NAME as ML_PACK_NAME
from ml_refarch.compliance.ml_pack import MLSpecialtyChecks
from ml_refarch.compliance.rules.model import PACK_PREFIX as ML_RULE_PREFIX


@dataclass(frozen=True)
class PackInfo:
    """A pack: how to build it and the prefix of its rule ids."""

    factory: Callable[..., cdk_nag.NagPack]
    rule_prefix: str


#: Every pack the gate runs, by the name used in reports.
PACKS: dict[str, PackInfo] = {
    "AwsSolutions": PackInfo(cdk_nag.AwsSolutionsChecks, "AwsSolutions"),
    "HIPAA.Security": PackInfo(cdk_nag.HIPAASecurityChecks, "HIPAA.Security"),
    "NIST.800.53.R5": PackInfo(cdk_nag.NIST80053R5Checks, "NIST.800.53.R5"),
    "PCI.DSS.321": PackInfo(cdk_nag.PCIDSS321Checks, "PCI.DSS.321"),
    "Serverless": PackInfo(cdk_nag.ServerlessChecks, "Serverless"),
    ML_PACK_NAME: PackInfo(MLSpecialtyChecks, ML_RULE_PREFIX),
}


def make_packs(
    scope: IConstruct | None = None, *, write_acknowledgments: bool = False
) -> dict[str, cdk_nag.NagPack]:
    """A fresh instance of every pack, keyed by pack name.

    With ``write_acknowledgments`` (and a ``scope``), the packs copy every acknowledgment
    into the CloudFormation metadata of the resource it covers (``Metadata.cdk_nag``), so
    the templates carry their own audit trail and ``python -m ml_refarch check`` honours it.
    """
    return {
        name: info.factory(scope, write_suppressions_to_cloud_formation=write_acknowledgments)
        for name, info in PACKS.items()
    }


def pack_of_rule(rule_id: str) -> str:
    """The name of the pack a rule id (``NIST.800.53.R5-S3BucketLoggingEnabled``) belongs to."""
    for name, info in PACKS.items():
        if rule_id.startswith(info.rule_prefix + "-"):
            return name
    return rule_id.split("-", 1)[0]
