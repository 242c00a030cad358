"""Architecture diagrams: committed and current, deterministic, drawn from any template.

Each pattern's own flows are tested with its unit, in tests/stacks/<pattern>/test_flows.py.
"""

from __future__ import annotations

import copy
import re
from types import SimpleNamespace

import matplotlib
import pytest

from ml_refarch import diagram
from ml_refarch.catalog import PATTERNS, Pattern, by_id, package_name
from ml_refarch.diagram import model
from tests.flows_support import edges_of
from tests.support import ROOT

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
        assert edge["kind"] in model.EDGE_KINDS
    grouped = sorted(i for group in fingerprint["groups"] for i in group["nodes"])
    assert grouped == sorted(ids), "every node is in exactly one service group"
    assert len({node["group"] for node in fingerprint["nodes"]}) == len(fingerprint["groups"])


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
        model.OTHER_GROUP,
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


def test_a_pattern_without_flows_gets_a_diagram_of_its_dependencies(
    templates, rendered, monkeypatch
):
    template = templates["kinesis-parquet"]
    with_flows = diagram.diagram_fingerprint("kinesis-parquet", template)
    # The unit as if it had no flows module: the engine draws its references alone.
    monkeypatch.setattr(Pattern, "has_module", lambda self, name: name != "flows")
    assert diagram.pattern_flows("kinesis-parquet") == model.PatternFlows()
    without = diagram.diagram_fingerprint("kinesis-parquet", template)
    assert [n for n in without["nodes"] if n["pseudo"]] == []
    assert [e for e in without["edges"] if e["kind"] == model.FLOW] == []
    resource_nodes = [n for n in with_flows["nodes"] if not n["pseudo"]]
    assert without["nodes"] == resource_nodes
    joined = {frozenset(pair) for pair in edges_of(without)}
    for (source, target), edge in edges_of(with_flows).items():
        if not (source.startswith("pseudo:") or target.startswith("pseudo:")):
            assert frozenset((source, target)) in joined, edge
    flow_pairs = [pair for pair, e in edges_of(with_flows).items() if e["kind"] == model.FLOW]
    assert any(frozenset(pair) in joined for pair in flow_pairs), "flows are references too"
    svg = diagram.render_pattern("kinesis-parquet", template)
    assert diagram.embedded_fingerprint(svg) == diagram.fingerprint_digest(
        "kinesis-parquet", template
    )
    assert f"<title>{by_id('kinesis-parquet').title}</title>" in svg
    assert "data flow" in rendered["kinesis-parquet"] and "data flow" not in svg, "legend"


def test_a_flows_module_must_hold_pattern_flows(monkeypatch):
    monkeypatch.setattr(Pattern, "module", lambda self, name: SimpleNamespace(FLOWS={}))
    with pytest.raises(TypeError, match=r"kinesis_parquet\.flows\.FLOWS is not a PatternFlows"):
        diagram.pattern_flows("kinesis-parquet")


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.id)
def test_every_pseudo_node_a_unit_declares_is_drawn(pattern, templates):
    declared = {pseudo.id for pseudo in diagram.pattern_flows(pattern.id).pseudo}
    fingerprint = diagram.diagram_fingerprint(pattern.id, templates[pattern.id])
    drawn = {n["id"] for n in fingerprint["nodes"] if n["pseudo"]}
    assert drawn == declared, f"{pattern.package}.flows declares pseudo-nodes nothing anchors"


def test_the_diagram_engine_names_no_pattern():
    sources = {
        path.name: path.read_text(encoding="utf-8")
        for path in sorted((ROOT / "ml_refarch" / "diagram").glob("*.py"))
    }
    assert "model.py" in sources and "render.py" in sources
    for pattern in PATTERNS:
        for name in (pattern.id, package_name(pattern.id), pattern.stack_name):
            named = [file for file, text in sources.items() if name in text]
            assert not named, f"{named} name the pattern {name!r}: say it in its unit instead"
