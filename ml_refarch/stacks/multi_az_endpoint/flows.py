"""Pattern ``multi-az-endpoint``: its data flows, for the architecture diagram.

Signed clients call the scaled endpoint; each instance loads the committed artifacts.
"""

from __future__ import annotations

from ml_refarch.diagram.model import scaled_endpoint_flows

FLOWS = scaled_endpoint_flows("InvokeEndpoint")
