"""SARIF from ``python -m ml_refarch check``: valid SARIF 2.1.0 that code scanning can track."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import jsonschema
import pytest

from ml_refarch import __version__
from ml_refarch.compliance import output
from ml_refarch.compliance.checker import (
    ERROR,
    WARNING,
    CheckResult,
    Finding,
    ToolError,
    check_assembly,
)
from ml_refarch.compliance.output import (
    FINGERPRINT_KEY,
    SOURCE_ROOT_ID,
    resource_lines,
    sarif,
    split_rule_id,
    write_sarif,
)
from ml_refarch.compliance.packs import PACKS
from ml_refarch.compliance.rules import RULES
from ml_refarch.compliance.templates import SKIPPED, Template

FIXTURES = Path(__file__).parent / "fixtures"
INSECURE = FIXTURES / "insecure"
ROOT = Path(__file__).resolve().parents[2]
#: The SARIF 2.1.0 JSON schema, as the npm package @microsoft/jest-sarif (pinned in
#: package.json, installed by `make setup`) ships it.
SCHEMA_FILE = ROOT / "node_modules" / "@microsoft" / "jest-sarif" / "lib" / "schemas"
SCHEMA = json.loads((SCHEMA_FILE / "sarif-2.1.0-rtm.5.json").read_text())


def finding(rule_id: str, resource: str = "Delivery", **changes) -> Finding:
    values = {
        "tool": "cdk-nag",
        "stack": "Streaming",
        "rule_id": rule_id,
        "level": ERROR,
        "resource": resource,
        "message": "The rule's text.",
        "template": INSECURE / "Streaming.template.json",
    }
    return Finding(**(values | changes))


def check_result(*findings: Finding) -> CheckResult:
    return CheckResult(
        templates={"Streaming": INSECURE / "Streaming.template.json"}, findings=list(findings)
    )


def results(document: dict, tool: str = "cdk-nag") -> list[dict]:
    return next(r for r in document["runs"] if r["tool"]["driver"]["name"].endswith(f"({tool})"))[
        "results"
    ]


def rules(document: dict, tool: str = "cdk-nag") -> dict[str, dict]:
    run = next(r for r in document["runs"] if r["tool"]["driver"]["name"].endswith(f"({tool})"))
    return {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}


#: One finding of each kind the writer treats differently.
VARIED = (
    finding("AwsSolutions-IAM5[Action::s3:GetObject*]"),
    finding("AwsSolutions-IAM5[Resource::*]"),
    finding("HIPAA.Security-S3BucketLoggingEnabled", level=WARNING),
    finding("MLS-S3B1", message="not the rule's own text"),
    finding("E3012", tool="cfn-lint", line=14, message="'yes' is not of type 'boolean'"),
    finding("W1011", tool="cfn-lint", resource="", line=1, message="template-wide"),
    finding("CKV_AWS_18", tool="checkov", line=13, message="Ensure the S3 bucket has logging"),
    finding("guard_rule", tool="cfn-guard", template=Path("/elsewhere/Other.template.json")),
)


@pytest.fixture(scope="module")
def checked():
    # checkov is slow and covered in test_linters; the packs and cfn-lint are enough here.
    return check_assembly(INSECURE, checkov=False)


@pytest.mark.parametrize("source", ["checked", "varied"])
def test_sarif_is_valid_against_the_sarif_2_1_0_schema(request, source):
    result = request.getfixturevalue("checked") if source == "checked" else check_result(*VARIED)
    document = sarif(result)
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    # The schema leaves "format" to the validator; SARIF wants these URIs absolute.
    for run in document["runs"]:
        driver = run["tool"]["driver"]
        uris = [driver.get("informationUri")] + [rule.get("helpUri") for rule in driver["rules"]]
        assert all(urlsplit(uri).scheme for uri in uris if uri), uris
    assert sum(len(run["results"]) for run in document["runs"]) == len(result.findings)


def test_sarif_tells_a_bad_document_apart():
    document = sarif(check_result(*VARIED))
    del results(document)[0]["message"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(SCHEMA).validate(document)


def test_one_rule_per_rule_id_with_the_finding_suffix_in_the_result():
    document = sarif(check_result(*VARIED))
    assert list(rules(document)) == [
        "AwsSolutions-IAM5",
        "HIPAA.Security-S3BucketLoggingEnabled",
        "MLS-S3B1",
    ]
    iam = [r for r in results(document) if r["ruleId"] == "AwsSolutions-IAM5"]
    assert [r["properties"]["findingId"] for r in iam] == [
        "AwsSolutions-IAM5[Action::s3:GetObject*]",
        "AwsSolutions-IAM5[Resource::*]",
    ]
    assert iam[0]["message"]["text"].endswith("[Action::s3:GetObject*]")
    assert {r["ruleIndex"] for r in iam} == {0}
    assert split_rule_id("MLS-MZ1[Variant::AllTraffic]") == ("MLS-MZ1", "Variant::AllTraffic")
    assert split_rule_id("CKV_AWS_18") == ("CKV_AWS_18", "")


def test_a_rule_is_described_by_its_own_text_not_a_findings():
    document = sarif(check_result(*VARIED))
    ml_rule = next(r for r in RULES if r.id == "MLS-S3B1")
    described = rules(document)["MLS-S3B1"]
    assert described["shortDescription"]["text"] == ml_rule.info
    assert ml_rule.explanation in described["fullDescription"]["text"]
    assert "not the rule's own text" not in json.dumps(described)
    linted = rules(document, "cfn-lint")["E3012"]
    assert linted["shortDescription"]["text"] == "Check resource properties values"
    assert "is not of type" not in json.dumps(linted)
    for rule in [*rules(document).values(), *rules(document, "cfn-lint").values()]:
        assert rule["help"]["text"] and rule["fullDescription"]["text"]
    assert rules(document)["HIPAA.Security-S3BucketLoggingEnabled"]["defaultConfiguration"] == {
        "level": "warning"
    }


def test_help_uris_point_at_each_rules_documentation():
    document = sarif(check_result(*VARIED))
    ml_uri = rules(document)["MLS-S3B1"]["helpUri"]
    path, anchor = urlsplit(ml_uri).path, urlsplit(ml_uri).fragment
    assert Path(unquote(path)) == ROOT / "docs" / "rules.md"
    assert f'<a id="{anchor}"></a>' in (ROOT / "docs" / "rules.md").read_text()
    assert rules(document)["AwsSolutions-IAM5"]["helpUri"] == (
        "https://github.com/cdklabs/cdk-nag/blob/main/RULES.md#aws-solutions"
    )
    assert rules(document)["HIPAA.Security-S3BucketLoggingEnabled"]["helpUri"].endswith(
        "RULES.md#hipaa-security"
    )
    assert rules(document, "cfn-lint")["E3012"]["helpUri"] == (
        "https://github.com/aws-cloudformation/cfn-lint/blob/main/docs/rules.md#E3012"
    )
    assert rules(document, "checkov")["CKV_AWS_18"]["helpUri"] == (
        "https://www.checkov.io/5.Policy%20Index/cloudformation.html"
    )
    assert "helpUri" not in rules(document, "cfn-guard")["guard_rule"]


def test_every_cdk_nag_pack_has_a_section_on_the_upstream_rules_page():
    prefixes = {
        info.rule_prefix for name, info in PACKS.items() if info.nag and name != "MLSpecialty"
    }
    assert prefixes == set(output._CDK_NAG_SECTIONS)


def test_fingerprints_name_the_finding_not_its_line():
    def fingerprint(*findings):
        return [r["partialFingerprints"] for r in results(sarif(check_result(*findings)))]

    base = finding("AwsSolutions-IAM5[Resource::*]")
    first = fingerprint(base)[0]
    assert fingerprint(base)[0] == first  # stable across runs
    assert fingerprint(finding("AwsSolutions-IAM5[Resource::*]", line=99))[0] == first
    assert fingerprint(finding("AwsSolutions-IAM5[Resource::*]", message="reworded"))[0] == first
    for other in (
        finding("AwsSolutions-IAM5[Action::s3:*]"),
        finding("AwsSolutions-IAM5[Resource::*]", resource="Video"),
        finding("AwsSolutions-IAM5[Resource::*]", stack="Notebook"),
    ):
        assert fingerprint(other)[0] != first
    assert set(first) == {FINGERPRINT_KEY, "primaryLocationLineHash"}
    twice = fingerprint(base, base)
    assert [f[FINGERPRINT_KEY][-2:] for f in twice] == [":1", ":2"]


def test_artifact_uris_are_relative_to_the_source_root(tmp_path):
    document = sarif(check_result(*VARIED), source_root=FIXTURES)
    base = document["runs"][0]["originalUriBaseIds"][SOURCE_ROOT_ID]["uri"]
    assert base == FIXTURES.resolve().as_uri() + "/"
    location = results(document)[0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "insecure/Streaming.template.json", "uriBaseId": SOURCE_ROOT_ID}
    assert urljoin(base, location["uri"]) == (INSECURE / "Streaming.template.json").as_uri()
    outside = results(document, "cfn-guard")[0]["locations"][0]["physicalLocation"]
    assert outside["artifactLocation"] == {"uri": "file:///elsewhere/Other.template.json"}
    spaced = tmp_path / "cdk out" / "A.template.json"
    document = sarif(check_result(finding("MLS-S3B1", template=spaced)), source_root=tmp_path)
    location = results(document)[0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uri"] == "cdk%20out/A.template.json"


def test_the_default_source_root_is_the_working_directory(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    document = sarif(check_result(*VARIED))
    location = results(document)[0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uri"] == "insecure/Streaming.template.json"


def test_a_finding_without_a_line_gets_the_line_of_its_logical_id():
    document = sarif(check_result(*VARIED))
    text = (INSECURE / "Streaming.template.json").read_text().splitlines()
    for result in results(document):
        line = result["locations"][0]["physicalLocation"]["region"]["startLine"]
        assert text[line - 1].strip().startswith('"Delivery"')
    linted = results(document, "cfn-lint")
    assert [r["locations"][0]["physicalLocation"]["region"] for r in linted] == [
        {"startLine": 14},
        {"startLine": 1},
    ]
    unknown = sarif(check_result(finding("MLS-S3B1", resource="NotInTheTemplate")))
    assert "region" not in results(unknown)[0]["locations"][0]["physicalLocation"]


def test_resource_lines_reads_json_and_yaml_and_only_resource_keys():
    json_text = json.dumps(
        {
            "Parameters": {"Bucket": {"Type": "String"}},
            "Resources": {
                "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"Bucket": "x"}},
                "Bucket": {"Type": "AWS::S3::Bucket"},
            },
            "Outputs": {"Topic": {"Value": "y"}},
        },
        indent=1,
    )
    lines = resource_lines(json_text)
    assert set(lines) == {"Queue", "Bucket"}
    assert json_text.splitlines()[lines["Bucket"] - 1] == '  "Bucket": {'
    yaml_text = (
        "Resources:\n"
        "  Queue:\n"
        "    Type: AWS::SQS::Queue\n"
        "    Properties:\n"
        "      Topic: !Ref Topic\n"
        "  'Topic':\n"
        "    Type: AWS::SNS::Topic\n"
        "Outputs:\n"
        "  Queue:\n"
        "    Value: !Ref Queue\n"
    )
    assert resource_lines(yaml_text) == {"Queue": 2, "Topic": 6}
    assert resource_lines(json.dumps({"Resources": {"Queue": {}}})) == {}
    assert resource_lines("not a template") == {}


def test_the_tool_version_comes_from_the_package_metadata(monkeypatch):
    document = sarif(check_result(*VARIED))
    assert {run["tool"]["driver"]["version"] for run in document["runs"]} == {
        importlib.metadata.version("ml-refarch")
    }

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert output.tool_version() == __version__


def test_information_uri_is_the_readme_section_on_checking(monkeypatch):
    driver = sarif(check_result(*VARIED))["runs"][0]["tool"]["driver"]
    assert driver["informationUri"] == (
        (ROOT / "README.md").as_uri() + "#checking-any-cloud-assembly-in-ci"
    )
    assert "### Checking any cloud assembly in CI" in (ROOT / "README.md").read_text()
    monkeypatch.setattr(output, "_CHECKOUT", Path("/nonexistent"))
    driver = sarif(check_result(*VARIED))["runs"][0]["tool"]["driver"]
    assert "informationUri" not in driver
    assert "helpUri" not in rules(sarif(check_result(*VARIED)))["MLS-S3B1"]


def test_every_tool_with_findings_gets_a_run_and_skipped_tools_none():
    result = check_result(*VARIED)
    result.skipped_tools.append("checkov")
    names = [run["tool"]["driver"]["name"] for run in sarif(result)["runs"]]
    assert names == [
        "ml-refarch check (cdk-nag)",
        "ml-refarch check (cfn-guard)",
        "ml-refarch check (cfn-lint)",
        "ml-refarch check",
    ]


def test_write_sarif_takes_the_source_root(tmp_path):
    path = tmp_path / "out.sarif"
    write_sarif(check_result(*VARIED), path, source_root=FIXTURES)
    document = json.loads(path.read_text())
    location = results(document)[0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uri"] == "insecure/Streaming.template.json"


def test_a_tool_error_makes_its_run_unsuccessful_and_the_junit_report_red():
    from xml.etree import ElementTree

    result = check_result()
    result.tool_errors.append(
        ToolError("cfn-lint", "cfn-lint exited with status 1", detail="Traceback ...")
    )
    document = sarif(result)
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    runs = {run["tool"]["driver"]["name"]: run for run in document["runs"]}
    (lint,) = runs["ml-refarch check (cfn-lint)"]["invocations"]
    assert lint["executionSuccessful"] is False
    assert "exited with status 1" in lint["toolExecutionNotifications"][0]["message"]["text"]
    (nag,) = runs["ml-refarch check (cdk-nag)"]["invocations"]
    assert nag["executionSuccessful"] is True
    assert runs["ml-refarch check"]["invocations"][0]["executionSuccessful"] is False
    report = ElementTree.fromstring(output.junit(result))
    assert report.get("errors") == "1"
    assert report.find("testsuite[@name='tools']/testcase/error").text == "Traceback ..."


def test_a_skipped_template_fails_the_junit_report_only_when_strict():
    from xml.etree import ElementTree

    result = check_result()
    result.accounted.append(
        Template("Sam", INSECURE / "Streaming.template.json", SKIPPED, "SAM transform")
    )
    lenient = ElementTree.fromstring(output.junit(result))
    assert (lenient.get("skipped"), lenient.get("failures")) == ("1", "0")
    result.strict = True
    strict = ElementTree.fromstring(output.junit(result))
    assert (strict.get("skipped"), strict.get("failures")) == ("0", "1")
