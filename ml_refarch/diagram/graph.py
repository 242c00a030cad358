"""A pattern's diagram as a graph: its template's resources and references, and its flows.

Edges come from references (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, anywhere in a resource's
properties, and ``DependsOn``). Where the pattern's known flows cover a pair of nodes, the
edge points the way the data flows and carries the flow's label; every other reference is
a lighter dependency edge ("encrypts", "runs as", "logs to", ...). The known flows are the
``FLOWS`` of the pattern unit's ``flows`` module, found through the catalog; a pattern
without one is drawn from its references alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import networkx as nx

from ml_refarch import catalog
from ml_refarch.cfn import trusted_services
from ml_refarch.diagram.model import (
    ENCRYPTS,
    KMS_GROUP,
    LOGS_TO,
    NETWORK,
    PSEUDO_PREFIX,
    RUNS_AS,
    USES,
    VPC_GROUP,
    Edge,
    Match,
    Node,
    PatternFlows,
)
from ml_refarch.diagram.services import service_group, short_name, type_name
from ml_refarch.diagram.template import ParsedTemplate, endpoint_service

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

#: Keys of IAM policy documents: a reference there grants, it does not connect.
_POLICY_KEYS = frozenset({"Principal", "AWS", "Resource", "NotResource", "Condition"})


def pattern_flows(pattern_id: str) -> PatternFlows:
    """The ``FLOWS`` of the pattern's ``flows`` module; none for a pattern without one, or
    for an id the catalog does not know."""
    try:
        pattern = catalog.by_id(pattern_id)
    except KeyError:
        return PatternFlows()
    if not pattern.has_module("flows"):
        return PatternFlows()
    flows = pattern.module("flows").FLOWS
    if not isinstance(flows, PatternFlows):
        raise TypeError(f"{pattern.package}.flows.FLOWS is not a PatternFlows")
    return flows


def matches(template: ParsedTemplate, logical_id: str, match: Match) -> bool:
    resource = template.resources[logical_id]
    if resource.get("Type") != match.type:
        return False
    if match.services or match.other_than is not None:
        service = endpoint_service(resource)
        if match.services and service not in match.services:
            return False
        if match.other_than is not None and service in match.other_than:
            return False
    return not (match.trusted_service and match.trusted_service not in trusted_services(resource))


def _node_for(template: ParsedTemplate, logical_id: str) -> Node:
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


def _pseudo_nodes(
    parsed: ParsedTemplate, nodes: Mapping[str, Node], known: PatternFlows
) -> Iterator[Node]:
    """The pseudo-nodes whose anchor (and marker) some resource node matches."""
    resource_ids = list(nodes)
    for pseudo in known.pseudo:
        anchors = [i for i in resource_ids if matches(parsed, i, pseudo.anchor)]
        if pseudo.marker is not None:
            anchors = [
                i
                for i in anchors
                if re.search(pseudo.marker, json.dumps(parsed.resources[i].get("Properties", {})))
            ]
        if anchors:
            yield Node(pseudo.id, "", pseudo.group, pseudo.label, pseudo.detail)


def _flow_edges(
    parsed: ParsedTemplate,
    nodes: Mapping[str, Node],
    known: PatternFlows,
    references: dict[tuple[str, str], list[str]],
) -> dict[tuple[str, str], Edge]:
    """The known flows between nodes; the references they stand for leave ``references``."""
    edges: dict[tuple[str, str], Edge] = {}

    def select(end: Match | str) -> list[str]:
        if isinstance(end, str):
            return [PSEUDO_PREFIX + end] if PSEUDO_PREFIX + end in nodes else []
        return [i for i in nodes if not nodes[i].pseudo and matches(parsed, i, end)]

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
    return edges


def _add_dependency_edges(
    edges: dict[tuple[str, str], Edge],
    nodes: Mapping[str, Node],
    references: Mapping[tuple[str, str], list[str]],
) -> None:
    """A dependency edge for each remaining reference between two nodes without an edge."""
    dependencies = []
    for (source, target), keys in sorted(references.items()):
        found = _dependency(nodes[source], nodes[target], keys)
        if found is not None:
            dependencies.append(found)
    for source, target, kind, label in sorted(dependencies):
        if (source, target) not in edges and (target, source) not in edges:
            edges[(source, target)] = Edge(source, target, kind, label)


def build_graph(
    pattern_id: str, template: Mapping[str, Any], flows: PatternFlows | None = None
) -> nx.DiGraph:
    """The diagram's graph: nodes carry a ``node`` (Node), edges an ``edge`` (Edge).

    ``flows``: the known flows to draw. Default: the pattern unit's (:func:`pattern_flows`).
    """
    parsed = ParsedTemplate.read(template)
    nodes = {logical_id: _node_for(parsed, logical_id) for logical_id in parsed.nodes()}
    known = pattern_flows(pattern_id) if flows is None else flows
    for pseudo_node in list(_pseudo_nodes(parsed, nodes, known)):
        nodes[pseudo_node.id] = pseudo_node
    references = parsed.node_references()
    edges = _flow_edges(parsed, nodes, known, references)
    _add_dependency_edges(edges, nodes, references)

    graph = nx.DiGraph(pattern=pattern_id)
    for node_id in sorted(nodes):
        graph.add_node(node_id, node=nodes[node_id])
    for key in sorted(edges):
        graph.add_edge(*key, edge=edges[key])
    return graph
