"""Architecture diagrams: committed and current, deterministic, and showing the known flows."""

from __future__ import annotations

import copy
import itertools
import re

import matplotlib
import pytest

from ml_refarch import diagram
from ml_refarch.catalog import PATTERNS, by_id
from tests.support import ROOT, resources_of_type

REGENERATE = (
    "regenerate the diagrams with `python -m ml_refarch diagram --all` (or "
    "`python -c 'from ml_refarch.diagram import synthesize_templates as s, "
    "write_pattern_diagram as w; [w(p, t) for p, t in s().items()]'`) and commit them"
)
PLUMBING_TYPES = {
    "AWS::CDK::Metadata",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::Logs::LogStream",
    "AWS::Lambda::Permission",
    "AWS::EC2::Route",
    "AWS::EC2::RouteTable",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::EC2::Subnet",
    "AWS::FSx::DataRepositoryAssociation",
}


@pytest.fixture(scope="module")
def templates(synthesized) -> dict[str, dict]:
    """The sandbox templates, by pattern id: what the committed diagrams are drawn from."""
    by_stack = synthesized("sandbox").templates
    return {pattern.id: by_stack[pattern.stack_name] for pattern in PATTERNS}


@pytest.fixture(scope="module")
def rendered(templates) -> dict[str, str]:
    return {
        pattern_id: diagram.render_pattern(pattern_id, t) for pattern_id, t in templates.items()
    }


def committed(pattern_id: str) -> str:
    path = ROOT / diagram.diagram_path(pattern_id)
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing; {REGENERATE}"
    return path.read_bytes().decode("utf-8")


def edges_of(fingerprint: dict) -> dict[tuple[str, str], dict]:
    return {(e["source"], e["target"]): e for e in fingerprint["edges"]}


def node_of_type(fingerprint: dict, resource_type: str) -> str:
    (found,) = [n["id"] for n in fingerprint["nodes"] if n["type"] == resource_type]
    return found


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.id)
def test_committed_diagram_is_current(pattern, templates):
    embedded = diagram.embedded_fingerprint(committed(pattern.id))
    assert embedded == diagram.fingerprint_digest(pattern.id, templates[pattern.id]), (
        f"docs/diagrams/{pattern.id}.svg was drawn from another version of the template; "
        f"{REGENERATE}"
    )


def test_committed_diagrams_equal_a_fresh_render(rendered):
    stale = [pattern_id for pattern_id, svg in rendered.items() if committed(pattern_id) != svg]
    assert not stale, (
        f"these diagrams differ from a fresh render: {stale}. If the fingerprints match, the "
        f"drawing code or matplotlib changed (this is {matplotlib.__version__}, the pinned "
        f"version draws the committed files); {REGENERATE}"
    )


def test_rendering_is_deterministic(templates, rendered):
    again = diagram.render_pattern("ml-workflow", copy.deepcopy(templates["ml-workflow"]))
    assert again.encode() == rendered["ml-workflow"].encode()


def test_diagram_is_docs_width_svg_with_the_title_and_fingerprint_on_top(templates, rendered):
    for pattern in PATTERNS:
        svg = rendered[pattern.id]
        head = svg.splitlines()
        assert head[0].startswith("<?xml")
        assert head[1] == diagram.FINGERPRINT_COMMENT.format(
            digest=diagram.fingerprint_digest(pattern.id, templates[pattern.id])
        )
        # 12 inches at 72 pt, about 1150 px in a browser; a pattern with more flow stages
        # than that holds gets a wider page rather than overlapping boxes, up to 16 inches.
        width_pt = float(re.search(r'<svg[^>]* width="([0-9.]+)pt"', svg).group(1))
        assert 864 <= width_pt <= 16 * 72, (pattern.id, width_pt)
        assert f"<title>{pattern.title}</title>" in svg
        assert diagram.diagram_fingerprint(pattern.id, templates[pattern.id])["title"] == (
            by_id(pattern.id).title
        )


def test_write_pattern_diagram_writes_the_render(templates, rendered, tmp_path):
    path = diagram.write_pattern_diagram("fsx-training", templates["fsx-training"], tmp_path)
    assert path == tmp_path / "fsx-training.svg"
    assert path.read_bytes() == rendered["fsx-training"].encode()
    assert diagram.diagram_is_current(path, "fsx-training", templates["fsx-training"])
    assert not diagram.diagram_is_current(path, "ml-workflow", templates["ml-workflow"])


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.id)
def test_graph_leaves_out_plumbing_and_every_edge_joins_two_nodes(pattern, templates):
    fingerprint = diagram.diagram_fingerprint(pattern.id, templates[pattern.id])
    ids = {node["id"] for node in fingerprint["nodes"]}
    types = {node["type"] for node in fingerprint["nodes"]}
    assert not types & PLUMBING_TYPES
    assert not [t for t in types if t.startswith("Custom::")]
    assert not [i for i in ids if "CustomResourceProvider" in i]
    for edge in fingerprint["edges"]:
        assert edge["source"] in ids and edge["target"] in ids, edge
        assert edge["kind"] in diagram.EDGE_KINDS
    grouped = sorted(i for group in fingerprint["groups"] for i in group["nodes"])
    assert grouped == sorted(ids), "every node is in exactly one service group"
    assert len({node["group"] for node in fingerprint["nodes"]}) == len(fingerprint["groups"])


def test_kinesis_parquet_flows_from_stream_through_firehose_to_bucket_and_table(templates):
    fingerprint = diagram.diagram_fingerprint("kinesis-parquet", templates["kinesis-parquet"])
    edges = edges_of(fingerprint)
    stream = node_of_type(fingerprint, "AWS::Kinesis::Stream")
    firehose = node_of_type(fingerprint, "AWS::KinesisFirehose::DeliveryStream")
    bucket = node_of_type(fingerprint, "AWS::S3::Bucket")
    table = node_of_type(fingerprint, "AWS::Glue::Table")
    key = node_of_type(fingerprint, "AWS::KMS::Key")
    role = node_of_type(fingerprint, "AWS::IAM::Role")
    for pair in ((stream, firehose), (firehose, bucket), (firehose, table)):
        assert edges[pair]["kind"] == diagram.FLOW, pair
    assert edges[(key, stream)]["label"] == "encrypts"
    assert edges[(firehose, role)]["label"] == "runs as"
    labels = {n["id"]: n["label"] for n in fingerprint["nodes"]}
    assert labels[stream] == "Stream" and stream != "Stream", "CDK hash suffix stripped"
    assert labels[firehose] == "DeliveryStream"


def test_kinesis_parquet_csv_transform_is_a_flow_from_firehose(templates):
    # The CSV variant's transform, added by hand: Firehose names the function's ARN.
    template = copy.deepcopy(templates["kinesis-parquet"])
    template["Resources"]["CsvToJson3F1A63FD"] = {"Type": "AWS::Lambda::Function"}
    (firehose_id,) = resources_of_type(template, "AWS::KinesisFirehose::DeliveryStream")
    destination = template["Resources"][firehose_id]["Properties"][
        "ExtendedS3DestinationConfiguration"
    ]
    destination["ProcessingConfiguration"] = {
        "Processors": [
            {"Parameters": [{"ParameterValue": {"Fn::GetAtt": ["CsvToJson3F1A63FD", "Arn"]}}]}
        ]
    }
    edges = edges_of(diagram.diagram_fingerprint("kinesis-parquet", template))
    assert edges[(firehose_id, "CsvToJson3F1A63FD")]["kind"] == diagram.FLOW


def test_fsx_training_flows_from_bucket_through_lustre_to_training(templates):
    fingerprint = diagram.diagram_fingerprint("fsx-training", templates["fsx-training"])
    edges = edges_of(fingerprint)
    bucket = node_of_type(fingerprint, "AWS::S3::Bucket")
    file_system = node_of_type(fingerprint, "AWS::FSx::FileSystem")
    training = "pseudo:training-job"
    assert edges[(bucket, file_system)]["kind"] == diagram.FLOW
    assert edges[(bucket, file_system)]["label"] == "data repository association"
    assert edges[(file_system, training)]["kind"] == diagram.FLOW
    (job,) = [n for n in fingerprint["nodes"] if n["id"] == training]
    assert job["pseudo"] and job["group"] == "SageMaker"


def test_ml_workflow_trains_deploys_and_alerts(templates):
    fingerprint = diagram.diagram_fingerprint("ml-workflow", templates["ml-workflow"])
    edges = edges_of(fingerprint)
    state_machine = node_of_type(fingerprint, "AWS::StepFunctions::StateMachine")
    topic = node_of_type(fingerprint, "AWS::SNS::Topic")
    assert edges[(state_machine, topic)]["kind"] == diagram.FLOW
    chain = [
        state_machine,
        "pseudo:training-job",
        "pseudo:model",
        "pseudo:endpoint-config",
        "pseudo:endpoint",
    ]
    for pair in itertools.pairwise(chain):
        assert edges[pair]["kind"] == diagram.FLOW, pair
    assert edges[(state_machine, "pseudo:tuning-job")]["kind"] == diagram.FLOW


@pytest.mark.parametrize("pattern_id", ["isolated-notebook", "studio-domain"])
def test_notebooks_reach_services_only_through_vpc_endpoints(pattern_id, templates):
    fingerprint = diagram.diagram_fingerprint(pattern_id, templates[pattern_id])
    edges = edges_of(fingerprint)
    client_type = {
        "isolated-notebook": "AWS::SageMaker::NotebookInstance",
        "studio-domain": "AWS::SageMaker::Domain",
    }[pattern_id]
    client = node_of_type(fingerprint, client_type)
    endpoints = [n["id"] for n in fingerprint["nodes"] if n["type"] == "AWS::EC2::VPCEndpoint"]
    assert endpoints
    for endpoint in endpoints:
        assert edges[(client, endpoint)]["kind"] == diagram.FLOW
    repository = node_of_type(fingerprint, "AWS::CodeArtifact::Repository")
    assert edges[(repository, "pseudo:pypi")]["kind"] == diagram.FLOW
    flows_out = {t for (s, t), e in edges.items() if s == client and e["kind"] == diagram.FLOW}
    assert flows_out == set(endpoints), "no flow leaves the notebook except to an endpoint"


def test_a_tiny_template_with_an_unknown_type_renders_in_the_other_group():
    template = {
        "Resources": {
            "Thing0123ABCD": {
                "Type": "AWS::Foo::BarBaz",
                "Properties": {"KeyArn": {"Fn::Sub": "${Key.Arn}/x"}},
            },
            "Key": {"Type": "AWS::KMS::Key"},
            "CDKMetadata": {"Type": "AWS::CDK::Metadata"},
        }
    }
    fingerprint = diagram.diagram_fingerprint("no-such-pattern", template)
    nodes = {n["id"]: n for n in fingerprint["nodes"]}
    assert set(nodes) == {"Thing0123ABCD", "Key"}
    thing = nodes["Thing0123ABCD"]
    assert (thing["group"], thing["label"], thing["detail"]) == (
        diagram.OTHER_GROUP,
        "Thing",
        "Foo bar baz",
    )
    assert edges_of(fingerprint)[("Key", "Thing0123ABCD")]["label"] == "encrypts"
    svg = diagram.render_pattern("no-such-pattern", template)
    assert svg == diagram.render_pattern("no-such-pattern", copy.deepcopy(template))
    assert diagram.embedded_fingerprint(svg) == diagram.fingerprint_digest(
        "no-such-pattern", template
    )
    assert "Foo bar baz" in svg
    assert diagram.embedded_fingerprint(diagram.render_pattern("empty", {"Resources": {}}))
