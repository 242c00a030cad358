"""What a diagram is made of, and how a pattern's unit says what its data flows are.

Nodes are template resources or pseudo-nodes; edges have a kind (a data flow, or one of
the lighter dependencies). A pattern's unit describes what references alone do not say in
a module ``flows`` of its own (``ml_refarch/stacks/<pattern>/flows.py``), as a module-level
``FLOWS``, a :class:`PatternFlows`: pseudo-nodes (what the template implies but does not
contain, such as the training jobs a workflow starts) and known flows (which way data goes
between two nodes, and what it is). The builders at the end serve the units that share a
shape.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------------------------------
# Service group names that units and the engine both use
# ---------------------------------------------------------------------------------------

#: Outside the stack: callers, public services, artifacts brought in.
EXTERNAL_GROUP = "External"
#: Resource types no service group claims.
OTHER_GROUP = "Other"
SAGEMAKER_GROUP = "SageMaker"
VPC_GROUP = "VPC / EC2"
KMS_GROUP = "KMS"

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


# ---------------------------------------------------------------------------------------
# Known flows: what a pattern's unit declares
# ---------------------------------------------------------------------------------------


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
    """One pattern's pseudo-nodes and known flows (none: a diagram of dependencies only)."""

    pseudo: tuple[Pseudo, ...] = ()
    flows: tuple[KnownFlow, ...] = ()


# ---------------------------------------------------------------------------------------
# Matches and builders that several units use
# ---------------------------------------------------------------------------------------

BUCKET = Match("AWS::S3::Bucket")
STATE_MACHINE = Match("AWS::StepFunctions::StateMachine")
SAGEMAKER_ENDPOINT = Match("AWS::SageMaker::Endpoint")
SAGEMAKER_MODEL = Match("AWS::SageMaker::Model")
SAGEMAKER_ROLE = Match("AWS::IAM::Role", trusted_service="sagemaker.amazonaws.com")

_VPC_ENDPOINT = "AWS::EC2::VPCEndpoint"
_REPOSITORY = Match("AWS::CodeArtifact::Repository")
_PACKAGE_REPOSITORIES = "codeartifact.repositories"


def notebook_flows(client: Match) -> PatternFlows:
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
                Match(_VPC_ENDPOINT, other_than=("s3", _PACKAGE_REPOSITORIES)),
            ),
        ),
        flows=(
            KnownFlow(client, Match(_VPC_ENDPOINT), "HTTPS", by_design=True),
            KnownFlow(Match(_VPC_ENDPOINT, services=("s3",)), BUCKET, "data", by_design=True),
            KnownFlow(
                Match(_VPC_ENDPOINT, services=(_PACKAGE_REPOSITORIES,)),
                _REPOSITORY,
                "pip install",
                by_design=True,
            ),
            KnownFlow(
                Match(_VPC_ENDPOINT, other_than=("s3", _PACKAGE_REPOSITORIES)),
                "aws-apis",
                "PrivateLink",
            ),
            KnownFlow(_REPOSITORY, "pypi", "upstream"),
        ),
    )


def endpoint_clients(detail: str) -> Pseudo:
    """The callers of a SageMaker endpoint (key ``clients``), drawn outside the stack."""
    return Pseudo("clients", "Clients", detail, EXTERNAL_GROUP, SAGEMAKER_ENDPOINT)


def scaled_endpoint_flows(invoke: str) -> PatternFlows:
    """Committed artifacts served by a scaled real-time endpoint that signed clients call."""
    return PatternFlows(
        pseudo=(
            endpoint_clients("signed requests (SigV4)"),
            Pseudo(
                "artifacts",
                "Model artifacts",
                "committed, CDK assets",
                EXTERNAL_GROUP,
                SAGEMAKER_MODEL,
            ),
        ),
        flows=(
            KnownFlow("clients", SAGEMAKER_ENDPOINT, invoke),
            KnownFlow("artifacts", SAGEMAKER_MODEL, "loaded at instance start"),
        ),
    )
