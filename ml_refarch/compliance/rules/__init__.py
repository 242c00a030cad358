"""The MLSpecialty rules: the study notes' security and architecture guidance as checks.

Each rule is a pure function over a :class:`~ml_refarch.compliance.rules.model.Resource`
(resolved CloudFormation properties, plus the other resources of the same stack for the
few cross-resource rules). It returns :data:`COMPLIANT`, :data:`NON_COMPLIANT`,
:data:`NOT_APPLICABLE`, or a list of finding ids when one resource can fail in several places
(one per variant, per state, ...). One module per service area registers its rules in
:data:`RULES` through the :func:`rule` decorator.
"""

from ml_refarch.compliance.rules.model import (
    COMPLIANT,
    NON_COMPLIANT,
    NOT_APPLICABLE,
    RULES,
    Resource,
    Rule,
    rule,
)

# Importing the area modules registers their rules, in this order (the order of docs/rules.md).
from ml_refarch.compliance.rules import (  # noqa: F401  isort: skip
    notebooks,
    hosting,
    jobs,
    streaming,
    storage,
    api,
)

__all__ = ["COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE", "RULES", "Resource", "Rule", "rule"]
