"""The bottom layer's value readers (ml_refarch/cfn.py) and the AWS names cost reads with."""

from __future__ import annotations

import pytest

from ml_refarch.aws_facts import endpoint_service_short_name, step_functions_task_action
from ml_refarch.cfn import (
    PLACEHOLDER,
    integer,
    joined_text,
    properties_of,
    ref_target,
    referenced_ids,
    resources_by_type,
    trusted_services,
    walk_mappings,
)


def test_resources_by_type_sorts_ids_and_skips_what_is_not_a_resource():
    template = {
        "Resources": {
            "B": {"Type": "AWS::KMS::Key"},
            "A": {"Type": "AWS::KMS::Key", "Properties": {"x": 1}},
            "C": {"Type": "AWS::S3::Bucket"},
            "Broken": "not a resource",
        }
    }
    by_type = resources_by_type(template)
    assert {t: list(entries) for t, entries in by_type.items()} == {
        "AWS::KMS::Key": ["A", "B"],
        "AWS::S3::Bucket": ["C"],
    }
    assert resources_by_type({}) == {} and resources_by_type({"Resources": None}) == {}


def test_properties_of_is_a_dict_always():
    assert properties_of({"Properties": {"a": 1}}) == {"a": 1}
    assert properties_of({}) == {} and properties_of({"Properties": [1]}) == {}


@pytest.mark.parametrize(
    ("value", "target"),
    [
        ({"Ref": "Config"}, "Config"),
        ({"Fn::GetAtt": ["Config", "EndpointConfigName"]}, "Config"),
        ({"Fn::GetAtt": "Handler.Arn"}, "Handler"),
        ({"Fn::GetAtt": []}, None),
        ({"Ref": {"Fn::Sub": "x"}}, None),
        ({"Fn::Join": ["", [{"Ref": "A"}]]}, None),  # contains a reference, is not one
        ({"Ref": "A", "Other": 1}, None),
        ("Config", None),
    ],
)
def test_ref_target_is_the_one_id_a_reference_points_at(value, target):
    assert ref_target(value) == target


def test_referenced_ids_of_an_empty_getatt_is_empty():
    assert referenced_ids({"Fn::GetAtt": []}) == set()
    assert referenced_ids({"A": {"Fn::GetAtt": []}, "B": {"Ref": "X"}}) == {"X"}


@pytest.mark.parametrize(
    ("value", "number"),
    [(3, 3), ("12", 12), (" 7 ", 7), (2.0, 2), (2.5, None), ("1e3", None), (True, None)],
)
def test_integer(value, number):
    assert integer(value) == number
    assert integer({"Ref": "Count"}) is None


def test_joined_text_keeps_the_literal_text_and_marks_tokens():
    joined = {"Fn::Join": ["", ['{"a":"arn:', {"Ref": "AWS::Partition"}, ':x"}']]}
    assert joined_text(joined) == '{"a":"arn:' + PLACEHOLDER + ':x"}'
    assert joined_text({"Fn::Join": [".", ["a", "b"]]}) == "a.b"
    assert joined_text({"Fn::Sub": "com.amazonaws.${AWS::Region}.sts"}).endswith(".sts")
    assert joined_text({"Fn::Sub": ["text ${X}", {"X": "y"}]}) == "text ${X}"
    assert joined_text("plain") == "plain"
    assert joined_text({"Ref": "Name"}) is None and joined_text(3) is None


def test_trusted_services_reads_each_statement_principal():
    role = {
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {"Principal": {"Service": "sagemaker.amazonaws.com"}},
                    {"Principal": {"Service": ["lambda.amazonaws.com", {"Ref": "X"}]}},
                    {"Principal": {"AWS": "arn:aws:iam::123456789012:root"}},
                    {"Principal": "*"},
                ]
            }
        }
    }
    assert trusted_services(role) == {"sagemaker.amazonaws.com", "lambda.amazonaws.com"}
    assert trusted_services({"Properties": {"AssumeRolePolicyDocument": {"Ref": "D"}}}) == set()
    assert trusted_services({}) == set()


def test_walk_mappings_visits_every_dict_depth_first():
    value = {"a": [{"b": {"c": 1}}, 2], "d": {"e": []}}
    assert list(walk_mappings(value)) == [value, {"b": {"c": 1}}, {"c": 1}, {"e": []}]
    assert list(walk_mappings([1, "x"])) == []


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("com.amazonaws.us-east-1.sagemaker.api", "sagemaker.api"),
        ("aws.sagemaker.us-east-1.notebook", "notebook"),
        ("com.amazonaws.<token>.sts", "sts"),
        ("com.amazonaws..sagemaker.api", "sagemaker.api"),
        ("com.amazonaws.s3", "s3"),
        ("vpce-svc-123", "vpce-svc-123"),
    ],
)
def test_endpoint_service_short_name(name, short):
    assert endpoint_service_short_name(name) == short


def test_step_functions_task_action():
    assert step_functions_task_action("arn:aws:states:::sagemaker:createTrainingJob.sync") == (
        "createTrainingJob"
    )
    assert step_functions_task_action("arn:aws:states:::sagemaker:createEndpoint") == (
        "createEndpoint"
    )
