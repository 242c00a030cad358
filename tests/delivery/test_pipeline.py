"""The delivery pipeline, asserted from its synthesized templates: stages and waves, the check
step, the approval, per-stage profiles, cross-account keys, builds in a VPC with KMS and logs."""

from __future__ import annotations

import json

import pytest

from ml_refarch.cfn import resources_of_type
from ml_refarch.delivery import STACK_NAME
from ml_refarch.delivery.stack import JUNIT_FILE, REPORT_NAME, check_command
from tests.delivery.support import CONNECTION_ARN, synthesize_delivery

SANDBOX = ("Sandbox-111122223333-us-east-1", "Sandbox-111122223333-us-west-2")
PRODUCTION = "Production-444455556666-eu-west-1"
PATTERN_STACK = "MlRefArch-ServerlessInference"


@pytest.fixture(scope="module")
def delivery(tmp_path_factory):
    return synthesize_delivery(tmp_path_factory.mktemp("delivery"))


@pytest.fixture(scope="module")
def template(delivery) -> dict:
    return delivery.template(STACK_NAME)


def pipeline(template: dict) -> dict:
    [found] = resources_of_type(template, "AWS::CodePipeline::Pipeline").values()
    return found["Properties"]


def stage(template: dict, name: str) -> dict:
    return next(s for s in pipeline(template)["Stages"] if s["Name"] == name)


def projects(template: dict) -> dict[str, dict]:
    return {
        logical_id: body["Properties"]
        for logical_id, body in resources_of_type(template, "AWS::CodeBuild::Project").items()
    }


def build_spec(project: dict) -> dict:
    """The project's inline build spec (the asset project's is a file of the assembly)."""
    spec = project["Source"]["BuildSpec"]
    return json.loads(spec) if isinstance(spec, str) and spec.startswith("{") else {}


def test_the_waves_follow_source_synth_self_mutation_and_assets(template):
    names = [s["Name"] for s in pipeline(template)["Stages"]]
    # CDK Pipelines names a wave's pipeline stage after its only stage, when it has one.
    assert names == ["Source", "Build", "UpdatePipeline", "Assets", "Sandbox", PRODUCTION]
    [source] = stage(template, "Source")["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"]["ConnectionArn"] == CONNECTION_ARN
    assert source["Configuration"]["FullRepositoryId"] == "owner/repo"
    assert source["Configuration"]["BranchName"] == "main"
    assert pipeline(template)["PipelineType"] == "V2"


def _deploys(actions: list[dict]) -> dict[str, int]:
    """Deploying actions (change set executes) by stack name, with their run order."""
    return {
        a["Configuration"]["StackName"]: a["RunOrder"]
        for a in actions
        if a["ActionTypeId"]["Provider"] == "CloudFormation"
        and a["Configuration"].get("ActionMode") == "CHANGE_SET_EXECUTE"
    }


def test_the_check_runs_before_any_sandbox_stage_and_both_sandbox_stages_deploy(template):
    actions = stage(template, "Sandbox")["Actions"]
    [check] = [a for a in actions if a["Name"] == "Check"]
    deploys = _deploys(actions)
    assert set(deploys) == {f"{stage_id}-{PATTERN_STACK}" for stage_id in SANDBOX}
    assert all(order > check["RunOrder"] for order in deploys.values())
    accounts = {
        a["RoleArn"]["Fn::Join"][1][2]
        for a in actions
        if "RoleArn" in a and "Fn::Join" in a["RoleArn"]
    }
    assert any("111122223333" in str(part) for part in accounts)


def test_production_waits_for_a_manual_approval(template):
    actions = stage(template, PRODUCTION)["Actions"]
    [approval] = [a for a in actions if a["ActionTypeId"]["Category"] == "Approval"]
    assert approval["ActionTypeId"]["Provider"] == "Manual"
    assert "444455556666/eu-west-1" in approval["Configuration"]["CustomData"]
    deploys = _deploys(actions)
    assert set(deploys) == {f"{PRODUCTION}-{PATTERN_STACK}"}
    assert all(order > approval["RunOrder"] for order in deploys.values())


def test_no_production_wave_without_production_targets(tmp_path):
    delivery = synthesize_delivery(tmp_path, **{"delivery.production": None})
    names = [s["Name"] for s in pipeline(delivery.template(STACK_NAME))["Stages"]]
    assert names[-1] == "Sandbox" and PRODUCTION not in names


def test_the_check_step_runs_check_strictly_and_reports_junit_to_codebuild(template):
    [check] = [
        p for p in projects(template).values() if check_command() in json.dumps(build_spec(p))
    ]
    spec = build_spec(check)
    assert check_command() in spec["phases"]["build"]["commands"]
    assert "--strict" in check_command() and "--sarif" in check_command()
    report = spec["reports"][REPORT_NAME]
    assert report["file-format"] == "JUNITXML"
    assert JUNIT_FILE.endswith(report["files"][0])
    # The synthesized assembly is the step's second input, where the command reads it.
    assert "cdk.out" in json.dumps(spec["phases"]["install"])


def test_the_synth_step_sets_up_and_synthesizes_with_the_same_settings(template):
    [synth] = [p for p in projects(template).values() if "cdk synth" in json.dumps(build_spec(p))]
    spec = build_spec(synth)
    assert "make setup" in spec["phases"]["install"]["commands"]
    [command] = [c for c in spec["phases"]["build"]["commands"] if "cdk synth" in c]
    assert f"delivery.connection_arn={CONNECTION_ARN}" in command
    assert "delivery.production=444455556666/eu-west-1" in command


def test_every_build_runs_in_the_vpc_with_the_artifact_key_and_encrypted_logs(template):
    keys = resources_of_type(template, "AWS::KMS::Key")
    groups = resources_of_type(template, "AWS::Logs::LogGroup")
    found = projects(template)
    assert len(found) >= 4  # synth, self-mutation, check, assets
    for logical_id, project in found.items():
        assert project["VpcConfig"]["Subnets"], logical_id
        assert project["EncryptionKey"] == {
            "Fn::GetAtt": [
                next(k for k in keys if k.startswith("PipelineArtifactsBucketEncryptionKey")),
                "Arn",
            ]
        }, logical_id
        log_group = project["LogsConfig"]["CloudWatchLogs"]["GroupName"]["Ref"]
        assert groups[log_group]["Properties"]["KmsKeyId"], logical_id


def _bucket_key(template: dict, name_part: str) -> dict:
    [bucket] = [
        b for i, b in resources_of_type(template, "AWS::S3::Bucket").items() if name_part in i
    ]
    rule = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    key_ref = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    keys = resources_of_type(template, "AWS::KMS::Key")
    key_id = next(
        k
        for k in keys
        if k in json.dumps(key_ref)
        or k in json.dumps(resources_of_type(template, "AWS::KMS::Alias"))
    )
    return keys[key_id]["Properties"]


def test_the_artifact_buckets_use_rotated_keys_the_target_accounts_may_use(delivery, template):
    assert _bucket_key(template, "Artifacts")["EnableKeyRotation"] is True
    # Production (another account, another region) reads its artifacts from the
    # replication bucket in its region, whose key the production account's roles may use.
    replica = delivery.template(f"{STACK_NAME}-Replication-eu-west-1")
    key = _bucket_key(replica, "Replication")
    assert key["EnableKeyRotation"] is True
    assert "444455556666" in json.dumps(key["KeyPolicy"])


def test_a_replication_stack_serves_each_region_outside_the_pipelines(delivery):
    names = {s.stack_name for s in delivery.assembly.stacks}
    assert names == {
        STACK_NAME,
        f"{STACK_NAME}-Replication-us-west-2",
        f"{STACK_NAME}-Replication-eu-west-1",
    }


@pytest.mark.parametrize(
    ("stage_id", "profile"),
    [(SANDBOX[0], "sandbox"), (SANDBOX[1], "sandbox"), (PRODUCTION, "production")],
)
def test_each_stage_deploys_its_patterns_with_its_waves_profile(delivery, stage_id, profile):
    templates = delivery.stage_templates(stage_id)
    assert set(templates) == {PATTERN_STACK}
    assert f"({profile} profile)" in templates[PATTERN_STACK]["Description"]
    expiry = "ExpiresAt" in templates[PATTERN_STACK].get("Outputs", {})
    assert expiry == (profile == "sandbox")


def test_the_synth_needs_no_lookup(delivery):
    manifest = json.loads((delivery.outdir / "manifest.json").read_text())
    assert "missing" not in manifest
    subnets = resources_of_type(delivery.template(STACK_NAME), "AWS::EC2::Subnet").values()
    assert all("Fn::Select" in s["Properties"]["AvailabilityZone"] for s in subnets)


def test_a_stage_builds_vpc_patterns_without_lookups(tmp_path):
    """A pattern with a VPC, pinned by its stage, takes the region's zones from
    CloudFormation (Fn::GetAZs) instead of a context look-up the pipeline cannot make."""
    import aws_cdk as cdk

    from ml_refarch.app import project_context
    from ml_refarch.catalog import by_id
    from ml_refarch.config import stage_config
    from ml_refarch.delivery.stage import PatternStage

    app = cdk.App(context=project_context(), outdir=str(tmp_path))
    name = by_id("isolated-notebook").stack_name
    stage = PatternStage(
        app,
        "Production-444455556666-eu-west-1",
        env=cdk.Environment(account="444455556666", region="eu-west-1"),
        config=stage_config(app, "production"),
        stack_names=[name],
    )
    assembly = app.synth()
    nested = assembly.get_nested_assembly("assembly-Production-444455556666-eu-west-1")
    assert "missing" not in json.loads(
        (tmp_path / nested.directory.split("/")[-1] / "manifest.json").read_text()
    )
    template = stage.stacks[name]
    subnets = resources_of_type(
        nested.get_stack_by_name(template.stack_name).template, "AWS::EC2::Subnet"
    )
    zones = {json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets.values()}
    assert len(zones) == 3 and all("Fn::GetAZs" in zone for zone in zones)  # production: 3 AZs


def test_the_app_adds_the_pipeline_only_with_delivery_settings():
    import aws_cdk as cdk

    from ml_refarch.app import build_app, project_context
    from tests.delivery.support import DELIVERY

    without = build_app(cdk.App(context=project_context()), compliance_gate=False)
    assert without.node.try_find_child(STACK_NAME) is None
    assert not [c for c in without.node.children if isinstance(c, cdk.Stage)]
    with_pipeline = build_app(cdk.App(context=project_context(**DELIVERY)), compliance_gate=False)
    assert with_pipeline.node.try_find_child(STACK_NAME) is not None
    stages = [c.node.id for c in with_pipeline.node.children if isinstance(c, cdk.Stage)]
    assert stages == [*SANDBOX, PRODUCTION]


def test_the_pipeline_passes_cfn_lint_checkov_and_the_control_tower_pack(delivery):
    """``check`` with every tool over the pipeline's assembly: the pipeline and replication
    stacks and each stage's stacks, read from the nested assemblies, without a finding."""
    from ml_refarch.compliance.checker import check_assembly

    result = check_assembly(delivery.outdir, strict=True)
    assert result.tool_errors == [] and result.problems == []
    assert {STACK_NAME, f"{STACK_NAME}-Replication-eu-west-1"} <= set(result.templates)
    assert f"{PRODUCTION}/{PATTERN_STACK}" in result.templates
    assert result.errors == []
    assert result.exit_code == 0


def test_the_synth_command_leaves_cdk_json_settings_to_cdk_json():
    from ml_refarch.delivery.stack import synth_command

    given = {"delivery.sandbox": ["111122223333/us-east-1", "111122223333/us-west-2"], "x.on": True}
    command = synth_command(given, committed={})
    assert "-c delivery.sandbox=111122223333/us-east-1,111122223333/us-west-2" in command
    assert "-c x.on=true" in command
    # The same value in cdk.json: a push that edits cdk.json must be able to change it.
    assert "delivery.sandbox" not in synth_command(given, committed=given)
    changed = synth_command(given, committed={"delivery.sandbox": "111122223333/us-east-1"})
    assert "delivery.sandbox=" in changed
