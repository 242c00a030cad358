"""model-monitor with the default engine, ``processing-job``: data capture, the schedule that
starts the monitoring processing job, the job's request, the publisher, the alarms."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import aws_cdk as cdk
import pytest

from ml_refarch import cfn
from ml_refarch.app import add_pattern_stacks, project_context
from ml_refarch.config import read_config
from ml_refarch.cost import estimate_stack, load_prices
from ml_refarch.stacks.model_monitor import make_sample_data as samples
from ml_refarch.stacks.model_monitor.outputs import Outputs
from ml_refarch.stacks.model_monitor.processing_engine import (
    JOB_DIR,
    JOB_METRICS_NAMESPACE,
    JOB_REPORTS_PREFIX,
    MONITORED_CAPTURE_PREFIX,
)
from tests.support import only_resource, resources_of_type

STACK = "MlRefArch-ModelMonitor"
MON = "model-monitor."
MODEL_MONITOR_TYPES = (
    "AWS::SageMaker::DataQualityJobDefinition",
    "AWS::SageMaker::MonitoringSchedule",
)


@pytest.fixture(scope="module")
def template(synthesized) -> dict:
    return synthesized("sandbox").templates[STACK]


def custom_template(**settings) -> dict:
    """The stack alone, synthesized with ``settings`` (no rule packs: just the template)."""
    app = cdk.App(context=project_context(**settings))
    stacks = add_pattern_stacks(app, read_config(app.node.get_all_context()), only={STACK})
    return app.synth().get_stack_by_name(stacks[STACK].stack_name).template


def key_arn(template: dict) -> dict:
    (key,) = resources_of_type(template, "AWS::KMS::Key")
    return {"Fn::GetAtt": [key, "Arn"]}


def monitor_schedule(template: dict) -> dict:
    schedules = resources_of_type(template, "AWS::Scheduler::Schedule")
    (found,) = [s for i, s in schedules.items() if i.startswith("MonitorSchedule")]
    return found["Properties"]


def joined(value) -> str:
    """A ``Fn::Join`` as text, each intrinsic as ``{...}`` of its JSON."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(joined(part) for part in parts)
    return "{" + json.dumps(value, sort_keys=True) + "}"


@pytest.fixture(scope="module")
def job_request(template) -> dict:
    """The CreateProcessingJob request, each intrinsic function as ``<token>``."""
    return cfn.parse_json_text(monitor_schedule(template)["Target"]["Input"])


# --- no Model Monitor: a schedule and a processing job ---------------------------------------


def test_the_default_engine_builds_no_model_monitor_resource(template):
    for resource_type in MODEL_MONITOR_TYPES:
        assert not resources_of_type(template, resource_type), resource_type


def test_endpoint_captures_to_the_monitored_prefix_with_the_stack_key(template):
    capture = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"][
        "DataCaptureConfig"
    ]
    assert capture["KmsKeyId"] == key_arn(template)
    assert joined(capture["DestinationS3Uri"]).endswith(f"/{MONITORED_CAPTURE_PREFIX}")
    assert {o["CaptureMode"] for o in capture["CaptureOptions"]} == {"Input", "Output"}


def test_the_schedule_creates_a_processing_job_through_the_universal_target(template):
    schedule = monitor_schedule(template)
    assert schedule["ScheduleExpression"] == "cron(0 * ? * * *)"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert joined(schedule["Target"]["Arn"]).endswith(
        ":scheduler:::aws-sdk:sagemaker:createProcessingJob"
    )


def test_each_run_has_its_own_job_name_and_report_prefix(job_request):
    name = job_request["ProcessingJobName"]
    assert name == "mlrefarch-modelmonitor-monitor-<aws.scheduler.execution-id>"
    (output,) = job_request["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["S3Uri"].endswith(f"/{JOB_REPORTS_PREFIX}/{name}")
    assert output["S3Output"]["LocalPath"] == "/opt/ml/processing/output"


def test_the_job_is_network_isolated_in_the_vpc_with_kms_volume_and_output(job_request):
    network = job_request["NetworkConfig"]
    assert network["EnableNetworkIsolation"] is True
    assert network["EnableInterContainerTrafficEncryption"] is True
    assert len(network["VpcConfig"]["Subnets"]) == 2
    assert len(network["VpcConfig"]["SecurityGroupIds"]) == 1
    cluster = job_request["ProcessingResources"]["ClusterConfig"]
    assert cluster["VolumeKmsKeyId"] == cfn.PLACEHOLDER
    assert job_request["ProcessingOutputConfig"]["KmsKeyId"] == cfn.PLACEHOLDER
    assert cluster == {
        "InstanceCount": 1,
        "InstanceType": "ml.m5.xlarge",
        "VolumeSizeInGB": 30,
        "VolumeKmsKeyId": cfn.PLACEHOLDER,
    }
    assert job_request["StoppingCondition"] == {"MaxRuntimeInSeconds": 1800}


def test_the_job_runs_the_code_asset_on_the_aws_scikit_learn_image(template, job_request):
    app = job_request["AppSpecification"]
    assert app["ImageUri"] == cfn.PLACEHOLDER
    (mapping,) = [m for m in template["Mappings"] if m.startswith("sklearn")]
    assert all(
        "sagemaker-scikit-learn:1.2-1" in row["uri"]
        for row in template["Mappings"][mapping].values()
    )
    python, script = app["ContainerEntrypoint"]
    assert python == "python3" and script.startswith("/opt/ml/processing/input/code/")
    assert script.endswith(".zip")
    inputs = {i["InputName"]: i["S3Input"] for i in job_request["ProcessingInputs"]}
    assert set(inputs) == {"code", "baseline", "monitored"}
    # The code input is the zip asset the entry point runs (an Fn::Sub of the asset bucket).
    raw = json.dumps(monitor_schedule(template)["Target"]["Input"])
    assert (
        f"cdk-hnb659fds-assets-${{AWS::AccountId}}-${{AWS::Region}}/{script.rsplit('/', 1)[1]}"
        in raw
    )
    pairs = app["ContainerArguments"]
    arguments = dict(zip(pairs[::2], pairs[1::2], strict=True))
    assert arguments["--protected-attribute"] == "feature_8"
    assert arguments["--group-attribute"] == "feature_7"
    assert arguments["--psi-threshold"] == "0.2"
    assert arguments["--baseline"].startswith("/opt/ml/processing/input/baseline/")


def test_the_job_code_runs_from_a_zip_as_the_processing_job_runs_it(tmp_path):
    """``python3 <zip>`` with the job folder's files at the zip's root, as the asset is."""
    archive = tmp_path / "job.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in JOB_DIR.glob("*.py"):
            zipped.write(path, path.name)
    data = samples.OUT
    completed = subprocess.run(
        [sys.executable, str(archive), "--baseline", str(data / "baseline.csv"),
         "--captures", str(data / "drifted" / "captures"), "--output", str(tmp_path / "out"),
         "--endpoint-name", "e", "--protected-attribute", "feature_8",
         "--group-attribute", "feature_7"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "violations" in completed.stdout
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert any(m["MetricName"] == "drifted_features" and m["Value"] == 3 for m in metrics)


def test_the_schedule_role_only_creates_the_stacks_jobs_and_passes_the_job_role(template):
    policies = resources_of_type(template, "AWS::IAM::ManagedPolicy")
    (policy,) = [p for i, p in policies.items() if i.startswith("MonitorSchedulePolicy")]
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert set(statements) == {"StartJob", "PassJobRole"}
    assert statements["StartJob"]["Action"] == "sagemaker:CreateProcessingJob"
    assert joined(statements["StartJob"]["Resource"]).endswith(
        ":processing-job/mlrefarch-modelmonitor-monitor-*"
    )
    assert statements["PassJobRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }


# --- publishing the metrics, alarms -----------------------------------------------------------


def test_the_job_finished_rule_starts_the_publisher(template):
    rule = only_resource(template, "AWS::Events::Rule")["Properties"]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.sagemaker"]
    assert pattern["detail-type"] == ["SageMaker Processing Job State Change"]
    assert pattern["detail"]["ProcessingJobName"] == [{"prefix": "mlrefarch-modelmonitor-monitor-"}]
    assert set(pattern["detail"]["ProcessingJobStatus"]) == {"Completed", "Failed", "Stopped"}
    (target,) = rule["Targets"]
    (machine,) = resources_of_type(template, "AWS::StepFunctions::StateMachine")
    assert target["Arn"] == {"Ref": machine}


def test_the_publisher_reads_the_runs_metrics_and_puts_them_in_the_namespace(template):
    machine = only_resource(template, "AWS::StepFunctions::StateMachine")["Properties"]
    definition = cfn.parse_json_text(machine["DefinitionString"])
    states = definition["States"]
    assert states["ReadMetrics"]["Parameters"]["Key.$"] == (
        f"States.Format('{JOB_REPORTS_PREFIX}/{{}}/metrics.json', $.detail.ProcessingJobName)"
    )
    assert states["PublishMetrics"]["Parameters"]["Namespace"] == JOB_METRICS_NAMESPACE
    choice = states["JobCompleted"]
    assert choice["Choices"][0]["StringEquals"] == "Completed"
    assert choice["Default"] == "NotifyFailure"


def test_alarms_watch_drift_bias_and_accuracy_and_notify_the_topic(template):
    alarms = {
        i: a["Properties"]
        for i, a in resources_of_type(template, "AWS::CloudWatch::Alarm").items()
        if a["Properties"].get("Namespace") == JOB_METRICS_NAMESPACE
    }
    by_metric = {a["MetricName"]: a for a in alarms.values()}
    assert set(by_metric) == {"drifted_features", "bias_drift_max", "accuracy"}
    assert by_metric["drifted_features"]["Threshold"] == 0
    assert by_metric["bias_drift_max"]["Threshold"] == 0.1
    assert by_metric["accuracy"]["Threshold"] == 0.7
    assert by_metric["accuracy"]["ComparisonOperator"] == "LessThanThreshold"
    (topic,) = resources_of_type(template, "AWS::SNS::Topic")
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": topic}]
        assert alarm["TreatMissingData"] == "notBreaching"
        (dimension,) = alarm["Dimensions"]
        assert dimension["Name"] == "Endpoint"


def test_outputs_name_what_the_smoke_check_and_users_need(template):
    outputs = template["Outputs"]
    for name in (
        Outputs.ENDPOINT_NAME,
        Outputs.CAPTURE_URI,
        Outputs.GROUND_TRUTH_URI,
        Outputs.REPORTS_URI,
        Outputs.SCHEDULE_NAME,
        Outputs.METRICS_NAMESPACE,
        Outputs.DATA_DRIFT_ALARM_NAME,
        Outputs.BIAS_DRIFT_ALARM_NAME,
        Outputs.MODEL_QUALITY_ALARM_NAME,
        Outputs.TOPIC_ARN,
    ):
        assert name in outputs, name


def test_production_profile_keeps_the_monitor_bucket(synthesized):
    template = synthesized("production").templates[STACK]
    buckets = resources_of_type(template, "AWS::S3::Bucket")
    (bucket,) = [b for i, b in buckets.items() if i.startswith("MonitorDataBucket")]
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}


# --- settings and cost ----------------------------------------------------------------------


def test_settings_reach_the_job_and_the_alarms():
    template = custom_template(
        **{
            MON + "schedule_expression": "cron(0 3 ? * * *)",
            MON + "monitoring_instance_type": "ml.r5d.large",
            MON + "protected_attribute": "feature_2",
            MON + "group_attribute": "feature_3",
            MON + "ks_threshold": "0.2",
            MON + "bias_drift_threshold": "0.05",
            MON + "min_accuracy": "0.8",
        }
    )
    schedule = monitor_schedule(template)
    assert schedule["ScheduleExpression"] == "cron(0 3 ? * * *)"
    text = joined(schedule["Target"]["Input"])
    assert '"--protected-attribute","feature_2"' in text
    assert '"--group-attribute","feature_3"' in text
    assert '"--ks-threshold","0.2"' in text
    # Local NVMe storage is encrypted in hardware and the API refuses a volume key.
    assert "VolumeKmsKeyId" not in text and '"InstanceType":"ml.r5d.large"' in text
    thresholds = {
        a["Properties"]["MetricName"]: a["Properties"]["Threshold"]
        for a in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == JOB_METRICS_NAMESPACE
    }
    assert thresholds["bias_drift_max"] == 0.05 and thresholds["accuracy"] == 0.8
    cost = estimate_stack(template, load_prices(), STACK)
    (line,) = [item for item in cost.usage_based if "processing runs" in item]
    assert "about 30 processing runs a month on 1 x ml.r5d.large" in line


def test_cost_names_the_scheduled_processing_runs(template):
    cost = estimate_stack(template, load_prices(), STACK)
    (line,) = [item for item in cost.usage_based if "processing runs" in item]
    assert "about 730 processing runs a month on 1 x ml.m5.xlarge" in line
    assert "at most 1800 s" in line
    assert {cost_line.item for cost_line in cost.lines} >= {"2 endpoint instances ml.c5.large"}
