"""An image from ECR Public, reached through a pull through cache into a repository the
stack owns.

ECR Public has no VPC endpoint; a pull through cache rule lets whatever pulls in an
isolated VPC reach it through the private registry's endpoints instead: the first pull
imports the image ("Sync an upstream registry with an Amazon ECR private registry",
https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache.html: ECR Public
needs no authentication). The cache repository is declared in the template, so it is
encrypted with the stack's key and ``cdk destroy`` removes it and the cached images.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms

from ml_refarch.compliance.acknowledge import acknowledge

#: ECR Public, the upstream registry of the pull through cache.
ECR_PUBLIC = "public.ecr.aws"


@dataclass(frozen=True)
class CachedImage:
    """Where a cached ECR Public image lands.

    Attributes:
        repository: the cache repository (in the stack).
        uri: the image's URI in this account's registry (``<registry>/<prefix>/<path>:<tag>``).
        registry: ``<account>.dkr.ecr.<region>.<suffix>``, the registry to log in to.
        prefix: the rule's repository prefix.
    """

    repository: ecr.Repository
    uri: str
    registry: str
    prefix: str


def ecr_public_cache(
    stack: cdk.Stack,
    *,
    image: str,
    encryption_key: kms.IKey,
    removal_policy: cdk.RemovalPolicy,
    images_kept: int,
) -> CachedImage:
    """A pull through cache rule for ECR Public (``EcrPublicCache``) and the repository
    ``image`` (``repository/path:tag`` on ECR Public) lands in (``ImageCache``), both in
    ``stack``, whose id names the rule's prefix. The repository keeps the last
    ``images_kept`` images and scans each on push."""
    prefix = f"{stack.node.id.lower()}-ecr-public"[:30]
    repository_path, tag = image.rsplit(":", 1)
    rule = ecr.CfnPullThroughCacheRule(
        stack,
        "EcrPublicCache",
        ecr_repository_prefix=prefix,
        upstream_registry_url=ECR_PUBLIC,
    )
    repository = ecr.Repository(
        stack,
        "ImageCache",
        repository_name=f"{prefix}/{repository_path}",
        encryption=ecr.RepositoryEncryption.KMS,
        encryption_key=encryption_key,
        image_scan_on_push=True,
        removal_policy=removal_policy,
        empty_on_delete=removal_policy == cdk.RemovalPolicy.DESTROY,
        lifecycle_rules=[
            ecr.LifecycleRule(
                description="Keep the last images the cache pulled",
                max_image_count=images_kept,
            )
        ],
    )
    repository.node.add_dependency(rule)
    acknowledge(
        repository,
        "The pull through cache re-imports the image when ECR Public moves its tag "
        "(the cache's own tag follows upstream), which immutable tags would refuse.",
        "ControlTower-ecr_private_tag_immutability_enabled_check",
        checkov=("CKV_AWS_51",),
    )
    registry = f"{stack.account}.dkr.ecr.{stack.region}.{stack.url_suffix}"
    return CachedImage(
        repository=repository,
        uri=f"{registry}/{prefix}/{repository_path}:{tag}",
        registry=registry,
        prefix=prefix,
    )
