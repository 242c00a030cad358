"""Pattern ``public-endpoint``: its data flows, for the architecture diagram.

Clients call the REST API's POST method (through the web ACL in production), which calls
the private SageMaker endpoint.
"""

from __future__ import annotations

from ml_refarch.diagram.model import (
    EXTERNAL_GROUP,
    SAGEMAKER_ENDPOINT,
    KnownFlow,
    Match,
    PatternFlows,
    Pseudo,
)

_METHOD = Match("AWS::ApiGateway::Method")

FLOWS = PatternFlows(
    pseudo=(
        Pseudo(
            "clients",
            "Clients",
            "HTTPS, SigV4 or API key",
            EXTERNAL_GROUP,
            Match("AWS::ApiGateway::RestApi"),
        ),
    ),
    flows=(
        KnownFlow("clients", Match("AWS::WAFv2::WebACL"), "inspected (production)"),
        KnownFlow("clients", _METHOD, "POST /predict JSON rows"),
        KnownFlow(_METHOD, SAGEMAKER_ENDPOINT, "InvokeEndpoint, text/csv"),
    ),
)
