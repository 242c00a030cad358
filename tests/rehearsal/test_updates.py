"""Update safety: no stack keeps a fixed name on a resource its next configuration replaces.

Pairs are sandbox -> production and sandbox -> each settings variant, for the stacks both
synthesize. The comparison is symmetric (the same create-only properties differ either
way, and a fixed name is equal in both), so one direction covers the way back.
"""

from __future__ import annotations

import pytest

from ml_refarch.rehearsal.updates import (
    REPLACEMENT_BLOCKED,
    UNKNOWN_TYPE,
    UPDATE_REFUSED,
    Finding,
    is_name_of,
    name_paths,
    provider_schema,
    update_findings,
    value_at,
)
from tests.support import AWS_VARIANT_STACKS

BASELINE = "sandbox"
PAIRS = [(variant, stack) for variant, stack in AWS_VARIANT_STACKS if variant != BASELINE]


def test_every_settings_variant_and_production_is_paired_with_sandbox():
    variants = {variant for variant, _ in PAIRS}
    assert {"production", "sandbox-csv", "sandbox-api-key", "sandbox-wheelhouse"} <= variants
    assert "local" not in variants  # the moto rehearsal's templates are not deployed to AWS


@pytest.mark.parametrize(("variant", "stack_name"), PAIRS)
def test_the_stack_updates_from_sandbox_without_a_blocked_replacement(
    synthesized, variant, stack_name
):
    before = synthesized(BASELINE).templates[stack_name]
    after = synthesized(variant).templates[stack_name]
    findings = update_findings(before, after)
    assert not findings, "\n".join(map(str, findings))


# --------------------------------------------------------------------------------------
# Hand-made pairs


def template(logical_id: str, resource_type: str, **properties) -> dict:
    return {"Resources": {logical_id: {"Type": resource_type, "Properties": properties}}}


def firehose(name, **properties) -> dict:
    stream = {"DeliveryStreamName": name} if name is not None else {}
    return template("Stream", "AWS::KinesisFirehose::DeliveryStream", **stream, **properties)


def test_a_fixed_name_with_a_changed_create_only_property_is_a_finding():
    before = firehose("clicks", DeliveryStreamType="DirectPut")
    after = firehose("clicks", DeliveryStreamType="KinesisStreamAsSource")
    (finding,) = update_findings(before, after)
    assert finding == Finding(
        "Stream",
        "AWS::KinesisFirehose::DeliveryStream",
        REPLACEMENT_BLOCKED,
        names=(("DeliveryStreamName", "clicks"),),
        changed=("DeliveryStreamType",),
    )
    assert "UPDATE_FAILED" in str(finding) and "DeliveryStreamType" in str(finding)


def test_nested_create_only_paths_are_compared_below_the_top_level():
    def with_elasticsearch(subnets: list[str], index: str) -> dict:
        destination = {"IndexName": index, "VpcConfiguration": {"SubnetIds": subnets}}
        return firehose("clicks", ElasticsearchDestinationConfiguration=destination)

    # Only the VPC configuration inside the destination is create-only.
    assert not update_findings(with_elasticsearch(["a"], "x"), with_elasticsearch(["a"], "y"))
    (finding,) = update_findings(with_elasticsearch(["a"], "x"), with_elasticsearch(["b"], "x"))
    assert finding.changed == ("ElasticsearchDestinationConfiguration/VpcConfiguration",)


def test_generated_changing_and_derived_names_let_cloudformation_replace():
    changed = {"DeliveryStreamType": "KinesisStreamAsSource"}
    # No name: CloudFormation generates one.
    assert not update_findings(firehose(None), firehose(None, **changed))
    # A name carrying a digest of the create-only properties changes with them.
    assert not update_findings(firehose("clicks-1a2b"), firehose("clicks-9f8e", **changed))
    # A name derived from another resource of the template is no fixed name.
    derived = {"Fn::Join": ["-", [{"Ref": "Bucket"}, "clicks"]]}
    before, after = firehose(derived), firehose(derived, **changed)
    # (while a reference to a template parameter keeps it fixed)
    assert update_findings(before, after)
    for pair in (before, after):
        pair["Resources"]["Bucket"] = {"Type": "AWS::S3::Bucket"}
    assert not update_findings(before, after)


def test_a_name_built_from_pseudo_parameters_is_fixed():
    name = {"Fn::Sub": "${AWS::StackName}-clicks"}
    before = firehose(name)
    (finding,) = update_findings(before, firehose(name, DeliveryStreamType="DirectPut"))
    assert finding.names == (("DeliveryStreamName", name),)


def test_resources_of_another_type_or_only_in_one_template_are_not_compared():
    before = firehose("clicks")
    after = template("Stream", "AWS::Kinesis::Stream", Name="clicks", ShardCount=2)
    assert not update_findings(before, after)
    assert not update_findings(before, {"Resources": {}})


def test_an_unknown_type_is_reported_when_its_properties_change():
    before = template("Thing", "AWS::Example::Widget", Name="w", Size=1)
    assert not update_findings(before, before)
    (finding,) = update_findings(before, template("Thing", "AWS::Example::Widget", Name="w"))
    assert (finding.kind, finding.changed) == (UNKNOWN_TYPE, ("Size",))
    assert "unknown type" in str(finding)


def test_custom_resources_are_known_to_the_schemas():
    before = template("Cleanup", "Custom::S3AutoDeleteObjects", ServiceToken="t", BucketName="b")
    after = template("Cleanup", "Custom::S3AutoDeleteObjects", ServiceToken="t", BucketName="c")
    assert not update_findings(before, after)


# --------------------------------------------------------------------------------------
# Schemas and names


def test_create_only_properties_come_from_cfn_lints_schemas():
    model = provider_schema("AWS::SageMaker::Model")
    assert {("ModelName",), ("PrimaryContainer",), ("ExecutionRoleArn",)} <= set(model.create_only)
    assert model.primary_identifier == (("ModelArn",),)
    assert ("Tags",) not in model.create_only  # a model's tags are updatable
    assert provider_schema("AWS::Example::Widget") is None


def test_a_type_is_named_by_its_identifier_or_its_own_name_property():
    assert name_paths(provider_schema("AWS::SageMaker::Model")) == (("ModelName",),)
    assert name_paths(provider_schema("AWS::EC2::SecurityGroup")) == (("GroupName",),)
    table = set(name_paths(provider_schema("AWS::Glue::Table")))
    assert {("TableInput", "Name"), ("DatabaseName",)} <= table
    # A create-only property that names another resource is not the resource's name.
    job = name_paths(provider_schema("AWS::SageMaker::DataQualityJobDefinition"))
    assert job == (("JobDefinitionName",),)
    assert not is_name_of(("EndpointName",), "AWS::SageMaker::DataQualityJobDefinition")
    assert is_name_of(("DeliveryStreamName",), "AWS::KinesisFirehose::DeliveryStream")
    assert is_name_of(("Name",), "AWS::Kinesis::Stream")


def test_values_are_read_along_nested_paths_and_lists():
    properties = {"A": {"B": 1}, "Tags": [{"Key": "k", "Value": "v"}], "I": {"Ref": "X"}}
    assert value_at(properties, ("A", "B")) == 1
    assert value_at(properties, ("Tags", "*", "Key")) == ["k"]
    assert value_at(properties, ("I", "B")) == {"Ref": "X"}
    assert value_at(properties, ("Missing", "B")) == value_at({}, ("Missing",))
    assert value_at(properties, ("A", "Missing")) != value_at(properties, ("A", "B"))


# --------------------------------------------------------------------------------------
# Endpoints with auto scaling


def scaled_endpoint(
    instance_type: str, *, name: str | None = None, variant: str = "AllTraffic", scaled: bool = True
) -> dict:
    endpoint = {"EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}}
    if name is not None:
        endpoint["EndpointName"] = name
    resources = {
        "Config": {
            "Type": "AWS::SageMaker::EndpointConfig",
            "Properties": {
                "ProductionVariants": [{"VariantName": variant, "InstanceType": instance_type}]
            },
        },
        "Endpoint": {"Type": "AWS::SageMaker::Endpoint", "Properties": endpoint},
    }
    if scaled:
        resources["Target"] = {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "Properties": {
                "ResourceId": {
                    "Fn::Join": [
                        "",
                        [
                            "endpoint/",
                            {"Fn::GetAtt": ["Endpoint", "EndpointName"]},
                            f"/variant/{variant}",
                        ],
                    ]
                },
            },
        }
    return {"Resources": resources}


def test_an_auto_scaled_variant_changing_instance_type_in_place_is_refused():
    findings = update_findings(scaled_endpoint("ml.c5.large"), scaled_endpoint("ml.m5.large"))
    assert [(f.logical_id, f.kind) for f in findings] == [("Endpoint", UPDATE_REFUSED)]
    assert "AllTraffic changes InstanceType ml.c5.large -> ml.m5.large" in str(findings[0])


def test_removing_an_auto_scaled_variant_in_place_is_refused():
    before = scaled_endpoint("ml.c5.large")
    after = scaled_endpoint("ml.c5.large", variant="Other", scaled=False)
    (finding,) = update_findings(before, after)
    assert "auto-scaled variant AllTraffic is removed" in str(finding)


def test_a_renamed_or_unscaled_endpoint_may_change_instance_type():
    renamed = update_findings(
        scaled_endpoint("ml.c5.large", name="stack-aaaa"),
        scaled_endpoint("ml.m5.large", name="stack-bbbb"),
    )
    assert renamed == []
    unscaled = update_findings(
        scaled_endpoint("ml.c5.large", scaled=False), scaled_endpoint("ml.m5.large", scaled=False)
    )
    assert unscaled == []
    same_type = update_findings(scaled_endpoint("ml.c5.large"), scaled_endpoint("ml.c5.large"))
    assert same_type == []
