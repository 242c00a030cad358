"""Named control families: one control that several packs check under their own rule ids.

HIPAA Security, NIST 800-53 rev 5 and PCI DSS 3.2.1 (and at times AwsSolutions or
Serverless) apply the same cdk-nag rule function to a resource and report it under one id
each: ``HIPAA.Security-LambdaInsideVPC``, ``NIST.800.53.R5-LambdaInsideVPC``,
``PCI.DSS.321-LambdaInsideVPC``. A family names that control once, so an acknowledgment is
written once beside the resource and still covers each pack's finding::

    acknowledge(function, reason, controls.LAMBDA_INSIDE_VPC, checkov=("CKV_AWS_117",))

A family's members are the ids of every cdk-nag pack in the gate (``packs.PACKS``) that
applies the family's check, cdk-nag's rule function (``<pack prefix>-<check>``, or a pack's
own short id such as ``AwsSolutions-S1``), and the Control Tower rule that checks the same
(``ControlTower-<guard rule name>``, written into ``Metadata.guard.SuppressedRules`` as
well). ``unverified_members`` compares the cdk-nag members with the rules the installed
cdk-nag really has, ``control_tower.rule_of`` the Control Tower members with the bundled
rules; tests keep both right.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ml_refarch.compliance.control_tower import RULE_PREFIX as CONTROL_TOWER_PREFIX
from ml_refarch.compliance.packs import PACKS, pack_of_rule

_HIPAA, _NIST, _PCI = "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321"
#: The three compliance-framework packs, which name their rules after the check.
_FRAMEWORKS = (_HIPAA, _NIST, _PCI)


@dataclass(frozen=True)
class Control:
    """One check, and the rule id under which each pack of the gate reports it."""

    #: cdk-nag's rule function (``LambdaInsideVPC``): what makes the members one control.
    check: str
    rule_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.rule_ids) < 2 or len(set(self.rule_ids)) != len(self.rule_ids):
            raise ValueError(f"{self.check}: a family needs two or more distinct rule ids")

    def __str__(self) -> str:
        return self.check


def family(
    check: str,
    *packs: str,
    short_ids: Mapping[str, str] | None = None,
    control_tower: str | None = None,
) -> Control:
    """The control ``check`` as ``packs`` report it: ``<pack prefix>-<check>``, or
    ``<pack prefix>-<short id>`` for a pack in ``short_ids`` (AwsSolutions numbers its rules);
    ``control_tower`` names the Control Tower guard rule of the same control, if there is one.

    Raises:
        ValueError: for a pack the gate does not run, or a short id of a pack not listed.
    """
    short_ids = dict(short_ids or {})
    unknown = sorted(set(packs) - PACKS.keys())
    if unknown:
        raise ValueError(f"{check}: no such pack {unknown}; the gate runs {sorted(PACKS)}")
    ids = []
    for pack in PACKS:  # the order the gate runs the packs in
        if pack in packs:
            ids.append(f"{PACKS[pack].rule_prefix}-{short_ids.pop(pack, check)}")
    if control_tower:
        ids.append(f"{CONTROL_TOWER_PREFIX}-{control_tower}")
    if short_ids:
        raise ValueError(f"{check}: short ids for packs not listed: {sorted(short_ids)}")
    return Control(check, tuple(ids))


APIGW_CACHE_ENCRYPTED = family("APIGWCacheEnabledAndEncrypted", *_FRAMEWORKS)
APIGW_BACKEND_CERTIFICATE = family("APIGWSSLEnabled", *_FRAMEWORKS)
APIGW_WAF = family(
    "APIGWAssociatedWithWAF", "AwsSolutions", _NIST, _PCI, short_ids={"AwsSolutions": "APIG3"}
)
CODEBUILD_SOURCE_REPO_URL = family("CodeBuildProjectSourceRepoUrl", _HIPAA, _PCI)
DYNAMODB_BACKUP_PLAN = family("DynamoDBInBackupPlan", _HIPAA, _NIST)
EC2_RESTRICTED_COMMON_PORTS = family("EC2RestrictedCommonPorts", *_FRAMEWORKS)
ENDPOINT_CONFIG_KMS = family("SageMakerEndpointConfigurationKMSKeyConfigured", *_FRAMEWORKS)
IAM_NO_INLINE_POLICY = family("IAMNoInlinePolicy", *_FRAMEWORKS)
LAMBDA_CONCURRENCY = family("LambdaConcurrency", _HIPAA, _NIST)
LAMBDA_DLQ = family("LambdaDLQ", _HIPAA, _NIST, "Serverless")
LAMBDA_INSIDE_VPC = family("LambdaInsideVPC", *_FRAMEWORKS, control_tower="lambda_inside_vpc_check")
LAMBDA_LATEST_RUNTIME = family(
    "LambdaLatestVersion", "AwsSolutions", "Serverless", short_ids={"AwsSolutions": "L1"}
)
S3_ACCESS_LOGS = family(
    "S3BucketLoggingEnabled",
    "AwsSolutions",
    *_FRAMEWORKS,
    short_ids={"AwsSolutions": "S1"},
    control_tower="s3_bucket_logging_enabled_check",
)
S3_DEFAULT_KMS = family(
    "S3DefaultEncryptionKMS", *_FRAMEWORKS, control_tower="s3_bucket_default_encryption_kms_check"
)
S3_REPLICATION = family("S3BucketReplicationEnabled", *_FRAMEWORKS)
S3_VERSIONING = family(
    "S3BucketVersioningEnabled", *_FRAMEWORKS, control_tower="s3_bucket_versioning_enabled_check"
)
VPC_DEFAULT_SG_CLOSED = family("VPCDefaultSecurityGroupClosed", *_FRAMEWORKS)
VPC_NO_ROUTE_TO_IGW = family("VPCNoUnrestrictedRouteToIGW", *_FRAMEWORKS)

#: Every family, by its constant's name.
FAMILIES: dict[str, Control] = {
    name: value for name, value in sorted(globals().items()) if isinstance(value, Control)
}
_FAMILY_OF_RULE: dict[str, Control] = {
    rule_id: control for control in FAMILIES.values() for rule_id in control.rule_ids
}


def control_of(rule_id: str) -> str:
    """What one acknowledgment of ``rule_id`` acknowledges: its family's check, or the rule
    id itself (with any finding suffix, ``AwsSolutions-IAM5[Resource::*]``) if it has none."""
    control = _FAMILY_OF_RULE.get(rule_id)
    return control.check if control else rule_id


def expand(*rules: str | Control) -> tuple[str, ...]:
    """The rule ids that acknowledging ``rules`` (ids and families) acknowledges.

    They come grouped by pack, in the order the gate runs the packs, and in the order given
    within a pack (a family's members in its place): acknowledging the log bucket's
    ``S3_REPLICATION, S3_DEFAULT_KMS`` lists HIPAA's two rules, then NIST's, then PCI's. The
    templates' ``Metadata.cdk_nag`` lists them in that order.

    Raises:
        ValueError: when a rule id is given twice (directly or through a family).
    """
    ids = [rule_id for rule in rules for rule_id in _members(rule)]
    repeated = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
    if repeated:
        raise ValueError(f"acknowledged twice in one call: {repeated}")
    pack_order = {name: index for index, name in enumerate(PACKS)}

    return tuple(
        sorted(ids, key=lambda rule_id: pack_order.get(pack_of_rule(rule_id), len(pack_order)))
    )


def _members(rule: str | Control) -> tuple[str, ...]:
    if isinstance(rule, Control):
        return rule.rule_ids
    if isinstance(rule, str):
        return (rule,)
    raise TypeError(f"a rule id or a control family, not {rule!r}")


def unverified_members(families: Iterable[Control], checks_by_rule: Mapping[str, str]) -> list[str]:
    """What is wrong with ``families`` against the rules cdk-nag has, one line a problem.

    ``checks_by_rule`` maps each real rule id of the gate's packs to the check it applies
    (``nag_catalog.installed_rules``). A member must be a real rule id applying the
    family's check, and every rule of the gate's packs applying that check must be a
    member (otherwise acknowledging the family would leave one pack's finding standing).
    """
    problems = []
    for control in families:
        for rule_id in control.rule_ids:
            if rule_id.startswith(f"{CONTROL_TOWER_PREFIX}-"):
                continue  # a guard rule, not cdk-nag's (control_tower.rule_of checks it)
            check = checks_by_rule.get(rule_id)
            if check is None:
                problems.append(f"{control.check}: {rule_id} is not a rule of cdk-nag's packs")
            elif check != control.check:
                problems.append(f"{control.check}: {rule_id} applies {check}, another check")
        missing = sorted(
            rule_id
            for rule_id, check in checks_by_rule.items()
            if check == control.check and rule_id not in control.rule_ids
        )
        if missing:
            problems.append(f"{control.check}: leaves out {missing}, which apply the same check")
    return problems
