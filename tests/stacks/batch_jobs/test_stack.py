"""batch-jobs: Spot and Fargate environments, their queues, the retried job, its image
cache, and the two ways jobs start, as the notes and the Batch pages ask."""

from __future__ import annotations

import json

import pytest

from ml_refarch.cfn import parse_json_text
from ml_refarch.stacks.batch_jobs.stack import BATCH_JOB_SERVICES
from tests.support import only_resource, resources_of_type

STACK = "MlRefArch-BatchJobs"


@pytest.fixture(scope="module")
def template(synthesized):
    return synthesized("sandbox").templates[STACK]


@pytest.fixture(scope="module")
def production(synthesized):
    return synthesized("production").templates[STACK]


def environments(template) -> dict[str, dict]:
    return {
        p["ComputeResources"]["Type"]: p
        for p in (
            r["Properties"]
            for r in resources_of_type(template, "AWS::Batch::ComputeEnvironment").values()
        )
    }


def test_the_spot_environment_scales_from_zero_with_the_settings(template):
    spot = environments(template)["SPOT"]
    resources = spot["ComputeResources"]
    assert spot["Type"] == "MANAGED"
    assert resources["MinvCpus"] == 0  # nothing runs idle
    assert resources["AllocationStrategy"] == "SPOT_PRICE_CAPACITY_OPTIMIZED"
    assert resources["InstanceTypes"] == ["c6i", "m6i", "c5", "m5"]
    assert resources["MaxvCpus"] == 16
    assert environments(template)["FARGATE"]["ComputeResources"]["MaxvCpus"] == 8
    # Batch's service-linked role manages the environments: no service role of our own.
    for environment in environments(template).values():
        assert "ServiceRole" not in environment


def test_both_environments_sit_in_the_isolated_subnets_behind_the_workload_group(template):
    subnets = resources_of_type(template, "AWS::EC2::Subnet")
    assert all(not s["Properties"].get("MapPublicIpOnLaunch") for s in subnets.values())
    for environment in environments(template).values():
        ids = {ref["Ref"] for ref in environment["ComputeResources"]["Subnets"]}
        assert ids == set(subnets)
    fargate = environments(template)["FARGATE"]["ComputeResources"]
    assert "AllocationStrategy" not in fargate and "MinvCpus" not in fargate


def test_spot_instances_require_imdsv2_and_encrypt_their_root_volume(template):
    data = only_resource(template, "AWS::EC2::LaunchTemplate")["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    (device,) = data["BlockDeviceMappings"]
    assert device["Ebs"]["Encrypted"] is True


def test_the_vpc_has_the_endpoints_batch_jobs_need_in_one_zone_in_sandbox(template, production):
    endpoints = [
        r["Properties"]
        for r in resources_of_type(template, "AWS::EC2::VPCEndpoint").values()
        if r["Properties"].get("VpcEndpointType") == "Interface"
    ]
    assert len(endpoints) == len(BATCH_JOB_SERVICES) == 6
    services = json.dumps([e["ServiceName"] for e in endpoints])
    for name in ("ecs-agent", "ecs-telemetry", ".ecs", "ecr.api", "ecr.dkr", ".logs"):
        assert name in services
    assert all(len(e["SubnetIds"]) == 1 for e in endpoints)
    interface = [
        r["Properties"]
        for r in resources_of_type(production, "AWS::EC2::VPCEndpoint").values()
        if r["Properties"].get("VpcEndpointType") == "Interface"
    ]
    assert all(len(e["SubnetIds"]) == 2 for e in interface)


def test_each_environment_has_its_queue_with_its_priority(template):
    queues = sorted(
        (q["Properties"]["Priority"], q["Properties"]["ComputeEnvironmentOrder"][0])
        for q in resources_of_type(template, "AWS::Batch::JobQueue").values()
    )
    by_type = {
        logical_id: r["Properties"]["ComputeResources"]["Type"]
        for logical_id, r in resources_of_type(template, "AWS::Batch::ComputeEnvironment").items()
    }
    assert [(p, by_type[o["ComputeEnvironment"]["Ref"]]) for p, o in queues] == [
        (1, "FARGATE"),
        (10, "SPOT"),
    ]


def test_jobs_retry_spot_reclaims_time_out_and_log_to_the_encrypted_group(template):
    definitions = resources_of_type(template, "AWS::Batch::JobDefinition")
    assert sorted(d["Properties"]["PlatformCapabilities"][0] for d in definitions.values()) == [
        "EC2",
        "FARGATE",
    ]
    groups = resources_of_type(template, "AWS::Logs::LogGroup")
    for definition in definitions.values():
        properties = definition["Properties"]
        retry = properties["RetryStrategy"]
        assert retry["Attempts"] >= 2
        assert retry["EvaluateOnExit"][0] == {"Action": "RETRY", "OnStatusReason": "Host EC2*"}
        assert retry["EvaluateOnExit"][-1] == {"Action": "EXIT", "OnReason": "*"}
        assert properties["Timeout"]["AttemptDurationSeconds"] == 900
        container = properties["ContainerProperties"]
        assert container["ReadonlyRootFilesystem"] is True
        log = container["LogConfiguration"]
        group = log["Options"]["awslogs-group"]["Ref"]
        assert log["LogDriver"] == "awslogs" and "KmsKeyId" in groups[group]["Properties"]
        assert container["ExecutionRoleArn"] != container["JobRoleArn"]


def test_the_image_comes_from_ecr_public_through_the_stacks_cache(template):
    rule = only_resource(template, "AWS::ECR::PullThroughCacheRule")["Properties"]
    assert rule["UpstreamRegistryUrl"] == "public.ecr.aws"
    repository = only_resource(template, "AWS::ECR::Repository")["Properties"]
    assert repository["RepositoryName"] == f"{rule['EcrRepositoryPrefix']}/amazonlinux/amazonlinux"
    assert repository["EncryptionConfiguration"]["EncryptionType"] == "KMS"
    for definition in resources_of_type(template, "AWS::Batch::JobDefinition").values():
        image = json.dumps(definition["Properties"]["ContainerProperties"]["Image"])
        assert f"/{repository['RepositoryName']}:2023" in image
        assert "public.ecr.aws" not in image  # no internet: the VPC reaches ECR only


def test_the_schedule_submits_the_spot_job_through_the_universal_target(template):
    schedule = next(
        r["Properties"]
        for r in resources_of_type(template, "AWS::Scheduler::Schedule").values()
        if "batch" in json.dumps(r["Properties"]["Target"]["Arn"])
    )
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert json.dumps(schedule["Target"]["Arn"]).endswith(
        ':scheduler:::aws-sdk:batch:submitJob"]]}'
    )
    job = parse_json_text(schedule["Target"]["Input"], lambda part: "token")
    assert set(job) == {"JobName", "JobQueue", "JobDefinition"}


def test_the_workflow_runs_the_fargate_job_synchronously_retries_and_alerts(template):
    machine = only_resource(template, "AWS::StepFunctions::StateMachine")["Properties"]
    states = parse_json_text(machine["DefinitionString"], lambda part: "token")["States"]
    run = states["RunJob"]
    assert run["Resource"].endswith(":states:::batch:submitJob.sync")
    assert run["Retry"][0]["MaxAttempts"] >= 2 and run["Retry"][0]["BackoffRate"] == 2
    assert run["Catch"][0]["ErrorEquals"] == ["States.ALL"]
    assert states[run["Catch"][0]["Next"]]["Resource"].endswith(":states:::sns:publish")
    topic = only_resource(template, "AWS::SNS::Topic")["Properties"]
    assert "KmsMasterKeyId" in topic
