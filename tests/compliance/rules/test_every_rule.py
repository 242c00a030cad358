"""Every MLSpecialty rule: a failing template, the value that makes it pass, and the same
value known only at deploy time, which must never fail.

Each case is a small template whose resource ``Subject`` fails one rule, and one property
(``LogicalId.Property.Path``, list positions as numbers) that decides it: set to
``compliant`` the rule passes; set to a deploy-time value (an export of another stack, a
template parameter, a condition, a selection from a parameter, a mapping) it must not fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from ml_refarch.compliance.rules import COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE, RULES
from ml_refarch.compliance.rules.model import Verdict, resources_from_template
from tests.compliance.rules.templates import (
    BUCKET_SSE,
    CONTAINER,
    JOB,
    KEY,
    MODEL_IN_BUCKET,
    REGION_PREFIX,
    REMOVE,
    THROTTLED,
    VARIANT_DIMENSION,
    VPC_CONFIG,
    api,
    converting_firehose,
    domain,
    endpoint_config,
    instance_variant,
    lustre,
    lustre_with_ingress,
    model,
    notebook,
    res,
    scaled_endpoint,
    serverless_variant,
    set_path,
    subnets_in,
    training_machine,
    two_vpcs,
    value_at,
)


@dataclass(frozen=True)
class Case:
    rule: str
    resources: dict[str, dict[str, Any]]
    path: str
    compliant: Any
    name: str = ""
    #: What the rule says once the value is ``compliant``: compliant, or not applicable
    #: when that value takes the resource out of the rule's scope.
    passes_as: str = COMPLIANT

    @property
    def id(self) -> str:
        return f"{self.rule}-{self.name or self.path}"


def deploy_time_values(compliant: Any, failing: Any) -> dict[str, Any]:
    """The forms a value known only at deploy time takes, by name."""
    no_value = {"Ref": "AWS::NoValue"}
    return {
        "import": {"Fn::ImportValue": "SharedStack-Value"},
        "parameter": {"Ref": "DeployParameter"},
        "condition": {
            "Fn::If": [
                "UseIt",
                no_value if compliant is REMOVE else compliant,
                no_value if failing is REMOVE else failing,
            ]
        },
        "selection": {"Fn::Select": [0, {"Fn::Split": [",", {"Ref": "DeployParameter"}]}]},
        "mapping": {"Fn::FindInMap": ["Settings", {"Ref": "AWS::Region"}, "Value"]},
    }


def verdict(rule_suffix: str, resources: dict[str, Any]) -> Verdict:
    rule = next(r for r in RULES if r.suffix == rule_suffix)
    stack = resources_from_template({"Resources": resources})
    return rule.evaluate(stack["Subject"])


def fails(result: Verdict) -> bool:
    return result == NON_COMPLIANT or (isinstance(result, list) and bool(result))


CASES = [
    # Notebook instances
    Case(
        "NB1",
        {"Subject": notebook(DirectInternetAccess="Enabled")},
        "Subject.DirectInternetAccess",
        "Disabled",
    ),
    Case("NB2", {"Subject": notebook(RootAccess="Enabled")}, "Subject.RootAccess", "Disabled"),
    Case("NB3", {"Subject": notebook()}, "Subject.KmsKeyId", KEY),
    Case("NB4", {"Subject": notebook()}, "Subject.SubnetId", "subnet-1"),
    Case(
        "NB5",
        {
            "Subject": notebook(
                InstanceMetadataServiceConfiguration={"MinimumInstanceMetadataServiceVersion": "1"}
            )
        },
        "Subject.InstanceMetadataServiceConfiguration.MinimumInstanceMetadataServiceVersion",
        "2",
    ),
    Case(
        "NB6",
        {
            **two_vpcs(),
            "Subject": notebook(DirectInternetAccess="Disabled", SubnetId={"Ref": "SubnetA"}),
        },
        "Subject.SubnetId",
        {"Ref": "SubnetB"},
    ),
    Case(
        "NB6",
        set_path(
            {
                **two_vpcs(),
                "Subject": notebook(DirectInternetAccess="Disabled", SubnetId={"Ref": "SubnetB"}),
            },
            "Runtime.ServiceName",
            REGION_PREFIX + "sagemaker.featurestore-runtime",
        ),
        "Runtime.ServiceName",
        REGION_PREFIX + "sagemaker.runtime",
    ),
    # Models, endpoint configs, endpoints, scaling
    Case(
        "MD1",
        {"Subject": model(EnableNetworkIsolation=False)},
        "Subject.EnableNetworkIsolation",
        True,
    ),
    Case(
        "MD2",
        {
            "Subject": model(),
            "Config": endpoint_config(
                instance_variant(ModelName={"Fn::GetAtt": ["Subject", "ModelName"]})
            ),
        },
        "Subject.VpcConfig",
        VPC_CONFIG,
    ),
    Case(
        "MZ2",
        {
            **subnets_in("eu-west-1a", "eu-west-1a"),
            "Subject": model(
                VpcConfig={"Subnets": [{"Ref": "S1"}, {"Ref": "S2"}], "SecurityGroupIds": ["sg-1"]}
            ),
        },
        "S2.AvailabilityZone",
        "eu-west-1b",
    ),
    Case(
        "MZ2",
        {
            **subnets_in("eu-west-1a", "eu-west-1a", "eu-west-1b"),
            "Subject": model(
                VpcConfig={"Subnets": [{"Ref": "S1"}, {"Ref": "S2"}], "SecurityGroupIds": ["sg-1"]}
            ),
        },
        "Subject.VpcConfig.Subnets.1",
        {"Ref": "S3"},
    ),
    Case(
        "PL1",
        {"Subject": model(Containers=[CONTAINER])},
        "Subject.Containers",
        [CONTAINER, CONTAINER],
    ),
    Case(
        "PL1",
        {"Subject": model(Containers=[CONTAINER], InferenceExecutionConfig={"Mode": "Serial"})},
        "Subject.InferenceExecutionConfig.Mode",
        "Direct",
        passes_as=NOT_APPLICABLE,
    ),
    Case("EC1", {"Subject": endpoint_config(instance_variant())}, "Subject.KmsKeyId", KEY),
    Case(
        "EC1",
        {"Subject": endpoint_config(instance_variant(InstanceType="ml.g4dn.xlarge"), KmsKeyId=KEY)},
        "Subject.KmsKeyId",
        REMOVE,
        name="local-storage",
    ),
    Case(
        "EC1",
        {"Subject": endpoint_config(instance_variant())},
        "Subject.ProductionVariants.0.InstanceType",
        "ml.g4dn.xlarge",
    ),
    Case(
        "MZ1",
        {"Subject": endpoint_config(instance_variant(InitialInstanceCount=1))},
        "Subject.ProductionVariants.0.InitialInstanceCount",
        2,
    ),
    Case(
        "SV1",
        {"Subject": endpoint_config(serverless_variant(MemorySizeInMB=1000))},
        "Subject.ProductionVariants.0.ServerlessConfig.MemorySizeInMB",
        2048,
    ),
    Case(
        "SV2",
        {"Subject": endpoint_config(serverless_variant(MaxConcurrency=500))},
        "Subject.ProductionVariants.0.ServerlessConfig.MaxConcurrency",
        10,
    ),
    Case(
        "SV3",
        {"Subject": endpoint_config(serverless_variant(ProvisionedConcurrency=10))},
        "Subject.ProductionVariants.0.ServerlessConfig.ProvisionedConcurrency",
        2,
    ),
    Case(
        "SV3",
        {"Subject": endpoint_config(serverless_variant(ProvisionedConcurrency=10))},
        "Subject.ProductionVariants.0.ServerlessConfig.MaxConcurrency",
        20,
    ),
    Case(
        "MZ3",
        {
            "Subject": res(
                "AWS::ApplicationAutoScaling::ScalableTarget",
                ServiceNamespace="sagemaker",
                ScalableDimension=VARIANT_DIMENSION,
                ResourceId="endpoint/e/variant/A",
                MinCapacity=1,
                MaxCapacity=4,
            )
        },
        "Subject.MinCapacity",
        2,
    ),
    Case("AS1", scaled_endpoint("StepScaling"), "Policy.PolicyType", "TargetTrackingScaling"),
    Case(
        "AS1",
        scaled_endpoint("TargetTrackingScaling", resource_id="endpoint/other/variant/A"),
        "Target.ResourceId",
        scaled_endpoint("TargetTrackingScaling")["Target"]["Properties"]["ResourceId"],
    ),
    Case(
        "AS1",
        set_path(scaled_endpoint("TargetTrackingScaling"), "Policy.ScalingTargetId", "other"),
        "Policy.ScalingTargetId",
        {"Ref": "Target"},
    ),
    # Jobs in workflows
    Case(
        "JB1",
        training_machine(**{"ResourceConfig.VolumeKmsKeyId": REMOVE}),
        f"Subject.{JOB}.ResourceConfig.VolumeKmsKeyId",
        KEY,
    ),
    Case(
        "JB1",
        training_machine(**{"ResourceConfig.VolumeKmsKeyId": REMOVE}),
        f"Subject.{JOB}.ResourceConfig.InstanceType",
        "ml.g4dn.xlarge",
    ),
    Case(
        "JB2",
        training_machine(**{"OutputDataConfig.KmsKeyId": REMOVE}),
        f"Subject.{JOB}.OutputDataConfig.KmsKeyId",
        KEY,
    ),
    Case(
        "JB3",
        training_machine(EnableNetworkIsolation=False),
        f"Subject.{JOB}.EnableNetworkIsolation",
        True,
    ),
    Case(
        "JB4",
        training_machine(EnableInterContainerTrafficEncryption=False),
        f"Subject.{JOB}.EnableInterContainerTrafficEncryption",
        True,
    ),
    Case(
        "JB4",
        training_machine(EnableInterContainerTrafficEncryption=False),
        f"Subject.{JOB}.ResourceConfig.InstanceCount",
        1,
        passes_as=NOT_APPLICABLE,
    ),
    Case(
        "JB5",
        training_machine(**{"CheckpointConfig.S3Uri": REMOVE}),
        f"Subject.{JOB}.CheckpointConfig.S3Uri",
        "s3://b/c",
    ),
    Case(
        "JB5",
        training_machine(**{"StoppingCondition.MaxWaitTimeInSeconds": 1800}),
        f"Subject.{JOB}.StoppingCondition.MaxWaitTimeInSeconds",
        7200,
    ),
    # Streaming
    Case(
        "FH1",
        converting_firehose(**{"BufferingHints.SizeInMBs": 32}),
        "Subject.ExtendedS3DestinationConfiguration.BufferingHints.SizeInMBs",
        64,
    ),
    Case(
        "FH2",
        converting_firehose(ErrorOutputPrefix=REMOVE),
        "Subject.ExtendedS3DestinationConfiguration.ErrorOutputPrefix",
        "errors/",
    ),
    Case(
        "FH3",
        converting_firehose(**{"EncryptionConfiguration.KMSEncryptionConfig.AWSKMSKeyARN": REMOVE}),
        "Subject.ExtendedS3DestinationConfiguration.EncryptionConfiguration.KMSEncryptionConfig.AWSKMSKeyARN",
        KEY,
    ),
    Case(
        "KDS1",
        {"Subject": res("AWS::Kinesis::Stream", ShardCount=1)},
        "Subject.StreamEncryption",
        {"EncryptionType": "KMS", "KeyId": KEY},
    ),
    Case(
        "KDS1",
        {"Subject": res("AWS::Kinesis::Stream", StreamEncryption={"EncryptionType": "KMS"})},
        "Subject.StreamEncryption.KeyId",
        KEY,
    ),
    Case(
        "KDS2",
        {"Subject": res("AWS::Kinesis::Stream", RetentionPeriodHours=12)},
        "Subject.RetentionPeriodHours",
        24,
    ),
    Case(
        "KV1",
        {"Subject": res("AWS::KinesisVideo::Stream", KmsKeyId="alias/aws/kinesisvideo")},
        "Subject.KmsKeyId",
        KEY,
    ),
    Case(
        "KV2",
        {"Subject": res("AWS::KinesisVideo::Stream", DataRetentionInHours=0)},
        "Subject.DataRetentionInHours",
        24,
    ),
    # Storage
    Case(
        "S3B1",
        {
            "Subject": res(
                "AWS::S3::Bucket",
                BucketEncryption={"ServerSideEncryptionConfiguration": BUCKET_SSE},
            ),
            "Model": model(PrimaryContainer={**CONTAINER, "ModelDataUrl": MODEL_IN_BUCKET}),
        },
        "Subject.BucketEncryption.ServerSideEncryptionConfiguration.0.ServerSideEncryptionByDefault.SSEAlgorithm",
        "aws:kms",
    ),
    Case(
        "FX1",
        lustre_with_ingress({"Fn::GetAtt": ["OtherSg", "GroupId"]}),
        "Sg.SecurityGroupIngress.0.SourceSecurityGroupId",
        {"Fn::GetAtt": ["Sg", "GroupId"]},
    ),
    Case(
        "FX1",
        lustre_with_ingress({"Fn::GetAtt": ["OtherSg", "GroupId"]}, from_port=443),
        "Sg.SecurityGroupIngress.0.ToPort",
        443,
    ),
    Case(
        "FX2",
        {
            "Subject": lustre(
                LustreConfiguration={"DeploymentType": "PERSISTENT_1"}, KmsKeyId="alias/aws/fsx"
            )
        },
        "Subject.KmsKeyId",
        KEY,
    ),
    Case(
        "FX2",
        {"Subject": lustre(LustreConfiguration={"DeploymentType": "PERSISTENT_1"})},
        "Subject.LustreConfiguration.DeploymentType",
        "SCRATCH_2",
        passes_as=NOT_APPLICABLE,
    ),
    # API Gateway
    Case("AG1", api(MethodSettings=THROTTLED), "Subject.AuthorizationType", "AWS_IAM"),
    Case("AG1", api(MethodSettings=THROTTLED), "Subject.ApiKeyRequired", True),
    Case("AG2", api(), "Stage.MethodSettings", THROTTLED),
    Case(
        "AG2",
        set_path(api(MethodSettings=THROTTLED), "Stage.RestApiId", {"Ref": "OtherApi"}),
        "Stage.RestApiId",
        {"Ref": "Api"},
    ),
    Case(
        "AG3",
        api(),
        "Stage.AccessLogSetting.DestinationArn",
        "arn:aws:logs:eu-west-1:123456789012:log-group:api",
    ),
    # Studio domains
    Case(
        "SD1",
        {"Subject": domain(AppNetworkAccessType="PublicInternetOnly")},
        "Subject.AppNetworkAccessType",
        "VpcOnly",
    ),
    Case("SD2", {"Subject": domain()}, "Subject.KmsKeyId", KEY),
    Case(
        "SD2",
        {"Subject": domain(KmsKeyId="alias/aws/sagemaker")},
        "Subject.KmsKeyId",
        "alias/studio",
        name="managed-key",
    ),
    Case(
        "SD3",
        {
            **two_vpcs(s3=False),
            "Subject": domain(AppNetworkAccessType="VpcOnly", VpcId={"Ref": "VpcA"}),
        },
        "Subject.VpcId",
        {"Ref": "VpcB"},
    ),
    Case(
        "SD3",
        set_path(
            {
                **two_vpcs(s3=False),
                "Subject": domain(AppNetworkAccessType="VpcOnly", VpcId={"Ref": "VpcB"}),
            },
            "Api.VpcEndpointType",
            "Gateway",
        ),
        "Api.VpcEndpointType",
        "Interface",
    ),
]


PROFILE_IN_VPC_ONLY_DOMAIN = {
    "Domain": domain(AppNetworkAccessType="VpcOnly"),
    "Subject": res(
        "AWS::SageMaker::UserProfile",
        DomainId={"Fn::GetAtt": ["Domain", "DomainId"]},
        UserProfileName="scientist",
    ),
}
CASES += [
    Case("SD4", PROFILE_IN_VPC_ONLY_DOMAIN, "Subject.UserSettings.SecurityGroups", ["sg-1"]),
    Case(
        "SD4",
        PROFILE_IN_VPC_ONLY_DOMAIN,
        "Domain.DefaultUserSettings.SecurityGroups",
        ["sg-1"],
        name="domain-default",
    ),
    Case(
        "SD4",
        PROFILE_IN_VPC_ONLY_DOMAIN,
        "Domain.AppNetworkAccessType",
        "PublicInternetOnly",
        passes_as=NOT_APPLICABLE,
    ),
    Case(
        "SD4",
        PROFILE_IN_VPC_ONLY_DOMAIN,
        "Subject.DomainId",
        "d-0123456789ab",
        name="domain-elsewhere",
        passes_as=NOT_APPLICABLE,
    ),
]


def test_every_rule_has_a_case():
    covered = {case.rule for case in CASES}
    assert [rule.suffix for rule in RULES if rule.suffix not in covered] == []


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_failing_case_fails_and_its_value_makes_it_pass(case: Case):
    assert fails(verdict(case.rule, case.resources))
    passing = verdict(case.rule, set_path(case.resources, case.path, case.compliant))
    assert passing == case.passes_as or (passing == [] and case.passes_as == COMPLIANT)


@pytest.mark.parametrize("form", list(deploy_time_values(1, 2)))
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_a_deploy_time_value_is_never_failed(case: Case, form: str):
    failing = value_at(case.resources, case.path)
    value = deploy_time_values(case.compliant, failing)[form]
    assert not fails(verdict(case.rule, set_path(case.resources, case.path, value)))


def test_a_pipeline_with_conditional_containers_is_not_failed_for_its_count():
    conditional = {"Fn::If": ["UseIt", CONTAINER, {"Ref": "AWS::NoValue"}]}
    too_many = [CONTAINER] * 15 + [conditional]
    assert verdict("PL1", {"Subject": model(Containers=[CONTAINER] * 16)}) == NON_COMPLIANT
    assert not fails(verdict("PL1", {"Subject": model(Containers=too_many)}))
