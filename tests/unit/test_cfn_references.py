"""ml_refarch.cfn: references with the property that holds them."""

from __future__ import annotations

from ml_refarch.cfn import Reference, references, resource_references


def _named(value, key=""):
    return [(found.logical_id, found.key) for found in references(value, key)]


def test_references_name_the_innermost_property_in_document_order():
    properties = {
        "Role": {"Fn::GetAtt": ["Role1234ABCD", "Arn"]},
        "KmsKeyId": {"Ref": "Key"},
        "Nested": {"Config": [{"Target": {"Fn::GetAtt": "Topic.TopicName"}}]},
        "Joined": {"Fn::Join": ["", ["arn:", {"Ref": "Bucket"}]]},
        "Region": {"Ref": "AWS::Region"},
    }
    assert _named(properties) == [
        ("Role1234ABCD", "Role"),
        ("Key", "KmsKeyId"),
        ("Topic", "Target"),
        ("Bucket", "Joined"),
        ("AWS::Region", "Region"),
    ]
    assert _named({"Ref": "Key"}, key="Top") == [("Key", "Top")]


def test_references_read_fn_sub_but_not_its_literals_or_own_variables():
    text = "arn:${AWS::Partition}:s3:::${Bucket}/${!Literal}/${Queue.Arn}/${Local}"
    value = {"Fn::Sub": [text, {"Local": {"Ref": "Table"}}]}
    assert _named({"Resource": value}) == [
        ("Bucket", "Resource"),
        ("Queue", "Resource"),
        ("Table", "Local"),
    ]
    assert _named({"Name": {"Fn::Sub": "${Stream}-x"}}) == [("Stream", "Name")]


def test_resource_references_add_depends_on_after_the_properties():
    resource = {"Properties": {"Bucket": {"Ref": "Bucket"}}, "DependsOn": ["Role", "Policy"]}
    assert resource_references(resource) == [
        Reference("Bucket", "Ref", "", "Bucket"),
        Reference("Role", "DependsOn", "", "DependsOn"),
        Reference("Policy", "DependsOn", "", "DependsOn"),
    ]
    assert resource_references({"DependsOn": "Role"}) == [
        Reference("Role", "DependsOn", "", "DependsOn")
    ]
    assert resource_references({"Type": "AWS::SNS::Topic"}) == []
