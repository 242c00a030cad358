"""Architecture diagrams of the patterns, drawn from their synthesized templates.

A diagram is a graph of the architecturally meaningful resources of one pattern's template:

- nodes are resources, grouped by service (S3, KMS, Kinesis, ...); plumbing is left out
  (CDK metadata, custom resources and their providers, Lambda permissions, route tables) or
  folded into the resource it serves (IAM policies into their role, bucket and topic
  policies into the bucket or topic, security group rules into their group, subnets into
  their VPC, an endpoint's own security group into the endpoint, an access-log bucket into
  the bucket it logs, a data repository association into its file system),
- a few pseudo-nodes stand for what the template implies but does not contain (training
  jobs a workflow starts, PyPI behind a CodeArtifact repository),
- edges come from references (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, anywhere in a resource's
  properties, and ``DependsOn``). Where the pattern's table of known flows covers a pair of
  nodes, the edge points the way the data flows and carries the flow's label; every other
  reference is a lighter dependency edge ("encrypts", "runs as", "logs to", ...).

The drawing is deterministic: the layout is computed (flow stages left to right, supporting
services in a row underneath), and the SVG is written with a fixed hash salt, no dates and
text kept as text, so one template always gives the same bytes. The SVG starts with the
SHA-256 of the graph's fingerprint (``diagram_fingerprint``), so a committed diagram can be
checked for staleness without drawing it again.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from ml_refarch.catalog import by_id

#: Where the committed diagrams live, relative to the project root.
DEFAULT_OUT_DIR = Path("docs/diagrams")

#: Bump when the drawing changes in a way the graph does not show, so that committed
#: diagrams read as stale (the version is part of the fingerprint).
DIAGRAM_FORMAT_VERSION = 1

FINGERPRINT_COMMENT = "<!-- ml-refarch diagram fingerprint: {digest} -->"
_FINGERPRINT_RE = re.compile(r"<!-- ml-refarch diagram fingerprint: ([0-9a-f]{64}) -->")

# ---------------------------------------------------------------------------------------
# Service groups
# ---------------------------------------------------------------------------------------

OTHER_GROUP = "Other"
EXTERNAL_GROUP = "External"


@dataclass(frozen=True)
class ServiceGroup:
    """A service box: its name, the type prefix of its resources, and its colours."""

    name: str
    type_prefix: str | None
    edge_colour: str
    face_colour: str


#: In the order supporting groups appear in the bottom row.
SERVICE_GROUPS: tuple[ServiceGroup, ...] = (
    ServiceGroup(EXTERNAL_GROUP, None, "#545B64", "#F2F3F3"),
    ServiceGroup("Kinesis", "AWS::Kinesis::", "#8C4FFF", "#F1EAFF"),
    ServiceGroup("Firehose", "AWS::KinesisFirehose::", "#7D3FD8", "#EFE6FC"),
    ServiceGroup("Step Functions", "AWS::StepFunctions::", "#D6246E", "#FCE8F0"),
    ServiceGroup("SageMaker", "AWS::SageMaker::", "#067F68", "#E3F4F0"),
    ServiceGroup("Lambda", "AWS::Lambda::", "#D45B07", "#FDEDE0"),
    ServiceGroup("Glue", "AWS::Glue::", "#5A30B5", "#ECE6F8"),
    ServiceGroup("S3", "AWS::S3::", "#3F8624", "#EAF4E4"),
    ServiceGroup("FSx", "AWS::FSx::", "#277116", "#E6F1E2"),
    ServiceGroup("CodeArtifact", "AWS::CodeArtifact::", "#2E73B8", "#E6F0FA"),
    ServiceGroup("SNS", "AWS::SNS::", "#B0084D", "#FBE5EE"),
    ServiceGroup("API Gateway", "AWS::ApiGateway::", "#8C4FFF", "#F1EAFF"),
    ServiceGroup("WAF", "AWS::WAFv2::", "#DD344C", "#FCE8EB"),
    ServiceGroup("EventBridge", "AWS::Events::", "#E7157B", "#FDE7F2"),
    ServiceGroup("Auto Scaling", "AWS::ApplicationAutoScaling::", "#ED7100", "#FEF0E3"),
    ServiceGroup("CloudWatch", "AWS::CloudWatch::", "#B0084D", "#FBE8F0"),
    ServiceGroup("VPC / EC2", "AWS::EC2::", "#6B40C9", "#F3EFFB"),
    ServiceGroup("IAM", "AWS::IAM::", "#BF0816", "#FCE9EA"),
    ServiceGroup("KMS", "AWS::KMS::", "#C7511F", "#FDEEE6"),
    ServiceGroup("CloudWatch Logs", "AWS::Logs::", "#B0084D", "#FBE8F0"),
    ServiceGroup(OTHER_GROUP, None, "#687078", "#F4F4F4"),
)
_GROUPS_BY_NAME = {group.name: group for group in SERVICE_GROUPS}
VPC_GROUP = "VPC / EC2"
KMS_GROUP = "KMS"


def service_group(resource_type: str) -> str:
    """The service group of a CloudFormation resource type (``Other`` if unknown)."""
    for group in SERVICE_GROUPS:
        if group.type_prefix and resource_type.startswith(group.type_prefix):
            return group.name
    return OTHER_GROUP


#: Short names of the resource types the patterns use; others are derived from the type.
TYPE_NAMES: dict[str, str] = {
    "AWS::Kinesis::Stream": "Kinesis stream",
    "AWS::KinesisFirehose::DeliveryStream": "Firehose delivery stream",
    "AWS::S3::Bucket": "S3 bucket",
    "AWS::KMS::Key": "KMS key",
    "AWS::Glue::Database": "Glue database",
    "AWS::Glue::Table": "Glue table",
    "AWS::Lambda::Function": "Lambda function",
    "AWS::IAM::Role": "IAM role",
    "AWS::Logs::LogGroup": "log group",
    "AWS::EC2::VPC": "VPC",
    "AWS::EC2::VPCEndpoint": "VPC endpoint",
    "AWS::EC2::SecurityGroup": "security group",
    "AWS::EC2::FlowLog": "VPC flow log",
    "AWS::EC2::Subnet": "subnet",
    "AWS::FSx::FileSystem": "FSx file system",
    "AWS::SageMaker::NotebookInstance": "notebook instance",
    "AWS::SageMaker::NotebookInstanceLifecycleConfig": "lifecycle config",
    "AWS::SageMaker::Domain": "Studio domain",
    "AWS::SageMaker::UserProfile": "Studio user profile",
    "AWS::SageMaker::StudioLifecycleConfig": "Studio lifecycle config",
    "AWS::CodeArtifact::Domain": "CodeArtifact domain",
    "AWS::CodeArtifact::Repository": "CodeArtifact repository",
    "AWS::StepFunctions::StateMachine": "state machine",
    "AWS::SNS::Topic": "SNS topic",
    "AWS::SageMaker::Model": "model",
    "AWS::SageMaker::EndpointConfig": "endpoint config",
    "AWS::SageMaker::Endpoint": "endpoint",
    "AWS::SageMaker::DataQualityJobDefinition": "data-quality job definition",
    "AWS::SageMaker::MonitoringSchedule": "monitoring schedule",
    "AWS::ApplicationAutoScaling::ScalableTarget": "scalable target",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "scaling policy",
    "AWS::CloudWatch::Alarm": "alarm",
    "AWS::ApiGateway::RestApi": "REST API",
    "AWS::WAFv2::WebACL": "web ACL",
    "AWS::Events::Rule": "EventBridge rule",
}


def type_name(resource_type: str) -> str:
    """A short, readable name of a resource type: ``Kinesis stream`` for AWS::Kinesis::Stream."""
    if resource_type in TYPE_NAMES:
        return TYPE_NAMES[resource_type]
    parts = resource_type.split("::")
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", parts[-1]).lower()
    return f"{parts[1]} {words}" if len(parts) == 3 else words


# ---------------------------------------------------------------------------------------
# Nodes and edges
# ---------------------------------------------------------------------------------------

FLOW = "flow"
ENCRYPTS = "encrypts"
RUNS_AS = "runs as"
LOGS_TO = "logs to"
NETWORK = "network"
USES = "uses"
EDGE_KINDS = (FLOW, ENCRYPTS, RUNS_AS, LOGS_TO, NETWORK, USES)

PSEUDO_PREFIX = "pseudo:"


@dataclass(frozen=True)
class Node:
    """A diagram node: a template resource, or a pseudo-node (``pseudo:...`` id, no type)."""

    id: str
    type: str
    group: str
    label: str
    detail: str

    @property
    def pseudo(self) -> bool:
        return self.id.startswith(PSEUDO_PREFIX)


@dataclass(frozen=True)
class Edge:
    """A diagram edge: ``kind`` picks the line style, ``label`` says what it means."""

    source: str
    target: str
    kind: str
    label: str


@dataclass(frozen=True)
class Match:
    """Selects resource nodes: by type, and for VPC endpoints or roles by what they serve.

    Attributes:
        type: the CloudFormation type.
        services: VPC endpoints only: the service (``s3``, ``sagemaker.api``) is one of these.
        other_than: VPC endpoints only: the service is none of these (interface endpoints).
        trusted_service: roles only: the trust policy admits this service principal.
    """

    type: str
    services: tuple[str, ...] = ()
    other_than: tuple[str, ...] | None = None
    trusted_service: str | None = None


@dataclass(frozen=True)
class Pseudo:
    """A pseudo-node, present when a resource matches ``anchor`` (and ``marker``, a regex
    searched in that resource's properties as JSON)."""

    key: str
    label: str
    detail: str
    group: str
    anchor: Match
    marker: str | None = None

    @property
    def id(self) -> str:
        return PSEUDO_PREFIX + self.key


@dataclass(frozen=True)
class KnownFlow:
    """An edge the pattern is known to have, from ``source`` to ``target``.

    Endpoints are a ``Match`` or a pseudo-node key. Between two resources, the flow
    re-labels and re-orients the reference between them and needs one to exist, unless
    ``by_design`` (a relation no template reference records, such as a notebook calling a
    VPC endpoint). Flows to or from pseudo-nodes are by design.
    """

    source: Match | str
    target: Match | str
    label: str
    kind: str = FLOW
    by_design: bool = False


@dataclass(frozen=True)
class PatternFlows:
    """One pattern's pseudo-nodes and known flows."""

    pseudo: tuple[Pseudo, ...] = ()
    flows: tuple[KnownFlow, ...] = ()


_STREAM = Match("AWS::Kinesis::Stream")
_FIREHOSE = Match("AWS::KinesisFirehose::DeliveryStream")
_BUCKET = Match("AWS::S3::Bucket")
_SAGEMAKER_ROLE = Match("AWS::IAM::Role", trusted_service="sagemaker.amazonaws.com")
_STATE_MACHINE = Match("AWS::StepFunctions::StateMachine")
_ENDPOINT = Match("AWS::EC2::VPCEndpoint")
_SAGEMAKER_ENDPOINT = Match("AWS::SageMaker::Endpoint")
_SAGEMAKER_MODEL = Match("AWS::SageMaker::Model")
_REPOSITORY = Match("AWS::CodeArtifact::Repository")
_PACKAGE_REPOSITORIES = "codeartifact.repositories"


def _notebook_flows(client: Match) -> PatternFlows:
    """A notebook (or Studio) in isolated subnets: all traffic goes through VPC endpoints."""
    return PatternFlows(
        pseudo=(
            Pseudo(
                "pypi", "PyPI", "public package index", EXTERNAL_GROUP, _REPOSITORY, "public:pypi"
            ),
            Pseudo(
                "aws-apis",
                "AWS service APIs",
                "SageMaker, STS, Logs, ...",
                EXTERNAL_GROUP,
                Match("AWS::EC2::VPCEndpoint", other_than=("s3", _PACKAGE_REPOSITORIES)),
            ),
        ),
        flows=(
            KnownFlow(client, _ENDPOINT, "HTTPS", by_design=True),
            KnownFlow(Match(_ENDPOINT.type, services=("s3",)), _BUCKET, "data", by_design=True),
            KnownFlow(
                Match(_ENDPOINT.type, services=(_PACKAGE_REPOSITORIES,)),
                _REPOSITORY,
                "pip install",
                by_design=True,
            ),
            KnownFlow(
                Match(_ENDPOINT.type, other_than=("s3", _PACKAGE_REPOSITORIES)),
                "aws-apis",
                "PrivateLink",
            ),
            KnownFlow(_REPOSITORY, "pypi", "upstream"),
        ),
    )


def _clients(detail: str) -> Pseudo:
    """The callers of a SageMaker endpoint, drawn outside the stack next to it."""
    return Pseudo("clients", "Clients", detail, EXTERNAL_GROUP, _SAGEMAKER_ENDPOINT)


def _scaled_endpoint_flows(invoke: str) -> PatternFlows:
    """Committed artifacts served by a scaled real-time endpoint that signed clients call."""
    return PatternFlows(
        pseudo=(
            _clients("signed requests (SigV4)"),
            Pseudo(
                "artifacts",
                "Model artifacts",
                "committed, CDK assets",
                EXTERNAL_GROUP,
                _SAGEMAKER_MODEL,
            ),
        ),
        flows=(
            KnownFlow("clients", _SAGEMAKER_ENDPOINT, invoke),
            KnownFlow("artifacts", _SAGEMAKER_MODEL, "loaded at instance start"),
        ),
    )


#: What each pattern is known to do, beyond what references say.
KNOWN_FLOWS: dict[str, PatternFlows] = {
    "kinesis-parquet": PatternFlows(
        pseudo=(Pseudo("producers", "Producers", "JSON or CSV records", EXTERNAL_GROUP, _STREAM),),
        flows=(
            KnownFlow("producers", _STREAM, "PutRecords"),
            KnownFlow(_STREAM, _FIREHOSE, "records"),
            KnownFlow(_FIREHOSE, _BUCKET, "Parquet"),
            KnownFlow(_FIREHOSE, Match("AWS::Glue::Table"), "schema"),
            KnownFlow(_FIREHOSE, Match("AWS::Lambda::Function"), "transform CSV"),
        ),
    ),
    "isolated-notebook": _notebook_flows(Match("AWS::SageMaker::NotebookInstance")),
    "studio-domain": _notebook_flows(Match("AWS::SageMaker::Domain")),
    "fsx-training": PatternFlows(
        pseudo=(
            Pseudo(
                "training-job",
                "Training job",
                "SageMaker, File mode",
                "SageMaker",
                Match("AWS::FSx::FileSystem"),
            ),
        ),
        flows=(
            KnownFlow(_BUCKET, Match("AWS::FSx::FileSystem"), "data repository association"),
            KnownFlow(Match("AWS::FSx::FileSystem"), "training-job", "Lustre mount"),
            KnownFlow("training-job", _SAGEMAKER_ROLE, "runs as", kind=RUNS_AS),
        ),
    ),
    "public-endpoint": PatternFlows(
        pseudo=(
            Pseudo(
                "clients",
                "Clients",
                "HTTPS, SigV4 or API key",
                EXTERNAL_GROUP,
                Match("AWS::ApiGateway::RestApi"),
            ),
        ),
        flows=(
            KnownFlow("clients", Match("AWS::WAFv2::WebACL"), "inspected (production)"),
            KnownFlow("clients", Match("AWS::ApiGateway::Method"), "POST /predict JSON rows"),
            KnownFlow(
                Match("AWS::ApiGateway::Method"),
                _SAGEMAKER_ENDPOINT,
                "InvokeEndpoint, text/csv",
            ),
        ),
    ),
    "ml-workflow": PatternFlows(
        pseudo=(
            Pseudo(
                "training-job",
                "Training job",
                "SageMaker, spot",
                "SageMaker",
                _STATE_MACHINE,
                r"sagemaker:createTrainingJob",
            ),
            Pseudo(
                "tuning-job",
                "Tuning job",
                "SageMaker, hyperparameters",
                "SageMaker",
                _STATE_MACHINE,
                r"sagemaker:createHyperParameterTuningJob",
            ),
            Pseudo(
                "model", "Model", "SageMaker", "SageMaker", _STATE_MACHINE, r"sagemaker:createModel"
            ),
            Pseudo(
                "endpoint-config",
                "Endpoint config",
                "SageMaker",
                "SageMaker",
                _STATE_MACHINE,
                r"sagemaker:createEndpointConfig",
            ),
            Pseudo(
                "endpoint",
                "Endpoint",
                "SageMaker, real-time",
                "SageMaker",
                _STATE_MACHINE,
                r"sagemaker:(create|update)Endpoint(?!Config)",
            ),
        ),
        flows=(
            KnownFlow(_STATE_MACHINE, "training-job", "trains"),
            KnownFlow(_STATE_MACHINE, "tuning-job", "tunes"),
            KnownFlow(_BUCKET, "training-job", "training data"),
            KnownFlow(_BUCKET, "tuning-job", "training data"),
            KnownFlow("training-job", "model", "artifacts"),
            KnownFlow("tuning-job", "model", "best job"),
            KnownFlow("model", "endpoint-config", "variant"),
            KnownFlow("endpoint-config", "endpoint", "deploys"),
            KnownFlow(_STATE_MACHINE, Match("AWS::SNS::Topic"), "failure alerts"),
            KnownFlow("training-job", _SAGEMAKER_ROLE, "runs as", kind=RUNS_AS),
        ),
    ),
    "multi-model-endpoint": PatternFlows(
        pseudo=(
            _clients("InvokeEndpoint + TargetModel"),
            Pseudo(
                "committed-artifacts",
                "Committed artifacts",
                "churn-v1/v2.tar.gz, copied at deploy",
                EXTERNAL_GROUP,
                # CDK's BucketDeployment: its handler is left out, its CLI layer is not.
                Match("AWS::Lambda::LayerVersion"),
            ),
        ),
        flows=(
            KnownFlow("clients", _SAGEMAKER_ENDPOINT, "InvokeEndpoint (TargetModel)"),
            KnownFlow("committed-artifacts", _BUCKET, "models/ prefix"),
            KnownFlow(_BUCKET, _SAGEMAKER_MODEL, "loads models/<TargetModel>"),
        ),
    ),
    "serverless-inference": PatternFlows(
        pseudo=(
            _clients("InvokeEndpoint"),
            Pseudo(
                "artifact",
                "Model artifact",
                "model.tar.gz, CDK asset",
                EXTERNAL_GROUP,
                _SAGEMAKER_MODEL,
            ),
        ),
        flows=(
            KnownFlow("clients", _SAGEMAKER_ENDPOINT, "InvokeEndpoint"),
            KnownFlow("artifact", _SAGEMAKER_MODEL, "loaded on a cold start"),
        ),
    ),
    "model-monitor": PatternFlows(
        pseudo=(
            _clients("InvokeEndpoint"),
            Pseudo(
                "baseline-script",
                "Baseline script",
                "suggest_baseline, sagemaker SDK",
                EXTERNAL_GROUP,
                Match("AWS::SageMaker::DataQualityJobDefinition"),
            ),
        ),
        flows=(
            KnownFlow("clients", _SAGEMAKER_ENDPOINT, "InvokeEndpoint"),
            KnownFlow(Match("AWS::SageMaker::EndpointConfig"), _BUCKET, "data capture (KMS)"),
            KnownFlow("baseline-script", _BUCKET, "baseline dataset, constraints, statistics"),
            KnownFlow(
                Match("AWS::SageMaker::MonitoringSchedule"),
                Match("AWS::SageMaker::DataQualityJobDefinition"),
                "runs on the cron schedule",
                by_design=True,
            ),
            KnownFlow(
                _BUCKET,
                Match("AWS::SageMaker::DataQualityJobDefinition"),
                "captures and baseline in, reports out",
            ),
            KnownFlow(
                Match("AWS::SageMaker::DataQualityJobDefinition"),
                Match("AWS::CloudWatch::Alarm"),
                "feature_baseline_drift metrics",
                by_design=True,
            ),
        ),
    ),
    "multi-az-endpoint": _scaled_endpoint_flows("InvokeEndpoint"),
    "ab-variants": _scaled_endpoint_flows("InvokeEndpoint, split by weight"),
    "inference-pipeline": PatternFlows(
        pseudo=(
            _clients("raw CSV records, SigV4"),
            Pseudo(
                "transform-job",
                "Batch transform job",
                "filter id, join input, keep id,label,score",
                "SageMaker",
                _STATE_MACHINE,
                r"sagemaker:createTransformJob",
            ),
        ),
        flows=(
            KnownFlow("clients", _SAGEMAKER_ENDPOINT, "InvokeEndpoint"),
            KnownFlow(_BUCKET, Match("AWS::Events::Rule"), "Object Created under input/"),
            KnownFlow(Match("AWS::Events::Rule"), _STATE_MACHINE, "StartExecution"),
            KnownFlow(_STATE_MACHINE, "transform-job", "runs (.sync)"),
            KnownFlow(_BUCKET, "transform-job", "input/ records"),
            KnownFlow("transform-job", _BUCKET, "output/ predictions (KMS)"),
            KnownFlow("transform-job", _SAGEMAKER_MODEL, "serial chain of 3"),
            KnownFlow(_STATE_MACHINE, Match("AWS::SNS::Topic"), "failure alerts"),
        ),
    ),
}

#: Labels of dependency edges between two types, where "uses" says too little.
RELATION_LABELS: dict[tuple[str, str], str] = {
    ("AWS::Glue::Table", "AWS::Glue::Database"): "in database",
    ("AWS::Glue::Table", "AWS::S3::Bucket"): "location",
    ("AWS::CodeArtifact::Repository", "AWS::CodeArtifact::Domain"): "in domain",
    ("AWS::SageMaker::UserProfile", "AWS::SageMaker::Domain"): "in domain",
    (
        "AWS::SageMaker::NotebookInstance",
        "AWS::SageMaker::NotebookInstanceLifecycleConfig",
    ): "lifecycle config",
    ("AWS::SageMaker::Domain", "AWS::SageMaker::StudioLifecycleConfig"): "lifecycle config",
    ("AWS::SageMaker::NotebookInstanceLifecycleConfig", "AWS::CodeArtifact::Repository"): "pip",
    ("AWS::SageMaker::NotebookInstanceLifecycleConfig", "AWS::CodeArtifact::Domain"): "pip",
    ("AWS::SageMaker::StudioLifecycleConfig", "AWS::CodeArtifact::Repository"): "pip",
    ("AWS::SageMaker::StudioLifecycleConfig", "AWS::CodeArtifact::Domain"): "pip",
}

# ---------------------------------------------------------------------------------------
# Reading the template
# ---------------------------------------------------------------------------------------

#: Plumbing that is left out, with everything that refers to it.
SKIPPED_TYPES = frozenset(
    {
        "AWS::CDK::Metadata",
        "AWS::CloudFormation::CustomResource",
        "AWS::Lambda::Permission",
        "AWS::EC2::RouteTable",
        "AWS::EC2::Route",
        "AWS::EC2::SubnetRouteTableAssociation",
    }
)

#: Plumbing folded into the resource it serves: the property naming that resource, and
#: whether the host takes over the folded resource's references. Policies do not pass
#: theirs on: permissions are the role's detail, the diagram shows who runs as the role.
FOLDED_TYPES: dict[str, tuple[str, bool]] = {
    "AWS::IAM::Policy": ("Roles", False),
    "AWS::IAM::ManagedPolicy": ("Roles", False),
    "AWS::S3::BucketPolicy": ("Bucket", False),
    "AWS::SNS::TopicPolicy": ("Topics", False),
    "AWS::SQS::QueuePolicy": ("Queues", False),
    "AWS::EC2::SecurityGroupIngress": ("GroupId", False),
    "AWS::EC2::SecurityGroupEgress": ("GroupId", False),
    "AWS::EC2::Subnet": ("VpcId", False),
    "AWS::Logs::LogStream": ("LogGroupName", False),
    "AWS::FSx::DataRepositoryAssociation": ("FileSystemId", True),
}

#: Provider plumbing: skipped when only skipped resources refer to it.
_PROVIDER_TYPES = frozenset({"AWS::Lambda::Function", "AWS::IAM::Role", "AWS::Logs::LogGroup"})
#: Keys of IAM policy documents: a reference there grants, it does not connect.
_POLICY_KEYS = frozenset({"Principal", "AWS", "Resource", "NotResource", "Condition"})
_SUB_NAME = re.compile(r"\$\{(?!!)([A-Za-z0-9]+)(?:\.[^}]*)?\}")
_CDK_HASH = re.compile(r"(?<=.)[0-9A-F]{8}$")
#: Scope names of this project's constructs that prefix logical ids without saying much.
_SCOPE_PREFIXES = ("Environment", "Network", "Vpc")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+\.")


def _references(value: Any, resources: Mapping[str, Any], key: str = "") -> Iterator[tuple]:
    """(logical id, innermost property key) of every resource ``value`` refers to."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                if isinstance(argument, str) and argument in resources:
                    yield argument, key
                return
            if name == "Fn::GetAtt":
                target = argument[0] if isinstance(argument, list) else str(argument)
                target = target.split(".")[0]
                if target in resources:
                    yield target, key
                return
            if name == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                for match in _SUB_NAME.finditer(text):
                    if match.group(1) in resources and match.group(1) not in variables:
                        yield match.group(1), key
                yield from _references(variables, resources, key)
                return
        for name, item in value.items():
            yield from _references(item, resources, key if name.startswith("Fn::") else name)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item, resources, key)


def _resource_references(resource: Mapping[str, Any], resources: Mapping[str, Any]) -> list:
    found = list(_references(resource.get("Properties", {}), resources))
    depends_on = resource.get("DependsOn", [])
    for target in [depends_on] if isinstance(depends_on, str) else depends_on:
        if target in resources:
            found.append((target, "DependsOn"))
    return found


def _endpoint_service(resource: Mapping[str, Any]) -> str:
    """``sagemaker.api`` for a VPC endpoint to com.amazonaws.<region>.sagemaker.api."""
    name = resource.get("Properties", {}).get("ServiceName", "")
    if isinstance(name, dict) and "Fn::Join" in name:
        name = "".join(part for part in name["Fn::Join"][1] if isinstance(part, str))
    if not isinstance(name, str):
        return ""
    name = name.removeprefix("com.amazonaws.")
    return _REGION.sub("", name).lstrip(".")


def _trusted_services(resource: Mapping[str, Any]) -> set[str]:
    document = resource.get("Properties", {}).get("AssumeRolePolicyDocument", {})
    services: set[str] = set()
    for statement in document.get("Statement", []):
        principal = statement.get("Principal", {})
        service = principal.get("Service", []) if isinstance(principal, dict) else []
        services.update([service] if isinstance(service, str) else service)
    return services


def short_name(logical_id: str, resource_type: str = "") -> str:
    """A logical id without its CDK hash and construct-scope prefixes: ``Stream790BDEE4`` ->
    ``Stream``, ``EnvironmentNetworkVpcSageMakerApi2597E680`` -> ``SageMakerApi``."""
    name = _CDK_HASH.sub("", logical_id)
    stripped = True
    while stripped:
        stripped = False
        for prefix in _SCOPE_PREFIXES:
            rest = name[len(prefix) :]
            if name.startswith(prefix) and rest[:1].isupper():
                name, stripped = rest, True
    if resource_type == "AWS::Logs::LogGroup" and len(name) > len("LogGroup"):
        name = name.removesuffix("LogGroup")
    return name


@dataclass
class _Template:
    """A template's resources, sorted into nodes, folded plumbing and skipped plumbing."""

    resources: dict[str, Any]
    skipped: set[str] = field(default_factory=set)
    #: folded logical id -> (host logical id, host takes over its references)
    folded: dict[str, tuple[str, bool]] = field(default_factory=dict)
    references: dict[str, list] = field(default_factory=dict)

    @classmethod
    def read(cls, template: Mapping[str, Any]) -> _Template:
        resources = dict(sorted(template.get("Resources", {}).items()))
        self = cls(resources)
        self.references = {
            logical_id: _resource_references(resource, resources)
            for logical_id, resource in resources.items()
        }
        self._skip_plumbing()
        self._fold_plumbing()
        self._skip_providers()
        self._fold_dedicated_resources()
        return self

    def type_of(self, logical_id: str) -> str:
        return self.resources[logical_id].get("Type", "")

    def _skip_plumbing(self) -> None:
        for logical_id in self.resources:
            resource_type = self.type_of(logical_id)
            if (
                resource_type in SKIPPED_TYPES
                or resource_type.startswith("Custom::")
                # CDK's singleton providers (auto-delete objects, restrict default SG).
                or "CustomResourceProvider" in logical_id
            ):
                self.skipped.add(logical_id)
            if resource_type.startswith("Custom::") or resource_type.endswith("CustomResource"):
                for target, key in self.references[logical_id]:
                    if key == "ServiceToken":
                        self.skipped.add(target)

    def _fold_plumbing(self) -> None:
        for logical_id in self.resources:
            resource_type = self.type_of(logical_id)
            if logical_id in self.skipped or resource_type not in FOLDED_TYPES:
                continue
            host_property, transfer = FOLDED_TYPES[resource_type]
            properties = self.resources[logical_id].get("Properties", {})
            hosts = [t for t, _ in _references(properties.get(host_property), self.resources)]
            if not hosts and resource_type == "AWS::IAM::ManagedPolicy":
                # Attached from the role's side (ManagedPolicyArns) instead.
                hosts = [
                    source
                    for source, refs in self.references.items()
                    if self.type_of(source) == "AWS::IAM::Role"
                    and (logical_id, "ManagedPolicyArns") in refs
                ]
            if hosts:
                self.folded[logical_id] = (hosts[0], transfer)
            else:
                self.skipped.add(logical_id)

    def _referrers(self, logical_id: str) -> set[str]:
        """Resources whose references to this one count: not those of folded policies."""
        return {
            source
            for source, refs in self.references.items()
            if source != logical_id
            and not (source in self.folded and not self.folded[source][1])
            and any(target == logical_id for target, _ in refs)
        }

    def _skip_providers(self) -> None:
        # Lambda functions, roles and log groups that only skipped resources refer to serve
        # the custom resources that were left out.
        changed = True
        while changed:
            changed = False
            for logical_id in self.resources:
                if logical_id in self.skipped or self.type_of(logical_id) not in _PROVIDER_TYPES:
                    continue
                referrers = self._referrers(logical_id)
                if referrers and referrers <= self.skipped:
                    self.skipped.add(logical_id)
                    changed = True

    def _fold_dedicated_resources(self) -> None:
        for logical_id in self.resources:
            if logical_id in self.skipped or logical_id in self.folded:
                continue
            resource_type = self.type_of(logical_id)
            referrers = {
                source for source in self._referrers(logical_id) if source not in self.skipped
            }
            if resource_type == "AWS::EC2::SecurityGroup" and len(referrers) == 1:
                (user,) = referrers
                # An interface endpoint's own group says nothing the endpoint does not.
                if self.type_of(user) == "AWS::EC2::VPCEndpoint":
                    self.folded[logical_id] = (user, False)
            if resource_type == "AWS::S3::Bucket":
                loggers = sorted(
                    source
                    for source in referrers
                    if self.type_of(source) == "AWS::S3::Bucket"
                    and (logical_id, "DestinationBucketName") in self.references[source]
                )
                if loggers:
                    self.folded[logical_id] = (loggers[0], False)

    def host(self, logical_id: str) -> str | None:
        """The node that stands for this resource, or None if it is left out."""
        seen: set[str] = set()
        while logical_id in self.folded and logical_id not in seen:
            seen.add(logical_id)
            logical_id = self.folded[logical_id][0]
        if logical_id in self.skipped or logical_id in self.folded:
            return None
        return logical_id

    def nodes(self) -> list[str]:
        return [
            logical_id
            for logical_id in self.resources
            if logical_id not in self.skipped and logical_id not in self.folded
        ]

    def folded_into(self, host: str, resource_type: str) -> list[str]:
        return [
            logical_id
            for logical_id in self.folded
            if self.type_of(logical_id) == resource_type and self.host(logical_id) == host
        ]

    def node_references(self) -> dict[tuple[str, str], list[str]]:
        """(source node, target node) -> property keys, for references between nodes."""
        found: dict[tuple[str, str], list[str]] = {}
        for logical_id in self.resources:
            if logical_id in self.skipped or not self.folded.get(logical_id, ("", True))[1]:
                continue
            source = self.host(logical_id)
            for target, key in self.references[logical_id]:
                target_node = self.host(target)
                if source is None or target_node is None or target_node == source:
                    continue
                found.setdefault((source, target_node), []).append(key)
        return found


# ---------------------------------------------------------------------------------------
# The graph
# ---------------------------------------------------------------------------------------


def _matches(template: _Template, logical_id: str, match: Match) -> bool:
    resource = template.resources[logical_id]
    if resource.get("Type") != match.type:
        return False
    if match.services or match.other_than is not None:
        service = _endpoint_service(resource)
        if match.services and service not in match.services:
            return False
        if match.other_than is not None and service in match.other_than:
            return False
    return not (match.trusted_service and match.trusted_service not in _trusted_services(resource))


def _node_for(template: _Template, logical_id: str) -> Node:
    resource = template.resources[logical_id]
    resource_type = resource.get("Type", "")
    detail = type_name(resource_type)
    properties = resource.get("Properties", {})
    if resource_type == "AWS::EC2::VPCEndpoint":
        kind = str(properties.get("VpcEndpointType", "Gateway")).lower()
        detail = f"{kind} endpoint"
    elif resource_type == "AWS::EC2::VPC":
        subnets = len(template.folded_into(logical_id, "AWS::EC2::Subnet"))
        detail = f"VPC, {subnets} subnets" if subnets else detail
    elif resource_type == "AWS::FSx::FileSystem" and properties.get("FileSystemType") == "LUSTRE":
        detail = "FSx for Lustre"
    elif resource_type == "AWS::S3::Bucket" and template.folded_into(logical_id, resource_type):
        detail = "S3 bucket + access logs"
    return Node(
        logical_id,
        resource_type,
        service_group(resource_type),
        short_name(logical_id, resource_type),
        detail,
    )


def _dependency(
    source: Node, target: Node, keys: Sequence[str]
) -> tuple[str, str, str, str] | None:
    """(source, target, kind, label) of a reference not covered by a known flow."""
    candidates = []
    for key in keys:
        if (source.type, target.type) in RELATION_LABELS:
            label = RELATION_LABELS[(source.type, target.type)]
            candidates.append((1, source.id, target.id, USES, label))
        elif key == "DependsOn":
            # An explicit creation order, not a use the properties show.
            candidates.append((3, source.id, target.id, USES, "depends on"))
        elif target.group == KMS_GROUP:
            candidates.append((0, target.id, source.id, ENCRYPTS, "encrypts"))
        elif target.type == "AWS::IAM::Role":
            if "Role" in key or "Permission" in key:
                candidates.append((0, source.id, target.id, RUNS_AS, "runs as"))
            elif key in _POLICY_KEYS:
                candidates.append((2, source.id, target.id, USES, "allows"))
            else:
                candidates.append((1, source.id, target.id, RUNS_AS, "passes role"))
        elif key in _POLICY_KEYS:
            candidates.append((2, source.id, target.id, USES, "allows"))
        elif target.type == "AWS::Logs::LogGroup":
            candidates.append((0, source.id, target.id, LOGS_TO, "logs to"))
        elif target.type == "AWS::EC2::VPC":
            candidates.append((0, source.id, target.id, NETWORK, "in VPC"))
        elif target.type == "AWS::EC2::SecurityGroup":
            candidates.append((0, source.id, target.id, NETWORK, "in security group"))
        else:
            candidates.append((1, source.id, target.id, USES, "uses"))
    if not candidates:
        return None
    _, edge_source, edge_target, kind, label = min(candidates)
    # Inside the VPC box, membership of the VPC is what the box already shows.
    if kind == NETWORK and source.group == VPC_GROUP and target.group == VPC_GROUP:
        return None
    return edge_source, edge_target, kind, label


def build_graph(pattern_id: str, template: Mapping[str, Any]) -> nx.DiGraph:
    """The diagram's graph: nodes carry a ``node`` (Node), edges an ``edge`` (Edge)."""
    parsed = _Template.read(template)
    nodes = {logical_id: _node_for(parsed, logical_id) for logical_id in parsed.nodes()}
    known = KNOWN_FLOWS.get(pattern_id, PatternFlows())
    resource_ids = list(nodes)
    for pseudo in known.pseudo:
        anchors = [i for i in resource_ids if _matches(parsed, i, pseudo.anchor)]
        if pseudo.marker is not None:
            anchors = [
                i
                for i in anchors
                if re.search(pseudo.marker, json.dumps(parsed.resources[i].get("Properties", {})))
            ]
        if anchors:
            nodes[pseudo.id] = Node(pseudo.id, "", pseudo.group, pseudo.label, pseudo.detail)

    references = parsed.node_references()
    edges: dict[tuple[str, str], Edge] = {}

    def select(end: Match | str) -> list[str]:
        if isinstance(end, str):
            return [PSEUDO_PREFIX + end] if PSEUDO_PREFIX + end in nodes else []
        return [i for i in nodes if not nodes[i].pseudo and _matches(parsed, i, end)]

    for flow in known.flows:
        for source in select(flow.source):
            for target in select(flow.target):
                if source == target or (source, target) in edges:
                    continue
                pair_refs = (source, target) in references or (target, source) in references
                needs_ref = not (nodes[source].pseudo or nodes[target].pseudo or flow.by_design)
                if needs_ref and not pair_refs:
                    continue
                references.pop((source, target), None)
                references.pop((target, source), None)
                edges[(source, target)] = Edge(source, target, flow.kind, flow.label)

    dependencies = []
    for (source, target), keys in sorted(references.items()):
        found = _dependency(nodes[source], nodes[target], keys)
        if found is not None:
            dependencies.append(found)
    for source, target, kind, label in sorted(dependencies):
        if (source, target) not in edges and (target, source) not in edges:
            edges[(source, target)] = Edge(source, target, kind, label)

    graph = nx.DiGraph(pattern=pattern_id)
    for node_id in sorted(nodes):
        graph.add_node(node_id, node=nodes[node_id])
    for key in sorted(edges):
        graph.add_edge(*key, edge=edges[key])
    return graph


def _title(pattern_id: str) -> tuple[str, str]:
    """The catalog title and a subtitle; an id not in the catalog stands for itself."""
    try:
        pattern = by_id(pattern_id)
    except KeyError:
        return pattern_id, pattern_id
    return pattern.title, f"{pattern.id}  ·  stack {pattern.stack_name}"


def diagram_fingerprint(pattern_id: str, template: Mapping[str, Any]) -> dict[str, Any]:
    """What a diagram shows, as sorted lists: nodes, service groups and edges."""
    return _fingerprint(pattern_id, build_graph(pattern_id, template))


def fingerprint_digest(pattern_id: str, template: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the fingerprint's canonical JSON."""
    return _digest(diagram_fingerprint(pattern_id, template))


def _digest(fingerprint: Mapping[str, Any]) -> str:
    canonical = json.dumps(fingerprint, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _fingerprint(pattern_id: str, graph: nx.DiGraph) -> dict[str, Any]:
    nodes = [graph.nodes[n]["node"] for n in graph.nodes]
    groups: dict[str, list[str]] = {}
    for node in nodes:
        groups.setdefault(node.group, []).append(node.id)
    return {
        "format": DIAGRAM_FORMAT_VERSION,
        "pattern": pattern_id,
        "title": _title(pattern_id)[0],
        "subtitle": _title(pattern_id)[1],
        "nodes": sorted(
            (
                {
                    "id": n.id,
                    "type": n.type,
                    "group": n.group,
                    "label": n.label,
                    "detail": n.detail,
                    "pseudo": n.pseudo,
                }
                for n in nodes
            ),
            key=lambda n: n["id"],
        ),
        "groups": [{"name": name, "nodes": sorted(ids)} for name, ids in sorted(groups.items())],
        "edges": sorted(
            (
                {"source": e.source, "target": e.target, "kind": e.kind, "label": e.label}
                for e in (graph.edges[pair]["edge"] for pair in graph.edges)
            ),
            key=lambda e: (e["source"], e["target"]),
        ),
    }


def embedded_fingerprint(svg: str) -> str | None:
    """The fingerprint digest a diagram was drawn from, or None if it carries none."""
    found = _FINGERPRINT_RE.search(svg[:2000])
    return found.group(1) if found else None


# ---------------------------------------------------------------------------------------
# Layout, in inches from the top-left corner
# ---------------------------------------------------------------------------------------

#: About 1150 px wide in a browser: the width of a docs page.
FIGURE_WIDTH_IN = 12.0
NODE_WIDTH_IN = 1.72
NODE_HEIGHT_IN = 0.46
NODE_GAP_X_IN = 0.14
NODE_GAP_Y_IN = 0.18
#: Between the layers of a box whose nodes pass data on: room for the flow's label.
LAYER_GAP_X_IN = 0.5
GROUP_PAD_IN = 0.12
GROUP_TITLE_IN = 0.26
GROUP_GAP_IN = 0.24
STAGE_GAP_MIN_IN = 0.55
STAGE_GAP_MAX_IN = 1.5
MARGIN_IN = 0.25
TITLE_BAND_IN = 0.8
BAND_GAP_IN = 0.5
LEGEND_BAND_IN = 0.5
#: A flow group taller than this many nodes gets another column.
MAX_COLUMN_NODES = 7
#: Longer node names (and type lines) are cut, so they stay inside their box.
MAX_LABEL_CHARS = 24
MAX_DETAIL_CHARS = 30
FONT_FAMILY = "DejaVu Sans"


@dataclass(frozen=True)
class _Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2

    def contains(self, point: tuple[float, float], margin: float = 0.0) -> bool:
        x, y = point
        return (
            self.x - margin <= x <= self.x + self.w + margin
            and self.y - margin <= y <= self.y + self.h + margin
        )


@dataclass
class _Layout:
    width: float
    height: float
    nodes: dict[str, _Rect]
    groups: dict[str, _Rect]


def _acyclic(edges: Sequence[tuple[str, str]], nodes: Sequence[str] = ()) -> nx.DiGraph:
    """The edges, in order, without those that would close a cycle."""
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    for source, target in edges:
        if source == target:
            continue
        if target in graph and source in graph and nx.has_path(graph, target, source):
            continue
        graph.add_edge(source, target)
    return graph


def _ranks(graph: nx.DiGraph) -> dict[str, int]:
    """Longest-path depth of every node of a DAG."""
    rank: dict[str, int] = {}
    for node in nx.lexicographical_topological_sort(graph):
        rank[node] = max((rank[p] + 1 for p in graph.predecessors(node)), default=0)
    return rank


def _group_order(name: str) -> int:
    names = [group.name for group in SERVICE_GROUPS]
    return names.index(name) if name in names else len(names)


#: Where nodes sit in a service box: node -> (column, row), possibly half-way between two.
_Cells = dict[str, tuple[float, float]]


def _grid_cells(ids: Sequence[str], columns: int, *, by_column: bool) -> _Cells:
    """``ids`` in a grid of ``columns``, filled down each column first or along each row."""
    rows = -(-len(ids) // columns)
    cells: _Cells = {}
    for index, node_id in enumerate(ids):
        column, row = divmod(index, rows) if by_column else divmod(index, columns)[::-1]
        cells[node_id] = (float(column), float(row))
    return cells


def _layer_cells(layers: Sequence[Sequence[str]], *, as_columns: bool) -> _Cells:
    """One column (or row) per layer, each layer centred on the longest."""
    longest = max(len(layer) for layer in layers)
    cells: _Cells = {}
    for depth, layer in enumerate(layers):
        offset = (longest - len(layer)) / 2
        for index, node_id in enumerate(layer):
            across = offset + index
            cells[node_id] = (float(depth), across) if as_columns else (across, float(depth))
    return cells


def _extent(cells: _Cells) -> tuple[int, int]:
    """(columns, rows) of a box holding these cells."""
    columns = max(int(column + 0.5) for column, _ in cells.values()) + 1
    rows = max(int(row + 0.5) for _, row in cells.values()) + 1
    return columns, rows


def _place(
    origin_x: float, origin_y: float, cells: _Cells, gap_x: float = NODE_GAP_X_IN
) -> dict[str, _Rect]:
    return {
        node_id: _Rect(
            origin_x + GROUP_PAD_IN + column * (NODE_WIDTH_IN + gap_x),
            origin_y + GROUP_TITLE_IN + row * (NODE_HEIGHT_IN + NODE_GAP_Y_IN),
            NODE_WIDTH_IN,
            NODE_HEIGHT_IN,
        )
        for node_id, (column, row) in cells.items()
    }


def _chain_order(ids: Sequence[str], links: Sequence[tuple[str, str]]) -> list[str]:
    """``ids`` reordered so that linked nodes tend to be neighbours: each set of linked
    nodes is walked depth-first from its least-linked node, where its first member was."""
    graph = nx.Graph()
    graph.add_nodes_from(ids)
    graph.add_edges_from((a, b) for a, b in links if a in graph and b in graph)
    position = {node_id: index for index, node_id in enumerate(ids)}
    ordered: list[str] = []
    for node_id in ids:
        if node_id in ordered:
            continue
        component = sorted(nx.node_connected_component(graph, node_id), key=position.get)
        start = min(component, key=lambda n: (graph.degree(n), position[n]))
        walk = nx.dfs_preorder_nodes(
            graph, start, sort_neighbors=lambda n: sorted(n, key=position.get)
        )
        ordered.extend(walk)
    return ordered


def _box_size(columns: int, rows: int, gap_x: float = NODE_GAP_X_IN) -> tuple[float, float]:
    width = columns * NODE_WIDTH_IN + (columns - 1) * gap_x + 2 * GROUP_PAD_IN
    height = GROUP_TITLE_IN + rows * NODE_HEIGHT_IN + (rows - 1) * NODE_GAP_Y_IN + GROUP_PAD_IN
    return width, height


#: A fan of this many flows with one label, between a node and one service box, is drawn
#: as a single arrow to (or from) the box.
BUNDLE_MIN_EDGES = 3


def _bundles(graph: nx.DiGraph) -> dict[tuple[str, str], tuple[str, str, str]]:
    """Flow edges drawn as one arrow: (source, target) -> (direction, node, group), where
    direction is "out" (node to the group's box) or "in" (the group's box to node)."""
    nodes: dict[str, Node] = {n: graph.nodes[n]["node"] for n in graph.nodes}
    flows = [
        (s, t, data["edge"].label)
        for s, t, data in sorted(graph.edges(data=True))
        if data["edge"].kind == FLOW and nodes[s].group != nodes[t].group
    ]
    fans: dict[tuple[str, str, str, str], list[tuple[str, str]]] = {}
    for source, target, label in flows:
        fans.setdefault(("out", source, nodes[target].group, label), []).append((source, target))
        fans.setdefault(("in", target, nodes[source].group, label), []).append((source, target))
    bundled: dict[tuple[str, str], tuple[str, str, str]] = {}
    for (direction, node, group, _), pairs in sorted(fans.items()):
        if len(pairs) >= BUNDLE_MIN_EDGES:
            for pair in pairs:
                bundled.setdefault(pair, (direction, node, group))
    return bundled


def _layout(graph: nx.DiGraph) -> _Layout:
    """Flow stages left to right (a column of service boxes each), support services below."""
    nodes: dict[str, Node] = {n: graph.nodes[n]["node"] for n in graph.nodes}
    flow_edges = sorted(
        (s, t) for s, t, data in graph.edges(data=True) if data["edge"].kind == FLOW
    )
    flows = _acyclic(flow_edges)
    node_rank = _ranks(flows)
    group_edges = sorted({(nodes[s].group, nodes[t].group) for s, t in flows.edges})
    flow_groups = sorted({nodes[n].group for n in flows.nodes}, key=_group_order)
    group_rank = _ranks(_acyclic(group_edges, flow_groups))

    # Nodes that send flows of their own to a later box go last, so that in a box of two
    # columns they sit in the right-hand one, nearer the boxes they send to.
    bundled = _bundles(graph)
    sends_own_flow = {
        s for s, t in flows.edges if (s, t) not in bundled and nodes[s].group != nodes[t].group
    }
    members: dict[str, list[str]] = {}
    for node_id in sorted(
        nodes,
        key=lambda n: (
            n in sends_own_flow,
            node_rank.get(n, 10**6),
            nodes[n].type,
            nodes[n].label,
            n,
        ),
    ):
        members.setdefault(nodes[node_id].group, []).append(node_id)

    width = FIGURE_WIDTH_IN
    available = width - 2 * MARGIN_IN
    node_rects: dict[str, _Rect] = {}
    group_rects: dict[str, _Rect] = {}
    top = TITLE_BAND_IN

    # Flow band: one column per stage; each stage stacks its service boxes.
    stages: dict[int, list[str]] = {}
    for group in sorted(
        flow_groups,
        key=lambda g: (min(node_rank.get(n, 10**6) for n in members[g]), _group_order(g)),
    ):
        stages.setdefault(group_rank[group], []).append(group)
    # A box whose nodes pass data among themselves is laid out in layers, one column per
    # step (one row per step if the page is too narrow for that); any other box is a grid,
    # filled column by column, linked nodes next to each other.
    cells: dict[str, _Cells] = {}
    gap_x: dict[str, float] = dict.fromkeys(flow_groups, NODE_GAP_X_IN)
    layered: dict[str, list[list[str]]] = {}
    for group in flow_groups:
        inner = [(s, t) for s, t in flows.edges if nodes[s].group == nodes[t].group == group]
        if inner:
            local_rank = _ranks(_acyclic(inner, members[group]))
            layers: dict[int, list[str]] = {}
            for node_id in members[group]:
                layers.setdefault(local_rank[node_id], []).append(node_id)
            layered[group] = [layers[rank] for rank in sorted(layers)]
            cells[group] = _layer_cells(layered[group], as_columns=True)
            gap_x[group] = LAYER_GAP_X_IN
        else:
            links = [(s, t) for s, t in graph.edges if nodes[s].group == nodes[t].group == group]
            ordered = _chain_order(members[group], links)
            columns = -(-len(ordered) // MAX_COLUMN_NODES)
            cells[group] = _grid_cells(ordered, columns, by_column=True)

    def stage_widths() -> list[float]:
        return [
            max(_box_size(*_extent(cells[g]), gap_x[g])[0] for g in stages[stage])
            for stage in sorted(stages)
        ]

    minimum_width = sum(stage_widths()) + STAGE_GAP_MIN_IN * max(len(stages) - 1, 0)
    if minimum_width > available:
        for group, layers in layered.items():
            cells[group] = _layer_cells(layers, as_columns=False)
            gap_x[group] = NODE_GAP_X_IN
    sizes = {g: _box_size(*_extent(cells[g]), gap_x[g]) for g in flow_groups}
    widths = stage_widths()
    stage_heights = [
        sum(sizes[g][1] for g in stages[s]) + GROUP_GAP_IN * (len(stages[s]) - 1)
        for s in sorted(stages)
    ]
    if stages:
        gaps = len(stages) - 1
        gap = STAGE_GAP_MIN_IN
        if gaps:
            gap = (available - sum(widths)) / gaps
            gap = min(max(gap, STAGE_GAP_MIN_IN), STAGE_GAP_MAX_IN)
        band_width = sum(widths) + gap * gaps
        # A pattern with more stages than the page holds widens the page instead of
        # overlapping boxes (model-monitor and inference-pipeline need this).
        width = max(width, band_width + 2 * MARGIN_IN)
        band_height = max(stage_heights)
        x = (width - band_width) / 2
        for stage, stage_width, stage_height in zip(
            sorted(stages), widths, stage_heights, strict=True
        ):
            y = top + (band_height - stage_height) / 2
            for group in stages[stage]:
                box_width, box_height = sizes[group]
                box_x = x + (stage_width - box_width) / 2
                group_rects[group] = _Rect(box_x, y, box_width, box_height)
                node_rects.update(_place(box_x, y, cells[group], gap_x[group]))
                y += box_height + GROUP_GAP_IN
            x += stage_width + gap
        top += band_height + BAND_GAP_IN

    # Support band: the remaining services in a row (or rows), nodes side by side.
    support = sorted((g for g in members if g not in flow_groups), key=_group_order)
    max_columns = max(
        1, int((available - 2 * GROUP_PAD_IN + NODE_GAP_X_IN) // (NODE_WIDTH_IN + NODE_GAP_X_IN))
    )
    support_cells: dict[str, _Cells] = {}
    for group in support:
        ordered = sorted(members[group], key=lambda n: (nodes[n].type, nodes[n].label, n))
        support_cells[group] = _grid_cells(ordered, min(len(ordered), max_columns), by_column=False)
    support_sizes = {g: _box_size(*_extent(c)) for g, c in support_cells.items()}
    shelves: list[list[str]] = []
    shelf_width = 0.0
    for group in support:
        box_width = support_sizes[group][0]
        if shelves and shelf_width + GROUP_GAP_IN + box_width <= available:
            shelves[-1].append(group)
            shelf_width += GROUP_GAP_IN + box_width
        else:
            shelves.append([group])
            shelf_width = box_width
    for shelf in shelves:
        total = sum(support_sizes[g][0] for g in shelf) + GROUP_GAP_IN * (len(shelf) - 1)
        x = (width - total) / 2
        for group in shelf:
            box_width, box_height = support_sizes[group]
            group_rects[group] = _Rect(x, top, box_width, box_height)
            node_rects.update(_place(x, top, support_cells[group]))
            x += box_width + GROUP_GAP_IN
        top += max(support_sizes[g][1] for g in shelf) + GROUP_GAP_IN
    height = top + LEGEND_BAND_IN + MARGIN_IN
    return _Layout(width, height, node_rects, group_rects)


# ---------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------

EDGE_STYLES: dict[str, dict[str, Any]] = {
    FLOW: {"color": "#232F3E", "linewidth": 1.5, "linestyle": "solid", "alpha": 0.95},
    ENCRYPTS: {"color": "#C7511F", "linewidth": 0.8, "linestyle": (0, (1, 2)), "alpha": 0.6},
    RUNS_AS: {"color": "#BF0816", "linewidth": 0.8, "linestyle": (0, (4, 2)), "alpha": 0.55},
    LOGS_TO: {"color": "#B0084D", "linewidth": 0.8, "linestyle": (0, (5, 2, 1, 2)), "alpha": 0.55},
    NETWORK: {"color": "#6B40C9", "linewidth": 0.8, "linestyle": (0, (2, 2)), "alpha": 0.55},
    USES: {"color": "#687078", "linewidth": 0.8, "linestyle": "solid", "alpha": 0.6},
}
EDGE_LEGEND = {
    FLOW: "data flow",
    ENCRYPTS: "encrypts (KMS key)",
    RUNS_AS: "runs as / passes role",
    LOGS_TO: "logs to",
    NETWORK: "in VPC / security group",
    USES: "uses",
}
#: Dependency labels worth printing on the line (the legend names the others).
_SPOKEN_LABELS = frozenset(RELATION_LABELS.values())
_ARC_CANDIDATES = (0.0, 0.12, -0.12, 0.25, -0.25, 0.4, -0.4)
_RC = {
    "svg.hashsalt": "ml-refarch",
    "svg.fonttype": "none",
    "svg.id": None,
    "font.family": FONT_FAMILY,
    "path.simplify": True,
}


def _arc_point(a, b, rad: float, t: float) -> tuple[float, float]:
    """A point of matplotlib's arc3 curve from ``a`` to ``b``, in the axes' (y-down) units."""
    # arc3 puts its control point in display space (y up): flip y there and back.
    ax_, ay_, bx_, by_ = a[0], -a[1], b[0], -b[1]
    mx, my = (ax_ + bx_) / 2, (ay_ + by_) / 2
    cx, cy = mx + rad * (by_ - ay_), my - rad * (bx_ - ax_)
    x = (1 - t) ** 2 * ax_ + 2 * (1 - t) * t * cx + t**2 * bx_
    y = (1 - t) ** 2 * ay_ + 2 * (1 - t) * t * cy + t**2 * by_
    return x, -y


def _route(a: _Rect, b: _Rect, obstacles: Sequence[_Rect]) -> float:
    """The first arc (straight if possible) from ``a`` to ``b`` that crosses no obstacle."""
    best, best_hits = 0.0, None
    for rad in _ARC_CANDIDATES:
        points = [_arc_point(a.centre, b.centre, rad, step / 20) for step in range(1, 20)]
        points = [p for p in points if not (a.contains(p) or b.contains(p))]
        hits = sum(1 for p in points for r in obstacles if r.contains(p, 0.02))
        if hits == 0:
            return rad
        if best_hits is None or hits < best_hits:
            best, best_hits = rad, hits
    return best


def _cut(text: str, limit: int) -> str:
    """``text``, cut to ``limit`` characters so that it stays inside its box."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _Canvas:
    """The axes being drawn on, with the layout and the patches arrows attach to."""

    axes: Any
    layout: _Layout
    node_patches: dict[str, Any] = field(default_factory=dict)
    group_patches: dict[str, Any] = field(default_factory=dict)

    def rect_and_patch(self, end: str) -> tuple[_Rect, Any]:
        if end.startswith(_GROUP_END):
            name = end.removeprefix(_GROUP_END)
            return self.layout.groups[name], self.group_patches[name]
        return self.layout.nodes[end], self.node_patches[end]


#: Marks an arrow end that is a service box rather than a node.
_GROUP_END = "group:"


def _draw_groups(canvas: _Canvas) -> None:
    from matplotlib.patches import FancyBboxPatch

    for name, rect in sorted(canvas.layout.groups.items()):
        group = _GROUPS_BY_NAME.get(name, _GROUPS_BY_NAME[OTHER_GROUP])
        canvas.axes.add_patch(
            FancyBboxPatch(
                (rect.x, rect.y),
                rect.w,
                rect.h,
                boxstyle="round,pad=0,rounding_size=0.08",
                facecolor=group.face_colour,
                edgecolor=group.edge_colour,
                linewidth=1.0,
                zorder=0,
                clip_on=False,
            )
        )
        canvas.axes.text(
            rect.x + GROUP_PAD_IN,
            rect.y + GROUP_TITLE_IN * 0.62,
            name,
            fontsize=8,
            fontweight="bold",
            color=group.edge_colour,
            clip_on=False,
        )
        # An invisible square outline: what arrows to the whole box are clipped at.
        canvas.group_patches[name] = FancyBboxPatch(
            (rect.x, rect.y), rect.w, rect.h, boxstyle="square,pad=0", visible=False
        )
        canvas.axes.add_patch(canvas.group_patches[name])


def _draw_nodes(canvas: _Canvas, nodes: Mapping[str, Node]) -> None:
    from matplotlib.patches import FancyBboxPatch

    for node_id in sorted(nodes):
        node, rect = nodes[node_id], canvas.layout.nodes[node_id]
        group = _GROUPS_BY_NAME.get(node.group, _GROUPS_BY_NAME[OTHER_GROUP])
        patch = FancyBboxPatch(
            (rect.x, rect.y),
            rect.w,
            rect.h,
            boxstyle="round,pad=0,rounding_size=0.06",
            facecolor="white",
            edgecolor=group.edge_colour,
            linewidth=1.0 if node.pseudo else 1.3,
            linestyle=(0, (3, 2)) if node.pseudo else "solid",
            zorder=3,
            clip_on=False,
        )
        canvas.axes.add_patch(patch)
        canvas.node_patches[node_id] = patch
        x, y = rect.centre
        common = {"ha": "center", "va": "center", "zorder": 4, "clip_on": False}
        canvas.axes.text(
            x,
            y - 0.07,
            _cut(node.label, MAX_LABEL_CHARS),
            fontsize=7.5,
            fontweight="bold",
            fontstyle="italic" if node.pseudo else "normal",
            color="#16191F",
            **common,
        )
        canvas.axes.text(
            x, y + 0.1, _cut(node.detail, MAX_DETAIL_CHARS), fontsize=6.5, color="#545B64", **common
        )


def _draw_arrow(
    canvas: _Canvas, ends: tuple[str, str], kind: str, label: str | None, t: float = 0.5
) -> None:
    """One arrow between two nodes or boxes (``group:`` ends), labelled at ``t`` along it."""
    from matplotlib.patches import FancyArrowPatch

    (start, start_patch), (end, end_patch) = (canvas.rect_and_patch(e) for e in ends)
    boxes = [
        canvas.layout.groups[e.removeprefix(_GROUP_END)] for e in ends if e.startswith(_GROUP_END)
    ]
    obstacles = [
        rect
        for node_id, rect in sorted(canvas.layout.nodes.items())
        if node_id not in ends and not any(box.contains(rect.centre) for box in boxes)
    ]
    # Box titles too, so that no line strikes through a service name.
    obstacles += [
        _Rect(box.x, box.y, box.w, GROUP_TITLE_IN)
        for _, box in sorted(canvas.layout.groups.items())
    ]
    rad = _route(start, end, obstacles)
    style = EDGE_STYLES[kind]
    canvas.axes.add_patch(
        FancyArrowPatch(
            start.centre,
            end.centre,
            patchA=start_patch,
            patchB=end_patch,
            arrowstyle="-|>",
            mutation_scale=9 if kind == FLOW else 6,
            connectionstyle=f"arc3,rad={rad}",
            zorder=2 if kind == FLOW else 1,
            clip_on=False,
            **style,
        )
    )
    if label is None:
        return
    # On the visible part of the line, between the borders of its two ends: the wanted
    # point, or the nearest one where the label covers no node.
    samples = [_arc_point(start.centre, end.centre, rad, step / 40) for step in range(1, 40)]
    visible = [p for p in samples if not (start.contains(p) or end.contains(p))] or samples
    wanted = round(t * (len(visible) - 1))
    clear = [
        index
        for index, point in enumerate(visible)
        if not any(rect.contains(point, 0.08) for rect in canvas.layout.nodes.values())
    ]
    x, y = visible[min(clear, key=lambda i: (abs(i - wanted), i)) if clear else wanted]
    canvas.axes.text(
        x,
        y,
        label,
        fontsize=6.5 if kind == FLOW else 6,
        fontstyle="normal" if kind == FLOW else "italic",
        color=style["color"],
        ha="center",
        va="center",
        zorder=5,
        clip_on=False,
        bbox={
            "boxstyle": "round,pad=0.15",
            "facecolor": "white",
            "edgecolor": "none",
            "alpha": 0.9,
        },
    )


def _draw_edges(canvas: _Canvas, graph: nx.DiGraph) -> None:
    edges: list[Edge] = [graph.edges[pair]["edge"] for pair in graph.edges]
    # A fan of flows into (or out of) one box is one arrow to (or from) the box.
    bundled = _bundles(graph)
    for direction, node_id, group in sorted(set(bundled.values())):
        label = next(
            graph.edges[pair]["edge"].label
            for pair, bundle in sorted(bundled.items())
            if bundle == (direction, node_id, group)
        )
        ends = (node_id, _GROUP_END + group)
        _draw_arrow(canvas, ends if direction == "out" else (ends[1], ends[0]), FLOW, label)

    # A label shared by a fan-out (or fan-in) is printed once, near the shared end.
    single = [e for e in edges if (e.source, e.target) not in bundled]
    fan_out: dict[tuple[str, str], list[Edge]] = {}
    fan_in: dict[tuple[str, str], list[Edge]] = {}
    for edge in single:
        fan_out.setdefault((edge.source, edge.label), []).append(edge)
        fan_in.setdefault((edge.target, edge.label), []).append(edge)
    centre_y = {node_id: rect.centre[1] for node_id, rect in canvas.layout.nodes.items()}
    for edge in sorted(single, key=lambda e: (EDGE_KINDS.index(e.kind), e.source, e.target)):
        label: str | None = edge.label
        t = 0.5
        siblings_out = fan_out[(edge.source, edge.label)]
        siblings_in = fan_in[(edge.target, edge.label)]
        if not (edge.kind == FLOW or edge.label in _SPOKEN_LABELS):
            label = None
        elif len(siblings_out) > 1:
            middle = sorted(siblings_out, key=lambda e: centre_y[e.target])[len(siblings_out) // 2]
            label, t = (label if edge is middle else None), 0.3
        elif len(siblings_in) > 1:
            middle = sorted(siblings_in, key=lambda e: centre_y[e.source])[len(siblings_in) // 2]
            label, t = (label if edge is middle else None), 0.7
        _draw_arrow(canvas, (edge.source, edge.target), edge.kind, label, t)


def _draw_legend(canvas: _Canvas, graph: nx.DiGraph) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    kinds = sorted({graph.edges[pair]["edge"].kind for pair in graph.edges}, key=EDGE_KINDS.index)
    handles: list[Any] = [
        Line2D([], [], label=EDGE_LEGEND[kind], **EDGE_STYLES[kind]) for kind in kinds
    ]
    if any(graph.nodes[n]["node"].pseudo for n in graph.nodes):
        handles.append(
            Patch(
                facecolor="white",
                edgecolor="#545B64",
                linestyle=(0, (3, 2)),
                label="implied, not a template resource",
            )
        )
    if handles:
        canvas.axes.legend(
            handles=handles,
            loc="lower center",
            bbox_to_anchor=(0.5, MARGIN_IN / canvas.layout.height),
            ncol=len(handles),
            frameon=False,
            fontsize=7,
            handlelength=3,
        )


def _draw(pattern_id: str, graph: nx.DiGraph) -> str:
    """The graph drawn as SVG text, byte for byte the same for the same graph."""
    import matplotlib
    import matplotlib.style
    from matplotlib.figure import Figure

    title, subtitle = _title(pattern_id)
    layout = _layout(graph)
    # Matplotlib's defaults, not whatever a matplotlibrc on this machine says, then ours.
    with matplotlib.style.context("default"), matplotlib.rc_context(_RC):
        # A bare Figure, not pyplot: no GUI backend, no global figure registry.
        figure = Figure(figsize=(layout.width, layout.height))
        axes = figure.add_axes((0, 0, 1, 1))
        axes.set_xlim(0, layout.width)
        axes.set_ylim(layout.height, 0)
        axes.set_axis_off()
        axes.text(MARGIN_IN, 0.38, title, fontsize=15, fontweight="bold", color="#232F3E")
        axes.text(MARGIN_IN, 0.62, subtitle, fontsize=8, color="#545B64")
        canvas = _Canvas(axes, layout)
        _draw_groups(canvas)
        _draw_nodes(canvas, {n: graph.nodes[n]["node"] for n in graph.nodes})
        _draw_edges(canvas, graph)
        _draw_legend(canvas, graph)
        buffer = io.StringIO()
        figure.savefig(
            buffer, format="svg", metadata={"Title": title, "Date": None, "Creator": None}
        )
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------


def render_pattern(pattern_id: str, template: Mapping[str, Any]) -> str:
    """The pattern's diagram as SVG text, its fingerprint digest in a comment at the top."""
    graph = build_graph(pattern_id, template)
    svg = _draw(pattern_id, graph)
    comment = FINGERPRINT_COMMENT.format(digest=_digest(_fingerprint(pattern_id, graph)))
    declaration, _, rest = svg.partition("\n")
    if declaration.startswith("<?xml"):
        # The XML declaration must stay first; the comment goes right after it.
        return f"{declaration}\n{comment}\n{rest}"
    return f"{comment}\n{svg}"


def diagram_path(pattern_id: str, out_dir: Path = DEFAULT_OUT_DIR) -> Path:
    return Path(out_dir) / f"{pattern_id}.svg"


def write_pattern_diagram(
    pattern_id: str, template: Mapping[str, Any], out_dir: Path = DEFAULT_OUT_DIR
) -> Path:
    """Write ``<out_dir>/<pattern_id>.svg`` and return its path."""
    path = diagram_path(pattern_id, out_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Bytes, not text: the same file on every platform (no newline translation).
    path.write_bytes(render_pattern(pattern_id, template).encode("utf-8"))
    return path


def diagram_is_current(path: Path, pattern_id: str, template: Mapping[str, Any]) -> bool:
    """Whether the diagram at ``path`` was drawn from a graph equal to this template's."""
    if not Path(path).is_file():
        return False
    embedded = embedded_fingerprint(Path(path).read_text(encoding="utf-8"))
    return embedded == fingerprint_digest(pattern_id, template)


def synthesize_templates(pattern_ids: Sequence[str] | None = None) -> dict[str, dict]:
    """Templates by pattern id, synthesized with cdk.json's context (the sandbox profile).

    The same app ``cdk synth`` and the tests' "sandbox" variant synthesize, compliance gate
    included: its acknowledgment metadata feeds the hashed logical ids of some resources
    (API Gateway deployments), which the diagram shows.
    """
    from ml_refarch.app import synthesize_templates as synthesize
    from ml_refarch.catalog import PATTERNS

    wanted = [by_id(p) for p in pattern_ids] if pattern_ids else list(PATTERNS)
    templates = synthesize(only={pattern.stack_name for pattern in wanted}, compliance_gate=True)
    return {pattern.id: templates[pattern.stack_name] for pattern in wanted}
