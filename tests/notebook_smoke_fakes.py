"""Fakes and builders shared by the notebook patterns' smoke tests, without real AWS.

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
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.validate import validate_parameters

from ml_refarch.stacks.isolated_notebook.outputs import Outputs as NotebookStackOutputs
from ml_refarch.stacks.studio_domain.outputs import Outputs as StudioOutputs
from tests.smoke_fakes import moto_clients

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
        NotebookStackOutputs.NOTEBOOK_NAME: NOTEBOOK,
        NotebookStackOutputs.LIFECYCLE_CONFIG_NAME: LIFECYCLE,
        NotebookStackOutputs.NOTEBOOK_ENDPOINT_ID: NOTEBOOK_ENDPOINT,
        NotebookStackOutputs.DATA_BUCKET_NAME: "mlrefarch-data",
        NotebookStackOutputs.JOB_ROLE_ARN: JOB_ROLE_ARN,
        NotebookStackOutputs.DATA_SCIENTIST_ROLE_ARN: ROLE_ARN,
        NotebookStackOutputs.SUBNET_IDS: ",".join(SUBNETS),
        NotebookStackOutputs.SECURITY_GROUP_ID: SECURITY_GROUP,
        NotebookStackOutputs.KEY_ARN: KEY_ARN,
        NotebookStackOutputs.PACKAGE_SOURCE: "codeartifact",
        NotebookStackOutputs.CODE_ARTIFACT_DOMAIN: "mlrefarch-isolatednotebook",
        NotebookStackOutputs.CODE_ARTIFACT_REPOSITORY: "pypi-store",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def studio_outputs(**overrides: str | None) -> dict[str, str]:
    values: dict[str, str | None] = {
        StudioOutputs.DOMAIN_ID: DOMAIN_ID,
        StudioOutputs.DOMAIN_URL: f"https://{DOMAIN_ID}.studio.{REGION}.sagemaker.aws",
        StudioOutputs.USER_PROFILE_NAME: PROFILE,
        StudioOutputs.HOME_EFS_ID: EFS_ID,
        StudioOutputs.LIFECYCLE_CONFIG_ARN: STUDIO_LIFECYCLE_ARN,
        StudioOutputs.DATA_BUCKET_NAME: "mlrefarch-data",
        StudioOutputs.JOB_ROLE_ARN: JOB_ROLE_ARN,
        StudioOutputs.DATA_SCIENTIST_ROLE_ARN: ROLE_ARN,
        StudioOutputs.SUBNET_IDS: ",".join(SUBNETS),
        StudioOutputs.SECURITY_GROUP_ID: SECURITY_GROUP,
        StudioOutputs.KEY_ARN: KEY_ARN,
        StudioOutputs.PACKAGE_SOURCE: "s3-wheelhouse",
        StudioOutputs.WHEELHOUSE_URI: "s3://mlrefarch-data/wheelhouse/",
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


def aws_clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto's CloudFormation and Logs with test credentials: the body of each test's ``aws``
    fixture."""
    yield from moto_clients(monkeypatch, SESSION, REGION, "cloudformation", "logs")


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
