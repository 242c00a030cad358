"""The bottom layer's value readers (ml_refarch/cfn.py) and the AWS names cost reads with."""

from __future__ import annotations

import pytest

from ml_refarch.aws_facts import endpoint_service_short_name, step_functions_task_action
from ml_refarch.cfn import (
    UNRESOLVED_TEXT,
    integer_literal,
    joined_strings,
    properties_of,
    reference_target,
    resource_pairs_by_type,
    walk_mappings,
)


def test_resource_pairs_by_type_sorts_ids_and_skips_what_is_not_a_resource():
    template = {
        "Resources": {
            "B": {"Type": "AWS::KMS::Key"},
            "A": {"Type": "AWS::KMS::Key", "Properties": {"x": 1}},
            "C": {"Type": "AWS::S3::Bucket"},
            "Broken": "not a resource",
        }
    }
    by_type = resource_pairs_by_type(template)
    assert {t: [i for i, _ in entries] for t, entries in by_type.items()} == {
        "AWS::KMS::Key": ["A", "B"],
        "AWS::S3::Bucket": ["C"],
    }
    assert resource_pairs_by_type({}) == {} and resource_pairs_by_type({"Resources": None}) == {}


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
def test_reference_target_is_the_one_id_a_reference_points_at(value, target):
    assert reference_target(value) == target


@pytest.mark.parametrize(
    ("value", "number"),
    [(3, 3), ("12", 12), (" 7 ", 7), (2.0, 2), (2.5, None), ("1e3", None), (True, None)],
)
def test_integer_literal(value, number):
    assert integer_literal(value) == number
    assert integer_literal({"Ref": "Count"}) is None


def test_joined_strings_keeps_the_literal_text_and_marks_tokens():
    joined = {"Fn::Join": ["", ['{"a":"arn:', {"Ref": "AWS::Partition"}, ':x"}']]}
    assert joined_strings(joined) == '{"a":"arn:' + UNRESOLVED_TEXT + ':x"}'
    assert joined_strings({"Fn::Join": [".", ["a", "b"]]}) == "a.b"
    assert joined_strings({"Fn::Sub": "com.amazonaws.${AWS::Region}.sts"}).endswith(".sts")
    assert joined_strings({"Fn::Sub": ["text ${X}", {"X": "y"}]}) == "text ${X}"
    assert joined_strings("plain") == "plain"
    assert joined_strings({"Ref": "Name"}) is None and joined_strings(3) is None


def test_walk_mappings_visits_every_dict_depth_first():
    value = {"a": [{"b": {"c": 1}}, 2], "d": {"e": []}}
    assert list(walk_mappings(value)) == [value, {"b": {"c": 1}}, {"c": 1}, {"e": []}]
    assert list(walk_mappings([1, "x"])) == []


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("com.amazonaws.us-east-1.sagemaker.api", "sagemaker.api"),
        ("aws.sagemaker.us-east-1.notebook", "notebook"),
        ("com.amazonaws.__unresolved__.sts", "sts"),
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
