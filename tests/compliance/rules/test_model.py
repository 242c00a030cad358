"""The rule model's verdict helpers."""

from __future__ import annotations

from ml_refarch.cfn import Unresolved
from ml_refarch.compliance.rules.model import (
    COMPLIANT,
    NON_COMPLIANT,
    NOT_APPLICABLE,
    RULES,
    Resource,
    judge,
    judge_number,
    judge_present,
    rule,
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


def test_judge_present_counts_deploy_time_values_as_set():
    assert judge_present("key") == COMPLIANT
    assert judge_present(Unresolved({"Ref": "Key"})) == COMPLIANT
    assert judge_present(None) == NON_COMPLIANT and judge_present("") == NON_COMPLIANT


def test_a_rule_that_does_not_apply_is_not_called():
    calls = []

    def check(resource: Resource):
        calls.append(resource.logical_id)
        return COMPLIANT

    guarded = rule(
        "TEST-APPLIES",
        types="AWS::S3::Bucket",
        info="test",
        explanation="test",
        notes="S3",
        applies=lambda resource: resource.get("Wanted") == "yes",
    )(check)
    try:
        registered = next(r for r in RULES if r.suffix == "TEST-APPLIES")
        wanted = Resource("Wanted", "AWS::S3::Bucket", {"wanted": "yes"})
        other = Resource("Other", "AWS::S3::Bucket", {})
        assert guarded(other) == NOT_APPLICABLE and registered.check(other) == NOT_APPLICABLE
        assert guarded(wanted) == COMPLIANT and registered.check(wanted) == COMPLIANT
        assert calls == ["Wanted", "Wanted"]
        assert guarded.__name__ == "check"
    finally:
        RULES.remove(registered)
