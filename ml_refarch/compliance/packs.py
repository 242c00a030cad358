"""The rule packs of the compliance gate, registered on the app by ``app.py``."""

from __future__ import annotations

from collections.abc import Callable

import cdk_nag
from constructs import IConstruct

#: Every pack the gate runs, by the name used in reports.
PACKS: dict[str, Callable[..., cdk_nag.NagPack]] = {
    "AwsSolutions": cdk_nag.AwsSolutionsChecks,
    "HIPAA.Security": cdk_nag.HIPAASecurityChecks,
    "NIST.800.53.R5": cdk_nag.NIST80053R5Checks,
    "PCI.DSS.321": cdk_nag.PCIDSS321Checks,
    "Serverless": cdk_nag.ServerlessChecks,
}


def make_packs(scope: IConstruct | None = None) -> dict[str, cdk_nag.NagPack]:
    """A fresh instance of every pack, keyed by pack name."""
    return {name: factory(scope) for name, factory in PACKS.items()}
