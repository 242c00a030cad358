"""isolated-notebook and studio-domain: the diagram shows traffic only through VPC endpoints."""

from __future__ import annotations

import pytest

from ml_refarch import diagram
from ml_refarch.catalog import by_id
from ml_refarch.diagram.model import FLOW
from tests.flows_support import edges_of, node_of_type

CLIENT_TYPES = {
    "isolated-notebook": "AWS::SageMaker::NotebookInstance",
    "studio-domain": "AWS::SageMaker::Domain",
}


@pytest.mark.parametrize("pattern_id", sorted(CLIENT_TYPES))
def test_notebooks_reach_services_only_through_vpc_endpoints(pattern_id, synthesized):
    template = synthesized("sandbox").templates[by_id(pattern_id).stack_name]
    fingerprint = diagram.diagram_fingerprint(pattern_id, template)
    edges = edges_of(fingerprint)
    client = node_of_type(fingerprint, CLIENT_TYPES[pattern_id])
    endpoints = [n["id"] for n in fingerprint["nodes"] if n["type"] == "AWS::EC2::VPCEndpoint"]
    assert endpoints
    for endpoint in endpoints:
        assert edges[(client, endpoint)]["kind"] == FLOW
    repository = node_of_type(fingerprint, "AWS::CodeArtifact::Repository")
    assert edges[(repository, "pseudo:pypi")]["kind"] == FLOW
    flows_out = {t for (s, t), e in edges.items() if s == client and e["kind"] == FLOW}
    assert flows_out == set(endpoints), "no flow leaves the notebook except to an endpoint"
