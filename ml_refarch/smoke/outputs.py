"""Output names that more than one pattern declares, shared by its stacks and smoke checks.

A stack output's name is its logical id in the template and the key a smoke check reads
(``describe_stacks``), so it is written once: each unit's ``outputs.py`` holds a class
``Outputs`` of constants (``ENDPOINT_NAME = "EndpointName"``) that its stack
(``self.output(Outputs.ENDPOINT_NAME, ...)``), its ``smoke.py`` and its tests use; outputs
that several units declare through a shared base come from the classes here, which those
units' ``Outputs`` extend. Standard library only: stacks and constructs import it.
"""

from __future__ import annotations


class PatternOutputs:
    """Outputs the base class adds to every pattern stack (``PatternStack``), where its
    profile asks for them; no unit's ``Outputs`` repeats them."""

    #: When a sandbox stack deletes itself (UTC, ISO 8601); absent when it never does.
    EXPIRES_AT = "ExpiresAt"


class EndpointOutputs:
    """Outputs every stack around one committed-model endpoint declares
    (``PatternStack.endpoint_outputs``)."""

    ENDPOINT_NAME = "EndpointName"
    ENDPOINT_ARN = "EndpointArn"
    VARIANT_MODELS = "VariantModels"
    ALERT_TOPIC_ARN = "AlertTopicArn"
    KEY_ARN = "KeyArn"


class NotebookOutputs:
    """Outputs of the notebook environment (``ml_refarch/constructs/notebook_environment.py``).

    The package outputs depend on ``PackageSource``: CodeArtifact names its domain and
    repository, the S3 wheelhouse its URI.
    """

    DATA_BUCKET_NAME = "DataBucketName"
    JOB_ROLE_ARN = "JobRoleArn"
    DATA_SCIENTIST_ROLE_ARN = "DataScientistRoleArn"
    SUBNET_IDS = "SubnetIds"
    SECURITY_GROUP_ID = "SecurityGroupId"
    KEY_ARN = "KeyArn"
    PACKAGE_SOURCE = "PackageSource"
    CODE_ARTIFACT_DOMAIN = "CodeArtifactDomain"
    CODE_ARTIFACT_REPOSITORY = "CodeArtifactRepository"
    WHEELHOUSE_URI = "WheelhouseUri"
