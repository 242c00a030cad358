"""Model hosting: models, endpoint configs, endpoints and their auto scaling.

Notes: "Security", "Inference", "Serverless inference", "Inference pipelines".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ml_refarch.aws_facts import (
    PIPELINE_MAX_CONTAINERS,
    PIPELINE_MIN_CONTAINERS,
    SAGEMAKER_SCALING_NAMESPACE,
    SAGEMAKER_VARIANT_INSTANCE_COUNT,
    SERVERLESS_MAX_CONCURRENCY,
    SERVERLESS_MEMORY_SIZES_MB,
    has_local_storage,
)
from ml_refarch.cfn import (
    Unresolved,
    as_list,
    get,
    is_intrinsic,
    literal_text,
    number,
    present,
    raw,
    referenced_ids,
    truthy,
)
from ml_refarch.compliance.rules.model import (
    COMPLIANT,
    NON_COMPLIANT,
    NOT_APPLICABLE,
    Resource,
    Verdict,
    judge,
    rule,
)

MODEL = "AWS::SageMaker::Model"
ENDPOINT_CONFIG = "AWS::SageMaker::EndpointConfig"
ENDPOINT = "AWS::SageMaker::Endpoint"
SCALABLE_TARGET = "AWS::ApplicationAutoScaling::ScalableTarget"
SCALING_POLICY = "AWS::ApplicationAutoScaling::ScalingPolicy"
SUBNET = "AWS::EC2::Subnet"

#: SageMaker spreads an endpoint's instances over Availability Zones only when it has several.
MIN_INSTANCES_FOR_MULTI_AZ = 2
MIN_AVAILABILITY_ZONES = 2


# ---------------------------------------------------------------------------------------------
# Helpers over production variants
# ---------------------------------------------------------------------------------------------


def _variants(config: Resource, *, shadow: bool = False) -> list[Mapping[str, Any]]:
    """The literal production variants of an endpoint config (and shadow ones if asked)."""
    paths = ["ProductionVariants"]
    if shadow:
        paths.append("ShadowProductionVariants")
    found: list[Mapping[str, Any]] = []
    for path in paths:
        for variant in as_list(config.get(path)):
            # A variant behind an intrinsic (Fn::If, say) cannot be inspected.
            if isinstance(variant, Mapping) and not is_intrinsic(variant):
                found.append(variant)
    return found


def _instance_based(variant: Mapping[str, Any]) -> bool:
    return present(get(variant, "InstanceType"))


def _serverless(variant: Mapping[str, Any]) -> bool:
    return present(get(variant, "ServerlessConfig")) and not _instance_based(variant)


def _variant_name(variant: Mapping[str, Any], index: int) -> str:
    name = get(variant, "VariantName")
    return name if isinstance(name, str) and name else f"#{index}"


def _finding(variant: Mapping[str, Any], index: int) -> str:
    return f"Variant::{_variant_name(variant, index)}"


def _names_resource(value: Any, target: Resource, name_property: str) -> bool:
    """Whether ``value`` points at ``target``: by Ref/GetAtt, or by its literal name."""
    if target.logical_id in referenced_ids(raw(value)):
        return True
    name = target.get(name_property)
    return isinstance(name, str) and bool(name) and value == name


def _configs_using(model: Resource) -> Iterator[tuple[Resource, Mapping[str, Any]]]:
    """Every (endpoint config, variant) pair in the stack that serves ``model``."""
    for config in model.others(ENDPOINT_CONFIG):
        for variant in _variants(config, shadow=True):
            if _names_resource(get(variant, "ModelName"), model, "ModelName"):
                yield config, variant


def _config_of(endpoint: Resource) -> Resource | None:
    value = endpoint.get("EndpointConfigName")
    target = endpoint.resolve_ref(value)
    if target is not None:
        return target if target.type == ENDPOINT_CONFIG else None
    if isinstance(value, str):
        for config in endpoint.others(ENDPOINT_CONFIG):
            if config.get("EndpointConfigName") == value:
                return config
    return None


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


@rule(
    "MD1",
    types=MODEL,
    info="The model's containers are not network isolated.",
    explanation=(
        "Inference containers can open outbound connections by default, so code or a "
        "dependency inside the image could send requests or data anywhere. Set "
        "EnableNetworkIsolation to true. Isolation also cuts the container off from S3 and "
        "every other service, so a model that really needs the network must keep it on "
        "deliberately: acknowledge this finding with the reason."
    ),
    notes="Security",
)
def model_network_isolation(resource: Resource):
    return judge(resource.get("EnableNetworkIsolation"), lambda value: truthy(value) is True)


@rule(
    "MD2",
    types=MODEL,
    info="The model is served by an instance-based endpoint but has no VpcConfig.",
    explanation=(
        "Without a VpcConfig, the instances hosting a real-time endpoint sit outside your "
        "VPC: no security group, VPC endpoint policy or flow log sees what the container does. "
        "Give the model a VpcConfig with private subnets and a security group (serverless "
        "endpoints cannot run in a VPC and are not checked)."
    ),
    notes="Security",
)
def model_in_vpc(resource: Resource):
    if not any(_instance_based(variant) for _, variant in _configs_using(resource)):
        return NOT_APPLICABLE
    subnets = resource.get("VpcConfig.Subnets")
    groups = resource.get("VpcConfig.SecurityGroupIds")
    return COMPLIANT if present(subnets) and present(groups) else NON_COMPLIANT


def _same_kind(values: list[Any]) -> bool:
    """All literal names, or all intrinsics: only then does equality mean the same zone."""
    literal = [isinstance(value, str) for value in values]
    return all(literal) or not any(literal)


@rule(
    "MZ2",
    types=MODEL,
    info="The model's VpcConfig subnets are not in at least two Availability Zones.",
    explanation=(
        "SageMaker places an endpoint's instances in the subnets of the model's VpcConfig. "
        "When those subnets all share one Availability Zone, losing that zone takes the whole "
        "endpoint down however many instances it has. List subnets from two or more zones."
    ),
    notes="Inference",
)
def model_subnets_multi_az(resource: Resource):
    subnets = resource.get("VpcConfig.Subnets")
    if subnets is None or isinstance(subnets, Unresolved):
        return NOT_APPLICABLE
    entries = as_list(subnets)
    # Fn::Split, Fn::ImportValue and the like may stand for any number of subnets.
    if any(is_intrinsic(entry) and not referenced_ids(entry) for entry in entries):
        return NOT_APPLICABLE
    if len(entries) < MIN_AVAILABILITY_ZONES:
        return NON_COMPLIANT
    zones: list[Any] = []
    for entry in entries:
        subnet = resource.resolve_ref(entry)
        if subnet is None or subnet.type != SUBNET:
            return NOT_APPLICABLE
        zone = raw(subnet.get("AvailabilityZone"))
        if zone is None:
            return NOT_APPLICABLE
        zones.append(zone)
    if not _same_kind(zones):
        return NOT_APPLICABLE
    distinct = {json.dumps(zone, sort_keys=True) for zone in zones}
    return COMPLIANT if len(distinct) >= MIN_AVAILABILITY_ZONES else NON_COMPLIANT


@rule(
    "PL1",
    types=MODEL,
    info="The inference pipeline model does not have between 2 and 15 containers.",
    explanation=(
        "A model with Containers and no Direct InferenceExecutionConfig is a serial inference "
        "pipeline, which SageMaker accepts only with 2 to 15 containers. Use PrimaryContainer "
        "for a single container, and split longer chains or merge steps into fewer images."
    ),
    notes="Inference pipelines",
)
def pipeline_container_count(resource: Resource):
    containers = resource.get("Containers")
    if containers is None or isinstance(containers, Unresolved):
        return NOT_APPLICABLE
    mode = resource.get("InferenceExecutionConfig.Mode")
    if isinstance(mode, Unresolved) or (isinstance(mode, str) and mode.lower() == "direct"):
        return NOT_APPLICABLE
    entries = as_list(containers)
    count = len(entries)
    in_range = PIPELINE_MIN_CONTAINERS <= count <= PIPELINE_MAX_CONTAINERS
    if not in_range and any(is_intrinsic(entry) for entry in entries):
        return NOT_APPLICABLE  # an Fn::If entry may drop out (AWS::NoValue) at deploy time
    return COMPLIANT if in_range else NON_COMPLIANT


# ---------------------------------------------------------------------------------------------
# Endpoint configs
# ---------------------------------------------------------------------------------------------


@rule(
    "EC1",
    types=ENDPOINT_CONFIG,
    info=(
        "Instance storage lacks a KMS key, or a key is set for local-storage instances "
        "the API rejects."
    ),
    explanation=(
        "Instance-based endpoints attach an ML storage volume holding the model artifacts; "
        "a KmsKeyId encrypts it under a key whose policy and audit trail you control. "
        "Instance types with local NVMe storage (c5d, g4dn, g5, p4d, ...) are the exception: "
        "their volumes are encrypted by the hardware and CreateEndpointConfig refuses a "
        "KmsKeyId, reported here as LocalStorage::<variant>. Set the key for every other "
        "config, and drop it when a variant uses local storage."
    ),
    notes="Security",
)
def endpoint_config_kms(resource: Resource):
    instance_variants = [
        (index, variant)
        for index, variant in enumerate(_variants(resource, shadow=True))
        if _instance_based(variant)
    ]
    if not instance_variants:
        return NOT_APPLICABLE
    local = [
        (index, variant)
        for index, variant in instance_variants
        if isinstance(get(variant, "InstanceType"), str)
        and has_local_storage(get(variant, "InstanceType"))
    ]
    key = resource.get("KmsKeyId")
    has_key = present(key)
    if local:
        if not has_key:
            return COMPLIANT
        if resource.depends_on_inputs(key):
            return NOT_APPLICABLE  # a parameter or condition may leave the key out
        return [f"LocalStorage::{_variant_name(variant, index)}" for index, variant in local]
    if has_key:
        return COMPLIANT
    # A deploy-time instance type may well be one with local storage, which needs no key.
    if any(not isinstance(get(v, "InstanceType"), str) for _, v in instance_variants):
        return NOT_APPLICABLE
    return NON_COMPLIANT


@rule(
    "MZ1",
    types=ENDPOINT_CONFIG,
    info="A production variant starts with fewer than two instances.",
    explanation=(
        "SageMaker only spreads a variant over Availability Zones when it runs more than one "
        "instance; with a single instance, one instance or zone failure stops the variant. "
        "Set InitialInstanceCount to 2 or more for production variants."
    ),
    notes="Inference",
)
def endpoint_config_instance_count(resource: Resource):
    findings: list[str] = []
    judged = 0
    for index, variant in enumerate(_variants(resource)):
        if not _instance_based(variant):
            continue
        value = get(variant, "InitialInstanceCount")
        if isinstance(value, Unresolved):
            continue
        judged += 1
        count = number(value)
        if count is None or count < MIN_INSTANCES_FOR_MULTI_AZ:
            findings.append(_finding(variant, index))
    return findings if judged else NOT_APPLICABLE


def _serverless_findings(
    resource: Resource, check: Callable[[Mapping[str, Any]], bool | None]
) -> Verdict:
    """Findings for the serverless variants whose ServerlessConfig fails ``check``.

    ``check`` answers None when a value is known only at deploy time; a config where no
    variant could be judged is not applicable.
    """
    findings: list[str] = []
    judged = 0
    for index, variant in enumerate(_variants(resource)):
        if not _serverless(variant):
            continue
        settings = get(variant, "ServerlessConfig")
        if not isinstance(settings, Mapping):
            continue
        verdict = check(settings)
        if verdict is None:
            continue
        judged += 1
        if not verdict:
            findings.append(_finding(variant, index))
    return findings if judged else NOT_APPLICABLE


@rule(
    "SV1",
    types=ENDPOINT_CONFIG,
    info="A serverless variant's MemorySizeInMB is not 1024, 2048, 3072, 4096, 5120 or 6144.",
    explanation=(
        "Serverless endpoints come in six memory sizes, from 1 GB to 6 GB in 1 GB steps, and "
        "compute scales with memory. Any other value fails at deployment; pick the size that "
        "fits the model and its latency target."
    ),
    notes="Serverless inference",
)
def serverless_memory(resource: Resource):
    def check(settings: Mapping[str, Any]) -> bool | None:
        value = get(settings, "MemorySizeInMB")
        if isinstance(value, Unresolved):
            return None
        return number(value) in SERVERLESS_MEMORY_SIZES_MB

    return _serverless_findings(resource, check)


def _max_concurrency(settings: Mapping[str, Any]) -> float | None:
    return number(get(settings, "MaxConcurrency"))


@rule(
    "SV2",
    types=ENDPOINT_CONFIG,
    info="A serverless variant's MaxConcurrency is not between 1 and 200.",
    explanation=(
        "MaxConcurrency caps the concurrent invocations one serverless endpoint serves; "
        "SageMaker accepts 1 to 200 (and the account's total is limited as well). Size it to "
        "the expected peak and let clients retry on throttling."
    ),
    notes="Serverless inference",
)
def serverless_max_concurrency(resource: Resource):
    def check(settings: Mapping[str, Any]) -> bool | None:
        if isinstance(get(settings, "MaxConcurrency"), Unresolved):
            return None
        value = _max_concurrency(settings)
        return value is not None and value.is_integer() and 1 <= value <= SERVERLESS_MAX_CONCURRENCY

    return _serverless_findings(resource, check)


@rule(
    "SV3",
    types=ENDPOINT_CONFIG,
    info="A serverless variant's ProvisionedConcurrency is below 1 or above its MaxConcurrency.",
    explanation=(
        "Provisioned concurrency keeps that many serverless workers warm to avoid cold "
        "starts. It must be at least 1 and can never exceed MaxConcurrency, the most "
        "concurrent invocations the endpoint serves. Lower it or raise MaxConcurrency."
    ),
    notes="Serverless inference",
)
def serverless_provisioned_concurrency(resource: Resource):
    def check(settings: Mapping[str, Any]) -> bool | None:
        value = get(settings, "ProvisionedConcurrency")
        if value is None or isinstance(value, Unresolved):
            return None
        provisioned = number(value)
        if provisioned is None or provisioned < 1:
            return False
        ceiling = _max_concurrency(settings)
        return None if ceiling is None else provisioned <= ceiling

    return _serverless_findings(resource, check)


# ---------------------------------------------------------------------------------------------
# Auto scaling
# ---------------------------------------------------------------------------------------------


def _scales_instance_count(target: Resource) -> bool | None:
    """Whether a scalable target scales a SageMaker variant's instances (None: unknown)."""
    namespace = target.get("ServiceNamespace")
    dimension = target.get("ScalableDimension")
    if isinstance(namespace, Unresolved) or isinstance(dimension, Unresolved):
        return None
    return (
        namespace == SAGEMAKER_SCALING_NAMESPACE and dimension == SAGEMAKER_VARIANT_INSTANCE_COUNT
    )


@rule(
    "MZ3",
    types=SCALABLE_TARGET,
    info="The endpoint variant's scalable target lets it scale in below two instances.",
    explanation=(
        "Auto scaling can take a variant down to MinCapacity instances, and a variant on a "
        "single instance is no longer spread over Availability Zones. Keep MinCapacity at 2 "
        "or more for production endpoints."
    ),
    notes="Inference",
)
def scalable_target_min_capacity(resource: Resource):
    if _scales_instance_count(resource) is not True:
        return NOT_APPLICABLE
    value = resource.get("MinCapacity")
    if isinstance(value, Unresolved):
        return NOT_APPLICABLE
    minimum = number(value)
    in_several_zones = minimum is not None and minimum >= MIN_INSTANCES_FOR_MULTI_AZ
    return COMPLIANT if in_several_zones else NON_COMPLIANT


def _targets_variant(target: Resource, endpoint: Resource, variant_name: str) -> bool:
    if _scales_instance_count(target) is False:
        return False
    resource_id = target.get("ResourceId")
    text = literal_text(resource_id)
    if not text.endswith(f"/variant/{variant_name}"):
        return False
    if endpoint.logical_id in referenced_ids(raw(resource_id)):
        return True
    name = endpoint.get("EndpointName")
    return isinstance(name, str) and bool(name) and f"endpoint/{name}/" in text


def _policy_scales(policy: Resource, target: Resource) -> bool:
    if target.logical_id in referenced_ids(raw(policy.get("ScalingTargetId"))):
        return True
    # A policy may instead name the target by its three identifying properties.
    keys = ("ResourceId", "ScalableDimension", "ServiceNamespace")
    return all(
        present(policy.get(key)) and raw(policy.get(key)) == raw(target.get(key)) for key in keys
    )


def _tracks_with_cooldowns(policy: Resource) -> bool:
    if policy.get("PolicyType") != "TargetTrackingScaling":
        return False
    settings = "TargetTrackingScalingPolicyConfiguration"
    return present(policy.get(f"{settings}.ScaleInCooldown")) and present(
        policy.get(f"{settings}.ScaleOutCooldown")
    )


#: What ties a scaling policy to a variant; a deploy-time value in any of them leaves
#: unknown whether a variant is scaled.
_SCALING_LINKS = {
    SCALABLE_TARGET: ("ResourceId", "ServiceNamespace", "ScalableDimension"),
    SCALING_POLICY: (
        "PolicyType",
        "ScalingTargetId",
        "ResourceId",
        "ServiceNamespace",
        "ScalableDimension",
    ),
}


def _scaling_unknown(endpoint: Resource) -> bool:
    """Whether the endpoint's name or any link between scaling resources and variants
    depends on the template's inputs."""
    if endpoint.depends_on_inputs(endpoint.get("EndpointName")):
        return True
    return any(
        other.depends_on_inputs(other.get(key))
        for other in endpoint.others(*_SCALING_LINKS)
        for key in _SCALING_LINKS[other.type]
    )


@rule(
    "AS1",
    types=ENDPOINT,
    level="warning",
    info="A variant has no target-tracking scaling policy with scale-in and scale-out cooldowns.",
    explanation=(
        "A fixed instance count either wastes money at night or throttles at peak. Register "
        "each variant as a scalable target and attach a target-tracking policy (on "
        "SageMakerVariantInvocationsPerInstance, for example) with explicit scale-in and "
        "scale-out cooldowns, so that one burst does not make the fleet oscillate."
    ),
    notes="Inference",
)
def endpoint_autoscaling(resource: Resource):
    config = _config_of(resource)
    if config is None:
        return NOT_APPLICABLE
    variants = [
        (index, variant)
        for index, variant in enumerate(_variants(config))
        if _instance_based(variant)
    ]
    targets = list(resource.others(SCALABLE_TARGET))
    policies = [p for p in resource.others(SCALING_POLICY) if _tracks_with_cooldowns(p)]
    unknown = _scaling_unknown(resource)
    findings: list[str] = []
    judged = 0
    for index, variant in variants:
        name = get(variant, "VariantName")
        if not isinstance(name, str):
            # The target's ResourceId cannot be matched against a deploy-time name.
            continue
        scaled = any(
            _targets_variant(target, resource, name)
            and any(_policy_scales(policy, target) for policy in policies)
            for target in targets
        )
        if not scaled and unknown:
            continue
        judged += 1
        if not scaled:
            findings.append(_finding(variant, index))
    return findings if judged else NOT_APPLICABLE
