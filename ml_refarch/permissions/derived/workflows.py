"""Step Functions state machines: what the state machine's role calls for each Task state,
and what the roles of the SageMaker jobs it starts do.

- Each optimized integration, per the Step Functions "IAM policies for <service>" page:
  SageMaker (https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html): a
  job's create action, with ``.sync`` its describe and stop actions and the managed
  EventBridge rule ``StepFunctionsGetEventsForSageMaker<Kind>JobsRule`` (PutTargets,
  PutRule, DescribeRule), ``sagemaker:ListTags``, and ``iam:PassRole`` on the role in the
  request with ``iam:PassedToService`` ``sagemaker.amazonaws.com``; SNS
  (https://docs.aws.amazon.com/step-functions/latest/dg/sns-iam.html): ``sns:Publish``;
  Lambda (https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html):
  ``lambda:InvokeFunction``; AWS Batch
  (https://docs.aws.amazon.com/step-functions/latest/dg/batch-iam.html): ``batch:SubmitJob``,
  with ``.sync`` also ``batch:DescribeJobs``, ``batch:TerminateJob`` and the managed rule
  ``StepFunctionsGetEventsForBatchJobsRule``. ``batch:SubmitJob`` is authorized on the job
  queue and on the job definition of the request (the Service Authorization Reference lists
  both resource types for it,
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsbatch.html);
  ``batch:DescribeJobs`` has no resource type, ``batch:TerminateJob`` is on the job.
- AWS CodeBuild (https://docs.aws.amazon.com/step-functions/latest/dg/codebuild-iam.html):
  ``codebuild:StartBuild`` on the project, with ``.sync`` also ``codebuild:StopBuild``,
  ``codebuild:BatchGetBuilds`` and the managed rule
  ``StepFunctionsGetEventsForCodeBuildStartBuildRule``.
- AWS SDK integrations (``aws-sdk:<service>:<apiAction>``): the IAM action is the API action
  ("Integrating services with the AWS SDK",
  https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html), on
  the resource the request names where it is read here: S3 object tasks in
  :mod:`.sdk_objects`, ``cloudwatch:putMetricData`` with its ``Namespace`` as
  ``cloudwatch:namespace`` ("Amazon CloudWatch condition keys",
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html);
  a SageMaker call naming a feature group acts on ``feature-group/<name>``.
- EMR Serverless job runs (``emr-serverless:startJobRun``) and the job's role: see
  :mod:`.emr_serverless`; Athena queries (``athena:startQueryExecution``): see :mod:`.athena`.
- DynamoDB exports through the SDK integration: ``dynamodb:ExportTableToPointInTime`` on the
  table, and the caller "must have permissions to" write the destination bucket
  (``s3:AbortMultipartUpload``, ``s3:PutObject``, ``s3:PutObjectAcl``): "Requesting a table
  export in DynamoDB"
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport_Requesting.html).
  DynamoDB writes under ``<S3Prefix>/AWSDynamoDB/<export id>/`` ("DynamoDB table export
  output format",
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html).
  With ``S3SseKmsKeyId`` the objects are written with SSE-KMS, which needs
  ``kms:GenerateDataKey`` (and ``kms:Decrypt`` for multipart uploads) on the key ("Using
  server-side encryption with AWS KMS keys",
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html).
  ``DescribeExport`` acts on the export, ``<table ARN>/export/<export id>``; an
  ``ExportArn`` set at run time stands for an export of a table the workflow exports.
- Tags in a SageMaker create request: ``sagemaker:AddTags`` on the new resource, the action
  that authorizes tags on SageMaker resources (the Service Authorization Reference lists the
  request-tag condition keys under it,
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html).
- ``sagemaker:ListTags``, which the SageMaker page grants on ``*``, is evaluated on the job
  the task starts: a policy may scope it to the jobs the workflow creates.
- An endpoint configuration with ``KmsKeyId``: "the KMS key policy must grant permission to
  the IAM role that you specify in your CreateEndpoint and UpdateEndpoint requests"
  (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html):
  the caller of CreateEndpoint / UpdateEndpoint lets SageMaker use the key for the volumes
  (``kms:CreateGrant`` for an AWS resource, ``kms:DescribeKey``).
- Publishing to a topic encrypted with a customer managed key needs ``kms:GenerateDataKey``
  and ``kms:Decrypt`` on it ("Key management", Amazon SNS,
  https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
- Logging to CloudWatch Logs: the role manages the log delivery ("Using CloudWatch Logs to
  log execution history in Step Functions",
  https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html); X-Ray tracing:
  ``xray:PutTraceSegments`` and friends
  (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-xray-tracing.html); a
  customer managed key in ``EncryptionConfiguration``: the role encrypts and decrypts the
  state machine's data with it, with the state machine's ARN as encryption context ("Data
  at rest encryption in Step Functions",
  https://docs.aws.amazon.com/step-functions/latest/dg/encryption-at-rest.html).
- Inference Recommender jobs (:mod:`.recommender`: the job's calls and the role it passes),
  S3 object actions and the documents Textract's asynchronous starts read with the
  caller's permissions (:mod:`.sdk_objects`) through the SDK integration.

Names known only at run time (``"Name.$": ...``) are evaluated with a representative value
(see :mod:`.definitions` for how it is chosen). The roles of the jobs and models the state
machine starts are covered by :mod:`.jobs`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ml_refarch import cfn
from ml_refarch.permissions.derive import Resource, derives
from ml_refarch.permissions.derived import (
    athena,
    emr_serverless,
    jobs,
    recommender,
    sdk_objects,
)
from ml_refarch.permissions.derived.definitions import (
    Names,
    definition,
    sagemaker_arn,
    tasks,
)
from ml_refarch.permissions.scenarios import Call, Scenario

SFN_SAGEMAKER = "https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html"
SFN_SNS = "https://docs.aws.amazon.com/step-functions/latest/dg/sns-iam.html"
SFN_LAMBDA = "https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html"
SFN_BATCH = "https://docs.aws.amazon.com/step-functions/latest/dg/batch-iam.html"
BATCH_JOB = "arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}:job/run"
BATCH_SYNC_RULE = (
    "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/"
    "StepFunctionsGetEventsForBatchJobsRule"
)
SFN_CODEBUILD = "https://docs.aws.amazon.com/step-functions/latest/dg/codebuild-iam.html"
CODEBUILD_SYNC_RULE = (
    "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/"
    "StepFunctionsGetEventsForCodeBuildStartBuildRule"
)
SFN_SDK = "https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html"
SFN_LOGS = "https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html"
SFN_XRAY = "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-xray-tracing.html"
SFN_KMS = "https://docs.aws.amazon.com/step-functions/latest/dg/encryption-at-rest.html"
ENDPOINT_CONFIG_KEY = (
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html"
)
SNS_KMS = "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"
DYNAMODB_EXPORT = (
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport_Requesting.html"
)
S3_SSE_KMS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"
#: The actions the caller of ExportTableToPointInTime needs on the destination objects.
EXPORT_WRITE_ACTIONS = ("s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectAcl")

SAGEMAKER = "sagemaker.amazonaws.com"

#: What ``cw-logs.html`` lists for the state machine's role when logging is on.
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)
XRAY_ACTIONS = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
)

#: SageMaker job integrations: create action -> (ARN resource type, name parameter, the
#: kind in the name of the managed EventBridge rule ``.sync`` uses).
_JOBS = {
    "createTrainingJob": ("training-job", "TrainingJobName", "Training"),
    "createHyperParameterTuningJob": (
        "hyper-parameter-tuning-job",
        "HyperParameterTuningJobName",
        "Tuning",
    ),
    "createProcessingJob": ("processing-job", "ProcessingJobName", "Processing"),
    "createTransformJob": ("transform-job", "TransformJobName", "Transform"),
}
#: Feature groups, named in SDK integrations (DescribeFeatureGroup, ...).
_FEATURE_GROUP = ("feature-group", "FeatureGroupName")
#: Other SageMaker integrations: action -> (ARN resource type, name parameter).
_RESOURCES = {
    "createModel": ("model", "ModelName"),
    "createEndpointConfig": ("endpoint-config", "EndpointConfigName"),
    "createEndpoint": ("endpoint", "EndpointName"),
    "updateEndpoint": ("endpoint", "EndpointName"),
}


# --- the state machine's role -----------------------------------------------------------


def _pass_role(role_text: Any) -> list[Call]:
    if not isinstance(role_text, str):
        return []
    return [Call("iam:PassRole", role_text, {"iam:PassedToService": SAGEMAKER})]


def _job_calls(action: str, pattern: str | None, request: Mapping, names: Names) -> list[Call]:
    kind, name_key, rule_kind = _JOBS[action]
    arn = sagemaker_arn(kind, names.value(request, name_key, kind).lower())
    calls = [Call(f"sagemaker:{action[0].upper()}{action[1:]}", arn)]
    if pattern == "sync":
        verb = action.removeprefix("create")
        calls += [Call(f"sagemaker:Describe{verb}", arn), Call(f"sagemaker:Stop{verb}", arn)]
        rule = (
            "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/"
            f"StepFunctionsGetEventsForSageMaker{rule_kind}JobsRule"
        )
        calls += [
            Call(a, rule) for a in ("events:PutTargets", "events:PutRule", "events:DescribeRule")
        ]
    calls.append(Call("sagemaker:ListTags", arn))
    if request.get("Tags"):
        calls.append(Call("sagemaker:AddTags", arn))
    role = request.get("RoleArn") or cfn.field(request.get("TrainingJobDefinition"), "RoleArn")
    return calls + _pass_role(role)


def _key_of(text: Any, resource: Resource) -> str | None:
    """``${Key.Arn}``-style text naming a KMS key of the template, else ``None``."""
    if not isinstance(text, str):
        return None
    match = re.fullmatch(r"\$\{([A-Za-z0-9]+)(?:\.Arn)?\}", text)
    if match and resource.of_type("AWS::KMS::Key").get(match.group(1)) is not None:
        return text if text.endswith(".Arn}") else "${" + match.group(1) + ".Arn}"
    return None


def _endpoint_config_keys(machine: Any, resource: Resource) -> list[str]:
    """The volume keys of the endpoint configurations the workflow creates."""
    keys = set()
    for _, match, _, request in tasks(machine):
        if match and match.group("action") == "createEndpointConfig":
            keys.add(_key_of(request.get("KmsKeyId"), resource))
    return sorted(key for key in keys if key)


def _sagemaker_calls(
    action: str, pattern: str | None, request: Mapping, names: Names, volume_keys: list[str]
) -> list[tuple[str, list[Call]]]:
    """(page, calls) of a SageMaker task."""
    if action in _JOBS:
        return [(SFN_SAGEMAKER, _job_calls(action, pattern, request, names))]
    kind, name_key = _RESOURCES[action]
    arn = sagemaker_arn(kind, names.value(request, name_key, kind).lower())
    calls = [Call(f"sagemaker:{action[0].upper()}{action[1:]}", arn)]
    if request.get("Tags"):
        calls.append(Call("sagemaker:AddTags", arn))
    found = [(SFN_SAGEMAKER, calls + _pass_role(request.get("ExecutionRoleArn")))]
    if action in ("createEndpoint", "updateEndpoint"):
        grant = {"kms:GrantIsForAWSResource": True}
        for key in volume_keys:
            key_calls = [Call("kms:CreateGrant", key, grant), Call("kms:DescribeKey", key)]
            found.append((ENDPOINT_CONFIG_KEY, key_calls))
    return found


def _sdk_calls(service: str, action: str, request: Mapping, names: Names) -> list[Call]:
    iam_action = f"{service}:{action[0].upper()}{action[1:]}"
    if service == "sagemaker":
        named = (*_RESOURCES.values(), *[v[:2] for v in _JOBS.values()], _FEATURE_GROUP)
        for kind, name_key in named:
            if name_key in request or f"{name_key}.$" in request:
                value = names.value(request, name_key, kind)
                # SageMaker ARNs carry names in lower case; a reference stays as it is.
                value = value if value.startswith("${") else value.lower()
                return [Call(iam_action, sagemaker_arn(kind, value))]
    if service == "s3" and action == "listObjectsV2" and isinstance(request.get("Bucket"), str):
        prefix = request.get("Prefix")
        if "Prefix.$" in request:
            prefix = names.condition("s3:prefix")
        context = {"s3:prefix": prefix} if isinstance(prefix, str) else {}
        return [Call("s3:ListBucket", f"arn:${{AWS::Partition}}:s3:::{request['Bucket']}", context)]
    if service == "cloudwatch" and action == "putMetricData":
        namespace = request.get("Namespace")
        if isinstance(namespace, str):
            return [Call(iam_action, "*", {"cloudwatch:namespace": namespace})]
    return [Call(iam_action, "*")]


def _exported_tables(machine: Any) -> list[str]:
    """The ``TableArn`` texts of the workflow's ExportTableToPointInTime tasks."""
    return sorted(
        request["TableArn"]
        for _, match, _, request in tasks(machine)
        if match
        and match.group("action") == "exportTableToPointInTime"
        and isinstance(request.get("TableArn"), str)
    )


def _dynamodb_export_calls(
    action: str, request: Mapping, resource: Resource, tables: list[str]
) -> list[tuple[str, list[Call]]] | None:
    """(page, calls) of a DynamoDB export task; ``None`` for other DynamoDB actions."""
    if action == "describeExport":
        export = request.get("ExportArn")
        if not isinstance(export, str):
            export = f"{tables[0]}/export/run" if tables else "*"
        return [(SFN_SDK, [Call("dynamodb:DescribeExport", export)])]
    if action != "exportTableToPointInTime":
        return None
    table = request.get("TableArn")
    found = [
        (
            SFN_SDK,
            [Call("dynamodb:ExportTableToPointInTime", table if isinstance(table, str) else "*")],
        )
    ]
    bucket = request.get("S3Bucket")
    if isinstance(bucket, str):
        prefix = request.get("S3Prefix")
        folder = f"{prefix.rstrip('/')}/" if isinstance(prefix, str) and prefix else ""
        data_file = (
            f"arn:${{AWS::Partition}}:s3:::{bucket}/{folder}AWSDynamoDB/run/data/run.json.gz"
        )
        found.append((DYNAMODB_EXPORT, [Call(a, data_file) for a in EXPORT_WRITE_ACTIONS]))
    key = _key_of(request.get("S3SseKmsKeyId"), resource)
    if key:
        found.append((S3_SSE_KMS, [Call("kms:GenerateDataKey", key), Call("kms:Decrypt", key)]))
    return found


def batch_submit_calls(request: Mapping) -> list[Call]:
    """``batch:SubmitJob`` on the request's job queue and job definition (``*`` for one
    chosen at run time)."""
    return [
        Call("batch:SubmitJob", value if isinstance(value, str) else "*")
        for value in (request.get("JobQueue"), request.get("JobDefinition"))
    ]


def _batch_calls(action: str, pattern: str | None, request: Mapping) -> list[Call]:
    if action != "submitJob":
        return []
    calls = batch_submit_calls(request)
    if pattern == "sync":
        calls += [Call("batch:DescribeJobs", "*"), Call("batch:TerminateJob", BATCH_JOB)]
        calls += [
            Call(action, BATCH_SYNC_RULE)
            for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule")
        ]
    return calls


def _codebuild_calls(action: str, pattern: str | None, request: Mapping) -> list[Call]:
    name = request.get("ProjectName")
    if action != "startBuild":
        return []
    project = (
        f"arn:${{AWS::Partition}}:codebuild:${{AWS::Region}}:${{AWS::AccountId}}:project/{name}"
        if isinstance(name, str)
        else "*"
    )
    calls = [Call("codebuild:StartBuild", project)]
    if pattern == "sync":
        calls += [Call("codebuild:StopBuild", project), Call("codebuild:BatchGetBuilds", project)]
        calls += [
            Call(action, CODEBUILD_SYNC_RULE)
            for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule")
        ]
    return calls


def _publish_calls(request: Mapping, resource: Resource) -> list[tuple[str, list[Call]]]:
    topic_text = request.get("TopicArn")
    topic_text = topic_text if isinstance(topic_text, str) else None
    found = [(SFN_SNS, [Call("sns:Publish", topic_text or "*")])]
    named = re.fullmatch(r"\$\{([A-Za-z0-9]+)\}", topic_text or "")
    topic = named.group(1) if named else None
    if topic not in resource.of_type("AWS::SNS::Topic"):
        return found
    properties = cfn.properties_of(cfn.resources(resource.template)[topic])
    key = resource.resource_of(properties.get("KmsMasterKeyId"), "AWS::KMS::Key")
    if key:
        arn = "${" + key + ".Arn}"
        found.append((SNS_KMS, [Call("kms:GenerateDataKey", arn), Call("kms:Decrypt", arn)]))
    return found


def _task_calls(
    match: re.Match[str] | None,
    target: str,
    request: Mapping,
    resource: Resource,
    context: tuple[Names, list[str], list[str]],
) -> list[tuple[str, list[Call]]]:
    """(page, calls) of one Task state; nothing for an integration not read here."""
    names, volume_keys, exported_tables = context
    if match is None:
        if ":lambda:" in target and ":function:" in target:
            return [(SFN_LAMBDA, [Call("lambda:InvokeFunction", target)])]
        return []
    service, action = match.group("service"), match.group("action")
    if match.group("sdk"):
        if service == "dynamodb":
            found = _dynamodb_export_calls(action, request, resource, exported_tables)
            if found is not None:
                return found
        if service == "sagemaker" and action in recommender.ACTIONS:
            return [(SFN_SDK, recommender.task_calls(action, request, names))]
        if service == "s3" and action in sdk_objects.OBJECT_ACTIONS:
            return [(sdk_objects.S3_ACTIONS, sdk_objects.object_calls(resource, action, request))]
        if service == "textract" and action in sdk_objects.TEXTRACT_STARTS:
            document = sdk_objects.document_calls(resource, request)
            found = [(SFN_SDK, _sdk_calls(service, action, request, names))]
            return found + ([(sdk_objects.TEXTRACT_IAM, document)] if document else [])
        return [(SFN_SDK, _sdk_calls(service, action, request, names))]
    if service == "sagemaker" and action in {*_JOBS, *_RESOURCES}:
        return _sagemaker_calls(action, match.group("pattern"), request, names, volume_keys)
    if service == "batch":
        calls = _batch_calls(action, match.group("pattern"), request)
        return [(SFN_BATCH, calls)] if calls else []
    if service == "emr-serverless" and action == "startJobRun":
        calls = emr_serverless.start_job_run_calls(resource, match.group("pattern"), request)
        return [(emr_serverless.SFN_EMR_SERVERLESS, calls)]
    if service == "athena" and action == "startQueryExecution":
        return athena.query_calls(resource, match.group("pattern"), request)
    if service == "codebuild":
        calls = _codebuild_calls(action, match.group("pattern"), request)
        return [(SFN_CODEBUILD, calls)] if calls else []
    if service == "sns" and action == "publish":
        return _publish_calls(request, resource)
    if service == "lambda" and action == "invoke":
        function = request.get("FunctionName")
        return [
            (
                SFN_LAMBDA,
                [Call("lambda:InvokeFunction", function if isinstance(function, str) else "*")],
            )
        ]
    return []


def _state_scenarios(resource: Resource, role: str, machine: Any) -> list[Scenario]:
    context = (
        Names(resource.template),
        _endpoint_config_keys(machine, resource),
        _exported_tables(machine),
    )
    scenarios = []
    for state, match, target, request in tasks(machine):
        for index, (doc, calls) in enumerate(
            _task_calls(match, target, request, resource, context)
        ):
            what = "calls its integration" if index == 0 else _what(calls)
            scenarios.append(
                resource.scenario(
                    f"state {state} {what}",
                    role,
                    doc,
                    calls,
                    on_behalf_of="Step Functions, running the state machine",
                )
            )
    return scenarios


def _what(calls: list[Call]) -> str:
    """What a task's further calls do, for the scenario's name."""
    if all(call.action.startswith("kms:") for call in calls):
        return "uses a key for it"
    if all(call.action in ("s3:GetObject", "kms:Decrypt") for call in calls):
        return "reads the object it names"
    return "writes where it sends its output"


def _logging_scenarios(resource: Resource, role: str) -> list[Scenario]:
    scenarios = []
    if resource.get("LoggingConfiguration.Destinations"):
        scenarios.append(
            resource.scenario(
                "Step Functions delivers execution history to CloudWatch Logs",
                role,
                SFN_LOGS,
                [Call(action, "*") for action in LOG_DELIVERY_ACTIONS],
                on_behalf_of="Step Functions, for the state machine",
            )
        )
    if cfn.truthy(resource.get("TracingConfiguration.Enabled")):
        scenarios.append(
            resource.scenario(
                "Step Functions sends traces to X-Ray",
                role,
                SFN_XRAY,
                [Call(action, "*") for action in XRAY_ACTIONS],
                on_behalf_of="Step Functions, for the state machine",
            )
        )
    key = resource.resource_of(resource.get("EncryptionConfiguration.KmsKeyId"), "AWS::KMS::Key")
    if key:
        context = {
            "kms:EncryptionContext:aws:states:stateMachineArn": "${" + resource.logical_id + "}"
        }
        scenarios.append(
            resource.scenario(
                "Step Functions encrypts the state machine's data with its key",
                role,
                SFN_KMS,
                [
                    Call("kms:GenerateDataKey", "${" + key + ".Arn}", context),
                    Call("kms:Decrypt", "${" + key + ".Arn}", context),
                ],
                on_behalf_of="Step Functions, for the state machine",
            )
        )
    return scenarios


@derives("AWS::StepFunctions::StateMachine")
def state_machine(resource: Resource) -> list[Scenario]:
    role = resource.role_of(resource.properties.get("RoleArn"))
    machine = definition(resource)
    scenarios: list[Scenario] = []
    if role is not None:
        scenarios += _logging_scenarios(resource, role)
        if machine is not None:
            scenarios += _state_scenarios(resource, role, machine)
    names = Names(resource.template)
    for state, match, _, request in tasks(machine) if machine is not None else ():
        if match and match.group("service") == "sagemaker" and not match.group("sdk"):
            scenarios += jobs.job_scenarios(resource, state, match.group("action"), request)
        elif match and match.group("action") == "createInferenceRecommendationsJob":
            scenarios += recommender.job_scenarios(resource, state, request, names)
        if match and (match.group("service"), match.group("action")) == (
            "emr-serverless",
            "startJobRun",
        ):
            scenarios += emr_serverless.job_role_scenarios(resource, state, request)
    return scenarios
