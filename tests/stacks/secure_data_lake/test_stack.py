"""secure-data-lake: the properties the notes and the issue call for, on the templates."""

from __future__ import annotations

import pytest

from ml_refarch.stacks.secure_data_lake import PATTERN
from ml_refarch.stacks.secure_data_lake.job.redact_pii import ARGUMENTS
from ml_refarch.stacks.secure_data_lake.outputs import Outputs
from tests.support import only_resource, pattern_template, resources_of_type

STACK = PATTERN.stack_name


@pytest.fixture(scope="module")
def sandbox(synthesized):
    return synthesized("sandbox").templates[STACK]


@pytest.fixture(scope="module")
def production(synthesized):
    return synthesized("production").templates[STACK]


def data_buckets(template: dict) -> dict[str, dict]:
    """The three data buckets (not access-log buckets), by logical id prefix."""
    found = {}
    for logical_id in resources_of_type(template, "AWS::S3::Bucket"):
        for name in ("Raw", "Curated", "Analytics"):
            if logical_id.startswith(f"{name}Bucket"):
                found[name] = template["Resources"][logical_id]
    return found


def logical_id(template: dict, prefix: str) -> str:
    (found,) = [i for i in resources_of_type(template, "AWS::S3::Bucket") if i.startswith(prefix)]
    return found


@pytest.mark.parametrize("profile", ["sandbox", "production"])
def test_every_bucket_uses_the_key_with_a_bucket_key_and_refuses_plain_http(request, profile):
    template = request.getfixturevalue(profile)
    (key,) = resources_of_type(template, "AWS::KMS::Key")
    buckets = data_buckets(template)
    assert set(buckets) == {"Raw", "Curated", "Analytics"}
    for bucket in buckets.values():
        (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["BucketKeyEnabled"] is True
        assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {
            "Fn::GetAtt": [key, "Arn"]
        }
    policies = resources_of_type(template, "AWS::S3::BucketPolicy").values()
    for name in buckets:
        bucket_id = logical_id(template, f"{name}Bucket")
        (policy,) = [p for p in policies if p["Properties"]["Bucket"] == {"Ref": bucket_id}]
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_raw_and_curated_export_daily_storage_class_analysis_as_csv(sandbox):
    buckets = data_buckets(sandbox)
    analytics = logical_id(sandbox, "AnalyticsBucket")
    for name, prefix in (("Raw", "reports/raw"), ("Curated", "reports/curated")):
        (configuration,) = buckets[name]["Properties"]["AnalyticsConfigurations"]
        export = configuration["StorageClassAnalysis"]["DataExport"]
        assert export["OutputSchemaVersion"] == "V_1"
        destination = export["Destination"]
        assert destination["Format"] == "CSV" and destination["Prefix"] == prefix
        assert destination["BucketArn"] == {"Fn::GetAtt": [analytics, "Arn"]}
    assert "AnalyticsConfigurations" not in buckets["Analytics"]["Properties"]


def transitions(bucket: dict) -> list[dict]:
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    return [t for rule in rules for t in rule.get("Transitions", [])]


def test_lifecycle_rules_move_data_to_standard_ia_at_the_configured_ages(sandbox):
    buckets = data_buckets(sandbox)
    assert transitions(buckets["Raw"]) == [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}]
    assert transitions(buckets["Curated"]) == [
        {"StorageClass": "STANDARD_IA", "TransitionInDays": 90}
    ]


def test_curated_can_move_to_intelligent_tiering_instead():
    template = pattern_template(
        PATTERN,
        **{
            "secure-data-lake.curated_intelligent_tiering_days": "0",
            "secure-data-lake.raw_infrequent_access_days": "60",
        },
    )
    buckets = data_buckets(template)
    assert transitions(buckets["Curated"]) == [
        {"StorageClass": "INTELLIGENT_TIERING", "TransitionInDays": 0}
    ]
    assert transitions(buckets["Raw"]) == [{"StorageClass": "STANDARD_IA", "TransitionInDays": 60}]


def test_the_security_configuration_encrypts_s3_logs_and_bookmarks_with_the_key(sandbox):
    (key,) = resources_of_type(sandbox, "AWS::KMS::Key")
    key_arn = {"Fn::GetAtt": [key, "Arn"]}
    configuration = only_resource(sandbox, "AWS::Glue::SecurityConfiguration")
    encryption = configuration["Properties"]["EncryptionConfiguration"]
    assert encryption["S3Encryptions"] == [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": key_arn}]
    assert encryption["CloudWatchEncryption"] == {
        "CloudWatchEncryptionMode": "SSE-KMS",
        "KmsKeyArn": key_arn,
    }
    assert encryption["JobBookmarksEncryption"] == {
        "JobBookmarksEncryptionMode": "CSE-KMS",
        "KmsKeyArn": key_arn,
    }


def test_the_job_runs_glue_4_under_the_security_configuration(sandbox):
    # Glue 4.0: the newest version with the sensitive data detection API (settings.py).
    (configuration,) = resources_of_type(sandbox, "AWS::Glue::SecurityConfiguration")
    job = only_resource(sandbox, "AWS::Glue::Job")["Properties"]
    assert job["GlueVersion"] == "4.0"
    assert job["Command"]["Name"] == "glueetl"
    assert job["SecurityConfiguration"] == {"Ref": configuration}
    arguments = job["DefaultArguments"]
    # Every argument the script resolves is set, or the run fails at start.
    assert {f"--{name}" for name in ARGUMENTS} <= set(arguments)
    assert arguments["--job-bookmark-option"] == "job-bookmark-enable"
    assert arguments["--ACTION"] == "REDACT"
    assert arguments["--ENTITY_TYPES"].split(",")[0] == "EMAIL"
    assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}


def test_the_table_describes_the_curated_parquet(sandbox):
    table = only_resource(sandbox, "AWS::Glue::Table")["Properties"]["TableInput"]
    descriptor = table["StorageDescriptor"]
    assert table["Parameters"]["classification"] == "parquet"
    assert "ParquetHiveSerDe" in descriptor["SerdeInfo"]["SerializationLibrary"]
    assert [c["Name"] for c in descriptor["Columns"]][:3] == ["customer_id", "full_name", "email"]


def test_the_outputs_name_what_the_smoke_test_reads(sandbox):
    outputs = sandbox["Outputs"]
    for name in (Outputs.RAW_BUCKET_NAME, Outputs.JOB_NAME, Outputs.CURATED_PREFIX):
        assert name in outputs
    assert outputs[Outputs.REDACT_TEXT]["Value"] == "****"


def test_sandbox_deletes_the_log_groups_glue_creates_after_the_job(sandbox, production):
    (cleanup_id, cleanup), *_ = resources_of_type(sandbox, "Custom::LogGroupCleanup").items()
    name = only_resource(sandbox, "AWS::Glue::SecurityConfiguration")["Properties"]["Name"]
    assert cleanup["Properties"]["Prefix"] == "/aws-glue/jobs"
    assert cleanup["Properties"]["Marker"] == name
    # The job is deleted before the cleanup runs, so no run writes to a deleted group.
    (job_id,) = resources_of_type(sandbox, "AWS::Glue::Job")
    assert cleanup_id in sandbox["Resources"][job_id]["DependsOn"]
    # The handler may delete only groups whose names carry the configuration's name.
    deletes = [
        statement["Resource"]
        for policy in resources_of_type(sandbox, "AWS::IAM::ManagedPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "DeleteGroups"
    ]
    (resources,) = deletes
    assert len(resources) == 2
    assert all(name in str(resource) for resource in resources)
    # Production keeps its logs with its data.
    assert not resources_of_type(production, "Custom::LogGroupCleanup")
