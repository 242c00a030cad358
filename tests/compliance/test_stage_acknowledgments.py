"""``check`` reads a nested stage assembly fully: its stacks, and the acknowledgments CDK
recorded for them in the assembly's metadata, which their templates do not carry (cdk-nag
writes ``Metadata.cdk_nag`` only into the stacks of the assembly it validates directly)."""

from __future__ import annotations

import contextlib

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3

import ml_refarch  # noqa: F401  (points jsii at the pinned Node before aws_cdk starts it)
from ml_refarch.compliance.checker import check_assembly
from ml_refarch.compliance.packs import make_plugins
from ml_refarch.compliance.report import _acknowledgments, read_assembly
from ml_refarch.compliance.templates import artifact_acknowledgments, find_templates

REASON = "A fixture bucket that stands for an acknowledged finding in a stage's stack."


def staged_app(outdir) -> None:
    """A CDK Pipelines-shaped assembly: a stage (nested assembly) holding an insecure bucket,
    and an acknowledged finding on another resource, validated as the app's packs do."""
    app = cdk.App(outdir=str(outdir))
    stage = cdk.Stage(
        app,
        "Sandbox-111122223333-us-east-1",
        env=cdk.Environment(account="111122223333", region="us-east-1"),
    )
    stack = cdk.Stack(stage, "Insecure")
    s3.CfnBucket(stack, "Open")
    acknowledged = s3.CfnBucket(stack, "Acknowledged")
    cdk.Validations.of(acknowledged).acknowledge(
        cdk.Acknowledgment(id="AwsSolutions-S1", reason=REASON)
    )
    validations = cdk.Validations.of(app)
    for plugin in make_plugins(app):
        validations.add_plugins(plugin)
    # The packs fail the synth on the open bucket; the assembly is written all the same.
    with contextlib.suppress(Exception):
        app.synth()


def test_the_stage_metadata_holds_acknowledgments_the_template_lacks(tmp_path):
    staged_app(tmp_path)
    [path] = [p for n, p in find_templates(tmp_path).items() if "Insecure" in n]
    assert path.parent.name == "assembly-Sandbox-111122223333-us-east-1"
    acknowledged = artifact_acknowledgments(path)
    assert [rules.get("AwsSolutions-S1") for rules in acknowledged.values()] == [REASON]
    assert "rules_to_suppress" not in path.read_text()  # only the metadata has it


def test_a_finding_acknowledged_in_the_stage_metadata_is_not_reported(tmp_path):
    staged_app(tmp_path)
    result = check_assembly(tmp_path, cfn_lint=False, checkov=False, cfn_guard=False)
    s1 = {f.resource for f in result.findings if f.rule_id == "AwsSolutions-S1"}
    assert s1 == {"Open"}
    assert result.exit_code == 1


def test_a_template_outside_an_assembly_has_no_recorded_acknowledgments(tmp_path):
    template = tmp_path / "t.template.json"
    template.write_text('{"Resources": {}}')
    assert artifact_acknowledgments(template) == {}


def test_summary_reads_the_stage_stacks_with_their_acknowledgments(tmp_path):
    staged_app(tmp_path)
    assert read_assembly(tmp_path) == []  # the top level has no stack
    [report] = read_assembly(tmp_path, nested=True)
    assert report.stack_name == "Sandbox-111122223333-us-east-1/Insecure"
    assert [(a.rule_id, a.reason) for a in report.acknowledgments] == [("AwsSolutions-S1", REASON)]


def test_an_id_acknowledged_in_both_spellings_counts_once():
    agnostic = "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:x:*]"
    pinned = "AwsSolutions-IAM5[Resource::arn:aws:logs:eu-west-1:x:*]"
    entry = {"type": "aws:cdk:acknowledged-rules"}
    metadata = {
        "/S/Policy": [{**entry, "data": {f"Annotation::{agnostic}": REASON, pinned: REASON}}],
        "/S/Other": [{**entry, "data": {agnostic: REASON}}],
    }
    found = [(a.construct_path, a.rule_id) for a in _acknowledgments(metadata)]
    assert found == [("/S/Policy", pinned), ("/S/Other", agnostic)]
