"""Pattern ``isolated-notebook``: its data flows, for the architecture diagram.

The notebook instance reaches S3, CodeArtifact and the AWS APIs only through the VPC
endpoints of its isolated subnets.
"""

from __future__ import annotations

from ml_refarch.diagram.model import Match, notebook_flows

FLOWS = notebook_flows(Match("AWS::SageMaker::NotebookInstance"))
