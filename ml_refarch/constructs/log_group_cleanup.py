"""A custom resource that deletes, with the stack, log groups a service created at run time.

A Glue job whose security configuration encrypts CloudWatch Logs writes to log groups named
after the configuration and the job's role, which Glue creates at run time outside the stack
(``/aws-glue/jobs/<configuration>-role/<role>/``, "Setting up encryption in AWS Glue",
https://docs.aws.amazon.com/glue/latest/dg/set-up-encryption.html; ``/aws-glue/jobs-<role>-
<configuration>/`` in the Glue API's "JobRun" ``LogGroupName``). They stay after ``cdk
destroy`` and bill for what they store. The handler is ``lambdas/log_group_cleanup/handler.py``;
its docstring says what it deletes and when.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ml_refarch.compliance.acknowledge import (
    acknowledge,
)
from ml_refarch.constructs.deploy_time_function import deploy_time_function


class LogGroupCleanup(Construct):
    """On stack delete, deletes the log groups named ``prefix...`` that contain ``marker``.

    The caller makes what writes to the groups depend on this resource (:meth:`before`), so
    CloudFormation deletes the writer first, then this resource (whose handler deletes the
    groups), then the handler's role and policy. Create and Update do nothing.

    Args:
        prefix: the start of the groups' names (what ``DescribeLogGroups`` filters on).
        marker: a literal name unique to the stack that every group to delete contains.
        delete_patterns: the log-group name patterns (IAM wildcards) the handler may delete.
        encryption_key: encrypts the handler's log group.
        log_retention: retention of the handler's log group.
        removal_policy: removal of the handler's log group.

    Attributes:
        function: the handler; resource: the custom resource.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        marker: str,
        delete_patterns: list[str],
        encryption_key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)

        def group_arn(name: str) -> str:
            return stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=name,
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            )

        self.function, policy = deploy_time_function(
            self,
            handler="log_group_cleanup",
            description="On stack delete: remove the log groups a service created at run time",
            role_description="Log group cleanup: delete the run-time log groups of this stack",
            statements=lambda log_group: [
                iam.PolicyStatement(
                    sid="WriteOwnLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[log_group.log_group_arn],
                ),
                # DescribeLogGroups is authorised on the account's log groups as a whole
                # ("Actions, resources, and condition keys for Amazon CloudWatch Logs").
                iam.PolicyStatement(
                    sid="FindGroups",
                    actions=["logs:DescribeLogGroups"],
                    resources=[group_arn("*")],
                ),
                iam.PolicyStatement(
                    sid="DeleteGroups",
                    actions=["logs:DeleteLogGroup"],
                    resources=[group_arn(pattern) for pattern in delete_patterns],
                ),
            ],
            timeout=cdk.Duration.minutes(5),
            reason=(
                "The log group cleanup runs only while CloudFormation deletes the stack, is "
                "invoked once per request and answers CloudFormation itself (a failure fails the "
                "deletion, so a DLQ has nothing to catch), and calls only the public CloudWatch "
                "Logs API, so it needs no VPC, reserved concurrency or tracing."
            ),
            encryption_key=encryption_key,
            log_retention=log_retention,
            removal_policy=removal_policy,
        )
        acknowledge(
            policy,
            "The service names its log groups at run time; listing is authorised only on "
            "every group, and deletion is limited to the name patterns that carry this "
            "stack's unique marker.",
            *(
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
                f"<AWS::AccountId>:log-group:{pattern}]"
                for pattern in ("*", *delete_patterns)
            ),
        )
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=self.function.function_arn,
            resource_type="Custom::LogGroupCleanup",
            properties={"Prefix": prefix, "Marker": marker},
        )
        self.resource.node.add_dependency(policy)

    def before(self, writer: cdk.CfnResource) -> None:
        """Make ``writer`` depend on this resource, so it is deleted first."""
        writer.node.add_dependency(self.resource)
