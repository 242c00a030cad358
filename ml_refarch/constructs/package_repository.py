"""A CodeArtifact domain and repository that proxies PyPI for hosts without internet."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_codeartifact as codeartifact
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ml_refarch.compliance.acknowledge import acknowledge

REPOSITORY_NAME = "pypi"


class PackageRepository(Construct):
    """CodeArtifact with a PyPI upstream, encrypted with a customer-managed key.

    Hosts in an isolated VPC install Python packages from this repository through the
    CodeArtifact API and repositories endpoints (and the S3 gateway, where CodeArtifact keeps
    package assets); CodeArtifact fetches from PyPI on their behalf and caches what it
    fetched.

    Args:
        domain_name: the CodeArtifact domain (lower case, unique in the account and region).
        encryption_key: encrypts the domain's package assets.
        readers: roles that may fetch a token and read packages. Default: none.

    Attributes:
        domain_name / repository_name: names for ``pip`` configuration.
        read_policy: the managed policy attached to ``readers``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain_name: str,
        encryption_key: kms.IKey,
        readers: Sequence[iam.IRole] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        domain = codeartifact.CfnDomain(
            self, "Domain", domain_name=domain_name, encryption_key=encryption_key.key_arn
        )
        repository = codeartifact.CfnRepository(
            self,
            "Repository",
            domain_name=domain.attr_name,
            repository_name=REPOSITORY_NAME,
            description="PyPI, proxied for hosts without internet access",
            external_connections=["public:pypi"],
        )
        self.domain_name = domain.attr_name
        self.repository_name = repository.attr_name
        self.read_policy = iam.ManagedPolicy(
            self,
            "ReadPolicy",
            roles=list(readers),
            statements=[
                iam.PolicyStatement(
                    sid="Token",
                    actions=["codeartifact:GetAuthorizationToken"],
                    resources=[domain.attr_arn],
                ),
                iam.PolicyStatement(
                    sid="Read",
                    actions=[
                        "codeartifact:GetRepositoryEndpoint",
                        "codeartifact:ReadFromRepository",
                    ],
                    resources=[repository.attr_arn],
                ),
                iam.PolicyStatement(
                    sid="BearerToken",
                    actions=["sts:GetServiceBearerToken"],
                    resources=["*"],
                    conditions={
                        "StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}
                    },
                ),
            ],
        )
        acknowledge(
            self.read_policy,
            "sts:GetServiceBearerToken has no resource-level permissions; the condition "
            "limits it to CodeArtifact tokens, which the domain permission above scopes.",
            "AwsSolutions-IAM5[Resource::*]",
        )
