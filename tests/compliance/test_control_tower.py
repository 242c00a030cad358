"""The Control Tower pack: cfn-guard with the bundled rules, acknowledgments in the template,
the synth gate and ``check``."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs

from ml_refarch.app import register_packs
from ml_refarch.compliance import control_tower, controls
from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.compliance.checker import check_assembly
from ml_refarch.compliance.output import junit, sarif
from tests.support import project_context

QUEUE = {"Type": "AWS::SQS::Queue", "Properties": {"SqsManagedSseEnabled": True}}
DLQ_RULE = "ControlTower-sqs_dlq_check"


def write_template(directory: Path, resources: dict, name: str = "Queue") -> Path:
    path = directory / f"{name}.template.json"
    path.write_text(json.dumps({"Resources": resources}, indent=1))
    return path


def guard_check(target: Path):
    return check_assembly(target, cfn_lint=False, checkov=False)


def guard_findings(result):
    return [f for f in result.findings if f.tool == "cfn-guard"]


def test_every_bundled_rule_names_its_control_and_resource_types():
    rules = control_tower.catalog()
    assert len(rules) > 200
    for rule in rules.values():
        assert rule.control.startswith("CT.") and rule.title, rule
        assert all(t.startswith("AWS::") for t in rule.resource_types), rule
    assert rules["sqs_dlq_check"].control == "CT.SQS.PR.1"
    assert rules["sqs_dlq_check"].resource_types == ("AWS::SQS::Queue",)


def test_family_members_of_control_tower_are_bundled_rules():
    members = [
        rule_id
        for family in controls.FAMILIES.values()
        for rule_id in family.rule_ids
        if rule_id.startswith("ControlTower-")
    ]
    assert members
    for rule_id in members:
        control_tower.rule_of(rule_id)  # raises for a name the bundle lacks


def test_the_pack_finds_a_queue_without_dead_letter_queue(tmp_path):
    write_template(tmp_path, {"Queue": QUEUE})
    result = guard_check(tmp_path)
    found = [(f.rule_id, f.resource) for f in guard_findings(result)]
    assert found == [(DLQ_RULE, "Queue")]
    assert "[CT.SQS.PR.1]" in guard_findings(result)[0].message
    assert result.exit_code == 1


def test_suppressed_rules_in_the_metadata_are_honoured(tmp_path):
    acknowledged = {**QUEUE, "Metadata": {"guard": {"SuppressedRules": ["sqs_dlq_check"]}}}
    write_template(tmp_path, {"Queue": QUEUE, "Acknowledged": acknowledged})
    result = guard_check(tmp_path)
    assert [(f.rule_id, f.resource) for f in guard_findings(result)] == [(DLQ_RULE, "Queue")]


def test_a_badly_shaped_suppression_is_an_error_and_an_unknown_one_a_warning(tmp_path):
    bad = {**QUEUE, "Metadata": {"guard": {"SuppressedRules": "sqs_dlq_check"}}}
    unknown = {**QUEUE, "Metadata": {"guard": {"SuppressedRules": ["sqs_dlq_chek"]}}}
    write_template(tmp_path, {"Bad": bad, "Unknown": unknown})
    by_resource = {
        (f.resource, f.rule_id): f
        for f in guard_findings(guard_check(tmp_path))
        if f.rule_id == "ControlTower-SuppressedRules"
    }
    assert by_resource[("Bad", "ControlTower-SuppressedRules")].level == "error"
    assert "must be a list" in by_resource[("Bad", "ControlTower-SuppressedRules")].message
    assert by_resource[("Unknown", "ControlTower-SuppressedRules")].level == "warning"


def test_acknowledging_an_unknown_control_tower_rule_is_a_clear_error():
    queue = sqs.Queue(cdk.Stack(cdk.App(), "S"), "Queue")
    with pytest.raises(ValueError, match=r"not a Control Tower rule.*did you mean sqs_dlq_check"):
        acknowledge(queue, "a reason that is long enough to pass", "ControlTower-sqs_dlq_chek")


def fake_guard(tmp_path: Path, script: str) -> str:
    path = tmp_path / "cfn-guard"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("echo 'thread main panicked' >&2; exit 101", "exited abnormally (exit code 101)"),
        ("echo 'not json'; exit 19", "printed no valid JSON report"),
        ("echo '[]'; exit 0", "reported on 0 of 1 templates"),
        (
            # The one template named, with an entry that is not a rule's.
            'for a; do [ "$p" = --data ] && f=$a; p=$a; done; '
            'printf \'[{"name": "%s", "not_compliant": ["x"]}]\' "$f"; exit 19',
            "cfn-guard reported an unknown rule",
        ),
    ],
)
def test_a_failing_cfn_guard_is_a_tool_error(tmp_path, monkeypatch, script, message):
    templates = tmp_path / "templates"
    templates.mkdir()
    write_template(templates, {"Queue": QUEUE})
    monkeypatch.setenv(control_tower.ENGINE_ENV, fake_guard(tmp_path, script))
    result = guard_check(templates)
    errors = [e for e in result.tool_errors if e.tool == "cfn-guard"]
    assert len(errors) == 1 and message in errors[0].message, result.tool_errors
    assert result.exit_code == 2
    assert not guard_findings(result)
    assert 'name="cfn-guard #1"' in junit(result)


def test_a_missing_cfn_guard_is_a_tool_error(tmp_path, monkeypatch):
    write_template(tmp_path, {"Queue": QUEUE})
    monkeypatch.setenv(control_tower.ENGINE_ENV, str(tmp_path / "nonexistent"))
    result = guard_check(tmp_path)
    assert [e.message for e in result.tool_errors] == [
        f"{control_tower.ENGINE_ENV}={tmp_path / 'nonexistent'}: not an executable file"
    ]
    assert result.exit_code == 2


def test_findings_reach_sarif_and_junit_with_the_controls_page(tmp_path):
    write_template(tmp_path, {"Queue": QUEUE})
    result = guard_check(tmp_path)
    run = next(r for r in sarif(result)["runs"] if "cfn-guard" in r["tool"]["driver"]["name"])
    (rule,) = run["tool"]["driver"]["rules"]
    assert rule["id"] == DLQ_RULE
    assert rule["helpUri"].endswith("sqs-rules.html#ct-sqs-pr-1-description")
    assert run["results"][0]["ruleId"] == DLQ_RULE
    report = junit(result)
    assert '<testcase classname="Queue" name="cfn-guard">' in report
    assert DLQ_RULE in report


def test_the_gate_fails_synth_on_an_unacknowledged_control_tower_finding(tmp_path):
    app = cdk.App(context=project_context(), outdir=str(tmp_path))
    stack = cdk.Stack(app, "Queues")
    queue = sqs.Queue(stack, "Plain", enforce_ssl=True)
    misspelt = sqs.Queue(stack, "Misspelt", enforce_ssl=True)
    misspelt.node.default_child.add_metadata("guard", {"SuppressedRules": "sqs_dlq_check"})
    register_packs(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    (plugin,) = [p for p in report["pluginReports"] if p["pluginName"] == "ControlTower"]
    rules = {v["ruleName"] for v in plugin["violations"]}
    assert {DLQ_RULE, "ControlTower-SuppressedRules"} <= rules
    logical_id = stack.get_logical_id(queue.node.default_child)
    flagged = {
        c["cloudFormationResource"]["logicalId"]
        for v in plugin["violations"]
        if v["ruleName"] == DLQ_RULE
        for c in v["violatingConstructs"]
    }
    # A list that is not a list of names acknowledges nothing.
    assert flagged == {logical_id, stack.get_logical_id(misspelt.node.default_child)}


def test_the_gate_honours_an_acknowledgment_and_writes_it_into_the_template(tmp_path):
    app = cdk.App(context=project_context(), outdir=str(tmp_path))
    stack = cdk.Stack(app, "Queues")
    queue = sqs.Queue(stack, "Plain", enforce_ssl=True, encryption=sqs.QueueEncryption.UNENCRYPTED)
    acknowledge(queue, "This queue is a test fixture without any consumer at all.", DLQ_RULE)
    register_packs(app)
    with contextlib.suppress(RuntimeError):  # the cdk-nag packs find more on a plain queue
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    guard = [p for p in report["pluginReports"] if p["pluginName"] == "ControlTower"]
    rules = {v["ruleName"] for p in guard for v in p["violations"]}
    assert "ControlTower-sqs_queue_encrypted_check" in rules  # the pack did run
    assert DLQ_RULE not in rules
    template = json.loads((tmp_path / "Queues.template.json").read_text())
    body = template["Resources"][stack.get_logical_id(queue.node.default_child)]
    assert body["Metadata"]["guard"] == {"SuppressedRules": ["sqs_dlq_check"]}
    assert os.path.basename(control_tower.rule_of(DLQ_RULE).path) == "ct-sqs-pr-1.guard"


@pytest.fixture
def fresh_bundle(monkeypatch):
    """``bundle_dir`` unpacks again (into the cache the test sets), and is reset after."""
    control_tower.bundle_dir.cache_clear()
    yield
    monkeypatch.undo()
    control_tower.bundle_dir.cache_clear()


def test_the_bundle_unpacks_the_engine_and_rules_of_the_package(
    tmp_path, monkeypatch, fresh_bundle
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    command, missing = control_tower.engine_command()
    assert command and not missing
    assert Path(command).is_relative_to(tmp_path) and os.access(command, os.X_OK)
    unpacked = Path(command).parent
    assert (unpacked / "rules" / "sqs" / "ct-sqs-pr-1.guard").is_file()
    assert not list(tmp_path.glob("ml-refarch/.unpacking-*"))  # no staging left behind


def test_a_cache_that_cannot_be_written_is_a_clear_error(tmp_path, monkeypatch, fresh_bundle):
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(not_a_directory))
    command, missing = control_tower.engine_command()
    assert command is None
    assert missing.startswith(f"cannot unpack {control_tower.DISTRIBUTION} into {not_a_directory}")
