"""The rule model's verdict helpers."""

from __future__ import annotations

import pytest

from ml_refarch.cfn import Unresolved
from ml_refarch.compliance.rules.model import (
    COMPLIANT,
    NON_COMPLIANT,
    NOT_APPLICABLE,
    RULES,
    Resource,
    Rule,
    depends_on_inputs,
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


STACK = {"Key": object(), "Subnet": object()}


@pytest.mark.parametrize(
    "value",
    [
        {"Ref": "Key"},
        {"Fn::GetAtt": ["Key", "Arn"]},
        {"fn::getatt": "Key.Arn"},
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", {"Ref": "Key"}]]},
        {"Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/${Key}"},
        {"Fn::Sub": ["${Name}-x", {"Name": {"Ref": "Key"}}]},
        {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        "literal",
        ["a", {"Ref": "Subnet"}],
    ],
)
def test_values_built_from_the_stack_and_the_region_do_not_depend_on_inputs(value):
    assert not depends_on_inputs(value, STACK)


@pytest.mark.parametrize(
    "value",
    [
        {"Ref": "KeyParameter"},
        {"Fn::GetAtt": ["Elsewhere", "Arn"]},
        {"Fn::ImportValue": "Shared-Key"},
        {"Fn::If": ["HasKey", {"Ref": "Key"}, {"Ref": "AWS::NoValue"}]},
        {"Fn::FindInMap": ["Keys", {"Ref": "AWS::Region"}, "Arn"]},
        {"Fn::Select": [0, {"Fn::Split": [",", {"Ref": "Subnets"}]}]},
        {"Fn::Sub": "arn:aws:kms:eu-west-1:123456789012:key/${KeyParameter}"},
        {"Fn::Join": ["", [{"Fn::ImportValue": "Prefix"}, "-x"]]},
        [{"Ref": "Subnet"}, {"Ref": "SubnetParameter"}],
        Unresolved({"Ref": "KeyParameter"}),
    ],
)
def test_parameters_imports_conditions_and_mappings_are_inputs(value):
    assert depends_on_inputs(value, STACK)


def _registered(suffix: str, check) -> Rule:
    rule("TEST-" + suffix, types="AWS::S3::Bucket", info="t", explanation="t", notes="S3")(check)
    registered = next(r for r in RULES if r.suffix == "TEST-" + suffix)
    RULES.remove(registered)
    return registered


def _bucket(**properties) -> Resource:
    stack: dict[str, Resource] = {}
    bucket = Resource("Bucket", "AWS::S3::Bucket", properties, stack=stack)
    stack["Bucket"] = bucket
    stack["Key"] = Resource("Key", "AWS::KMS::Key", {}, stack=stack)
    return bucket


def test_a_failure_that_read_a_deploy_time_input_is_not_applicable():
    fails_after_reading = _registered("READS", lambda r: (r.get("kmskey"), NON_COMPLIANT)[1])
    assert fails_after_reading.evaluate(_bucket(kmskey={"ref": "KeyParameter"})) == NOT_APPLICABLE
    assert fails_after_reading.evaluate(_bucket(kmskey={"fn::importvalue": "K"})) == NOT_APPLICABLE
    # A reference to a resource of the stack, or a literal, says what it is: the failure stands.
    assert fails_after_reading.evaluate(_bucket(kmskey={"ref": "Key"})) == NON_COMPLIANT
    assert fails_after_reading.evaluate(_bucket(kmskey="alias/aws/s3")) == NON_COMPLIANT


def test_the_guard_sees_reads_of_neighbours_and_leaves_findings_lists_alone():
    def reads_neighbour(resource: Resource):
        next(iter(resource.others("AWS::KMS::Key"))).get("keypolicy")
        return NON_COMPLIANT

    neighbour = _registered("NEIGHBOUR", reads_neighbour)
    bucket = _bucket()
    bucket.stack["Key"] = Resource(
        "Key", "AWS::KMS::Key", {"keypolicy": {"fn::if": ["C", {}, {}]}}, stack=bucket.stack
    )
    assert neighbour.evaluate(bucket) == NOT_APPLICABLE
    per_place = _registered("PLACES", lambda r: (r.get("kmskey"), ["Place::A"])[1])
    assert per_place.evaluate(_bucket(kmskey={"ref": "KeyParameter"})) == ["Place::A"]
