"""AWS Batch: what the roles of job definitions and compute environments do at run time.

- A job definition's execution role lets the Amazon ECS container agent and the Fargate
  agent pull the job's image from Amazon ECR (``ecr:GetAuthorizationToken``, then
  ``ecr:BatchCheckLayerAvailability``, ``ecr:GetDownloadUrlForLayer``,
  ``ecr:BatchGetImage``) and send the container's output to CloudWatch Logs with the
  ``awslogs`` driver (``logs:CreateLogStream``, ``logs:PutLogEvents``): "AWS Batch IAM
  execution role"
  (https://docs.aws.amazon.com/batch/latest/userguide/execution-IAM-role.html).
- An image under a pull through cache rule's prefix is imported from the upstream registry
  by the first pull, which needs ``ecr:BatchImportUpstreamImage`` and, unless the cache
  repository exists (the template declares it), ``ecr:CreateRepository``: "IAM
  permissions required to sync an upstream registry with an Amazon ECR private registry"
  (https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-iam.html).
- A job definition's job role is what the container's code runs as; what the code calls
  is the pattern's to say (its ``scenarios.toml``), not the template's.
- A managed EC2 compute environment launches Amazon ECS container instances whose
  container agent registers with the cluster Batch made and reports task state, as the
  role of the environment's instance profile: "Amazon ECS instance role" (AWS Batch,
  https://docs.aws.amazon.com/batch/latest/userguide/instance_IAM_role.html, which points
  to the Amazon ECS "container instance IAM role" page and its managed policy
  AmazonEC2ContainerServiceforEC2Role for the calls). Batch names that cluster itself, so
  the calls are on ``*``.
- A compute environment without ``ServiceRole`` is managed through Batch's service-linked
  role ``AWSServiceRoleForBatch``, which AWS owns: nothing in the template to check
  ("Using service-linked roles for AWS Batch",
  https://docs.aws.amazon.com/batch/latest/userguide/using-service-linked-roles.html).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ml_refarch import cfn
from ml_refarch.permissions.derive import Resource, derives
from ml_refarch.permissions.scenarios import Call, Scenario

EXECUTION_ROLE = "https://docs.aws.amazon.com/batch/latest/userguide/execution-IAM-role.html"
PULL_THROUGH_CACHE = (
    "https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-iam.html"
)
INSTANCE_ROLE = "https://docs.aws.amazon.com/batch/latest/userguide/instance_IAM_role.html"

#: What the ECS container agent on a container instance calls (the actions
#: AmazonEC2ContainerServiceforEC2Role grants the agent for registering, polling and
#: reporting state).
AGENT_ACTIONS = (
    "ecs:RegisterContainerInstance",
    "ecs:DeregisterContainerInstance",
    "ecs:DiscoverPollEndpoint",
    "ecs:Poll",
    "ecs:StartTelemetrySession",
    "ecs:SubmitContainerStateChange",
    "ecs:SubmitTaskStateChange",
)

#: ``<account>.dkr.ecr.<region>.<suffix>/<repository>[:tag|@digest]``: a private ECR image.
_PRIVATE_IMAGE = re.compile(
    r"(?P<account>[^./]+)\.dkr\.ecr\.(?P<region>[^./]+)\.[^/]+/(?P<repository>[^:@]+)"
)


def _repository_arn(image: str) -> tuple[str, str] | None:
    """(repository ARN, repository name) of a private ECR image URI, else ``None`` (a
    public registry's image needs no IAM permission to pull)."""
    image = image.split("@", 1)[0]
    if image.rfind(":") > image.rfind("/"):
        image = image[: image.rfind(":")]
    match = _PRIVATE_IMAGE.fullmatch(image)
    if match is None:
        return None
    name = match.group("repository")
    arn = (
        f"arn:${{AWS::Partition}}:ecr:{match.group('region')}:{match.group('account')}:"
        f"repository/{name}"
    )
    return arn, name


def _cached_prefixes(resource: Resource) -> set[str]:
    """The repository prefixes of the template's pull through cache rules."""
    prefixes = set()
    for properties in resource.of_type("AWS::ECR::PullThroughCacheRule").values():
        prefix = cfn.properties_of(properties).get("EcrRepositoryPrefix")
        if isinstance(prefix, str):
            prefixes.add(prefix)
    return prefixes


def _image_calls(resource: Resource, container: Mapping[str, Any]) -> list[tuple[str, str, list]]:
    image = resource.text(container.get("Image"))
    found = _repository_arn(image) if image else None
    if found is None:
        return []
    arn, name = found
    pulls = [Call("ecr:GetAuthorizationToken", "*")] + [
        Call(action, arn)
        for action in (
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
        )
    ]
    calls = [(EXECUTION_ROLE, "the agent pulls the job's image", pulls)]
    if name.split("/", 1)[0] in _cached_prefixes(resource):
        imports = [Call("ecr:BatchImportUpstreamImage", arn)]
        if name not in _declared_repositories(resource):
            imports.append(Call("ecr:CreateRepository", arn))
        calls.append((PULL_THROUGH_CACHE, "the pull imports the image through the cache", imports))
    return calls


def _declared_repositories(resource: Resource) -> set[str]:
    """The names of the template's ECR repositories (the cache needs not create those)."""
    return {
        name
        for properties in resource.of_type("AWS::ECR::Repository").values()
        if isinstance(name := cfn.properties_of(properties).get("RepositoryName"), str)
    }


def _log_calls(resource: Resource, container: Mapping[str, Any]) -> list[tuple[str, str, list]]:
    log_configuration = cfn.raw(container.get("LogConfiguration")) or {}
    if cfn.field(log_configuration, "LogDriver") != "awslogs":
        return []
    options = cfn.raw(cfn.field(log_configuration, "Options")) or {}
    group = resource.text(cfn.field(options, "awslogs-group"))
    if group is None:
        return []
    stream = (
        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
        f"{group}:log-stream:job/default/run"
    )
    return [
        (
            EXECUTION_ROLE,
            "the agent sends the container's output to the log group",
            [Call("logs:CreateLogStream", stream), Call("logs:PutLogEvents", stream)],
        )
    ]


@derives("AWS::Batch::JobDefinition")
def job_definition(resource: Resource) -> list[Scenario]:
    container = cfn.raw(resource.properties.get("ContainerProperties"))
    if not isinstance(container, Mapping):
        return []
    role = resource.role_of(container.get("ExecutionRoleArn"))
    if role is None:
        return []
    scenarios = []
    for doc, what, calls in _image_calls(resource, container) + _log_calls(resource, container):
        scenarios.append(
            resource.scenario(
                what,
                role,
                doc,
                calls,
                on_behalf_of="AWS Batch (the ECS or Fargate agent), starting a job",
            )
        )
    return scenarios


def _instance_profile_role(resource: Resource, value: Any) -> str | None:
    profile = resource.resource_of(value, "AWS::IAM::InstanceProfile")
    if profile is None:
        return None
    roles = cfn.as_list(cfn.raw(resource.properties_of(profile).get("Roles")))
    return next((role for role in map(resource.role_of, roles) if role), None)


@derives("AWS::Batch::ComputeEnvironment")
def compute_environment(resource: Resource) -> list[Scenario]:
    role = _instance_profile_role(resource, resource.get("ComputeResources.InstanceRole"))
    if role is None:
        return []
    return [
        resource.scenario(
            "the ECS container agent on an instance joins the cluster and reports jobs",
            role,
            INSTANCE_ROLE,
            [Call(action, "*") for action in AGENT_ACTIONS],
            on_behalf_of="the ECS container agent on the environment's instances",
        )
    ]
