"""The rule model's verdict helpers."""

from __future__ import annotations

from ml_refarch.cfn import Unresolved
from ml_refarch.compliance.rules.model import (
    COMPLIANT,
    NON_COMPLIANT,
    NOT_APPLICABLE,
    judge,
    judge_number,
)


def test_judge_leaves_deploy_time_values_alone():
    assert judge("Disabled", lambda value: value == "Disabled") == COMPLIANT
    assert judge("Enabled", lambda value: value == "Disabled") == NON_COMPLIANT
    assert judge(None, lambda value: value == "Disabled") == NON_COMPLIANT
    assert judge(Unresolved({"Ref": "P"}), lambda value: True) == NOT_APPLICABLE


def test_judge_number_bounds_absence_and_unknowns():
    assert judge_number("64", minimum=64) == COMPLIANT
    assert judge_number(63, minimum=64) == NON_COMPLIANT
    assert judge_number(10, minimum=1, maximum=5) == NON_COMPLIANT
    assert judge_number(5, minimum=1, maximum=5) == COMPLIANT
    assert judge_number(None, minimum=64) == COMPLIANT
    assert judge_number(None, minimum=1, when_absent=NON_COMPLIANT) == NON_COMPLIANT
    assert judge_number(Unresolved({"Ref": "P"}), minimum=1) == NOT_APPLICABLE
    assert judge_number("lots", minimum=1) == NOT_APPLICABLE
