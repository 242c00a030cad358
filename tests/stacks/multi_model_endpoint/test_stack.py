"""multi-model-endpoint: one MultiModel container over a KMS bucket prefix of artifacts."""

from __future__ import annotations

import json

import pytest

from ml_refarch.model_artifacts import RECIPES
from ml_refarch.stacks.multi_model_endpoint.outputs import Outputs
from tests.support import Variant, only_resource, resources_of_type, synthesize

STACK = "MlRefArch-MultiModelEndpoint"
MM = "multi-model-endpoint."
COMMITTED = sorted(recipe.artifact_path.name for recipe in RECIPES)


def _synthesized(tmp_path_factory, name: str, context: dict):
    outdir = tmp_path_factory.mktemp(f"cdk.out.multi-model.{name}")
    # synthesize() runs every rule pack and fails on any unacknowledged finding.
    return synthesize(outdir, Variant(context, frozenset({STACK})))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    return _synthesized(tmp_path_factory, "sandbox", {})


@pytest.fixture(scope="module")
def template(sandbox) -> dict:
    return sandbox.templates[STACK]


@pytest.fixture(scope="module")
def production(tmp_path_factory) -> dict:
    return _synthesized(tmp_path_factory, "production", {"profile": "production"}).templates[STACK]


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> dict:
    return _synthesized(tmp_path_factory, "local", {"target": "local"}).templates[STACK]


def _bucket_id(template: dict) -> str:
    buckets = resources_of_type(template, "AWS::S3::Bucket")
    (bucket_id,) = [i for i in buckets if i.startswith("ModelsBucket")]
    return bucket_id


def test_one_container_serves_every_model_under_the_prefix(template):
    model = only_resource(template, "AWS::SageMaker::Model")["Properties"]
    container = model["PrimaryContainer"]
    assert "Containers" not in model
    assert container["Mode"] == "MultiModel"
    assert container["ModelDataUrl"] == {
        "Fn::Join": ["", ["s3://", {"Ref": _bucket_id(template)}, "/models/"]]
    }
    assert "xgboost305" in json.dumps(container["Image"])


def test_the_model_is_network_isolated_in_two_subnets(template):
    model = only_resource(template, "AWS::SageMaker::Model")["Properties"]
    assert model["EnableNetworkIsolation"] is True
    assert len(model["VpcConfig"]["Subnets"]) >= 2
    assert model["VpcConfig"]["SecurityGroupIds"]


def test_the_bucket_is_encrypted_with_the_stack_key(template):
    bucket = template["Resources"][_bucket_id(template)]["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    key_id = next(iter(resources_of_type(template, "AWS::KMS::Key")))
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {
        "Fn::GetAtt": [key_id, "Arn"]
    }
    assert bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True


def test_the_committed_artifacts_are_copied_under_the_prefix(sandbox, template):
    deployment = only_resource(template, "Custom::CDKBucketDeployment")["Properties"]
    assert deployment["DestinationBucketName"] == {"Ref": _bucket_id(template)}
    assert deployment["DestinationBucketKeyPrefix"] == "models/"
    # Artifacts users add with `aws s3 cp` survive stack updates.
    assert deployment["Prune"] is False
    (zip_key,) = deployment["SourceObjectKeys"]
    asset_dir = sandbox.outdir / f"asset.{zip_key.removesuffix('.zip')}"
    assert sorted(path.name for path in asset_dir.iterdir()) == COMMITTED


def test_the_local_target_has_no_custom_resources(local):
    assert not resources_of_type(local, "Custom::CDKBucketDeployment")
    assert not resources_of_type(local, "AWS::Lambda::Function")
    assert only_resource(local, "AWS::SageMaker::Model")


def test_the_role_reads_only_the_models_prefix(template):
    bucket_arn = {"Fn::GetAtt": [_bucket_id(template), "Arn"]}
    statements = {
        statement.get("Sid"): statement
        for policy in resources_of_type(template, "AWS::IAM::ManagedPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    }
    read = statements["ModelArtifacts"]
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"] == {"Fn::Join": ["", [bucket_arn, "/models/*"]]}
    listing = statements["ModelArtifactsList"]
    assert listing["Resource"] == bucket_arn
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["models/*"]}}
    # The SageMaker role never writes to the bucket (only CDK's copy handler does).
    assert "DataBucket" not in statements


def test_the_variant_starts_on_two_instances_with_the_volume_key(template):
    config = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    (variant,) = config["ProductionVariants"]
    assert variant["InitialInstanceCount"] == 2
    assert variant["InstanceType"] == "ml.c5.large"  # the sandbox default
    assert variant["VariantName"] == "AllModels"
    key_id = next(iter(resources_of_type(template, "AWS::KMS::Key")))
    assert config["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_scaling_tracks_invocations_with_cooldowns_never_below_two(template):
    target = only_resource(template, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 4)
    policy = only_resource(template, "AWS::ApplicationAutoScaling::ScalingPolicy")["Properties"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 100
    assert (tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"]) == (300, 60)
    metric = tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
    assert metric == "SageMakerVariantInvocationsPerInstance"


def test_alarms_go_to_the_encrypted_topic(template):
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    assert sorted(a["Properties"]["MetricName"] for a in alarms.values()) == [
        "Invocation5XXErrors",
        "ModelLatency",
    ]
    topic_id = next(iter(resources_of_type(template, "AWS::SNS::Topic")))
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]


def test_outputs_name_the_committed_targets(template):
    outputs = template["Outputs"]
    assert outputs[Outputs.COMMITTED_MODELS]["Value"] == ",".join(COMMITTED)
    assert {"EndpointName", "ModelsBucketName", "ModelsUri"} <= set(outputs)


def test_production_keeps_and_versions_the_artifacts(production):
    buckets = resources_of_type(production, "AWS::S3::Bucket")
    (models_id,) = [i for i in buckets if i.startswith("ModelsBucket")]
    bucket = buckets[models_id]
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "LoggingConfiguration" in bucket["Properties"]
