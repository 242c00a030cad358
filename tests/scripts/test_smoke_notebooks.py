"""Tests for ml_refarch/smoke.py and the notebook and Studio smoke scripts, without real AWS.

CloudFormation stacks (with literal outputs) and CloudWatch Logs come from moto. moto's
notebook instances lack InstanceMetadataServiceConfiguration and the start/Pending cycle,
it has no Studio user profiles, lifecycle configurations, apps or spaces, and no IAM policy
simulator, so SageMaker and IAM are small fakes. The fakes validate every request against
botocore's service model, so a misspelled parameter fails here as it would against AWS.
The IAM fake evaluates the guardrail statements of ml_refarch/constructs/guardrails.py.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.stub import ANY, Stubber
from botocore.validate import validate_parameters
from moto import mock_aws

from ml_refarch import smoke
from tests.load import REPO_ROOT, load_by_path

notebook_smoke = load_by_path(
    "scripts_smoke_isolated_notebook", REPO_ROOT / "scripts" / "smoke_isolated_notebook.py"
)
studio_smoke = load_by_path(
    "scripts_smoke_studio_domain", REPO_ROOT / "scripts" / "smoke_studio_domain.py"
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
NOTEBOOK_STACK = "MlRefArch-IsolatedNotebook"
STUDIO_STACK = "MlRefArch-StudioDomain"
NOTEBOOK = "mlrefarch-notebook"
LIFECYCLE = "mlrefarch-notebook-lifecycle"
API_ENDPOINT = "vpce-0a1a1a1a1a1a1a1a1"
NOTEBOOK_ENDPOINT = "vpce-0b2b2b2b2b2b2b2b2"
SUBNETS = ["subnet-0aaa", "subnet-0bbb"]
SECURITY_GROUP = "sg-0123"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/MlRefArch-DataScientistRole"
JOB_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/MlRefArch-JobRole"
DOMAIN_ID = "d-abcdef123456"
PROFILE = "data-scientist"
STUDIO_LIFECYCLE = "mlrefarch-studiodomain-install-packages"
STUDIO_LIFECYCLE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:studio-lifecycle-config/" + (
    STUDIO_LIFECYCLE
)
EFS_ID = "fs-0123456789abcdef0"
LOG_GROUP = "/aws/sagemaker/NotebookInstances"
# CloudWatch Logs (and moto) reject events older than 14 days, so the runs are recent.
START_RUN_MS = (int(time.time()) - 3600) * 1000
CREATE_RUN_MS = START_RUN_MS - 600_000

# One session for all tests: botocore loads service models once per session.
SESSION = boto3.Session(
    region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
)
IAM_MODEL = SESSION.client("iam").meta.service_model
SAGEMAKER_MODEL = SESSION.client("sagemaker").meta.service_model


def validate(model: Any, operation: str, params: dict[str, Any]) -> None:
    validate_parameters(params, model.operation_model(operation).input_shape)


def client_error(code: str, operation: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": code}}, operation)


# --- fakes ------------------------------------------------------------------------------------

JOBS = {"CreateTrainingJob", "CreateProcessingJob", "CreateHyperParameterTuningJob"}
VPC_AND_ISOLATION = JOBS | {"CreateModel"}
VOLUME_KEY = JOBS | {"CreateTransformJob"}
PRESIGNED = {"CreatePresignedNotebookInstanceUrl", "CreatePresignedDomainUrl"}
RESOURCE_TYPES = {
    "CreateTrainingJob": "training-job",
    "CreateProcessingJob": "processing-job",
    "CreateHyperParameterTuningJob": "hyper-parameter-tuning-job",
    "CreateTransformJob": "transform-job",
    "CreateModel": "model",
    "CreatePresignedNotebookInstanceUrl": "notebook-instance",
    "CreatePresignedDomainUrl": "user-profile",
}


def guardrail_statements(endpoint_ids: tuple[str, ...] | None) -> dict[str, Any]:
    """Sid -> (actions, condition on the context) of the role's Deny statements."""
    statements: dict[str, Any] = {
        "DenySageMakerOutsideVpc": (VPC_AND_ISOLATION, lambda c: "sagemaker:VpcSubnets" not in c),
        "DenySageMakerNetworkIsolationOff": (
            VPC_AND_ISOLATION,
            lambda c: c.get("sagemaker:NetworkIsolation") == ["false"],
        ),
        "DenySageMakerNetworkIsolationUnset": (
            VPC_AND_ISOLATION,
            lambda c: "sagemaker:NetworkIsolation" not in c,
        ),
        "DenySageMakerInterContainerEncryptionOff": (
            JOBS,
            lambda c: c.get("sagemaker:InterContainerTrafficEncryption") == ["false"],
        ),
        "DenySageMakerInterContainerEncryptionUnset": (
            JOBS,
            lambda c: "sagemaker:InterContainerTrafficEncryption" not in c,
        ),
        "DenySageMakerVolumeWithoutKmsKey": (
            VOLUME_KEY,
            lambda c: "sagemaker:VolumeKmsKey" not in c,
        ),
    }
    if endpoint_ids is not None:
        # StringNotEquals is true when the key is missing, so no endpoint is denied too.
        statements["DenyPresignedUrlOutsideVpcEndpoint"] = (
            PRESIGNED,
            lambda c: not set(c.get("aws:SourceVpce", [])) & set(endpoint_ids),
        )
    return statements


class GuardrailIam:
    """simulate_principal_policy for the data-scientist role and its guardrails.

    The role allows the SageMaker create calls on resources of their own type in its account
    and region (anything else is an implicit deny); ``unenforced`` drops Deny statements by
    Sid, as a broken deployment would.
    """

    def __init__(
        self,
        *,
        endpoint_ids: tuple[str, ...] | None = (API_ENDPOINT, NOTEBOOK_ENDPOINT),
        unenforced: tuple[str, ...] = (),
        error: str | None = None,
    ) -> None:
        self.statements = {
            sid: statement
            for sid, statement in guardrail_statements(endpoint_ids).items()
            if sid not in unenforced
        }
        self.error = error
        self.calls: list[dict[str, Any]] = []

    def simulate_principal_policy(self, **params: Any) -> dict[str, Any]:
        validate(IAM_MODEL, "SimulatePrincipalPolicy", params)
        self.calls.append(params)
        if self.error:
            raise client_error(self.error, "SimulatePrincipalPolicy")
        assert params["PolicySourceArn"] == ROLE_ARN
        (action,) = params["ActionNames"]
        (resource,) = params["ResourceArns"]
        context = {e["ContextKeyName"]: e["ContextKeyValues"] for e in params["ContextEntries"]}
        name = action.removeprefix("sagemaker:")
        prefix = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{RESOURCE_TYPES[name]}/"
        if any(name in actions and denies(context) for actions, denies in self.statements.values()):
            decision = "explicitDeny"
        elif resource.startswith(prefix):
            decision = "allowed"
        else:
            decision = "implicitDeny"
        return {
            "EvaluationResults": [
                {"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": decision}
            ],
            "IsTruncated": False,
        }


class FakeSageMaker:
    """Validates each request against the SageMaker model, then calls ``handle_<operation>``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        validate(SAGEMAKER_MODEL, operation, params)
        self.calls.append((operation, params))
        return getattr(self, f"handle_{operation}")(**params)

    def operations(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]

    def __getattr__(self, name: str) -> Callable[..., dict[str, Any]]:
        operation = "".join(part.title() for part in name.split("_"))
        if name.startswith("_") or not hasattr(type(self), f"handle_{operation}"):
            raise AttributeError(name)
        return lambda **params: self._call(operation, params)


def good_notebook() -> dict[str, Any]:
    return {
        "NotebookInstanceArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/{NOTEBOOK}",
        "NotebookInstanceName": NOTEBOOK,
        "NotebookInstanceStatus": "InService",
        "InstanceType": "ml.t3.medium",
        "SubnetId": SUBNETS[0],
        "SecurityGroups": [SECURITY_GROUP],
        "RoleArn": ROLE_ARN,
        "KmsKeyId": KEY_ID,
        "NotebookInstanceLifecycleConfigName": LIFECYCLE,
        "DirectInternetAccess": "Disabled",
        "RootAccess": "Disabled",
        "InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": "2"},
    }


class NotebookSageMaker(FakeSageMaker):
    """One notebook instance; ``statuses`` are returned by successive describes, then kept."""

    def __init__(self, description: dict[str, Any], statuses: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.description = description
        self.statuses = list(statuses)

    def handle_DescribeNotebookInstance(self, NotebookInstanceName: str) -> dict[str, Any]:
        assert NotebookInstanceName == NOTEBOOK
        if self.statuses:
            self.description["NotebookInstanceStatus"] = self.statuses.pop(0)
        return copy.deepcopy(self.description)

    def handle_StartNotebookInstance(self, NotebookInstanceName: str) -> dict[str, Any]:
        assert self.description["NotebookInstanceStatus"] == "Stopped"
        return {}


def good_domain() -> dict[str, Any]:
    return {
        "DomainId": DOMAIN_ID,
        "DomainName": "mlrefarch-studiodomain",
        "Status": "InService",
        "AppNetworkAccessType": "VpcOnly",
        "KmsKeyId": KEY_ARN,
        "SubnetIds": list(reversed(SUBNETS)),
        "HomeEfsFileSystemId": EFS_ID,
        "DefaultUserSettings": {
            "ExecutionRole": ROLE_ARN,
            "SecurityGroups": [SECURITY_GROUP],
            "JupyterLabAppSettings": {
                "DefaultResourceSpec": {"LifecycleConfigArn": STUDIO_LIFECYCLE_ARN},
                "LifecycleConfigArns": [STUDIO_LIFECYCLE_ARN],
            },
        },
    }


def good_profile() -> dict[str, Any]:
    return {
        "DomainId": DOMAIN_ID,
        "UserProfileName": PROFILE,
        "Status": "InService",
        "UserSettings": {"ExecutionRole": ROLE_ARN, "SecurityGroups": [SECURITY_GROUP]},
    }


class StudioSageMaker(FakeSageMaker):
    """A domain with one user profile, a lifecycle configuration, apps and spaces.

    A deleted app is Deleting until the next list, then Deleted (and stays listed, as in
    SageMaker); a deleted space is Deleting until the next list, then gone. A space whose
    apps are not all Deleted cannot be deleted.
    """

    def __init__(
        self,
        *,
        domain: dict[str, Any] | None = None,
        profile: dict[str, Any] | None = None,
        app_type: str = "JupyterLab",
        apps: list[dict[str, Any]] | None = None,
        spaces: list[dict[str, Any]] | None = None,
        stuck_apps: bool = False,
    ) -> None:
        super().__init__()
        self.domain = domain or good_domain()
        self.profile = profile or good_profile()
        self.app_type = app_type
        self.apps = apps or []
        self.spaces = spaces or []
        self.stuck_apps = stuck_apps

    def handle_DescribeDomain(self, DomainId: str) -> dict[str, Any]:
        assert DomainId == DOMAIN_ID
        return copy.deepcopy(self.domain)

    def handle_DescribeUserProfile(self, DomainId: str, UserProfileName: str) -> dict[str, Any]:
        assert (DomainId, UserProfileName) == (DOMAIN_ID, PROFILE)
        return copy.deepcopy(self.profile)

    def handle_DescribeStudioLifecycleConfig(self, StudioLifecycleConfigName: str) -> dict:
        if StudioLifecycleConfigName != STUDIO_LIFECYCLE:
            raise client_error("ResourceNotFound", "DescribeStudioLifecycleConfig")
        return {
            "StudioLifecycleConfigArn": STUDIO_LIFECYCLE_ARN,
            "StudioLifecycleConfigName": STUDIO_LIFECYCLE,
            "StudioLifecycleConfigAppType": self.app_type,
        }

    def handle_ListApps(self, DomainIdEquals: str, NextToken: str | None = None) -> dict:
        assert DomainIdEquals == DOMAIN_ID
        listed = copy.deepcopy(self.apps)
        if not self.stuck_apps:
            for app in self.apps:
                if app["Status"] == "Deleting":
                    app["Status"] = "Deleted"
        # Two pages, so the pagination is exercised.
        if NextToken is None and len(listed) > 1:
            return {"Apps": listed[:1], "NextToken": "page-2"}
        return {"Apps": listed[1:] if NextToken else listed}

    def handle_DeleteApp(self, DomainId: str, AppType: str, AppName: str, **owner: str) -> dict:
        for app in self.apps:
            if (app["AppType"], app["AppName"]) == (AppType, AppName):
                key = "UserProfileName" if "UserProfileName" in app else "SpaceName"
                assert owner == {key: app[key]}
                app["Status"] = "Deleting"
                return {}
        raise client_error("ResourceNotFound", "DeleteApp")

    def handle_ListSpaces(self, DomainIdEquals: str, NextToken: str | None = None) -> dict:
        listed = copy.deepcopy(self.spaces)
        self.spaces = [space for space in self.spaces if space["Status"] != "Deleting"]
        return {"Spaces": listed}

    def handle_DeleteSpace(self, DomainId: str, SpaceName: str) -> dict[str, Any]:
        if any(a.get("SpaceName") == SpaceName and a["Status"] != "Deleted" for a in self.apps):
            raise client_error("ResourceInUse", "DeleteSpace")
        for space in self.spaces:
            if space["SpaceName"] == SpaceName:
                space["Status"] = "Deleting"
        return {}


class FakeSession:
    """A session whose clients are moto's (CloudFormation, Logs) or fakes."""

    def __init__(self, **clients: Any) -> None:
        self.clients = clients

    def client(self, name: str) -> Any:
        return self.clients[name]


# --- stacks ------------------------------------------------------------------------------------


def notebook_outputs(**overrides: str | None) -> dict[str, str]:
    values: dict[str, str | None] = {
        "NotebookName": NOTEBOOK,
        "LifecycleConfigName": LIFECYCLE,
        "NotebookEndpointId": NOTEBOOK_ENDPOINT,
        "DataBucketName": "mlrefarch-data",
        "JobRoleArn": JOB_ROLE_ARN,
        "DataScientistRoleArn": ROLE_ARN,
        "SubnetIds": ",".join(SUBNETS),
        "SecurityGroupId": SECURITY_GROUP,
        "KeyArn": KEY_ARN,
        "PackageSource": "codeartifact",
        "CodeArtifactDomain": "mlrefarch-isolatednotebook",
        "CodeArtifactRepository": "pypi-store",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def studio_outputs(**overrides: str | None) -> dict[str, str]:
    values: dict[str, str | None] = {
        "DomainId": DOMAIN_ID,
        "DomainUrl": f"https://{DOMAIN_ID}.studio.{REGION}.sagemaker.aws",
        "UserProfileName": PROFILE,
        "HomeEfsId": EFS_ID,
        "LifecycleConfigArn": STUDIO_LIFECYCLE_ARN,
        "DataBucketName": "mlrefarch-data",
        "JobRoleArn": JOB_ROLE_ARN,
        "DataScientistRoleArn": ROLE_ARN,
        "SubnetIds": ",".join(SUBNETS),
        "SecurityGroupId": SECURITY_GROUP,
        "KeyArn": KEY_ARN,
        "PackageSource": "s3-wheelhouse",
        "WheelhouseUri": "s3://mlrefarch-data/wheelhouse/",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def create_stack(cloudformation: Any, name: str, outputs: dict[str, str]) -> None:
    template = {
        "Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))


def put_lifecycle_log(
    logs: Any, stream_suffix: str, messages: list[str], start_ms: int = START_RUN_MS
) -> None:
    stream = f"{NOTEBOOK}/{stream_suffix}"
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=LOG_GROUP)
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName=stream,
        logEvents=[
            {"timestamp": start_ms + offset, "message": message}
            for offset, message in enumerate(messages)
        ],
    )


GOOD_LOG = [
    "Fetching CodeArtifact token",
    "ml-refarch lifecycle: configured pip for codeartifact mlrefarch-isolatednotebook/pypi-store",
    "Successfully installed pandas-2.2.2",
    "ml-refarch lifecycle: installed pandas scikit-learn",
]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield {"cloudformation": SESSION.client("cloudformation"), "logs": SESSION.client("logs")}


@pytest.fixture
def notebook_stack(aws: dict[str, Any]) -> dict[str, Any]:
    """A compliant notebook deployment; tests change one part of it."""
    create_stack(aws["cloudformation"], NOTEBOOK_STACK, notebook_outputs())
    # The create hook ran first; the start hook's later lines are the ones reported.
    put_lifecycle_log(aws["logs"], "LifecycleConfigOnCreate", GOOD_LOG[:2], CREATE_RUN_MS)
    put_lifecycle_log(aws["logs"], "LifecycleConfigOnStart", GOOD_LOG)
    return {
        **aws,
        "sagemaker": NotebookSageMaker(good_notebook()),
        "iam": GuardrailIam(),
    }


def run_notebook(clients: dict[str, Any], *extra: str, sleeps: list[float] | None = None) -> int:
    argv = ["--stack", NOTEBOOK_STACK, "--region", REGION, "--poll-seconds", "30", *extra]
    sleep = sleeps.append if sleeps is not None else (lambda seconds: None)
    return notebook_smoke.main(argv, session=FakeSession(**clients), sleep=sleep)


def check_lines(out: str) -> dict[str, str]:
    """{check name: "PASS"/"FAIL"} from the report lines."""
    result = {}
    for line in out.splitlines():
        outcome, _, rest = line.partition(" ")
        if outcome in ("PASS", "FAIL") and rest and not line.startswith(f"{outcome}:"):
            # Names hold "sagemaker:Key" but never ": ", which separates the detail.
            result[rest.split(": ", 1)[0]] = outcome
    return result


def failed(out: str) -> list[str]:
    return [name for name, outcome in check_lines(out).items() if outcome == "FAIL"]


# --- ml_refarch.smoke --------------------------------------------------------------------------


def test_report_prints_each_check_and_a_summary() -> None:
    lines: list[str] = []
    checks = [
        smoke.Check("a", True, "fine"),
        smoke.Check("b", False, "broken"),
        smoke.Check("c", True),
    ]
    assert smoke.report(checks, lines.append) == 1
    assert lines == ["PASS a: fine", "FAIL b: broken", "PASS c", "FAIL: 1 of 3 checks failed (b)"]
    lines.clear()
    assert smoke.report(checks[:1], lines.append) == 0
    assert lines[-1] == "PASS: all 1 checks passed"
    assert smoke.report([], lines.append) == 1  # nothing verified is not a pass


def test_require_names_every_missing_key() -> None:
    smoke.require({"A": "1", "B": "2"}, "A", "B")
    with pytest.raises(smoke.SetupError, match=r"missing or empty: B, C$"):
        smoke.require({"A": "1", "B": ""}, "A", "B", "C")


class FakeCloudFormation:
    def __init__(self, status: str) -> None:
        self.status = status

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        outputs = [{"OutputKey": "DomainId", "OutputValue": DOMAIN_ID}]
        return {
            "Stacks": [{"StackName": StackName, "StackStatus": self.status, "Outputs": outputs}]
        }


@pytest.mark.parametrize(
    "status", ["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"]
)
def test_stack_outputs_of_usable_stacks(status: str) -> None:
    assert smoke.stack_outputs(FakeCloudFormation(status), "s") == {"DomainId": DOMAIN_ID}


@pytest.mark.parametrize("status", ["CREATE_IN_PROGRESS", "ROLLBACK_COMPLETE", "UPDATE_FAILED"])
def test_stack_outputs_rejects_unusable_states(status: str) -> None:
    with pytest.raises(smoke.SetupError, match=f"stack 's' is {status}, not in a usable"):
        smoke.stack_outputs(FakeCloudFormation(status), "s")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"PackageSource": "pypi"}, "must be one of codeartifact, s3-wheelhouse, got 'pypi'"),
        ({"CodeArtifactRepository": None}, "missing or empty: CodeArtifactRepository"),
        ({"PackageSource": "s3-wheelhouse"}, "missing or empty: WheelhouseUri"),
    ],
)
def test_package_source_must_match_its_outputs(
    overrides: dict[str, str | None], message: str
) -> None:
    assert smoke.package_source(notebook_outputs()).startswith("codeartifact (domain ")
    with pytest.raises(smoke.SetupError, match=message):
        smoke.package_source(notebook_outputs(**overrides))


def test_deadline_counts_slept_time_with_a_fake_sleep() -> None:
    sleeps: list[float] = []
    deadline = smoke.Deadline(70, sleep=sleeps.append, clock=lambda: 0.0)
    assert deadline.wait(30) == 30 and deadline.wait(30) == 30 and deadline.wait(30) == 10
    assert deadline.expired and sleeps == [30, 30, 10]


def test_guardrail_requests_cover_each_control() -> None:
    requests = smoke.guardrail_requests(
        subnet_ids=SUBNETS, key_arn=KEY_ARN, endpoint_ids=[NOTEBOOK_ENDPOINT]
    )
    by_name = {request.name: request for request in requests}
    compliant = by_name["guardrail CreateTrainingJob compliant -> allowed"]
    assert compliant.context == (
        {
            "ContextKeyName": "sagemaker:VpcSubnets",
            "ContextKeyValues": SUBNETS,
            "ContextKeyType": "stringList",
        },
        {
            "ContextKeyName": "sagemaker:NetworkIsolation",
            "ContextKeyValues": ["true"],
            "ContextKeyType": "boolean",
        },
        {
            "ContextKeyName": "sagemaker:InterContainerTrafficEncryption",
            "ContextKeyValues": ["true"],
            "ContextKeyType": "boolean",
        },
        {
            "ContextKeyName": "sagemaker:VolumeKmsKey",
            "ContextKeyValues": [KEY_ARN],
            "ContextKeyType": "string",
        },
    )
    without_key = by_name[
        "guardrail CreateTrainingJob without sagemaker:VolumeKmsKey -> explicitDeny"
    ]
    assert [e["ContextKeyName"] for e in without_key.context] == [
        "sagemaker:VpcSubnets",
        "sagemaker:NetworkIsolation",
        "sagemaker:InterContainerTrafficEncryption",
    ]
    presigned = [r for r in requests if r.action == "sagemaker:CreatePresignedNotebookInstanceUrl"]
    assert [(r.context, r.expected) for r in presigned] == [
        ((smoke.context_entry("aws:SourceVpce", "string", [NOTEBOOK_ENDPOINT]),), "allowed"),
        (
            (smoke.context_entry("aws:SourceVpce", "string", ["vpce-0000000000000000"]),),
            "explicitDeny",
        ),
        ((), "explicitDeny"),
    ]
    assert len(requests) == 16
    assert len(smoke.guardrail_requests(subnet_ids=SUBNETS, key_arn=KEY_ARN)) == 13


def test_guardrail_checks_send_valid_requests_through_a_real_client() -> None:
    iam = SESSION.client("iam")
    requests = smoke.guardrail_requests(subnet_ids=SUBNETS, key_arn=KEY_ARN)
    with Stubber(iam) as stubber:
        for position, request in enumerate(requests):
            expected = {
                "PolicySourceArn": ROLE_ARN,
                "ActionNames": [request.action],
                "ResourceArns": [ANY],
                "ContextEntries": list(request.context),
            }
            if position == 0:
                expected["ResourceArns"] = [
                    f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/ml-refarch-smoke-simulated"
                ]
            result = {
                "EvalActionName": request.action,
                "EvalResourceName": "*",
                "EvalDecision": request.expected,
            }
            stubber.add_response(
                "simulate_principal_policy", {"EvaluationResults": [result]}, expected
            )
        checks = smoke.guardrail_checks(iam, ROLE_ARN, subnet_ids=SUBNETS, key_arn=KEY_ARN)
        stubber.assert_no_pending_responses()
    assert [check.passed for check in checks] == [True] * len(requests)


def test_guardrail_checks_report_missing_context_and_boundaries() -> None:
    class Iam:
        def simulate_principal_policy(self, **params: Any) -> dict[str, Any]:
            return {
                "EvaluationResults": [
                    {
                        "EvalActionName": params["ActionNames"][0],
                        "EvalResourceName": "*",
                        "EvalDecision": "implicitDeny",
                        "MissingContextValues": ["sagemaker:VpcSubnets"],
                        "PermissionsBoundaryDecisionDetail": {
                            "AllowedByPermissionsBoundary": False
                        },
                    }
                ]
            }

    checks = smoke.guardrail_checks(Iam(), ROLE_ARN, subnet_ids=SUBNETS, key_arn=KEY_ARN)
    assert checks[0] == smoke.Check(
        "guardrail CreateTrainingJob compliant -> allowed",
        False,
        "implicitDeny (expected allowed); missing context values: sagemaker:VpcSubnets; "
        "denied by the permissions boundary",
    )


def test_guardrail_checks_reject_malformed_arns() -> None:
    with pytest.raises(smoke.SetupError, match="not an IAM role ARN"):
        smoke.guardrail_checks(GuardrailIam(), "role/x", subnet_ids=SUBNETS, key_arn=KEY_ARN)
    with pytest.raises(smoke.SetupError, match="not a regional KMS key ARN"):
        smoke.guardrail_checks(GuardrailIam(), ROLE_ARN, subnet_ids=SUBNETS, key_arn=KEY_ID)


# --- isolated notebook ----------------------------------------------------------------------------


def test_notebook_dry_run_needs_no_aws(monkeypatch, capsys) -> None:
    def no_aws(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("dry run must not create AWS clients")

    monkeypatch.setattr(notebook_smoke.boto3, "Session", no_aws)
    assert notebook_smoke.main(["--dry-run", "--start"]) == 0
    out = capsys.readouterr().out
    for name, _ in notebook_smoke.NOTEBOOK_CHECKS:
        assert f"  {name}: " in out
    assert "start it if Stopped" in out and NOTEBOOK_STACK in out
    assert "CreatePresignedNotebookInstanceUrl via vpce-0000000000000000 -> explicitDeny" in out
    assert "aws:SourceVpce (string) = <NotebookEndpointId>" in out


def test_notebook_all_checks_pass(notebook_stack, capsys) -> None:
    assert run_notebook(notebook_stack) == 0

    out = capsys.readouterr().out
    results = check_lines(out)
    start_run_time = datetime.datetime.fromtimestamp(START_RUN_MS / 1000, datetime.UTC).isoformat()
    assert [name for name, _ in notebook_smoke.NOTEBOOK_CHECKS] == list(results)[:10]
    assert set(results.values()) == {"PASS"} and len(results) == 26
    assert "PASS: all 26 checks passed" in out
    assert f"PASS volume KMS key: KmsKeyId {KEY_ID} (the stack's key)" in out
    assert (
        "PASS lifecycle script ran: ml-refarch lifecycle: configured pip for codeartifact "
        f"mlrefarch-isolatednotebook/pypi-store ({NOTEBOOK}/LifecycleConfigOnStart, "
        f"{start_run_time}); ml-refarch lifecycle: installed pandas scikit-learn"
    ) in out
    assert "packages from codeartifact (domain mlrefarch-isolatednotebook" in out
    calls = notebook_stack["iam"].calls
    assert len(calls) == 16
    assert calls[-3]["ResourceArns"] == [
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/ml-refarch-smoke-simulated"
    ]


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ({"NotebookInstanceStatus": "Failed", "FailureReason": "no capacity"}, "notebook status"),
        ({"DirectInternetAccess": "Enabled"}, "direct internet access"),
        ({"RootAccess": "Enabled"}, "root access"),
        ({"KmsKeyId": None}, "volume KMS key"),
        ({"SubnetId": "subnet-0other"}, "subnet"),
        ({"SecurityGroups": ["sg-0other"]}, "security group"),
        (
            {
                "InstanceMetadataServiceConfiguration": {
                    "MinimumInstanceMetadataServiceVersion": "1"
                }
            },
            "IMDSv2",
        ),
        ({"InstanceMetadataServiceConfiguration": None}, "IMDSv2"),
        ({"NotebookInstanceLifecycleConfigName": None}, "lifecycle configuration"),
        ({"RoleArn": JOB_ROLE_ARN}, "execution role"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_notebook_property_wrong_fails_that_check(
    notebook_stack, capsys, change: dict[str, Any], check: str
) -> None:
    description = good_notebook()
    for key, value in change.items():
        if value is None:
            description.pop(key)
        else:
            description[key] = value
    notebook_stack["sagemaker"] = NotebookSageMaker(description)

    assert run_notebook(notebook_stack) == 1

    out = capsys.readouterr().out
    assert failed(out) == [check]
    assert f"FAIL: 1 of 26 checks failed ({check})" in out


def test_notebook_kms_key_of_another_key_is_reported(notebook_stack, capsys) -> None:
    notebook_stack["sagemaker"].description["KmsKeyId"] = "other-key-id"
    assert run_notebook(notebook_stack) == 0
    assert f"KmsKeyId other-key-id (not the stack's key {KEY_ARN})" in capsys.readouterr().out


def test_notebook_is_started_with_start_and_waited_for(notebook_stack, capsys) -> None:
    sagemaker = NotebookSageMaker(
        good_notebook(), statuses=("Stopped", "Pending", "Pending", "InService")
    )
    notebook_stack["sagemaker"] = sagemaker
    sleeps: list[float] = []

    assert run_notebook(notebook_stack, "--start", sleeps=sleeps) == 0

    assert sagemaker.operations("StartNotebookInstance") == [{"NotebookInstanceName": NOTEBOOK}]
    assert len(sagemaker.operations("DescribeNotebookInstance")) == 4
    assert sleeps == [30, 30, 30]
    out = capsys.readouterr().out
    assert f"notebook {NOTEBOOK} is Stopped; starting it" in out
    assert f"notebook {NOTEBOOK} is Pending; waited 30 s" in out


def test_notebook_stopped_without_start_fails(notebook_stack, capsys) -> None:
    notebook_stack["sagemaker"].description["NotebookInstanceStatus"] = "Stopped"
    assert run_notebook(notebook_stack) == 1
    out = capsys.readouterr().out
    assert "FAIL notebook status: Stopped (rerun with --start)" in out
    assert notebook_stack["sagemaker"].operations("StartNotebookInstance") == []


def test_notebook_pending_past_the_timeout_fails(notebook_stack, capsys) -> None:
    notebook_stack["sagemaker"].description["NotebookInstanceStatus"] = "Pending"
    sleeps: list[float] = []

    assert run_notebook(notebook_stack, "--timeout-seconds", "70", sleeps=sleeps) == 1

    assert sleeps == [30, 30, 10]
    out = capsys.readouterr().out
    assert "FAIL notebook status: still Pending after 70 s (--timeout-seconds)" in out


@pytest.mark.parametrize(
    ("streams", "detail"),
    [
        (
            {"LifecycleConfigOnStart": ["pip install failed", "ml-refarch lifecycle: installed x"]},
            f"no 'ml-refarch lifecycle: configured pip' line in {LOG_GROUP} streams "
            f"{NOTEBOOK}/LifecycleConfigOn*",
        ),
        ({}, f"log group {LOG_GROUP} does not exist"),
    ],
    ids=["line-missing", "group-missing"],
)
def test_notebook_without_lifecycle_log_line_fails(
    aws, capsys, streams: dict[str, list[str]], detail: str
) -> None:
    create_stack(aws["cloudformation"], NOTEBOOK_STACK, notebook_outputs())
    for suffix, messages in streams.items():
        put_lifecycle_log(aws["logs"], suffix, messages)
    # Another notebook's stream must not count for this one.
    if streams:
        aws["logs"].create_log_stream(
            logGroupName=LOG_GROUP, logStreamName=f"{NOTEBOOK}-2/LifecycleConfigOnStart"
        )
        aws["logs"].put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=f"{NOTEBOOK}-2/LifecycleConfigOnStart",
            logEvents=[{"timestamp": START_RUN_MS, "message": GOOD_LOG[1]}],
        )
    clients = {**aws, "sagemaker": NotebookSageMaker(good_notebook()), "iam": GuardrailIam()}

    assert run_notebook(clients) == 1

    out = capsys.readouterr().out
    assert failed(out) == ["lifecycle script ran"]
    assert f"FAIL lifecycle script ran: {detail}" in out


def test_notebook_lifecycle_from_on_create_only_passes_without_install_line(aws, capsys) -> None:
    create_stack(aws["cloudformation"], NOTEBOOK_STACK, notebook_outputs())
    put_lifecycle_log(
        aws["logs"], "LifecycleConfigOnCreate", ["x ml-refarch lifecycle: configured pip"]
    )
    clients = {**aws, "sagemaker": NotebookSageMaker(good_notebook()), "iam": GuardrailIam()}

    assert run_notebook(clients) == 0

    out = capsys.readouterr().out
    assert f"({NOTEBOOK}/LifecycleConfigOnCreate, " in out and "no 'installed' line" in out


@pytest.mark.parametrize(
    ("unenforced", "expected_failures"),
    [
        (
            ("DenySageMakerVolumeWithoutKmsKey",),
            [
                "guardrail CreateTrainingJob without sagemaker:VolumeKmsKey -> explicitDeny",
                "guardrail CreateTransformJob without sagemaker:VolumeKmsKey -> explicitDeny",
            ],
        ),
        (
            ("DenySageMakerNetworkIsolationOff",),
            [
                "guardrail CreateTrainingJob with sagemaker:NetworkIsolation=false -> explicitDeny",
                "guardrail CreateModel with sagemaker:NetworkIsolation=false -> explicitDeny",
            ],
        ),
        (
            ("DenyPresignedUrlOutsideVpcEndpoint",),
            [
                "guardrail CreatePresignedNotebookInstanceUrl via vpce-0000000000000000 "
                "-> explicitDeny",
                "guardrail CreatePresignedNotebookInstanceUrl from outside any VPC endpoint "
                "-> explicitDeny",
            ],
        ),
    ],
    ids=["volume-key", "isolation-off", "presigned-url"],
)
def test_notebook_guardrail_unexpectedly_allowed_fails(
    notebook_stack, capsys, unenforced: tuple[str, ...], expected_failures: list[str]
) -> None:
    notebook_stack["iam"] = GuardrailIam(unenforced=unenforced)

    assert run_notebook(notebook_stack) == 1

    out = capsys.readouterr().out
    assert failed(out) == expected_failures
    assert f"FAIL {expected_failures[0]}: allowed (expected explicitDeny)" in out


def test_notebook_endpoint_not_in_the_guardrail_fails(notebook_stack, capsys) -> None:
    notebook_stack["iam"] = GuardrailIam(endpoint_ids=(API_ENDPOINT,))
    assert run_notebook(notebook_stack) == 1
    assert failed(capsys.readouterr().out) == [
        f"guardrail CreatePresignedNotebookInstanceUrl via {NOTEBOOK_ENDPOINT} -> allowed"
    ]


def test_notebook_simulation_access_denied_fails_once(notebook_stack, capsys) -> None:
    notebook_stack["iam"] = GuardrailIam(error="AccessDenied")
    assert run_notebook(notebook_stack) == 1
    out = capsys.readouterr().out
    assert failed(out) == ["guardrail simulation"]
    assert "iam:SimulatePrincipalPolicy failed (AccessDenied: AccessDenied); 16 of 16" in out
    assert len(notebook_stack["iam"].calls) == 1


def test_notebook_missing_stack_is_a_setup_error(aws, capsys) -> None:
    clients = {**aws, "sagemaker": NotebookSageMaker(good_notebook()), "iam": GuardrailIam()}
    assert run_notebook(clients) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"error: cannot read stack '{NOTEBOOK_STACK}': ValidationError: ")
    assert "does not exist" in err


def test_notebook_missing_output_is_a_setup_error(aws, capsys) -> None:
    outputs = notebook_outputs(NotebookEndpointId=None, KeyArn=None)
    create_stack(aws["cloudformation"], NOTEBOOK_STACK, outputs)
    sagemaker = NotebookSageMaker(good_notebook())
    clients = {**aws, "sagemaker": sagemaker, "iam": GuardrailIam()}

    assert run_notebook(clients) == 2

    assert capsys.readouterr().err == (
        "error: stack outputs missing or empty: NotebookEndpointId, KeyArn\n"
    )
    assert sagemaker.calls == []


# --- Studio domain -------------------------------------------------------------------------------


@pytest.fixture
def studio_stack(aws: dict[str, Any]) -> dict[str, Any]:
    create_stack(aws["cloudformation"], STUDIO_STACK, studio_outputs())
    return {
        "cloudformation": aws["cloudformation"],
        "sagemaker": StudioSageMaker(),
        "iam": GuardrailIam(endpoint_ids=None),
    }


def run_studio(clients: dict[str, Any], *extra: str, sleeps: list[float] | None = None) -> int:
    argv = ["--stack", STUDIO_STACK, "--region", REGION, "--poll-seconds", "10", *extra]
    sleep = sleeps.append if sleeps is not None else (lambda seconds: None)
    return studio_smoke.main(argv, session=FakeSession(**clients), sleep=sleep)


def test_studio_dry_run_needs_no_aws(monkeypatch, capsys) -> None:
    def no_aws(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("dry run must not create AWS clients")

    monkeypatch.setattr(studio_smoke.boto3, "Session", no_aws)
    assert studio_smoke.main(["--dry-run"]) == 0
    out = capsys.readouterr().out
    for name, _ in studio_smoke.STUDIO_CHECKS:
        assert f"  {name}: " in out
    assert "CreatePresigned" not in out and "CreateModel compliant -> allowed" in out

    assert studio_smoke.main(["--dry-run", "--teardown", "--region", "eu-west-1"]) == 0
    out = capsys.readouterr().out
    assert "list_apps -> delete_app" in out
    assert "aws efs delete-file-system --file-system-id '<HomeEfsId>' --region eu-west-1" in out


def test_studio_all_checks_pass(studio_stack, capsys) -> None:
    assert run_studio(studio_stack) == 0

    out = capsys.readouterr().out
    results = check_lines(out)
    assert [name for name, _ in studio_smoke.STUDIO_CHECKS] == list(results)[:11]
    assert set(results.values()) == {"PASS"} and len(results) == 24
    assert "packages from s3-wheelhouse (s3://mlrefarch-data/wheelhouse/)" in out
    assert studio_stack["sagemaker"].operations("DescribeStudioLifecycleConfig") == [
        {"StudioLifecycleConfigName": STUDIO_LIFECYCLE}
    ]
    assert len(studio_stack["iam"].calls) == 13


def without_role(profile: dict[str, Any]) -> dict[str, Any]:
    profile["UserSettings"].pop("ExecutionRole")
    return profile


@pytest.mark.parametrize(
    ("domain_change", "profile_change", "app_type", "check"),
    [
        ({"Status": "Failed"}, {}, "JupyterLab", "domain status"),
        ({"AppNetworkAccessType": "PublicInternetOnly"}, {}, "JupyterLab", "domain network access"),
        ({"KmsKeyId": None}, {}, "JupyterLab", "domain KMS key"),
        ({"SubnetIds": SUBNETS[:1]}, {}, "JupyterLab", "domain subnets"),
        ({"HomeEfsFileSystemId": "fs-0other"}, {}, "JupyterLab", "domain home file system"),
        ({}, {"Status": "Failed"}, "JupyterLab", "user profile status"),
        (
            {},
            {"UserSettings": {"ExecutionRole": JOB_ROLE_ARN}},
            "JupyterLab",
            "user profile execution role",
        ),
        ({}, {}, "JupyterServer", "lifecycle configuration app type"),
    ],
)
def test_studio_setting_wrong_fails_that_check(
    studio_stack,
    capsys,
    domain_change: dict[str, Any],
    profile_change: dict[str, Any],
    app_type: str,
    check: str,
) -> None:
    domain, profile = good_domain(), good_profile()
    for target, change in ((domain, domain_change), (profile, profile_change)):
        for key, value in change.items():
            if value is None:
                target.pop(key)
            else:
                target[key] = value
    studio_stack["sagemaker"] = StudioSageMaker(domain=domain, profile=profile, app_type=app_type)

    assert run_studio(studio_stack) == 1

    assert failed(capsys.readouterr().out) == [check]


@pytest.mark.parametrize(
    ("setting", "value", "check"),
    [
        ("ExecutionRole", JOB_ROLE_ARN, "domain execution role"),
        ("SecurityGroups", ["sg-0other"], "domain security group"),
        ("JupyterLabAppSettings", {}, "domain lifecycle configuration"),
    ],
)
def test_studio_default_user_setting_wrong_fails_that_check(
    studio_stack, capsys, setting: str, value: Any, check: str
) -> None:
    domain = good_domain()
    domain["DefaultUserSettings"][setting] = value
    studio_stack["sagemaker"] = StudioSageMaker(domain=domain)

    assert run_studio(studio_stack) == 1

    out = capsys.readouterr().out
    # The profile has its own role, so a wrong domain default fails only the domain check.
    assert failed(out) == [check]


def test_studio_profile_inherits_the_domain_role(studio_stack, capsys) -> None:
    studio_stack["sagemaker"] = StudioSageMaker(profile=without_role(good_profile()))
    assert run_studio(studio_stack) == 0
    assert "PASS user profile execution role: ExecutionRole (domain default) " in (
        capsys.readouterr().out
    )


def test_studio_missing_lifecycle_config_fails(studio_stack, capsys) -> None:
    other = STUDIO_LIFECYCLE_ARN.replace(STUDIO_LIFECYCLE, "gone")
    domain = good_domain()
    domain["DefaultUserSettings"]["JupyterLabAppSettings"]["LifecycleConfigArns"] = [other]
    create_stack(studio_stack["cloudformation"], "Other", studio_outputs(LifecycleConfigArn=other))
    studio_stack["sagemaker"] = StudioSageMaker(domain=domain)

    assert (
        studio_smoke.main(
            ["--stack", "Other"], session=FakeSession(**studio_stack), sleep=lambda s: None
        )
        == 1
    )

    out = capsys.readouterr().out
    assert failed(out) == ["lifecycle configuration app type"]
    assert "FAIL lifecycle configuration app type: gone: ResourceNotFound: " in out


def test_studio_guardrail_unexpectedly_allowed_fails(studio_stack, capsys) -> None:
    studio_stack["iam"] = GuardrailIam(endpoint_ids=None, unenforced=("DenySageMakerOutsideVpc",))
    assert run_studio(studio_stack) == 1
    assert failed(capsys.readouterr().out) == [
        "guardrail CreateTrainingJob without sagemaker:VpcSubnets -> explicitDeny",
        "guardrail CreateModel without sagemaker:VpcSubnets -> explicitDeny",
    ]


def test_studio_missing_output_is_a_setup_error(aws, capsys) -> None:
    create_stack(aws["cloudformation"], STUDIO_STACK, studio_outputs(UserProfileName=None))
    clients = {**aws, "sagemaker": StudioSageMaker(), "iam": GuardrailIam(endpoint_ids=None)}
    assert run_studio(clients) == 2
    assert capsys.readouterr().err == "error: stack outputs missing or empty: UserProfileName\n"


def test_studio_missing_stack_is_a_setup_error(aws, capsys) -> None:
    clients = {**aws, "sagemaker": StudioSageMaker(), "iam": GuardrailIam(endpoint_ids=None)}
    assert run_studio(clients, "--teardown") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot read stack '{STUDIO_STACK}'" in err


def studio_apps() -> list[dict[str, Any]]:
    return [
        {"AppType": "JupyterLab", "AppName": "default", "SpaceName": "team", "Status": "InService"},
        {
            "AppType": "JupyterServer",
            "AppName": "default",
            "UserProfileName": PROFILE,
            "Status": "Failed",
        },
        {
            "AppType": "KernelGateway",
            "AppName": "old",
            "UserProfileName": PROFILE,
            "Status": "Deleted",
        },
    ]


def test_studio_teardown_deletes_apps_then_spaces_and_prints_the_efs_command(
    studio_stack, capsys
) -> None:
    sagemaker = StudioSageMaker(
        apps=studio_apps(),
        spaces=[
            {"DomainId": DOMAIN_ID, "SpaceName": "team", "Status": "InService"},
            {"DomainId": DOMAIN_ID, "SpaceName": "private", "Status": "Failed"},
        ],
    )
    studio_stack["sagemaker"] = sagemaker
    sleeps: list[float] = []

    assert run_studio(studio_stack, "--teardown", sleeps=sleeps) == 0

    assert sagemaker.operations("DeleteApp") == [
        {"DomainId": DOMAIN_ID, "AppType": "JupyterLab", "AppName": "default", "SpaceName": "team"},
        {
            "DomainId": DOMAIN_ID,
            "AppType": "JupyterServer",
            "AppName": "default",
            "UserProfileName": PROFILE,
        },
    ]
    assert sagemaker.operations("DeleteSpace") == [
        {"DomainId": DOMAIN_ID, "SpaceName": "team"},
        {"DomainId": DOMAIN_ID, "SpaceName": "private"},
    ]
    operations = [name for name, _ in sagemaker.calls]
    assert operations.index("DeleteSpace") > max(
        i for i, name in enumerate(operations) if name == "DeleteApp"
    )
    assert all(app["Status"] == "Deleted" for app in sagemaker.apps) and sagemaker.spaces == []
    assert sleeps == [10, 10]
    out = capsys.readouterr().out
    assert f"aws efs delete-file-system --file-system-id {EFS_ID} --region {REGION}\n" in out
    assert f"home file system {EFS_ID}: Studio keeps it" in out
    assert "PASS apps deleted: 2 deleted now, 1 already Deleted or Deleting" in out
    assert "PASS spaces deleted: 2 space(s) deleted" in out
    assert "describe" not in " ".join(operations).lower()  # teardown runs no checks


def test_studio_teardown_with_nothing_to_delete(studio_stack, capsys) -> None:
    assert run_studio(studio_stack, "--teardown") == 0
    out = capsys.readouterr().out
    assert "PASS apps deleted: 0 deleted now, 0 already Deleted or Deleting" in out
    assert f"--file-system-id {EFS_ID}" in out


def test_studio_teardown_times_out_on_stuck_apps(studio_stack, capsys) -> None:
    sagemaker = StudioSageMaker(
        apps=studio_apps()[:1],
        spaces=[{"DomainId": DOMAIN_ID, "SpaceName": "team", "Status": "InService"}],
        stuck_apps=True,
    )
    studio_stack["sagemaker"] = sagemaker
    sleeps: list[float] = []

    assert run_studio(studio_stack, "--teardown", "--timeout-seconds", "25", sleeps=sleeps) == 1

    assert sleeps == [10, 10, 5]
    out = capsys.readouterr().out
    assert "FAIL apps deleted: not deleted after 25 s: JupyterLab/default of team (Deleting)" in out
    assert "FAIL spaces deleted: team: ResourceInUse: ResourceInUse" in out
    assert f"--file-system-id {EFS_ID}" in out  # printed even when teardown is incomplete
