"""Guardrails that keep a data scientist's SageMaker jobs inside the VPC, isolated and encrypted.

SageMaker notebooks, training and inference containers are internet-enabled by default, and
nothing in a job request forces a VPC, network isolation, inter-node encryption or a KMS key
for the ML storage volume (``/opt/ml`` and ``/tmp``). The statements here deny the create
calls whose request leaves one of those controls out, using SageMaker's own condition keys, so
the controls hold whatever SDK, notebook or console the request comes from.

Each condition key is applied only to the actions that support it (SageMaker service
authorization reference). A key that an action does not support is never in that action's
request context, so a ``Null`` check of it would deny every call of the action.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ml_refarch.compliance.acknowledge import acknowledge

#: Job and model creation calls that support ``sagemaker:VpcSubnets`` and
#: ``sagemaker:NetworkIsolation``.
VPC_AND_ISOLATION_ACTIONS: tuple[str, ...] = (
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateModel",
)

#: Job creation calls that support ``sagemaker:InterContainerTrafficEncryption``.
INTER_CONTAINER_ENCRYPTION_ACTIONS: tuple[str, ...] = (
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateHyperParameterTuningJob",
)

#: Job creation calls that support ``sagemaker:VolumeKmsKey``.
VOLUME_KMS_KEY_ACTIONS: tuple[str, ...] = (
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateTransformJob",
)

#: The calls that open a notebook in a browser: a notebook instance's Jupyter, or Studio.
PRESIGNED_URL_ACTIONS: tuple[str, ...] = (
    "sagemaker:CreatePresignedNotebookInstanceUrl",
    "sagemaker:CreatePresignedDomainUrl",
)

# The guardrails are Deny statements on every resource. "*" is the safe direction for a Deny:
# it can only deny more, and a job or model name a data scientist chooses cannot escape it.
_EVERY_RESOURCE = ["*"]

_VPC_ENDPOINT_ID = re.compile(r"vpce-[0-9a-f]{8,17}")


def sagemaker_job_guardrails() -> list[iam.PolicyStatement]:
    """Deny statements for job and model creation calls that leave a control out.

    A request is denied when:

    * it names no VPC subnets (training, processing, tuning jobs and models);
    * it turns network isolation off or leaves it unset (the same calls);
    * it turns inter-container traffic encryption off or leaves it unset (training,
      processing and tuning jobs);
    * it names no KMS key for the ML storage volume (training, processing, tuning and
      transform jobs).

    "Unset" and "off" are denied by separate statements: within one statement all conditions
    must hold, and a missing key makes a ``Bool`` condition false, so ``Bool: false`` alone
    would let a request that never mentions the setting through. Each statement's ``Sid``
    names the control it enforces, so a reader of the policy sees which one denied a call.

    The statements only restrict; the calls must still be allowed by some other statement.
    """
    return [
        _deny(
            "DenySageMakerOutsideVpc",
            VPC_AND_ISOLATION_ACTIONS,
            {"Null": {"sagemaker:VpcSubnets": "true"}},
        ),
        _deny(
            "DenySageMakerNetworkIsolationOff",
            VPC_AND_ISOLATION_ACTIONS,
            {"Bool": {"sagemaker:NetworkIsolation": "false"}},
        ),
        _deny(
            "DenySageMakerNetworkIsolationUnset",
            VPC_AND_ISOLATION_ACTIONS,
            {"Null": {"sagemaker:NetworkIsolation": "true"}},
        ),
        _deny(
            "DenySageMakerInterContainerEncryptionOff",
            INTER_CONTAINER_ENCRYPTION_ACTIONS,
            {"Bool": {"sagemaker:InterContainerTrafficEncryption": "false"}},
        ),
        _deny(
            "DenySageMakerInterContainerEncryptionUnset",
            INTER_CONTAINER_ENCRYPTION_ACTIONS,
            {"Null": {"sagemaker:InterContainerTrafficEncryption": "true"}},
        ),
        _deny(
            "DenySageMakerVolumeWithoutKmsKey",
            VOLUME_KMS_KEY_ACTIONS,
            {"Null": {"sagemaker:VolumeKmsKey": "true"}},
        ),
    ]


def presigned_url_guardrail(vpc_endpoint_ids: Sequence[str]) -> iam.PolicyStatement:
    """Deny opening a notebook (instance or Studio) except through the given VPC endpoints.

    ``vpc_endpoint_ids`` are the ids (``vpce-...``, or CDK tokens) of the interface
    endpoints presigned-URL requests may come through. IAM checks the condition on the API
    call (through the SageMaker API endpoint) and again on every request to the notebook
    (through the notebook endpoint), so both belong in the list. A call from outside any
    endpoint has no ``aws:SourceVpce`` and is denied too: a negated string condition is true
    when the key is missing, and with several values it is true when none matches.
    """
    return _deny(
        "DenyPresignedUrlOutsideVpcEndpoint",
        PRESIGNED_URL_ACTIONS,
        {"StringNotEquals": {"aws:SourceVpce": list(vpc_endpoint_ids)}},
    )


def _deny(sid: str, actions: Sequence[str], conditions: dict) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid=sid,
        effect=iam.Effect.DENY,
        actions=list(actions),
        resources=_EVERY_RESOURCE,
        conditions=conditions,
    )


class GuardedRole(Construct):
    """A data scientist's role that can run SageMaker jobs only inside the guardrails.

    The role gets one customer-managed policy (no inline policies) that allows what a data
    scientist working from a notebook instance or a Studio user profile needs, and denies
    what the guardrails deny:

    * create, describe, list and stop training, processing, transform and tuning jobs, and
      create, describe and list models, in this stack's account and region; tag them at
      creation; invoke endpoints;
    * pass ``job_execution_role``, and no other role, to SageMaker only;
    * read, write, list and delete objects of ``data_bucket``; use ``encryption_key`` for
      data keys and decryption;
    * read the SageMaker log groups (``/aws/sagemaker/*``);
    * the deny statements of :func:`sagemaker_job_guardrails`, and of
      :func:`presigned_url_guardrail` when a notebook endpoint is given.

    The guardrails cover jobs this role creates directly. The allow list leaves out calls
    that start jobs on another principal's behalf (pipelines, AutoML, monitoring schedules):
    the job settings of those are not in the caller's request, so granting them elsewhere
    would bypass the guardrails.

    Args:
        assumed_by: who assumes the role (SageMaker for a notebook instance or a Studio
            user profile, or the data scientists' federated principal).
        job_execution_role: the role SageMaker jobs and models run as; the only role this
            role may pass.
        data_bucket: the bucket of training data and model artifacts.
        encryption_key: the key that encrypts ``data_bucket`` (and that jobs should name as
            their volume key).
        notebook_vpc_endpoint_ids: the ids of the interface endpoints (SageMaker API and
            notebook) through which notebooks are opened; CDK tokens are fine. When given,
            the role may create presigned notebook instance and Studio URLs, but only
            through those endpoints.
            Default: ``None``, the role is neither granted nor denied presigned URLs, so
            it cannot open notebooks unless another policy grants it, and such a grant is
            then not limited to an endpoint.
        description: what the role is for (shown in the IAM console).

    The policy's wildcard resources (job and model names, object keys, log streams, List
    calls) are acknowledged for the compliance gate's wildcard-permission rule, each with
    the reason it cannot be narrower.

    Attributes:
        role: the data scientist's role.
        policy: the customer-managed policy attached to ``role``.
        studio_policy: the second policy :meth:`allow_studio` attaches for a Studio domain's
            users, or ``None`` (a notebook instance's role has only ``policy``).

    Raises:
        ValueError: when ``notebook_vpc_endpoint_ids`` is empty or holds a literal that is
            not a VPC endpoint id; that would lock every notebook out instead.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        assumed_by: iam.IPrincipal,
        job_execution_role: iam.IRole,
        data_bucket: s3.IBucket,
        encryption_key: kms.IKey,
        notebook_vpc_endpoint_ids: Sequence[str] | None = None,
        description: str,
    ) -> None:
        super().__init__(scope, construct_id)
        if notebook_vpc_endpoint_ids is not None:
            _check_endpoint_ids(notebook_vpc_endpoint_ids)
        self.role = iam.Role(self, "Role", assumed_by=assumed_by, description=description)
        # Each Allow statement with why its wildcard resources are as narrow as they get
        # (None when it has none); the reasons become the acknowledgments of the
        # wildcard-permission rule.
        allowed: list[tuple[iam.PolicyStatement, str | None]] = [
            *self._sagemaker_statements(presigned_urls=notebook_vpc_endpoint_ids is not None),
            *self._data_statements(job_execution_role, data_bucket, encryption_key),
        ]
        statements = [statement for statement, _ in allowed] + sagemaker_job_guardrails()
        if notebook_vpc_endpoint_ids is not None:
            statements.append(presigned_url_guardrail(notebook_vpc_endpoint_ids))
        # One managed policy attached through roles=[...], never an inline policy: managed
        # policies are versioned, reviewable on their own and reusable (house rule).
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"{description}: SageMaker work inside the VPC guardrails",
            statements=statements,
            roles=[self.role],
        )
        self._acknowledge_wildcard_resources(self.policy, allowed)
        self.studio_policy: iam.ManagedPolicy | None = None

    def allow_studio(
        self,
        *,
        domain_id: str,
        domain_key: kms.IKey,
        studio_vpc_endpoint_ids: Sequence[str],
    ) -> iam.ManagedPolicy:
        """Let the role run Studio apps in the domain ``domain_id``, in a second policy.

        Only Studio calls this: a notebook instance's role keeps the one policy. The new
        managed policy (``StudioPolicy``) names the domain, so it is created after the
        domain; the domain and its user profile take the role without it, and SageMaker
        checks it when a user opens a space and starts an app. It allows:

        * ``kms:CreateGrant`` for AWS resources only and ``kms:DescribeKey`` on
          ``domain_key``: SageMaker creates grants on the domain's key for the app's
          storage at ``CreateApp`` ("Amazon SageMaker AI API Permissions: Actions,
          Permissions, and Resources Reference", CreateDomain and CreateApp with a KMS key);
        * the space and app calls users make, on this domain's spaces, apps and user
          profiles only: create, update, delete and describe spaces, create, delete and
          describe apps, describe the domain and user profiles, list spaces and apps, and
          tag spaces and apps (Studio tags what it creates) ("Give your users access to
          spaces");
        * ``sagemaker:CreatePresignedDomainUrl`` for this domain's user profiles, denied
          unless the request comes through ``studio_vpc_endpoint_ids`` (the same
          :func:`presigned_url_guardrail` as for notebook instances).

        The job guardrails of the role's first policy still deny what they deny: an explicit
        Deny in any policy of the role wins.

        Raises:
            ValueError: when ``studio_vpc_endpoint_ids`` holds no VPC endpoint id.
        """
        _check_endpoint_ids(studio_vpc_endpoint_ids)
        allowed = self._studio_statements(domain_id, domain_key)
        self.studio_policy = iam.ManagedPolicy(
            self,
            "StudioPolicy",
            description="Studio: spaces and apps of one domain, and its key's grants",
            statements=[statement for statement, _ in allowed]
            + [presigned_url_guardrail(studio_vpc_endpoint_ids)],
            roles=[self.role],
        )
        self._acknowledge_wildcard_resources(self.studio_policy, allowed)
        return self.studio_policy

    def _studio_statements(
        self, domain_id: str, domain_key: kms.IKey
    ) -> list[tuple[iam.PolicyStatement, str | None]]:
        spaces = self._arn("sagemaker", f"space/{domain_id}/*")
        apps = self._arn("sagemaker", f"app/{domain_id}/*")
        user_profiles = self._arn("sagemaker", f"user-profile/{domain_id}/*")
        return [
            (
                iam.PolicyStatement(
                    sid="GrantDomainKeyToSageMakerResources",
                    actions=["kms:CreateGrant"],
                    resources=[domain_key.key_arn],
                    # Grants only for the AWS resources SageMaker creates (app volumes),
                    # never to a principal of the role's choosing.
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                ),
                None,
            ),
            (
                iam.PolicyStatement(
                    sid="DescribeDomainKey",
                    actions=["kms:DescribeKey"],
                    resources=[domain_key.key_arn],
                ),
                None,
            ),
            (
                iam.PolicyStatement(
                    sid="ManageStudioSpaces",
                    actions=[
                        "sagemaker:CreateSpace",
                        "sagemaker:UpdateSpace",
                        "sagemaker:DeleteSpace",
                        "sagemaker:DescribeSpace",
                    ],
                    resources=[spaces],
                ),
                "Users name their spaces when they create them, so the ARN ends in a "
                "wildcard; it stays within this one Studio domain.",
            ),
            (
                iam.PolicyStatement(
                    sid="ManageStudioApps",
                    actions=[
                        "sagemaker:CreateApp",
                        "sagemaker:DeleteApp",
                        "sagemaker:DescribeApp",
                    ],
                    resources=[apps],
                ),
                "Studio names an app after its space, type and name when a user starts it, "
                "so the ARN ends in a wildcard; it stays within this one Studio domain.",
            ),
            (
                iam.PolicyStatement(
                    sid="TagStudioSpacesAndApps",
                    # Studio tags the spaces and apps it creates; without AddTags their
                    # creation fails with AccessDenied.
                    actions=["sagemaker:AddTags"],
                    resources=[spaces, apps],
                ),
                "Studio tags each space and app it creates for a user; the names are chosen "
                "then, within this one Studio domain.",
            ),
            (
                iam.PolicyStatement(
                    sid="DescribeStudioDomainAndUserProfiles",
                    actions=["sagemaker:DescribeDomain", "sagemaker:DescribeUserProfile"],
                    resources=[self._arn("sagemaker", f"domain/{domain_id}"), user_profiles],
                ),
                "User profiles of this one Studio domain are added after the stack is "
                "deployed, so their ARNs end in a wildcard.",
            ),
            (
                iam.PolicyStatement(
                    sid="ListStudioSpacesAndApps",
                    actions=["sagemaker:ListSpaces", "sagemaker:ListApps"],
                    resources=["*"],
                ),
                "SageMaker's List calls support no resource-level permissions; Studio lists "
                "the domain's spaces and apps to show them to the user.",
            ),
            (
                iam.PolicyStatement(
                    sid="OpenStudio",
                    actions=["sagemaker:CreatePresignedDomainUrl"],
                    resources=[user_profiles],
                ),
                "Opening Studio as any user profile of this one domain; the presigned-URL "
                "Deny limits every such call to the VPC's SageMaker endpoints.",
            ),
        ]

    def _data_statements(
        self, job_execution_role: iam.IRole, data_bucket: s3.IBucket, encryption_key: kms.IKey
    ) -> list[tuple[iam.PolicyStatement, str | None]]:
        """Pass the job role, use the data bucket and its key, read SageMaker's logs."""
        return [
            (
                iam.PolicyStatement(
                    sid="PassJobExecutionRoleToSageMaker",
                    actions=["iam:PassRole"],
                    resources=[job_execution_role.role_arn],
                    # Without the condition the role could hand the job role to any service
                    # that accepts a role, such as a Lambda function of its own.
                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
                None,
            ),
            (
                iam.PolicyStatement(
                    sid="ListDataBucket",
                    actions=["s3:ListBucket"],
                    resources=[data_bucket.bucket_arn],
                ),
                None,
            ),
            (
                iam.PolicyStatement(
                    sid="ReadWriteDataObjects",
                    actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    resources=[data_bucket.arn_for_objects("*")],
                ),
                "Data scientists read and write training data, features and model artifacts "
                "under object keys they choose, in this one data bucket only.",
            ),
            (
                iam.PolicyStatement(
                    sid="UseDataKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                    resources=[encryption_key.key_arn],
                ),
                None,
            ),
            (
                iam.PolicyStatement(
                    sid="ReadSageMakerLogs",
                    actions=[
                        "logs:DescribeLogStreams",
                        "logs:GetLogEvents",
                        "logs:FilterLogEvents",
                    ],
                    # The trailing wildcard also covers the log streams of these groups.
                    resources=[self._arn("logs", "log-group:/aws/sagemaker/*")],
                ),
                "SageMaker writes job and endpoint logs to groups and streams it names under "
                "/aws/sagemaker/; reading them is how a data scientist debugs a job.",
            ),
        ]

    def _sagemaker_statements(
        self, *, presigned_urls: bool
    ) -> list[tuple[iam.PolicyStatement, str | None]]:
        jobs = {
            "training-job": ("TrainingJob", "TrainingJobs"),
            "processing-job": ("ProcessingJob", "ProcessingJobs"),
            "transform-job": ("TransformJob", "TransformJobs"),
            "hyper-parameter-tuning-job": ("HyperParameterTuningJob", "HyperParameterTuningJobs"),
        }
        statements = [
            (
                iam.PolicyStatement(
                    sid="ManageSageMakerJobsAndModels",
                    actions=[
                        *(
                            f"sagemaker:{verb}{name}"
                            for name, _ in jobs.values()
                            for verb in ("Create", "Describe", "Stop")
                        ),
                        "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
                        "sagemaker:CreateModel",
                        "sagemaker:DescribeModel",
                        # Tags given at creation are authorized as AddTags on the new resource.
                        "sagemaker:AddTags",
                    ],
                    resources=[
                        self._arn("sagemaker", f"{resource}/*") for resource in (*jobs, "model")
                    ],
                ),
                "Job and model names are chosen at creation, so their ARNs end in a wildcard; "
                "they stay in this account and region, and the guardrail Deny statements "
                "apply to every creation.",
            ),
            (
                iam.PolicyStatement(
                    sid="ListSageMakerJobsAndModels",
                    actions=[f"sagemaker:List{plural}" for _, plural in jobs.values()]
                    + ["sagemaker:ListModels"],
                    resources=["*"],
                ),
                "SageMaker's List calls support no resource-level permissions, so listing "
                "jobs and models needs Resource '*'; they return names and status only.",
            ),
            (
                iam.PolicyStatement(
                    sid="InvokeSageMakerEndpoints",
                    actions=["sagemaker:InvokeEndpoint"],
                    resources=[self._arn("sagemaker", "endpoint/*")],
                ),
                "Data scientists test the endpoints of this account and region, whose names "
                "are chosen when each endpoint is deployed, so the ARN ends in a wildcard.",
            ),
        ]
        if presigned_urls:
            statements.append(
                (
                    iam.PolicyStatement(
                        sid="OpenNotebooks",
                        actions=list(PRESIGNED_URL_ACTIONS),
                        resources=[
                            self._arn("sagemaker", "notebook-instance/*"),
                            self._arn("sagemaker", "user-profile/*"),
                        ],
                    ),
                    "Opening the notebook instances and Studio user profiles of this account "
                    "and region; the presigned-URL Deny limits every such call to the "
                    "notebook VPC endpoint.",
                )
            )
        return statements

    def _arn(self, service: str, resource: str) -> str:
        # An ARN in this stack's partition, account and region; the resource part is given
        # whole, so format_arn adds no separator of its own.
        return cdk.Stack.of(self).format_arn(
            service=service,
            resource=resource,
            arn_format=cdk.ArnFormat.NO_RESOURCE_NAME,
        )

    def _acknowledge_wildcard_resources(
        self,
        policy: iam.ManagedPolicy,
        allowed: Sequence[tuple[iam.PolicyStatement, str | None]],
    ) -> None:
        # The rule ids name each resource as the synthesized template renders it, with
        # references written <LogicalId> or <LogicalId.Attribute>. A resource that cannot be
        # rendered here is left unacknowledged, so the gate reports it rather than missing it.
        stack = cdk.Stack.of(self)
        for statement, reason in allowed:
            rule_ids = []
            for resource in statement.resources:
                rendered = _rendered(stack.resolve(resource))
                if rendered is not None and "*" in rendered:
                    rule_ids.append(f"AwsSolutions-IAM5[Resource::{rendered}]")
            if not rule_ids:
                continue
            if reason is None:
                # A programming error in this module, caught by any synth that reaches it.
                raise RuntimeError(f"{statement.sid} has wildcard resources but no reason")
            acknowledge(policy, reason, *rule_ids)


def _rendered(value: object) -> str | None:
    """A resolved template value in the form the rule ids use, or None if it has no such form."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref" and isinstance(argument, str):
            return f"<{argument}>"
        if function == "Fn::GetAtt" and isinstance(argument, list) and len(argument) == 2:
            return f"<{argument[0]}.{argument[1]}>"
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            separator, parts = argument
            rendered = [_rendered(part) for part in parts]
            if isinstance(separator, str) and all(isinstance(part, str) for part in rendered):
                return separator.join(str(part) for part in rendered)
    return None


def _check_endpoint_ids(notebook_vpc_endpoint_ids: Sequence[str]) -> None:
    """Raise unless every id is a VPC endpoint id (or a token), and there is one at least."""
    bad = [
        endpoint_id
        for endpoint_id in notebook_vpc_endpoint_ids
        if not cdk.Token.is_unresolved(endpoint_id) and not _VPC_ENDPOINT_ID.fullmatch(endpoint_id)
    ]
    if bad or not notebook_vpc_endpoint_ids:
        raise ValueError(
            "notebook_vpc_endpoint_ids must be VPC endpoint ids (vpce-...), "
            f"got {list(notebook_vpc_endpoint_ids)!r}"
        )
