"""Pattern ``ab-variants``: its data flows, for the architecture diagram.

Signed clients call the endpoint, which splits requests between the variants by weight;
each instance loads the committed artifacts.
"""

from __future__ import annotations

from ml_refarch.diagram.model import scaled_endpoint_flows

FLOWS = scaled_endpoint_flows("InvokeEndpoint, split by weight")
