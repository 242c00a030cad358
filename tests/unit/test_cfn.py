"""ml_refarch.cfn: reading CloudFormation templates."""

from __future__ import annotations

import pytest

from ml_refarch import cfn
from ml_refarch.cfn import PLACEHOLDER, Reference, Unresolved

TEMPLATE = {
    "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket"},
        "Key": {"Type": "AWS::KMS::Key"},
        "Other": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "Broken": "not a resource",
    }
}


def test_resources_skip_entries_that_are_no_resource():
    assert sorted(cfn.resources(TEMPLATE)) == ["Bucket", "Key", "Other"]
    assert cfn.resources({}) == {}
    assert cfn.resources({"Resources": None}) == {}


def test_resources_of_type_and_by_type():
    assert sorted(cfn.resources_of_type(TEMPLATE, "AWS::S3::Bucket")) == ["Bucket", "Other"]
    assert sorted(cfn.resources_of_type(TEMPLATE, "AWS::S3::Bucket", "AWS::KMS::Key")) == [
        "Bucket",
        "Key",
        "Other",
    ]
    grouped = cfn.resources_by_type(TEMPLATE)
    assert list(grouped) == ["AWS::S3::Bucket", "AWS::KMS::Key"]
    assert list(grouped["AWS::S3::Bucket"]) == ["Bucket", "Other"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "X"}, True),
        ({"ref": "X"}, True),
        ({"Fn::GetAtt": ["X", "Arn"]}, True),
        ({"fn::join": ["", []]}, True),
        ({"Condition": "IsProduction"}, True),
        ({"Ref": "X", "Other": 1}, False),
        ({"Bucket": "x"}, False),
        ("Ref", False),
    ],
)
def test_is_intrinsic(value, expected):
    assert cfn.is_intrinsic(value) is expected


def test_references_name_function_attribute_and_key():
    value = {
        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
        "Bucket": {"Ref": "Bucket"},
        "Topic": {"fn::getatt": "Topic.TopicName"},
        "Uri": {"Fn::Join": ["", ["s3://", {"Ref": "Data"}, "/x"]]},
    }
    assert list(cfn.references(value)) == [
        Reference("Role", "Fn::GetAtt", "Arn", "Role"),
        Reference("Bucket", "Ref", "", "Bucket"),
        Reference("Topic", "Fn::GetAtt", "TopicName", "Topic"),
        Reference("Data", "Ref", "", "Uri"),
    ]


def test_sub_names_are_references_unless_the_sub_defines_them():
    value = {
        "Text": {
            "Fn::Sub": [
                "${Queue.Arn}/${Local}/${!Literal}/${AWS::Region}/${Table}",
                {"Local": {"Ref": "Stream"}},
            ]
        },
        "Plain": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}"},
    }
    assert sorted((r.logical_id, r.function, r.attribute) for r in cfn.references(value)) == [
        ("Bucket", "Fn::Sub", ""),
        ("Queue", "Fn::Sub", "Arn"),
        ("Stream", "Ref", ""),
        ("Table", "Fn::Sub", ""),
    ]
    assert cfn.referenced_ids(value) == {"Stream"}
    assert cfn.referenced_ids(value, with_sub=True) == {"Bucket", "Queue", "Stream", "Table"}


def test_sub_names():
    assert cfn.sub_names("${A}-${B.Arn}-${!C}-${AWS::AccountId}") == [("A", ""), ("B", "Arn")]


def test_ref_target_is_the_value_itself_only():
    assert cfn.ref_target({"Ref": "Bucket"}) == "Bucket"
    assert cfn.ref_target({"Fn::GetAtt": ["Role", "Arn"]}) == "Role"
    assert cfn.ref_target({"Fn::GetAtt": "Role.Arn"}) == "Role"
    assert cfn.ref_target(Unresolved({"Ref": "Bucket"})) == "Bucket"
    assert cfn.ref_target({"Fn::Join": ["", [{"Ref": "Bucket"}]]}) is None
    assert cfn.ref_target("Bucket") is None


def test_resolve_ids_puts_physical_ids_in_place_of_references():
    properties = {
        "GroupId": {"Fn::GetAtt": ["Group", "GroupId"]},
        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
        "Roles": [{"Ref": "Role"}, "named-role"],
        "Name": {"Fn::Join": ["-", ["a", "b"]]},
        "Missing": {"Ref": "NotDeployed"},
        "Nested": {"SubnetId": {"Ref": "Subnet"}, "Port": 443},
    }
    physical_ids = {"Group": "sg-1", "Role": "role-1", "Subnet": "subnet-1"}
    resolved = cfn.resolve_ids(properties, physical_ids, id_attributes=frozenset({"GroupId"}))
    assert resolved == {
        "GroupId": "sg-1",
        "Role": None,
        "Roles": ["role-1", "named-role"],
        "Name": None,
        "Missing": None,
        "Nested": {"SubnetId": "subnet-1", "Port": 443},
    }
    assert cfn.resolve_ids(properties, physical_ids)["GroupId"] is None


def test_get_follows_paths_case_insensitively():
    properties = {"ResourceConfig": {"VolumeKmsKeyId": "key", "InstanceCount": "2"}}
    assert cfn.get(properties, "ResourceConfig.VolumeKmsKeyId") == "key"
    assert cfn.get(properties, "resourceconfig.volumekmskeyid") == "key"
    assert cfn.get(cfn.lower_keys(properties), "ResourceConfig.InstanceCount") == "2"
    assert cfn.get(properties, "ResourceConfig.Missing", "default") == "default"
    assert cfn.get(properties, "ResourceConfig.VolumeKmsKeyId.Deeper") is None


def test_get_stops_at_deploy_time_values():
    properties = {"Key": {"Fn::GetAtt": ["Key", "Arn"]}, "Input": {"S3Uri.$": "$.uri"}}
    found = cfn.get(properties, "Key.Anything")
    assert isinstance(found, Unresolved)
    assert found.raw == {"Fn::GetAtt": ["Key", "Arn"]}
    assert isinstance(cfn.get(properties, "Key"), Unresolved)
    dynamic = cfn.get(properties, "Input.S3Uri")
    assert isinstance(dynamic, Unresolved) and dynamic.raw == "$.uri"
    assert cfn.raw(dynamic) == "$.uri"
    assert cfn.raw("literal") == "literal"


def test_present_number_truthy_as_list():
    assert cfn.present(Unresolved({"Ref": "X"})) and cfn.present(0) and cfn.present("x")
    assert not any(cfn.present(value) for value in (None, "", [], {}))
    assert cfn.number("64") == 64.0 and cfn.number(2) == 2.0
    assert cfn.number(True) is None and cfn.number("x") is None
    assert cfn.number(Unresolved({"Ref": "P"})) is None
    assert cfn.truthy("TRUE") is True and cfn.truthy(False) is False
    assert cfn.truthy("yes") is None
    assert cfn.as_list("a") == ["a"] and cfn.as_list(("a", "b")) == ["a", "b"]
    assert cfn.as_list(None) == [] and cfn.as_list(Unresolved("x")) == []


def test_lower_keys_lowers_every_key():
    assert cfn.lower_keys({"A": [{"B": {"C": 1}}]}) == {"a": [{"b": {"c": 1}}]}


def test_literal_text_keeps_the_literal_parts_of_a_join():
    joined = {
        "Fn::Join": [
            "",
            ["com.amazonaws.", {"Ref": "AWS::Region"}, ".", {"Fn::Join": ["-", ["s", "3"]]}],
        ]
    }
    assert cfn.literal_text(joined) == "com.amazonaws.*.s-3"
    assert cfn.literal_text(Unresolved(joined), token="") == "com.amazonaws..s-3"
    assert cfn.literal_text("plain") == "plain"
    assert cfn.literal_text({"Ref": "X"}) == "*"
    assert cfn.literal_text({"Fn::Sub": "a-${X}"}) == "*"


def test_joined_text_of_joins_and_subs():
    assert cfn.joined_text({"Fn::Join": [":", ["a", {"Ref": "X"}]]}, "?") == "a:?"
    assert cfn.joined_text({"Fn::Sub": ["a-${X}", {"X": "1"}]}) == "a-${X}"
    assert cfn.joined_text({"Ref": "X"}) is None


def test_parse_json_text_keeps_tokens_inside_and_outside_strings():
    definition = {
        "Fn::Join": [
            "",
            ['{"Resource":"arn:', {"Ref": "AWS::Partition"}, ':states:::x","Count":', {"Ref": "N"}],
        ]
    }
    definition["Fn::Join"][1].append(',"Role":${RoleArn}}')
    assert cfn.parse_json_text(definition) == {
        "Resource": f"arn:{PLACEHOLDER}:states:::x",
        "Count": PLACEHOLDER,
        "Role": PLACEHOLDER,
    }
    assert cfn.parse_json_text({"Fn::Sub": '{"A": "${X}", "B": ${Y}}'}) == {
        "A": "${X}",
        "B": PLACEHOLDER,
    }
    assert cfn.parse_json_text('{"escaped": "a\\"b"}') == {"escaped": 'a"b'}
    assert cfn.parse_json_text("not json") is None
    assert cfn.parse_json_text({"Ref": "X"}) is None


def test_parse_json_text_renders_tokens_for_a_reader_that_keeps_references():
    definition = {
        "Fn::Join": ["", ['{"Role":"', {"Fn::GetAtt": ["R", "Arn"]}, '","N":', {"Ref": "N"}, "}"]]
    }
    rendered = cfn.parse_json_text(definition, lambda part: f"<{sorted(part)[0]}>")
    assert rendered == {"Role": "<Fn::GetAtt>", "N": "<Ref>"}
