"""SageMaker hosting, notebook instances and Studio: what SageMaker does as the roles a
template hands it.

- A model's execution role: SageMaker reads the model artifacts (``s3:GetObject`` on each
  container's ``ModelDataUrl`` or ``ModelDataSource``), pulls images, creates network
  interfaces when the model has a ``VpcConfig`` (the nine ``ec2`` actions), writes logs and
  publishes metrics: "CreateModel API: Execution Role Permissions"
  (:data:`CREATE_MODEL_ROLE`). Images: only an image in a private ECR repository of the
  account needs the role (``ecr:GetAuthorizationToken`` on ``*``, the three pull actions on
  the repository); SageMaker's own framework and algorithm images, in AWS accounts, need
  nothing from it ("Use Your Own Inference Code with Hosting Services", :data:`OWN_IMAGES`).
  An SSE-KMS artifact also needs ``kms:Decrypt`` (:mod:`.storage`).
- Endpoint logs go to ``/aws/sagemaker/Endpoints/<endpoint>``, one stream per variant and
  instance ("Log Amazon SageMaker AI events with Amazon CloudWatch", :data:`ENDPOINT_LOGS`);
  instance metrics to the ``/aws/sagemaker/Endpoints`` namespace ("Amazon SageMaker AI
  metrics in Amazon CloudWatch", :data:`ENDPOINT_METRICS`).
- An endpoint config's data capture: the endpoint's models write the captured requests and
  responses to ``DataCaptureConfig.DestinationS3Uri`` with their execution role, encrypted
  with ``DataCaptureConfig.KmsKeyId`` ("Capture data from real-time endpoint",
  :data:`DATA_CAPTURE`; ``ExecutionRoleArn`` of CreateModel is the role "SageMaker can
  assume to access model artifacts and docker image for deployment"). Asynchronous
  inference writes its results to ``AsyncInferenceConfig.OutputConfig`` and publishes to its
  SNS topics the same way ("Create an asynchronous inference endpoint",
  :data:`ASYNC_INFERENCE`). The endpoint config's own ``KmsKeyId`` (the instance volumes)
  asks nothing of a role: the caller of CreateEndpoint needs ``kms:CreateGrant`` ("Amazon
  SageMaker AI API Permissions", :data:`API_PERMISSIONS`).
- A notebook instance: its lifecycle configuration's output goes to the
  ``/aws/sagemaker/NotebookInstances`` log group, stream ``<notebook>/<hook>``
  (CreateNotebookInstanceLifecycleConfig, :data:`NOTEBOOK_LIFECYCLE_LOGS`), written with the
  notebook's role, whose policy "CreateNotebookInstance API: Execution Role Permissions"
  gives the ``logs`` actions (:data:`NOTEBOOK_ROLE`). The network interface in
  ``SubnetId`` and the grant on ``KmsKeyId`` are made with the permissions of whoever calls
  CreateNotebookInstance, not the role (:data:`API_PERMISSIONS`), so they are no scenario.
- A Studio domain with a customer managed ``KmsKeyId``: at CreateApp SageMaker calls
  ``kms:CreateGrant`` (a grant for an AWS resource) and ``kms:DescribeKey`` as the user's
  execution role: "CreateDomain API: Execution Role Permissions" (:data:`CREATE_DOMAIN_ROLE`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ml_refarch import cfn
from ml_refarch.aws_facts import SAGEMAKER_VPC_ACTIONS
from ml_refarch.permissions.derive import Resource, derives
from ml_refarch.permissions.derived import storage
from ml_refarch.permissions.scenarios import Call, Scenario
from ml_refarch.permissions.values import ACCOUNT, REGION

_GUIDE = "https://docs.aws.amazon.com/sagemaker/latest/dg"
_ROLES = f"{_GUIDE}/sagemaker-roles.html"
CREATE_MODEL_ROLE = f"{_ROLES}#sagemaker-roles-createmodel-perms"
CREATE_DOMAIN_ROLE = f"{_ROLES}#sagemaker-roles-createdomain-perms"
NOTEBOOK_ROLE = f"{_ROLES}#sagemaker-roles-createnotebookinstance-perms"
PROCESSING_ROLE = f"{_ROLES}#sagemaker-roles-createprocessingjob-perms"
OWN_IMAGES = f"{_GUIDE}/your-algorithms-inference-code.html"
ENDPOINT_LOGS = f"{_GUIDE}/logging-cloudwatch.html"
ENDPOINT_METRICS = f"{_GUIDE}/monitoring-cloudwatch.html"
DATA_CAPTURE = f"{_GUIDE}/model-monitor-data-capture-endpoint.html"
ASYNC_INFERENCE = f"{_GUIDE}/async-inference-create-endpoint.html"
API_PERMISSIONS = f"{_GUIDE}/api-permissions-reference.html"
NOTEBOOK_LIFECYCLE_LOGS = (
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/"
    "API_CreateNotebookInstanceLifecycleConfig.html"
)

ECR_PULL = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")
ENDPOINT_NAMESPACE = "/aws/sagemaker/Endpoints"
#: An image in an ECR repository of this account: ``<account>.dkr.ecr.<region>.<suffix>/<repo>``.
_OWN_IMAGE = re.compile(
    r"\$\{AWS::AccountId\}\.dkr\.ecr\.[^/]+/"
    r"(?P<repository>(?:\$\{[^}]*\}|[^:@$])+)(?:[:@].*)?"
)


def log_calls(group: str, stream: str) -> list[Call]:
    """Write a log stream the way SageMaker does (the execution role pages list these four)."""
    group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
    return [
        Call("logs:CreateLogGroup", f"{group_arn}:*"),
        Call("logs:CreateLogStream", f"{group_arn}:log-stream:{stream}"),
        Call("logs:DescribeLogStreams", f"{group_arn}:*"),
        Call("logs:PutLogEvents", f"{group_arn}:log-stream:{stream}"),
    ]


def grant_calls(key: str) -> list[Call]:
    """SageMaker grants ``key`` (a logical id) to a volume it attaches: a grant for an AWS
    resource (``kms:GrantIsForAWSResource``). A grant the role could make to a principal of
    its choosing must stay denied (the design's rule for roles that need CreateGrant)."""
    arn = "${" + key + ".Arn}"
    return [
        Call("kms:CreateGrant", arn, {"kms:GrantIsForAWSResource": True}),
        Call("kms:CreateGrant", arn, {"kms:GrantIsForAWSResource": False}, expect="deny"),
    ]


def vpc_calls() -> list[Call]:
    return [Call(action, "*") for action in SAGEMAKER_VPC_ACTIONS]


# --- models -------------------------------------------------------------------------------


def _containers(resource: Resource) -> list[Mapping[str, Any]]:
    found = [resource.properties.get("PrimaryContainer")]
    found += cfn.as_list(resource.properties.get("Containers"))
    return [container for container in found if isinstance(container, Mapping)]


def _artifact_calls(resource: Resource, container: Mapping[str, Any]) -> list[Call]:
    value = container.get("ModelDataUrl")
    if value is None:
        value = cfn.raw(cfn.get(container, "ModelDataSource.S3DataSource.S3Uri"))
    place = storage.location(resource, value) if value is not None else None
    if place is None:
        return []
    # A prefix (a multi-model endpoint's, or an uncompressed S3Prefix source) holds the
    # artifacts below it; SageMaker reads them one object at a time.
    below = "model.tar.gz" if place.uri.endswith("/") else ""
    return storage.read_calls(resource, place, place.object_arn(below))


def _image_calls(resource: Resource, container: Mapping[str, Any]) -> list[Call]:
    image = container.get("Image")
    repository = resource.resource_of(image, "AWS::ECR::Repository")
    if repository is not None:
        arn = "${" + repository + ".Arn}"
    else:
        match = _OWN_IMAGE.fullmatch(resource.text(image) or "")
        if match is None:
            return []  # an AWS-owned image: SageMaker pulls it without the role
        arn = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{match['repository']}"
    return [Call("ecr:GetAuthorizationToken", "*"), *(Call(a, arn) for a in ECR_PULL)]


def _endpoints_serving(resource: Resource) -> Iterator[tuple[str, str]]:
    """(endpoint logical id, variant name) for each endpoint of the template that serves
    the model."""
    for config_id, config in resource.of_type("AWS::SageMaker::EndpointConfig").items():
        variants = cfn.as_list(cfn.properties_of(config).get("ProductionVariants"))
        names = [
            str(variant.get("VariantName", "AllTraffic"))
            for variant in variants
            if isinstance(variant, Mapping)
            and resource.resource_of(variant.get("ModelName"), "AWS::SageMaker::Model")
            == resource.logical_id
        ]
        if not names:
            continue
        for endpoint_id, endpoint in resource.of_type("AWS::SageMaker::Endpoint").items():
            used = cfn.properties_of(endpoint).get("EndpointConfigName")
            if resource.resource_of(used, "AWS::SageMaker::EndpointConfig") == config_id:
                yield from ((endpoint_id, name) for name in names)


@derives("AWS::SageMaker::Model")
def model_role(resource: Resource) -> list[Scenario]:
    role = resource.role_of(resource.properties.get("ExecutionRoleArn"))
    if role is None:
        return []
    on_behalf = "SageMaker, hosting the model"
    scenarios = []
    containers = _containers(resource)
    artifacts = [call for c in containers for call in _artifact_calls(resource, c)]
    if artifacts:
        scenarios.append(
            resource.scenario(
                "SageMaker reads the model artifacts",
                role,
                CREATE_MODEL_ROLE,
                artifacts,
                on_behalf_of=on_behalf,
            )
        )
    images = [call for c in containers for call in _image_calls(resource, c)]
    if images:
        scenarios.append(
            resource.scenario(
                "SageMaker pulls the model's image from the account's ECR",
                role,
                CREATE_MODEL_ROLE,
                images,
                on_behalf_of=on_behalf,
            )
        )
    if resource.properties.get("VpcConfig"):
        scenarios.append(
            resource.scenario(
                "SageMaker attaches the model's instances to its VPC",
                role,
                CREATE_MODEL_ROLE,
                vpc_calls(),
                on_behalf_of=on_behalf,
            )
        )
    for endpoint, variant in _endpoints_serving(resource):
        group = "/aws/sagemaker/Endpoints/${" + endpoint + ".EndpointName}"
        scenarios.append(
            resource.scenario(
                f"{endpoint} ({variant}) writes its logs and metrics",
                role,
                ENDPOINT_LOGS,
                [
                    *log_calls(group, f"{variant}/i-0123456789abcdef0"),
                    Call(
                        "cloudwatch:PutMetricData",
                        "*",
                        {"cloudwatch:namespace": ENDPOINT_NAMESPACE},
                    ),
                ],
                on_behalf_of=on_behalf,
            )
        )
    return scenarios


# --- endpoint configs ---------------------------------------------------------------------


def _model_roles(resource: Resource) -> list[str]:
    """The execution roles of the models the endpoint config serves."""
    roles = []
    for variant in cfn.as_list(resource.properties.get("ProductionVariants")):
        if not isinstance(variant, Mapping):
            continue
        model = resource.resource_of(variant.get("ModelName"), "AWS::SageMaker::Model")
        if model is None:
            continue
        role = resource.role_of(resource.properties_of(model).get("ExecutionRoleArn"))
        if role is not None and role not in roles:
            roles.append(role)
    return roles


def output_calls(resource: Resource, uri: Any, below: str, key: Any) -> list[Call]:
    """Write one object under ``uri`` encrypted with ``key`` (or the bucket's default key);
    with a key asked for, SageMaker's output pages also list ``kms:Encrypt``."""
    place = storage.location(resource, uri)
    if place is None:
        return []
    calls = storage.write_calls(resource, place, place.object_arn(below), key)
    asked = resource.resource_of(key, "AWS::KMS::Key") if key else None
    if asked is not None:
        calls.append(Call("kms:Encrypt", "${" + asked + ".Arn}", calls[-1].context))
    return calls


@derives("AWS::SageMaker::EndpointConfig")
def endpoint_config_outputs(resource: Resource) -> list[Scenario]:
    roles = _model_roles(resource)
    capture = resource.properties.get("DataCaptureConfig")
    scenarios = []
    if isinstance(capture, Mapping) and cfn.truthy(capture.get("EnableCapture", True)) is not False:
        calls = output_calls(
            resource,
            capture.get("DestinationS3Uri"),
            "endpoint/AllTraffic/2026/01/01/00/capture.jsonl",
            capture.get("KmsKeyId"),
        )
        scenarios += [
            resource.scenario(
                "the endpoint writes captured requests and responses",
                role,
                DATA_CAPTURE,
                calls,
                on_behalf_of="SageMaker, capturing the endpoint's data",
            )
            for role in roles
            if calls
        ]
    output = cfn.raw(cfn.get(resource.properties, "AsyncInferenceConfig.OutputConfig"))
    if isinstance(output, Mapping):
        calls = []
        for path in ("S3OutputPath", "S3FailurePath"):
            calls += output_calls(resource, output.get(path), "result.out", output.get("KmsKeyId"))
        for topic_path in ("NotificationConfig.SuccessTopic", "NotificationConfig.ErrorTopic"):
            topic = resource.resource_of(cfn.raw(cfn.get(output, topic_path)), "AWS::SNS::Topic")
            if topic is not None:
                calls.append(Call("sns:Publish", "${" + topic + "}"))
        scenarios += [
            resource.scenario(
                "the endpoint writes asynchronous results and notifies",
                role,
                ASYNC_INFERENCE,
                calls,
                on_behalf_of="SageMaker, for asynchronous inference",
            )
            for role in roles
            if calls
        ]
    return scenarios


# --- notebook instances and Studio --------------------------------------------------------


@derives("AWS::SageMaker::NotebookInstance")
def notebook_instance_role(resource: Resource) -> list[Scenario]:
    role = resource.role_of(resource.properties.get("RoleArn"))
    config = resource.resource_of(
        resource.properties.get("LifecycleConfigName"),
        "AWS::SageMaker::NotebookInstanceLifecycleConfig",
    )
    if role is None or config is None:
        return []
    hooks = [
        hook
        for key, hook in (
            ("OnCreate", "LifecycleConfigOnCreate"),
            ("OnStart", "LifecycleConfigOnStart"),
        )
        if resource.properties_of(config).get(key)
    ]
    name = "${" + resource.logical_id + ".NotebookInstanceName}"
    calls = [
        call
        for hook in hooks
        for call in log_calls("/aws/sagemaker/NotebookInstances", f"{name}/{hook}")
    ]
    if not calls:
        return []
    return [
        resource.scenario(
            "the notebook instance writes its lifecycle configuration's output",
            role,
            NOTEBOOK_LIFECYCLE_LOGS,
            calls,
            on_behalf_of="SageMaker, running the lifecycle configuration",
        )
    ]


def _domain_key_scenario(resource: Resource, role: str, key: str) -> Scenario:
    return resource.scenario(
        f"SageMaker uses the domain key for an app of {role}",
        role,
        CREATE_DOMAIN_ROLE,
        [*grant_calls(key), Call("kms:DescribeKey", "${" + key + ".Arn}")],
        on_behalf_of="SageMaker, at CreateApp",
    )


def _settings_roles(resource: Resource, properties: Mapping[str, Any], *paths: str) -> list[str]:
    roles = []
    for path in paths:
        role = resource.role_of(cfn.raw(cfn.get(properties, path)))
        if role is not None and role not in roles:
            roles.append(role)
    return roles


@derives("AWS::SageMaker::Domain")
def domain_key(resource: Resource) -> list[Scenario]:
    key = resource.resource_of(resource.properties.get("KmsKeyId"), "AWS::KMS::Key")
    if key is None:
        return []
    roles = _settings_roles(
        resource,
        resource.properties,
        "DefaultUserSettings.ExecutionRole",
        "DefaultSpaceSettings.ExecutionRole",
    )
    return [_domain_key_scenario(resource, role, key) for role in roles]


@derives("AWS::SageMaker::UserProfile")
def user_profile_key(resource: Resource) -> list[Scenario]:
    domain = resource.resource_of(resource.properties.get("DomainId"), "AWS::SageMaker::Domain")
    if domain is None:
        return []
    domain_properties = resource.properties_of(domain)
    key = resource.resource_of(domain_properties.get("KmsKeyId"), "AWS::KMS::Key")
    if key is None:
        return []
    defaults = _settings_roles(resource, domain_properties, "DefaultUserSettings.ExecutionRole")
    roles = _settings_roles(resource, resource.properties, "UserSettings.ExecutionRole")
    return [_domain_key_scenario(resource, role, key) for role in roles if role not in defaults]


def artifact_calls(resource: Resource, container: Mapping[str, Any]) -> list[Call]:
    """Reading a container's artifacts (a model's, or a model package's), as its role."""
    return _artifact_calls(resource, container)


def image_calls(resource: Resource, container: Mapping[str, Any]) -> list[Call]:
    """Pulling a container's image from the account's ECR (none for AWS-owned images)."""
    return _image_calls(resource, container)
