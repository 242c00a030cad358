"""feature-store-spark: the EMR Serverless application, the feature group's stores, the
workflow that runs the job, exports the offline store and trains, as the issue asks."""

from __future__ import annotations

import json
import re

import pytest

from ml_refarch.config import read_config
from ml_refarch.stacks.feature_store_spark import PATTERN
from ml_refarch.stacks.feature_store_spark.job.prepare_features import FEATURES
from ml_refarch.stacks.feature_store_spark.workflow import spark_submit_parameters
from tests.support import only_resource, pattern_template, resources_of_type

STACK = "MlRefArch-FeatureStoreSpark"


@pytest.fixture(scope="module")
def template(synthesized):
    return synthesized("sandbox").templates[STACK]


@pytest.fixture(scope="module")
def production(synthesized):
    return synthesized("production").templates[STACK]


def states(template) -> dict:
    machine = only_resource(template, "AWS::StepFunctions::StateMachine")["Properties"]
    text = "".join(
        p if isinstance(p, str) else "ref" for p in machine["DefinitionString"]["Fn::Join"][1]
    )
    return json.loads(text)["States"]


def test_the_application_starts_on_a_job_stops_when_idle_and_is_capped(template):
    app = only_resource(template, "AWS::EMRServerless::Application")["Properties"]
    assert (app["Type"], app["ReleaseLabel"]) == ("SPARK", "emr-7.12.0")
    assert app["AutoStartConfiguration"] == {"Enabled": True}
    assert app["AutoStopConfiguration"] == {"Enabled": True, "IdleTimeoutMinutes": 15}
    assert app["MaximumCapacity"] == {"Cpu": "8 vCPU", "Memory": "32 GB"}
    # No pre-initialized workers: nothing runs idle.
    assert "InitialCapacity" not in app


def test_the_application_runs_in_the_isolated_subnets_and_logs_encrypted(template):
    app = only_resource(template, "AWS::EMRServerless::Application")["Properties"]
    subnets = resources_of_type(template, "AWS::EC2::Subnet")
    assert {s["Ref"] for s in app["NetworkConfiguration"]["SubnetIds"]} == set(subnets)
    assert all(not s["Properties"].get("MapPublicIpOnLaunch") for s in subnets.values())
    assert not resources_of_type(template, "AWS::EC2::NatGateway")
    monitoring = app["MonitoringConfiguration"]
    (key,) = resources_of_type(template, "AWS::KMS::Key")
    assert monitoring["S3MonitoringConfiguration"]["EncryptionKeyArn"] == {
        "Fn::GetAtt": [key, "Arn"]
    }
    cloudwatch = monitoring["CloudWatchLoggingConfiguration"]
    assert cloudwatch["Enabled"] and cloudwatch["EncryptionKeyArn"] == {"Fn::GetAtt": [key, "Arn"]}
    assert monitoring["ManagedPersistenceMonitoringConfiguration"] == {"Enabled": False}


def test_the_workers_reach_feature_store_and_logs_through_endpoints(template):
    services = {
        json.dumps(e["Properties"]["ServiceName"]).split(".")[-1].strip('"]}')
        for e in resources_of_type(template, "AWS::EC2::VPCEndpoint").values()
    }
    names = json.dumps(
        [
            e["Properties"]["ServiceName"]
            for e in resources_of_type(template, "AWS::EC2::VPCEndpoint").values()
        ]
    )
    assert "sagemaker.featurestore-runtime" in names and ".logs" in names and ".s3" in names
    assert len(services) == 3


def test_the_feature_group_encrypts_both_stores_and_uses_iceberg(template):
    group = only_resource(template, "AWS::SageMaker::FeatureGroup")["Properties"]
    (key,) = resources_of_type(template, "AWS::KMS::Key")
    key_arn = {"Fn::GetAtt": [key, "Arn"]}
    assert group["OnlineStoreConfig"] == {
        "EnableOnlineStore": True,
        "SecurityConfig": {"KmsKeyId": key_arn},
    }
    offline = group["OfflineStoreConfig"]
    assert offline["TableFormat"] == "Iceberg"
    assert offline["S3StorageConfig"]["KmsKeyId"] == key_arn
    assert (group["RecordIdentifierFeatureName"], group["EventTimeFeatureName"]) == (
        "customer_id",
        "event_time",
    )
    names = [d["FeatureName"] for d in group["FeatureDefinitions"]]
    assert names == ["customer_id", "event_time", *(name for name, _ in FEATURES)]
    # Nearly every property is create-only: the name carries their digest.
    assert re.fullmatch(r"customer-features-[0-9a-f]{8}", group["FeatureGroupName"])


def test_settings_reach_the_application_and_the_feature_group():
    template = pattern_template(
        PATTERN,
        **{
            "feature-store-spark.record_identifier": "customer",
            "feature-store-spark.idle_timeout_minutes": "45",
            "feature-store-spark.max_vcpu": "16",
            "feature-store-spark.release_label": "emr-7.10.0",
        },
    )
    app = only_resource(template, "AWS::EMRServerless::Application")["Properties"]
    assert app["AutoStopConfiguration"]["IdleTimeoutMinutes"] == 45
    assert app["MaximumCapacity"]["Cpu"] == "16 vCPU" and app["ReleaseLabel"] == "emr-7.10.0"
    group = only_resource(template, "AWS::SageMaker::FeatureGroup")["Properties"]
    assert group["RecordIdentifierFeatureName"] == "customer"
    assert group["FeatureDefinitions"][0] == {"FeatureName": "customer", "FeatureType": "String"}


def test_the_workflow_runs_the_job_with_sync_then_exports_and_trains(template):
    found = states(template)
    job = found["RunFeatureJob"]
    assert job["Resource"].endswith(":states:::emr-serverless:startJobRun.sync")
    assert job["Retry"][0]["ErrorEquals"] == ["EMRServerless.InternalServerException"]
    assert job["Parameters"]["ExecutionTimeoutMinutes"] == 60
    assert found["WaitForOfflineStore"]["Seconds"] == 15 * 60
    export = found["ExportTrainingSet"]
    assert export["Resource"].endswith(":states:::athena:startQueryExecution.sync")
    query = export["Parameters"]["QueryString.$"]
    assert "row_number() OVER (PARTITION BY customer_id ORDER BY event_time DESC" in query
    assert "NOT is_deleted" in query and "UNLOAD (SELECT churned, order_count" in query
    train = found["Train"]
    assert train["Resource"].endswith(":states:::sagemaker:createTrainingJob.sync")
    assert train["Parameters"]["EnableNetworkIsolation"] is True
    assert train["Parameters"]["HyperParameters"]["objective"] == "binary:logistic"
    assert found["Done"]["Type"] == "Succeed"
    # Every task sends what it does not retry to the alert topic.
    for name in ("RunFeatureJob", "DescribeFeatureGroup", "ExportTrainingSet", "Train"):
        assert found[name]["Catch"][0]["Next"] == "NotifyFailure", name
        assert found[name]["Retry"][0]["BackoffRate"] == 2, name
    assert found["NotifyFailure"]["Resource"].endswith(":states:::sns:publish")


def test_the_export_workgroup_enforces_encrypted_results(template):
    workgroup = only_resource(template, "AWS::Athena::WorkGroup")["Properties"]
    configuration = workgroup["WorkGroupConfiguration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert (
        configuration["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"]
        == "SSE_KMS"
    )
    assert configuration["EngineVersion"]["SelectedEngineVersion"] == "Athena engine version 3"


def test_production_keeps_the_feature_group_and_the_workgroup_contents(template, production):
    sandbox_group = next(iter(resources_of_type(template, "AWS::SageMaker::FeatureGroup").values()))
    production_group = next(
        iter(resources_of_type(production, "AWS::SageMaker::FeatureGroup").values())
    )
    assert sandbox_group["DeletionPolicy"] == "Delete"
    assert production_group["DeletionPolicy"] == "Retain"
    assert (
        only_resource(template, "AWS::Athena::WorkGroup")["Properties"]["RecursiveDeleteOption"]
        is True
    )
    assert (
        only_resource(production, "AWS::Athena::WorkGroup")["Properties"]["RecursiveDeleteOption"]
        is False
    )


def test_spark_fits_the_driver_and_executors_into_the_capacity():
    settings = read_config({}).settings_for(PATTERN)
    parameters = spark_submit_parameters(settings)
    assert "--conf spark.executor.cores=2" in parameters
    assert "--conf spark.executor.memory=6g" in parameters  # 8 GB worker, room for overhead
    # 8 vCPU / 2 per worker = 4 workers, one of them the driver.
    assert "--conf spark.dynamicAllocation.maxExecutors=3" in parameters
