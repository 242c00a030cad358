"""MLS-MD*, EC1, MZ*, AS1, SV*, PL1: models, endpoint configs, endpoints and auto scaling."""

from __future__ import annotations

from collections.abc import Callable

import aws_cdk as cdk
import pytest
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.assertions import Template

from ml_refarch.aws_facts import has_local_storage
from ml_refarch.compliance.rules import NOT_APPLICABLE, RULES
from ml_refarch.compliance.rules.model import Verdict, resources_from_template
from tests.compliance.rules.support import isolated_vpc, mls_findings

ROLE_ARN = "arn:aws:iam::123456789012:role/model"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/inference:1"
INSTANCE_COUNT = "sagemaker:variant:DesiredInstanceCount"

Model = sagemaker.CfnModel
Config = sagemaker.CfnEndpointConfig


def verdicts(build: Callable[[cdk.Stack], object]) -> dict[str, Verdict]:
    """Each MLS rule's verdict on each resource of a new stack, keyed ``"<rule> <logical id>"``.

    Unlike the findings, this tells a compliant resource from one a rule does not apply to.
    """
    stack = cdk.Stack(cdk.App(), "RuleTest")
    build(stack)
    resources = resources_from_template(Template.from_stack(stack).to_json())
    return {
        f"{rule.suffix} {resource.logical_id}": rule.evaluate(resource)
        for resource in resources.values()
        for rule in RULES
        if resource.type in rule.resource_types
    }


def _without_none(properties: dict) -> dict:
    return {key: value for key, value in properties.items() if value is not None}


def container(index: int = 0) -> Model.ContainerDefinitionProperty:
    return Model.ContainerDefinitionProperty(
        image=IMAGE, model_data_url=f"s3://models/step-{index}/model.tar.gz"
    )


def model(stack: cdk.Stack, construct_id: str = "Model", **overrides) -> Model:
    """A network-isolated single-container model, with ``overrides`` (None removes)."""
    properties = dict(
        execution_role_arn=ROLE_ARN,
        enable_network_isolation=True,
        primary_container=container(),
    )
    properties.update(overrides)
    return Model(stack, construct_id, **_without_none(properties))


def realtime_endpoint(
    stack: cdk.Stack,
    *,
    model_overrides: dict | None = None,
    config_overrides: dict | None = None,
    variants: list[dict] | None = None,
    scaled: tuple[str, ...] | None = None,
    min_capacity: float = 2,
    cooldowns: bool = True,
) -> sagemaker.CfnEndpoint:
    """A multi-AZ real-time endpoint that passes every rule.

    ``variants`` lists per-variant overrides (default: one variant ``A``); ``scaled`` names the
    variants that get a scalable target with a target-tracking policy (default: all).
    """
    vpc = isolated_vpc(stack)
    group = ec2.SecurityGroup(stack, "ModelSg", vpc=vpc)
    model_properties = dict(
        vpc_config=Model.VpcConfigProperty(
            security_group_ids=[group.security_group_id],
            subnets=[subnet.subnet_id for subnet in vpc.isolated_subnets],
        )
    )
    model_properties.update(model_overrides or {})
    served = model(stack, **model_properties)
    production_variants = []
    for index, variant_overrides in enumerate(variants or [{}]):
        variant = dict(
            variant_name="ABCDEFGH"[index],
            model_name=served.attr_model_name,
            initial_instance_count=2,
            instance_type="ml.m5.large",
            initial_variant_weight=1,
        )
        variant.update(variant_overrides)
        production_variants.append(Config.ProductionVariantProperty(**_without_none(variant)))
    config_properties = dict(
        kms_key_id=kms.Key(stack, "Key", enable_key_rotation=True).key_id,
        production_variants=production_variants,
    )
    config_properties.update(config_overrides or {})
    config = Config(stack, "Config", **_without_none(config_properties))
    endpoint = sagemaker.CfnEndpoint(
        stack, "Endpoint", endpoint_config_name=config.attr_endpoint_config_name
    )
    names = [variant.variant_name for variant in production_variants]
    for name in names if scaled is None else scaled:
        scale_variant(
            stack,
            f"endpoint/{endpoint.attr_endpoint_name}/variant/{name}",
            construct_id=f"Scaling{name}",
            min_capacity=min_capacity,
            cooldowns=cooldowns,
        )
    return endpoint


def scale_variant(
    stack: cdk.Stack,
    resource_id: str,
    *,
    construct_id: str = "Scaling",
    min_capacity: float = 2,
    cooldowns: bool = True,
) -> autoscaling.ScalableTarget:
    target = autoscaling.ScalableTarget(
        stack,
        construct_id,
        service_namespace=autoscaling.ServiceNamespace.SAGEMAKER,
        resource_id=resource_id,
        scalable_dimension=INSTANCE_COUNT,
        min_capacity=min_capacity,
        max_capacity=4,
    )
    timing = (
        dict(scale_in_cooldown=cdk.Duration.minutes(5), scale_out_cooldown=cdk.Duration.minutes(1))
        if cooldowns
        else {}
    )
    target.scale_to_track_metric(
        "Invocations",
        target_value=100,
        predefined_metric=autoscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
        **timing,
    )
    return target


def serverless_endpoint(stack: cdk.Stack, **serverless_overrides) -> None:
    """A serverless endpoint that passes every rule, with ServerlessConfig ``overrides``."""
    served = model(stack)
    settings = dict(memory_size_in_mb=2048, max_concurrency=10, provisioned_concurrency=2)
    settings.update(serverless_overrides)
    config = Config(
        stack,
        "Config",
        production_variants=[
            Config.ProductionVariantProperty(
                variant_name="S",
                model_name=served.attr_model_name,
                serverless_config=Config.ServerlessConfigProperty(**_without_none(settings)),
            )
        ],
    )
    sagemaker.CfnEndpoint(stack, "Endpoint", endpoint_config_name=config.attr_endpoint_config_name)


def pipeline_model(stack: cdk.Stack, containers: int = 3, **overrides) -> None:
    """A serial inference pipeline of ``containers`` containers."""
    model(
        stack,
        "Pipeline",
        primary_container=None,
        containers=[container(index) for index in range(containers)],
        **overrides,
    )


# ---------------------------------------------------------------------------------------------
# Compliant stacks
# ---------------------------------------------------------------------------------------------


def test_compliant_realtime_multi_az_endpoint_passes():
    assert mls_findings(realtime_endpoint) == []


def test_compliant_serverless_endpoint_passes():
    # Also: a serverless-only config needs no KMS key, VPC, instance count or scaling.
    assert mls_findings(serverless_endpoint) == []


def test_compliant_inference_pipeline_passes():
    assert mls_findings(pipeline_model) == []


def test_several_variants_each_scaled_pass():
    assert mls_findings(lambda stack: realtime_endpoint(stack, variants=[{}, {}])) == []


# ---------------------------------------------------------------------------------------------
# Real-time endpoint: one unsafe setting, one finding
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "findings"),
    [
        ({"model_overrides": {"enable_network_isolation": False}}, ["MLS-MD1"]),
        ({"model_overrides": {"enable_network_isolation": None}}, ["MLS-MD1"]),
        ({"model_overrides": {"vpc_config": None}}, ["MLS-MD2"]),
        ({"config_overrides": {"kms_key_id": None}}, ["MLS-EC1"]),
        ({"variants": [{"initial_instance_count": 1}]}, ["MLS-MZ1[Variant::A]"]),
        ({"variants": [{}, {"initial_instance_count": 1}]}, ["MLS-MZ1[Variant::B]"]),
        ({"min_capacity": 1}, ["MLS-MZ3"]),
        ({"scaled": ()}, ["MLS-AS1[Variant::A]"]),
        ({"variants": [{}, {}], "scaled": ("A",)}, ["MLS-AS1[Variant::B]"]),
        ({"cooldowns": False}, ["MLS-AS1[Variant::A]"]),
    ],
    ids=[
        "isolation-off",
        "isolation-default",
        "no-vpc",
        "no-kms",
        "one-instance",
        "second-variant-one-instance",
        "scales-in-to-one",
        "no-scaling",
        "second-variant-unscaled",
        "no-cooldowns",
    ],
)
def test_each_unsafe_setting_raises_exactly_its_rule(options, findings):
    assert mls_findings(lambda stack: realtime_endpoint(stack, **options)) == findings


def test_subnets_in_one_availability_zone_fail_mz2():
    def build(stack):
        vpc = ec2.Vpc(
            stack,
            "OneAzVpc",
            max_azs=1,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name=name, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
                for name in ("first", "second")
            ],
        )
        realtime_endpoint(
            stack,
            model_overrides={
                "vpc_config": Model.VpcConfigProperty(
                    security_group_ids=["sg-0123456789abcdef0"],
                    subnets=[subnet.subnet_id for subnet in vpc.isolated_subnets],
                )
            },
        )

    assert mls_findings(build) == ["MLS-MZ2"]


def test_a_single_subnet_fails_mz2():
    def build(stack):
        vpc = isolated_vpc(stack, endpoints=False)
        model(
            stack,
            vpc_config=Model.VpcConfigProperty(
                security_group_ids=["sg-0123456789abcdef0"],
                subnets=[vpc.isolated_subnets[0].subnet_id],
            ),
        )

    assert mls_findings(build) == ["MLS-MZ2"]


def test_imported_subnets_cannot_be_placed_in_zones():
    def build(stack):
        model(
            stack,
            vpc_config=Model.VpcConfigProperty(
                security_group_ids=["sg-0123456789abcdef0"],
                subnets=["subnet-0aaaaaaaaaaaaaaaa", cdk.Fn.import_value("SubnetB")],
            ),
        )

    assert mls_findings(build) == []


# ---------------------------------------------------------------------------------------------
# EC1 and instance types with local storage
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instance_type", "local"),
    [
        ("ml.m5.large", False),
        ("ml.c5d.xlarge", True),
        ("ml.m6id.large", True),
        ("ml.g4dn.xlarge", True),
        ("ml.p4de.24xlarge", True),
        ("ml.g5.xlarge", True),
        ("ML.G6E.2XLARGE", True),
        ("ml.trn1n.32xlarge", True),
        ("ml.g4ad.xlarge", True),
        ("ml.inf2.xlarge", False),
        ("ml.g5g.xlarge", False),
        ("m5d.large", False),
    ],
)
def test_local_storage_families(instance_type, local):
    assert has_local_storage(instance_type) is local


def test_local_nvme_storage_needs_no_kms_key():
    def build(stack):
        realtime_endpoint(
            stack,
            config_overrides={"kms_key_id": None},
            variants=[{"instance_type": "ml.g5.xlarge"}],
        )

    assert mls_findings(build) == []


def test_a_kms_key_with_local_nvme_storage_is_rejected():
    def build(stack):
        realtime_endpoint(stack, variants=[{}, {"instance_type": "ml.g5.xlarge"}])

    assert mls_findings(build) == ["MLS-EC1[LocalStorage::B]"]


def test_shadow_variants_count_for_local_storage():
    def build(stack):
        served = model(stack, "Shadow")
        realtime_endpoint(
            stack,
            config_overrides={
                "shadow_production_variants": [
                    Config.ProductionVariantProperty(
                        variant_name="Shadow",
                        model_name=served.attr_model_name,
                        initial_instance_count=1,
                        instance_type="ml.p4d.24xlarge",
                    )
                ]
            },
        )

    # The shadow model serves real-time traffic too, so it needs a VPC (MD2).
    assert mls_findings(build) == ["MLS-EC1[LocalStorage::Shadow]", "MLS-MD2"]


# ---------------------------------------------------------------------------------------------
# Serverless
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "rule_id"),
    [
        ({"memory_size_in_mb": 1000}, "MLS-SV1"),
        ({"memory_size_in_mb": 8192}, "MLS-SV1"),
        ({"max_concurrency": 0, "provisioned_concurrency": None}, "MLS-SV2"),
        ({"max_concurrency": 201}, "MLS-SV2"),
        ({"provisioned_concurrency": 11}, "MLS-SV3"),
        ({"provisioned_concurrency": 0}, "MLS-SV3"),
    ],
)
def test_each_serverless_limit_raises_exactly_its_rule(settings, rule_id):
    assert mls_findings(lambda stack: serverless_endpoint(stack, **settings)) == [
        f"{rule_id}[Variant::S]"
    ]


def test_serverless_bounds_are_inclusive():
    def build(stack):
        serverless_endpoint(
            stack, memory_size_in_mb=6144, max_concurrency=200, provisioned_concurrency=200
        )

    assert mls_findings(build) == []


# ---------------------------------------------------------------------------------------------
# Inference pipelines
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("containers", [1, 16])
def test_pipeline_outside_2_to_15_containers_fails(containers):
    assert mls_findings(lambda stack: pipeline_model(stack, containers)) == ["MLS-PL1"]


def test_direct_invocation_is_not_a_pipeline():
    def build(stack):
        pipeline_model(
            stack,
            16,
            inference_execution_config=Model.InferenceExecutionConfigProperty(mode="Direct"),
        )

    assert mls_findings(build) == []


# ---------------------------------------------------------------------------------------------
# Not applicable
# ---------------------------------------------------------------------------------------------


def test_model_no_endpoint_serves_needs_no_vpc():
    assert mls_findings(model) == []


def test_rules_for_the_other_kind_of_endpoint_do_not_apply():
    serverless = verdicts(serverless_endpoint)
    for key in ("MD2 Model", "MZ2 Model", "EC1 Config", "MZ1 Config", "AS1 Endpoint"):
        assert serverless[key] == NOT_APPLICABLE, key
    realtime = verdicts(realtime_endpoint)
    for key in ("SV1 Config", "SV2 Config", "SV3 Config", "PL1 Model"):
        assert realtime[key] == NOT_APPLICABLE, key


def test_other_scalable_targets_are_not_applicable():
    def build(stack):
        autoscaling.ScalableTarget(
            stack,
            "Table",
            service_namespace=autoscaling.ServiceNamespace.DYNAMODB,
            resource_id="table/orders",
            scalable_dimension="dynamodb:table:ReadCapacityUnits",
            min_capacity=1,
            max_capacity=10,
        )

    assert mls_findings(build) == []


def test_endpoint_with_literal_name_is_matched_by_name():
    def build(stack):
        endpoint = realtime_endpoint(stack, scaled=())
        endpoint.endpoint_name = "fraud"
        scale_variant(stack, "endpoint/fraud/variant/A")

    assert mls_findings(build) == []


def test_endpoint_of_imported_config_is_not_applicable():
    def build(stack):
        sagemaker.CfnEndpoint(
            stack, "Endpoint", endpoint_config_name=cdk.Fn.import_value("ConfigName")
        )

    assert mls_findings(build) == []


# ---------------------------------------------------------------------------------------------
# Deploy-time values
# ---------------------------------------------------------------------------------------------


def test_unresolvable_tokens_do_not_crash_the_rules():
    def build(stack):
        isolation = cdk.CfnParameter(stack, "Isolation", type="String", default="true")
        count = cdk.CfnParameter(stack, "Count", type="Number", default=2)
        minimum = cdk.CfnParameter(stack, "Minimum", type="Number", default=2)
        realtime_endpoint(
            stack,
            model_overrides={"enable_network_isolation": isolation.value},
            variants=[{"initial_instance_count": count.value_as_number}],
            min_capacity=minimum.value_as_number,
        )

    # Values known only at deploy time are neither passed nor failed.
    assert mls_findings(build) == []
    judged = verdicts(build)
    assert judged["MD1 Model"] == NOT_APPLICABLE
    assert judged["MZ1 Config"] == NOT_APPLICABLE
    assert [verdict for key, verdict in judged.items() if key.startswith("MZ3 ")] == [
        NOT_APPLICABLE
    ]


def test_a_deploy_time_instance_type_without_key_is_not_judged():
    def build(stack):
        instance_type = cdk.CfnParameter(stack, "InstanceType", default="ml.m5.large")
        realtime_endpoint(
            stack,
            config_overrides={"kms_key_id": None},
            variants=[{"instance_type": instance_type.value_as_string}],
        )

    assert mls_findings(build) == []


def test_deploy_time_subnets_and_serverless_settings_are_skipped():
    def build(stack):
        subnets = cdk.CfnParameter(stack, "Subnets", type="List<AWS::EC2::Subnet::Id>")
        memory = cdk.CfnParameter(stack, "Memory", type="Number", default=2048)
        mode = cdk.CfnParameter(stack, "Mode", default="Serial")
        model(
            stack,
            "Isolated",
            vpc_config=Model.VpcConfigProperty(
                security_group_ids=["sg-0123456789abcdef0"], subnets=subnets.value_as_list
            ),
        )
        pipeline_model(
            stack,
            16,
            inference_execution_config=Model.InferenceExecutionConfigProperty(
                mode=mode.value_as_string
            ),
        )
        serverless_endpoint(stack, memory_size_in_mb=memory.value_as_number)

    assert mls_findings(build) == []
