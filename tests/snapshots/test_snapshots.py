"""JSON snapshots of every stack in every variant; asset hashes are normalised.

A snapshot shows a reviewer what a change does to the templates. It is no test of
behaviour on its own: the assertions in tests/unit check what the notes ask for.
Update with ``.venv/bin/python -m pytest tests/snapshots --snapshot-update``.
"""

from __future__ import annotations

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.support import AWS_VARIANT_STACKS, normalise_assets


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize(("variant", "stack_name"), AWS_VARIANT_STACKS)
def test_template_matches_snapshot(synthesized, snapshot_json, variant, stack_name):
    template = synthesized(variant).templates[stack_name]
    assert normalise_assets(template) == snapshot_json


def test_normalising_replaces_asset_hashes_only():
    template = {"Code": {"S3Key": "a" * 64 + ".zip"}, "Name": "b" * 63}
    assert normalise_assets(template) == {
        "Code": {"S3Key": "<asset-hash>.zip"},
        "Name": "b" * 63,
    }
