"""The Glue job deriver: script, temp dir, catalog, encrypted logs and bookmarks."""

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

LOGS = {
    "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws-glue/*"
}
GLUE = {"Fn::Sub": "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:*"}
LOGS_KEY_STATEMENT = {
    "Effect": "Allow",
    "Principal": {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}},
    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
    "Resource": "*",
}


def job_template(*, bookmarks: bool = True, catalog: bool = True, encrypted: bool = True):
    data_key = key()
    data_key["Properties"]["KeyPolicy"]["Statement"].append(LOGS_KEY_STATEMENT)
    arguments = {"--TempDir": s3_uri("temp/")}
    if bookmarks:
        arguments["--job-bookmark-option"] = "job-bookmark-enable"
    if catalog:
        arguments["--enable-glue-datacatalog"] = "true"
    job = {
        "Role": {"Fn::GetAtt": ["JobRole", "Arn"]},
        "Command": {"Name": "glueetl", "ScriptLocation": s3_uri("scripts/job.py")},
        "DefaultArguments": arguments,
    }
    resources = {
        "Key": data_key,
        "Data": encrypted_bucket(),
        "JobRole": role(
            "glue.amazonaws.com",
            [
                statement("Script", ["s3:GetObject"], objects("scripts/")),
                statement("Temp", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], objects()),
                statement("List", ["s3:ListBucket"], {"Fn::GetAtt": ["Data", "Arn"]}),
                statement("Key", ["kms:Decrypt", "kms:GenerateDataKey"], KEY_ARN),
                statement(
                    "Logs",
                    [
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:AssociateKmsKey",
                    ],
                    LOGS,
                ),
                statement("Catalog", ["glue:GetDatabase", "glue:GetTable"], GLUE),
            ],
        ),
        "Table": {
            "Type": "AWS::Glue::Table",
            "Properties": {"DatabaseName": "lake", "TableInput": {"Name": "redacted"}},
        },
        "Job": {"Type": "AWS::Glue::Job", "Properties": job},
    }
    if encrypted:
        resources["Security"] = {
            "Type": "AWS::Glue::SecurityConfiguration",
            "Properties": {
                "Name": "lake-security",
                "EncryptionConfiguration": {
                    "S3Encryptions": [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": KEY_ARN}],
                    "CloudWatchEncryption": {
                        "CloudWatchEncryptionMode": "SSE-KMS",
                        "KmsKeyArn": KEY_ARN,
                    },
                    "JobBookmarksEncryption": {
                        "JobBookmarksEncryptionMode": "CSE-KMS",
                        "KmsKeyArn": KEY_ARN,
                    },
                },
            },
        }
        job["SecurityConfiguration"] = {"Ref": "Security"}
    return {"Resources": resources}


def calls_by_scenario(template) -> dict[str, list[tuple[str, str]]]:
    return {
        s.name.split(": ", 1)[1]: [(c.action, c.resource) for c in s.calls]
        for s in derived_scenarios(template)
        if s.source == "derived (AWS::Glue::Job)"
    }


def test_an_encrypted_job_writes_logs_to_groups_named_after_its_configuration_and_role():
    found = calls_by_scenario(job_template())
    logs = dict(found["Glue writes the job's logs"])
    group = (
        "arn:aws:logs:us-east-1:111122223333:log-group:/aws-glue/jobs/${Security}-role/"
        "${JobRole}/output"
    )
    assert logs["logs:AssociateKmsKey"] == group
    service = found["CloudWatch Logs encrypts the job's logs with the security configuration's key"]
    assert {action for action, _ in service} == {
        "kms:GenerateDataKey",
        "kms:Encrypt",
        "kms:Decrypt",
    }
    assert found["the job encrypts and reads its bookmarks (CSE-KMS)"]


def test_the_script_temp_dir_and_catalog_are_read_with_the_role():
    (storage,) = [v for k, v in calls_by_scenario(job_template()).items() if "script" in k]
    assert ("s3:GetObject", "arn:aws:s3:::${Data}/scripts/job.py") in storage
    assert ("s3:DeleteObject", "arn:aws:s3:::${Data}/temp/part-0") in storage
    assert ("glue:GetTable", "arn:aws:glue:us-east-1:111122223333:table/lake/redacted") in storage


def test_without_encryption_bookmarks_or_catalog_there_is_less_to_do():
    found = calls_by_scenario(job_template(bookmarks=False, catalog=False, encrypted=False))
    assert set(found) == {
        "Glue reads the script, uses the temporary directory and the Data Catalog",
        "Glue writes the job's logs",
    }
    logs = dict(found["Glue writes the job's logs"])
    assert "logs:AssociateKmsKey" not in logs
    (storage,) = [v for k, v in found.items() if "script" in k]
    assert not [action for action, _ in storage if action.startswith("glue:")]


def test_the_whole_job_passes_and_a_role_without_associate_kms_key_fails():
    template = job_template()
    assert evaluate("stack", template).ok
    broken = copy.deepcopy(template)
    logs = broken["Resources"]["JobRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    (statement_,) = [s for s in logs["Statement"] if s["Sid"] == "Logs"]
    statement_["Action"].remove("logs:AssociateKmsKey")
    failures = evaluate("stack", broken).failures
    assert [f.call.action for f in failures] == ["logs:AssociateKmsKey"]
    no_catalog = without(template, "JobRole", "Catalog")
    assert {f.call.action for f in evaluate("stack", no_catalog).failures} == {
        "glue:GetDatabase",
        "glue:GetTable",
    }
