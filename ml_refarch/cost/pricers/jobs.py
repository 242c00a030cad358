"""Jobs, schedules and functions: what runs only when started bills by use, never idle.

Nothing here has an idle cost; each pricer names what bills when work runs:

- ``AWS::IAM::Role`` that SageMaker can assume for jobs: training and tuning instance-hours;
- ``AWS::StepFunctions::StateMachine``: state transitions (or Express requests), X-Ray
  traces, the training, tuning and transform jobs it starts, and the endpoint it deploys
  (it exists outside the stack, so it is named with what it costs an hour, not counted);
- ``AWS::SageMaker::MonitoringSchedule``: a processing job on every tick whether or not
  traffic came (the schedule alone starts the runs, so the item says how many and on what);
- ``AWS::Scheduler::Schedule`` whose universal target creates a SageMaker processing job
  (``aws-sdk:sagemaker:createProcessingJob``): the same, read from the request the schedule
  sends; Scheduler's own invocations are free up to 14 million a month
  (https://aws.amazon.com/eventbridge/pricing/), so other schedules cost nothing here;
- ``AWS::Lambda::Function``: invocations, unless it only handles custom resources (those
  run only while the stack deploys, updates or deletes);
- ``AWS::Glue::Job``: DPU-hours while a run is in progress, billed per second with a
  1-minute minimum for Spark jobs on Glue 2.0 and later; a job that is not running costs
  nothing (https://aws.amazon.com/glue/pricing/); the logs Glue writes for it bill like any
  CloudWatch Logs. Its security configuration, database and table cost nothing idle (the
  Data Catalog stores the first million objects free);
- ``AWS::Batch::ComputeEnvironment``: the EC2 (On-Demand or Spot) or Fargate capacity jobs
  run on, billed while it runs ("AWS Batch pricing": no charge for Batch itself). A managed
  EC2 environment whose ``MinvCpus`` is above 0 keeps that many vCPUs of instances running
  idle: an unpriced line says so (which instance types Batch picks is not in the template).
  Job queues and job definitions cost nothing;
- ``AWS::ECR::Repository``: storage of the images it holds, and data transfer, by use;
- ``AWS::StepFunctions::StateMachine`` that starts Inference Recommender jobs
  (``createInferenceRecommendationsJob``): "Amazon SageMaker Inference Recommender only
  charges you for the instances used while your jobs are executing"
  (https://docs.aws.amazon.com/sagemaker/latest/dg/inference-recommender.html); the role
  such a job passes is no training role;
- ``AWS::SageMaker::ModelPackageGroup`` and ``AWS::SageMaker::ModelPackage``: registry
  records; the SageMaker AI pricing page (https://aws.amazon.com/sagemaker/ai/pricing/)
  bills what runs (instances, storage, requests), not the registry, and a version's
  artifact and metrics bill as S3 objects wherever they are.
- ``AWS::CodeBuild::Project``: build minutes of its compute type, billed per minute while a
  build runs; a project with no build running costs nothing ("AWS CodeBuild pricing",
  https://aws.amazon.com/codebuild/pricing/).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ml_refarch.aws_facts import (
    IAM_ROLE_ATTACHMENTS,
    MODEL_MONITOR_JOB_DEFINITION_TYPES,
    SAGEMAKER_HOSTING_ROLE_USERS,
    SAGEMAKER_SERVICE_PRINCIPAL,
    monitoring_runs_per_day,
    step_functions_task_action,
)
from ml_refarch.cfn import (
    integer,
    joined_text,
    parse_json_text,
    properties_of,
    referenced_ids,
    trusted_services,
    walk_mappings,
)
from ml_refarch.cost.lines import Usage, money, show, unit_price, unpriced
from ml_refarch.cost.prices import ENDPOINT_INSTANCE_HOUR, LOGS_INGESTED_GB
from ml_refarch.cost.registry import Entry, Priced, TemplateContext, pricer

TRAINING = Usage("training", "SageMaker training and tuning instance-hours")
_JOB_ACTIONS = {"createTrainingJob", "createHyperParameterTuningJob"}
RECOMMENDER = Usage(
    "recommender",
    "SageMaker Inference Recommender: the instances of its benchmark endpoints, per hour "
    "while a job runs",
)
_GENERIC_DEPLOYED_ENDPOINT = (
    "the endpoint the state machine deploys, outside the stack: instances x their hourly "
    "price while it exists (count and type not readable from the definition)"
)


@pricer("AWS::IAM::Role")
def job_roles(roles: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    """Training and tuning, when a role SageMaker can assume can start jobs.

    A role only models and monitoring job definitions use serves hosting, not training: it
    does not count. A role nothing in the stack uses (a job role for scripts), or one a
    notebook or Studio domain uses, does.
    """
    trains = _machines_train(context)
    for logical_id, resource in roles:
        if SAGEMAKER_SERVICE_PRINCIPAL not in trusted_services(resource):
            continue
        users = context.referring_types(logical_id, ignore=IAM_ROLE_ATTACHMENTS)
        # A role that only state machines pass, when none of them trains, runs their other
        # jobs (Inference Recommender's), priced with the state machine.
        if users == {"AWS::StepFunctions::StateMachine"} and not trains:
            continue
        if _only_processing_schedules(logical_id, context):
            # The schedule pricer names the processing runs a schedule starts.
            users = users - {"AWS::Scheduler::Schedule"}
            if not users:
                continue
        if not users or users - SAGEMAKER_HOSTING_ROLE_USERS:
            yield TRAINING
            return


def _machines_train(context: TemplateContext) -> bool:
    """Whether any state machine of the template starts training or tuning jobs."""
    return any(
        _actions_of(properties_of(resource)) & _JOB_ACTIONS
        for _, resource in context.of_type("AWS::StepFunctions::StateMachine")
    )


def _actions_of(properties: dict) -> set[str]:
    text = _definition_text(properties)
    if text is None:
        return set()
    try:
        return _task_actions(json.loads(text))
    except ValueError:
        return _text_actions(text)


@pricer("AWS::SageMaker::ModelPackageGroup", "AWS::SageMaker::ModelPackage")
def registry(_: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    """Registry records cost nothing idle or by use (see the module docstring)."""
    yield from ()


def _is_processing_schedule(resource: Any) -> bool:
    target = properties_of(resource).get("Target") or {}
    return str(joined_text(target.get("Arn")) or "").endswith(
        ":aws-sdk:sagemaker:createProcessingJob"
    )


def _only_processing_schedules(role_id: str, context: TemplateContext) -> bool:
    """Whether the schedules that name the role all start processing jobs (and one does)."""
    naming = [
        resource
        for _, resource in context.of_type("AWS::Scheduler::Schedule")
        if role_id in referenced_ids(resource.get("Properties"))
    ]
    return bool(naming) and all(_is_processing_schedule(resource) for resource in naming)


@pricer("AWS::Lambda::Function")
def functions(found: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    handlers = context.custom_resource_handlers()
    if any(logical_id not in handlers for logical_id, _ in found):
        yield Usage("lambda", "Lambda invocations and GB-seconds")


@pricer("AWS::StepFunctions::StateMachine")
def state_machines(machines: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    for _, resource in machines:
        properties = properties_of(resource)
        if properties.get("StateMachineType") == "EXPRESS":
            yield Usage("state-machine", "Step Functions Express requests and duration")
        else:
            yield Usage("state-machine", "Step Functions state transitions")
        tracing = properties.get("TracingConfiguration")
        if isinstance(tracing, dict) and tracing.get("Enabled") is True:
            yield Usage("state-machine", "X-Ray traces recorded and scanned")
        text = _definition_text(properties)
        if text is None:
            continue
        try:
            definition = json.loads(text)
        except ValueError:
            definition = None
        actions = _task_actions(definition) if definition is not None else _text_actions(text)
        if actions & _JOB_ACTIONS:
            yield TRAINING
        if "createInferenceRecommendationsJob" in actions:
            yield RECOMMENDER
        if "createEndpoint" in actions:
            for item in _deployed_endpoints(definition, context):
                yield Usage("deployed-endpoint", item)
        if "createTransformJob" in actions:
            yield Usage("transform", "SageMaker batch transform instance-hours per run")


def _definition_text(properties: dict) -> str | None:
    if "DefinitionString" in properties:
        return joined_text(properties["DefinitionString"])
    if isinstance(properties.get("Definition"), dict):
        return json.dumps(properties["Definition"])
    return None


def _task_actions(definition: Any) -> set[str]:
    return {
        step_functions_task_action(node["Resource"])
        for node in walk_mappings(definition)
        if isinstance(node.get("Resource"), str)
    }


def _text_actions(text: str) -> set[str]:
    """The SageMaker actions named in a definition that does not parse as JSON."""
    actions = {
        action
        for action in (
            *_JOB_ACTIONS,
            "createEndpointConfig",
            "createTransformJob",
            "createInferenceRecommendationsJob",
        )
        if action in text
    }
    if "createEndpoint" in text.replace("createEndpointConfig", ""):
        actions.add("createEndpoint")
    return actions


def _deployed_endpoints(definition: Any, context: TemplateContext) -> list[str]:
    """Usage items for the endpoints a state machine creates outside its stack."""
    items = []
    for node in walk_mappings(definition):
        resource = node.get("Resource")
        if (
            not isinstance(resource, str)
            or step_functions_task_action(resource) != "createEndpointConfig"
        ):
            continue
        parameters = node.get("Parameters") or node.get("Arguments") or {}
        variants = parameters.get("ProductionVariants") if isinstance(parameters, dict) else None
        if not isinstance(variants, list) or not variants:
            return [_GENERIC_DEPLOYED_ENDPOINT]
        parts, hourly_usd = [], 0.0
        for variant in variants:
            if not isinstance(variant, dict):
                return [_GENERIC_DEPLOYED_ENDPOINT]
            count = integer(variant.get("InitialInstanceCount"))
            instance_type = variant.get("InstanceType")
            if (
                count is None
                or not isinstance(instance_type, str)
                or not instance_type.startswith("ml.")
            ):
                return [_GENERIC_DEPLOYED_ENDPOINT]
            usd = context.prices.usd_for(
                ENDPOINT_INSTANCE_HOUR, instance_type, "SageMaker endpoint instance type"
            )
            parts.append(f"{count} x {instance_type} at {unit_price(usd)}/hour")
            hourly_usd += count * usd
        items.append(
            "the endpoint the state machine deploys, outside the stack: "
            f"{' + '.join(parts)} = {unit_price(round(hourly_usd, 4))} an hour, about "
            f"{money(hourly_usd * context.hours)} a month while it exists"
        )
    return list(dict.fromkeys(items)) or [_GENERIC_DEPLOYED_ENDPOINT]


def _scheduled_runs(
    what: str, expression: Any, cluster: Any, stopping: Any, context: TemplateContext
) -> Usage:
    """``<what> (<expression>): about N processing runs a month on <instances>, ...``."""
    try:
        runs = f"about {monitoring_runs_per_day(expression) * context.hours / 24:.0f}"
    except ValueError:
        runs = "an unreadable number of"
    cluster = cluster if isinstance(cluster, dict) else {}
    count = integer(cluster.get("InstanceCount"))
    instance_type = cluster.get("InstanceType")
    instances = (
        f"{count} x {instance_type}"
        if count is not None and isinstance(instance_type, str)
        else "instances not readable from the template"
    )
    limit = integer((stopping if isinstance(stopping, dict) else {}).get("MaxRuntimeInSeconds"))
    return Usage(
        "monitoring",
        f"{what} ({show(expression)}): {runs} processing runs a month on {instances}, billed "
        "per second of each run" + (f" (at most {limit} s)" if limit is not None else ""),
    )


@pricer("AWS::SageMaker::MonitoringSchedule")
def monitoring_schedules(schedules: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    definitions = {
        properties.get("JobDefinitionName"): properties
        for resource_type in MODEL_MONITOR_JOB_DEFINITION_TYPES
        for _, resource in context.of_type(resource_type)
        for properties in [properties_of(resource)]
    }
    for logical_id, resource in schedules:
        config = properties_of(resource).get("MonitoringScheduleConfig") or {}
        expression = (config.get("ScheduleConfig") or {}).get("ScheduleExpression")
        job = definitions.get(config.get("MonitoringJobDefinitionName")) or {}
        cluster = (job.get("JobResources") or {}).get("ClusterConfig")
        yield _scheduled_runs(
            f"Model Monitor schedule {logical_id}",
            expression,
            cluster,
            job.get("StoppingCondition"),
            context,
        )


@pricer("AWS::Scheduler::Schedule")
def scheduled_processing_jobs(schedules: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    for logical_id, resource in schedules:
        properties = properties_of(resource)
        target = properties.get("Target") or {}
        if not _is_processing_schedule(resource):
            continue
        try:
            request = parse_json_text(target.get("Input")) or {}
        except ValueError:
            request = {}
        yield _scheduled_runs(
            f"schedule {logical_id}",
            properties.get("ScheduleExpression"),
            (request.get("ProcessingResources") or {}).get("ClusterConfig"),
            request.get("StoppingCondition"),
            context,
        )


@pricer("AWS::Glue::Job")
def glue_jobs(jobs: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    workers = sorted(
        {str(properties_of(resource).get("WorkerType", "Standard")) for _, resource in jobs}
    )
    yield Usage(
        "glue",
        f"Glue job DPU-hours while a run is in progress ({', '.join(workers)} workers, per "
        "second, 1-minute minimum)",
    )
    if not context.has("AWS::Logs::LogGroup") and not context.has("AWS::EC2::FlowLog"):
        # Glue creates the job's log groups at run time, outside the template.
        usd = unit_price(context.prices.usd(LOGS_INGESTED_GB))
        yield Usage("logs", f"CloudWatch Logs ingestion ({usd}/GB) and storage of Glue job logs")


@pricer("AWS::Batch::ComputeEnvironment")
def batch_compute(environments: list[Entry], _: TemplateContext) -> Iterator[Priced]:
    kinds = set()
    for logical_id, resource in environments:
        resources = properties_of(resource).get("ComputeResources") or {}
        kind = resources.get("Type") if isinstance(resources, dict) else None
        kinds.add("Fargate" if str(kind).startswith("FARGATE") else f"EC2 {kind}")
        minimum = integer(resources.get("MinvCpus")) if isinstance(resources, dict) else None
        if minimum:
            yield unpriced(
                f"Batch environment {logical_id}: {minimum} vCPUs kept running",
                "MinvCpus above 0 keeps instances up while no job runs; set it to 0",
                quantity=minimum,
            )
    for kind in sorted(kinds):
        yield Usage("batch", f"AWS Batch jobs on {kind} capacity, billed while jobs run")


@pricer("AWS::ECR::Repository")
def repositories(_: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    yield Usage("ecr", "ECR image storage per GB-month and data transfer")


@pricer("AWS::CodeBuild::Project")
def build_projects(projects: list[Entry], _: TemplateContext) -> Iterator[Priced]:
    kinds = set()
    for _logical_id, resource in projects:
        environment = properties_of(resource).get("Environment") or {}
        if isinstance(environment, dict):
            kinds.add(str(environment.get("ComputeType", "unknown compute type")))
    yield Usage(
        "codebuild",
        f"CodeBuild build minutes on {', '.join(sorted(kinds))}, billed per minute of a build",
    )
