"""fsx-training: the diagram shows data flowing from S3 through Lustre to the training job."""

from __future__ import annotations

import pytest

from ml_refarch import diagram
from ml_refarch.catalog import by_id
from ml_refarch.diagram.model import FLOW
from tests.flows_support import edges_of, node_of_type

PATTERN = by_id("fsx-training")


@pytest.fixture(scope="module")
def sandbox(synthesized):
    return synthesized("sandbox").templates[PATTERN.stack_name]


def test_fsx_training_flows_from_bucket_through_lustre_to_training(sandbox):
    fingerprint = diagram.diagram_fingerprint(PATTERN.id, sandbox)
    edges = edges_of(fingerprint)
    bucket = node_of_type(fingerprint, "AWS::S3::Bucket")
    file_system = node_of_type(fingerprint, "AWS::FSx::FileSystem")
    training = "pseudo:training-job"
    assert edges[(bucket, file_system)]["kind"] == FLOW
    assert edges[(bucket, file_system)]["label"] == "data repository association"
    assert edges[(file_system, training)]["kind"] == FLOW
    (job,) = [n for n in fingerprint["nodes"] if n["id"] == training]
    assert job["pseudo"] and job["group"] == "SageMaker"
