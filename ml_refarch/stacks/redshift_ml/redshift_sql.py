"""A custom resource that runs SQL in a Redshift Serverless workgroup through the Data API.

The handler is ``lambdas/redshift_sql/handler.py``; its docstring says why one function both
starts the statements and polls them (``DescribeStatement``) instead of CDK's Provider
framework. Its role may: read the namespace (``GetNamespace``, for the admin secret's ARN),
run statements in the workgroup (``redshift-data:ExecuteStatement``), follow them
(``DescribeStatement``, which has no resource type: "Actions, resources, and condition keys
for Amazon Redshift Data API",
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonredshiftdataapi.html),
and read the admin secret (``secretsmanager:GetSecretValue``, decrypting with the key through
Secrets Manager), which the Data API reads with the caller's permissions ("Authorizing access
to the Amazon Redshift Data API",
https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-access.html).

Where the admin secret's ARN comes from, and why the policy names the secret by a pattern:

- The ARN is documented only as ``adminPasswordSecretArn`` of ``GetNamespace`` ("The Amazon
  Resource Name (ARN) for the namespace's admin user credentials secret": "GetNamespace",
  https://docs.aws.amazon.com/redshift-serverless/latest/APIReference/API_GetNamespace.html),
  hence the ``GetNamespace`` call.
- CloudFormation has no ``Fn::GetAtt`` for it. The reference lists
  ``AdminPasswordSecretArn`` in the ``Namespace`` structure
  ("AWS::RedshiftServerless::Namespace Namespace",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-redshiftserverless-namespace-namespace.html),
  but the resource's return values stop short of it: the resource schema's read-only
  properties (the attributes ``Fn::GetAtt`` takes) are ``Namespace.NamespaceArn``,
  ``NamespaceId``, ``NamespaceName``, ``AdminUsername``, ``DbName``, ``KmsKeyId``,
  ``DefaultIamRoleArn``, ``IamRoles``, ``LogExports``, ``Status`` and ``CreationDate``
  ("AWS::RedshiftServerless::Namespace",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-redshiftserverless-namespace.html),
  and CDK's ``CfnNamespace`` has no ``attr_namespace_admin_password_secret_arn``
  (tests/stacks/redshift_ml/test_stack.py fails when it appears, to switch to it).
- The secret's name: "Managing Amazon Redshift admin passwords using AWS Secrets Manager"
  (https://docs.aws.amazon.com/redshift/latest/mgmt/redshift-secrets-manager-integration.html)
  says only that Redshift "generates the password and stores it in Secrets Manager" and
  deletes the secret with the namespace; "How Amazon Redshift uses AWS Secrets Manager"
  (https://docs.aws.amazon.com/secretsmanager/latest/userguide/integrating_how-services-use-secrets_RS.html)
  that it is a managed secret; and "Secrets managed by other AWS services"
  (https://docs.aws.amazon.com/secretsmanager/latest/userguide/service-linked-secrets.html)
  that such secrets "are typically named with a service ID prefix that indicates which
  service created them". The full form, ``redshift!<namespace>-<user>-``, is the one Redshift
  uses in practice; the policy names the secrets by it, and the namespace's fixed name makes
  them this stack's own. Should Redshift ever name it otherwise, the handler's first
  statement fails (the Data API cannot read the secret) and the deployment with it, loudly.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_redshiftserverless as redshift
from constructs import Construct

from ml_refarch.compliance.acknowledge import (
    acknowledge,
)
from ml_refarch.constructs.deploy_time_function import deploy_time_function


class RedshiftSql(Construct):
    """Runs ``statements`` in ``workgroup`` when the stack is created or updated.

    Args:
        namespace / workgroup: where the statements run (as the namespace's admin user, whose
            password Redshift manages in Secrets Manager).
        database: the database the statements run in.
        statements: SQL statements, run one after the other, each to completion.
        purpose: names the statements in the Data API's history.
        encryption_key: the key of the admin secret; encrypts the handler's log group too.
        retention / removal_policy: of the handler's log group.

    Attributes:
        function: the handler; resource: the custom resource.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        namespace: redshift.CfnNamespace,
        workgroup: redshift.CfnWorkgroup,
        database: str,
        statements: Sequence[str],
        purpose: str,
        encryption_key: kms.IKey,
        retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function, policy = deploy_time_function(
            self,
            handler="redshift_sql",
            description="On stack create and update: run SQL in Redshift through the Data API",
            role_description=(
                "Run the stack's SQL in the Redshift Serverless workgroup (Data API)"
            ),
            statements=lambda log_group: self._statements(
                namespace, workgroup, encryption_key, log_group
            ),
            timeout=cdk.Duration.minutes(15),
            reason=(
                "The SQL runner runs only while CloudFormation creates or updates the stack, is "
                "invoked once per request and answers CloudFormation itself (a failure fails the "
                "deployment, so a DLQ has nothing to catch), and calls only the public Redshift "
                "Data API, Redshift Serverless and Secrets Manager APIs, so it needs no VPC, "
                "reserved concurrency or tracing."
            ),
            encryption_key=encryption_key,
            log_retention=retention,
            removal_policy=removal_policy,
        )
        acknowledge(
            policy,
            "DescribeStatement supports no resource-level permissions; the handler only "
            "follows the statements it started itself.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        acknowledge(
            policy,
            "Redshift names the admin secret it manages when it creates the namespace "
            "(redshift!<namespace>-<user>-<suffix>); the handler may read only the secrets of "
            "this stack's namespace.",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:"
            f"<AWS::AccountId>:secret:redshift!{namespace.namespace_name}-*]",
        )
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=self.function.function_arn,
            resource_type="Custom::RedshiftSql",
            properties={
                # Refs (the names), so the resource follows both and the template says so.
                "NamespaceName": namespace.ref,
                "WorkgroupName": workgroup.ref,
                "Database": database,
                "Statements": list(statements),
                "Purpose": purpose,
            },
        )
        self.resource.node.add_dependency(workgroup)
        self.resource.node.add_dependency(policy)

    @staticmethod
    def _statements(
        namespace: redshift.CfnNamespace,
        workgroup: redshift.CfnWorkgroup,
        key: kms.IKey,
        log_group: logs.ILogGroup,
    ) -> list[iam.PolicyStatement]:
        stack = cdk.Stack.of(namespace)
        admin_secrets = stack.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"redshift!{namespace.namespace_name}-*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        return [
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            ),
            iam.PolicyStatement(
                sid="FindAdminSecret",
                actions=["redshift-serverless:GetNamespace"],
                resources=[namespace.attr_namespace_namespace_arn],
            ),
            iam.PolicyStatement(
                sid="RunStatements",
                actions=["redshift-data:ExecuteStatement"],
                resources=[workgroup.attr_workgroup_workgroup_arn],
            ),
            iam.PolicyStatement(
                sid="FollowStatements", actions=["redshift-data:DescribeStatement"], resources=["*"]
            ),
            iam.PolicyStatement(
                sid="ReadAdminSecret",
                actions=["secretsmanager:GetSecretValue"],
                resources=[admin_secrets],
            ),
            iam.PolicyStatement(
                sid="DecryptAdminSecret",
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"
                    }
                },
            ),
        ]
