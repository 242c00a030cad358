"""ml-workflow: the diagram shows the workflow training, tuning, deploying and alerting."""

from __future__ import annotations

import itertools

import pytest

from ml_refarch import diagram
from ml_refarch.catalog import by_id
from ml_refarch.diagram.model import FLOW
from tests.flows_support import edges_of, node_of_type

PATTERN = by_id("ml-workflow")


@pytest.fixture(scope="module")
def sandbox(synthesized):
    return synthesized("sandbox").templates[PATTERN.stack_name]


def test_ml_workflow_trains_deploys_and_alerts(sandbox):
    fingerprint = diagram.diagram_fingerprint(PATTERN.id, sandbox)
    edges = edges_of(fingerprint)
    state_machine = node_of_type(fingerprint, "AWS::StepFunctions::StateMachine")
    topic = node_of_type(fingerprint, "AWS::SNS::Topic")
    assert edges[(state_machine, topic)]["kind"] == FLOW
    chain = [
        state_machine,
        "pseudo:training-job",
        "pseudo:model",
        "pseudo:endpoint-config",
        "pseudo:endpoint",
    ]
    for pair in itertools.pairwise(chain):
        assert edges[pair]["kind"] == FLOW, pair
    assert edges[(state_machine, "pseudo:tuning-job")]["kind"] == FLOW
