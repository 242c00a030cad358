"""The delivery pipeline: CDK Pipelines that checks the patterns, then deploys them to
sandbox and production accounts and regions.

Not a pattern of the notes: the catalog does not list it. It is an app entry of its own,
``MlRefArch-Delivery``, that the app adds only when ``delivery.connection_arn`` is set
(:mod:`.settings`); the stack is in :mod:`.stack`, the stages in :mod:`.stage`, the
``cdk bootstrap`` commands each target account needs in :mod:`.bootstrap`. This module
imports nothing from aws_cdk.
"""

#: The pipeline stack's id and CloudFormation stack name.
STACK_NAME = "MlRefArch-Delivery"
#: What ``python -m ml_refarch list`` shows beside it.
SUMMARY = (
    "CDK Pipelines from a CodeConnections repository: synth, the compliance check, a "
    "sandbox wave, a manual approval, a production wave (delivery.* settings; see "
    "docs/delivery.md)"
)
