"""The EMR Serverless, Athena and Feature Store derivers: a workflow that runs a Spark job
and an Athena query, the job's role, and Feature Store's offline store role."""

from __future__ import annotations

import copy

from ml_refarch.permissions.derive import derived_scenarios
from ml_refarch.permissions.run import evaluate
from tests.permissions.sagemaker_templates import (
    KEY_ARN,
    encrypted_bucket,
    key,
    objects,
    role,
    s3_uri,
    statement,
    without,
)
from tests.permissions.test_workflow_derivers import state_machine

APP_ARN = {"Fn::GetAtt": ["App", "Arn"]}
SUB = "arn:${AWS::Partition}:{}:${AWS::Region}:${AWS::AccountId}:{}"


def sub(service: str, resource: str) -> dict:
    return {"Fn::Sub": SUB.replace("{}", service, 1).replace("{}", resource, 1)}


def template() -> dict:
    states = {
        "RunJob": {
            "Type": "Task",
            "Resource": "arn:aws:states:::emr-serverless:startJobRun.sync",
            "Parameters": {
                "ApplicationId": "@{GetAtt App.ApplicationId}",
                "ExecutionRoleArn": "@{GetAtt JobRole.Arn}",
                "JobDriver": {"SparkSubmit": {"EntryPoint": "s3://@{Ref Data}/scripts/job.py"}},
            },
            "Next": "Export",
        },
        "Export": {
            "Type": "Task",
            "Resource": "arn:aws:states:::athena:startQueryExecution.sync",
            "Parameters": {"QueryString": "SELECT 1", "WorkGroup": "@{Ref WorkGroup}"},
            "End": True,
        },
    }
    workflow = [
        statement("Start", ["emr-serverless:StartJobRun"], APP_ARN),
        statement(
            "Watch",
            ["emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"],
            {"Fn::Join": ["", [APP_ARN, "/jobruns/*"]]},
        ),
        statement(
            "Rule",
            ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            sub("events", "rule/StepFunctionsGetEventsForEMRServerlessJobRule"),
        ),
        statement(
            "Pass",
            ["iam:PassRole"],
            {"Fn::GetAtt": ["JobRole", "Arn"]},
            {"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}},
        ),
        statement(
            "Query",
            ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:StopQueryExecution"],
            sub("athena", "workgroup/export"),
        ),
        statement("Catalog", ["athena:GetDataCatalog"], sub("athena", "datacatalog/*")),
        statement("Results", ["s3:PutObject"], objects("results/")),
        statement("Location", ["s3:GetBucketLocation"], {"Fn::GetAtt": ["Data", "Arn"]}),
        statement("ResultsKey", ["kms:GenerateDataKey"], KEY_ARN),
    ]
    job = [
        statement("Script", ["s3:GetObject"], objects("scripts/")),
        statement("S3Logs", ["s3:PutObject"], objects("logs/")),
        statement("Key", ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], KEY_ARN),
        statement(
            "Logs",
            [
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            {"Fn::GetAtt": ["Logs", "Arn"]},
        ),
    ]
    store = [
        statement(
            "Write",
            ["s3:PutObject", "s3:PutObjectAcl", "s3:GetBucketAcl"],
            [{"Fn::GetAtt": ["Data", "Arn"]}, objects("offline/")],
        ),
        statement("Metadata", ["s3:GetObject"], objects("offline/")),
        statement("Key", ["kms:Decrypt", "kms:GenerateDataKey"], KEY_ARN),
        statement(
            "Glue",
            ["glue:GetTable", "glue:UpdateTable"],
            [
                sub("glue", "catalog"),
                sub("glue", "database/sagemaker_featurestore"),
                sub("glue", "table/sagemaker_featurestore/*"),
            ],
        ),
    ]
    return {
        "Resources": {
            "Key": key(),
            "Data": encrypted_bucket(),
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "spark"}},
            "WorkflowRole": role("states.amazonaws.com", workflow),
            "JobRole": role("emr-serverless.amazonaws.com", job),
            "StoreRole": role("sagemaker.amazonaws.com", store),
            "App": {
                "Type": "AWS::EMRServerless::Application",
                "Properties": {
                    "ReleaseLabel": "emr-7.12.0",
                    "Type": "SPARK",
                    "MonitoringConfiguration": {
                        "S3MonitoringConfiguration": {
                            "LogUri": s3_uri("logs/"),
                            "EncryptionKeyArn": KEY_ARN,
                        },
                        "CloudWatchLoggingConfiguration": {
                            "Enabled": True,
                            "LogGroupName": {"Ref": "Logs"},
                            "EncryptionKeyArn": KEY_ARN,
                        },
                    },
                },
            },
            "WorkGroup": {
                "Type": "AWS::Athena::WorkGroup",
                "Properties": {
                    "Name": "export",
                    "WorkGroupConfiguration": {
                        "ResultConfiguration": {
                            "OutputLocation": s3_uri("results/"),
                            "EncryptionConfiguration": {
                                "EncryptionOption": "SSE_KMS",
                                "KmsKey": KEY_ARN,
                            },
                        }
                    },
                },
            },
            "Group": {
                "Type": "AWS::SageMaker::FeatureGroup",
                "Properties": {
                    "FeatureGroupName": "customers",
                    "RoleArn": {"Fn::GetAtt": ["StoreRole", "Arn"]},
                    "OfflineStoreConfig": {
                        "S3StorageConfig": {"S3Uri": s3_uri("offline"), "KmsKeyId": KEY_ARN},
                        "TableFormat": "Iceberg",
                    },
                },
            },
            "Workflow": state_machine(states),
        }
    }


def scenarios(source: str) -> dict[str, list[tuple[str, str]]]:
    return {
        s.name.split(": ", 1)[1]: [(c.action, c.resource) for c in s.calls]
        for s in derived_scenarios(template())
        if s.source == f"derived ({source})"
    }


def failing(template_: dict) -> set[str]:
    return {f.call.action for f in evaluate("stack", template_).failures}


def test_the_whole_template_passes():
    assert evaluate("stack", template()).ok


def test_a_sync_job_run_starts_watches_and_passes_the_job_role():
    calls = dict(
        scenarios("AWS::StepFunctions::StateMachine")["state RunJob calls its integration"]
    )
    assert calls["emr-serverless:StartJobRun"] == "${App.Arn}"
    assert calls["emr-serverless:GetJobRun"] == "${App.Arn}/jobruns/run"
    assert calls["iam:PassRole"] == "${JobRole.Arn}"
    assert "StepFunctionsGetEventsForEMRServerlessJobRule" in calls["events:PutRule"]


def test_the_job_role_reads_its_script_and_writes_the_application_logs():
    found = scenarios("AWS::StepFunctions::StateMachine")
    script = found["the job of state RunJob reads its entry point"]
    assert ("s3:GetObject", "arn:aws:s3:::${Data}/scripts/job.py") in script
    logs = dict(found["the job of state RunJob writes the application's logs"])
    assert logs["s3:PutObject"].startswith("arn:aws:s3:::${Data}/logs/applications/")
    assert logs["logs:PutLogEvents"].endswith("log-group:spark:log-stream:run")


def test_a_job_role_without_cloudwatch_logs_or_the_workflow_without_pass_role_fails():
    assert failing(without(template(), "JobRole", "Logs")) == {
        "logs:DescribeLogGroups",
        "logs:DescribeLogStreams",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    assert failing(without(template(), "WorkflowRole", "Pass")) == {"iam:PassRole"}
    assert failing(without(template(), "WorkflowRole", "Watch")) == {
        "emr-serverless:GetJobRun",
        "emr-serverless:CancelJobRun",
    }


def test_an_athena_query_runs_in_the_workgroup_and_writes_its_encrypted_results():
    found = scenarios("AWS::StepFunctions::StateMachine")
    calls = dict(found["state Export calls its integration"])
    assert calls["athena:StartQueryExecution"].endswith(":workgroup/${WorkGroup}")
    results = dict(found["state Export writes where it sends its output"])
    assert results["s3:PutObject"] == "arn:aws:s3:::${Data}/results/run.csv"
    assert "kms:GenerateDataKey" in results
    assert failing(without(template(), "WorkflowRole", "Results")) == {"s3:PutObject"}
    assert failing(without(template(), "WorkflowRole", "Catalog")) == {"athena:GetDataCatalog"}


def test_feature_store_writes_the_offline_store_and_updates_its_table_as_the_group_role():
    found = scenarios("AWS::SageMaker::FeatureGroup")
    writes = dict(found["Feature Store writes records to the offline store"])
    assert (
        "/offline/111122223333/sagemaker/us-east-1/offline-store/customers-"
        in (writes["s3:PutObject"])
    )
    assert writes["s3:GetBucketAcl"] == "arn:aws:s3:::${Data}"
    glue = found["Feature Store updates the offline store's Glue table"]
    assert {action for action, _ in glue} == {"glue:GetTable", "glue:UpdateTable"}
    assert failing(without(template(), "StoreRole", "Glue")) == {
        "glue:GetTable",
        "glue:UpdateTable",
    }
    broken = copy.deepcopy(template())
    del broken["Resources"]["Group"]["Properties"]["RoleArn"]
    assert "AWS::SageMaker::FeatureGroup" not in {
        s.source.removeprefix("derived (").rstrip(")") for s in derived_scenarios(broken)
    }
