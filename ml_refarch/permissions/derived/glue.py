"""Glue jobs: what Glue does with a job's role while the job runs.

- The role reads the job's script (``Command.ScriptLocation``) and reads, writes and
  deletes the temporary files under ``--TempDir``; with ``--enable-glue-datacatalog`` the
  job uses the Data Catalog as its metastore and reads databases and tables
  (``glue:GetDatabase``, ``glue:GetTable``; the ``default`` database at start-up). "Step 2:
  Create an IAM role for AWS Glue" and the ``AWSGlueServiceRole`` policy it attaches
  (https://docs.aws.amazon.com/glue/latest/dg/create-an-iam-role.html,
  https://docs.aws.amazon.com/glue/latest/dg/create-service-policy.html); the special
  parameters (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html).
- The role writes the job's logs under ``/aws-glue/``; with a security configuration that
  encrypts CloudWatch Logs, in groups named ``/aws-glue/jobs/<configuration>-role/<role>/``
  that the role associates with the key (``logs:AssociateKmsKey``), CloudWatch Logs using the
  key as the regional service principal; job bookmarks under ``CSE-KMS`` are encrypted by
  the job itself (``kms:GenerateDataKey``, ``kms:Decrypt`` as the role), and ``SSE-KMS``
  S3 output is written with the key through S3: "Setting up encryption in AWS Glue"
  (https://docs.aws.amazon.com/glue/latest/dg/set-up-encryption.html) and "Encrypting data
  written by AWS Glue"
  (https://docs.aws.amazon.com/glue/latest/dg/encryption-security-configuration.html).
"""

from __future__ import annotations

from typing import Any

from ml_refarch import cfn
from ml_refarch.permissions.derive import Resource, derives
from ml_refarch.permissions.derived.storage import location, read_calls, write_calls
from ml_refarch.permissions.scenarios import Call, Scenario
from ml_refarch.permissions.values import ACCOUNT, REGION

GLUE_ROLE = "https://docs.aws.amazon.com/glue/latest/dg/create-an-iam-role.html"
GLUE_SERVICE_POLICY = "https://docs.aws.amazon.com/glue/latest/dg/create-service-policy.html"
GLUE_ENCRYPTION = "https://docs.aws.amazon.com/glue/latest/dg/set-up-encryption.html"

_GLUE_ARN = f"arn:aws:glue:{REGION}:{ACCOUNT}"


def _argument(resource: Resource, name: str) -> Any:
    arguments = resource.get("DefaultArguments")
    return cfn.raw(arguments.get(name)) if isinstance(arguments, dict) else None


def _encryption(resource: Resource) -> tuple[str | None, dict[str, str]]:
    """(logical id of the job's security configuration, {part: key logical id}) for the
    parts (``s3``, ``logs``, ``bookmarks``) it encrypts with a key of the template."""
    configuration = resource.resource_of(
        resource.properties.get("SecurityConfiguration"), "AWS::Glue::SecurityConfiguration"
    )
    if configuration is None:
        return None, {}
    settings = cfn.raw(resource.properties_of(configuration).get("EncryptionConfiguration"))
    parts = {
        "s3": (cfn.as_list(cfn.get(settings, "S3Encryptions")) or [None])[0],
        "logs": cfn.get(settings, "CloudWatchEncryption"),
        "bookmarks": cfn.get(settings, "JobBookmarksEncryption"),
    }
    keys = {}
    for part, entry in parts.items():
        key = resource.resource_of(cfn.get(entry, "KmsKeyArn"), "AWS::KMS::Key") if entry else None
        if key:
            keys[part] = key
    return configuration, keys


def _storage_calls(resource: Resource, s3_key: str | None) -> list[Call]:
    """Read the script; read, write and delete a temporary file."""
    calls: list[Call] = []
    script = location(resource, resource.get("Command.ScriptLocation"))
    if script is not None:
        calls += read_calls(resource, script, script.object_arn())
    temp = location(resource, _argument(resource, "--TempDir"))
    if temp is not None:
        part = temp.object_arn("part-0")
        key_value = {"Ref": s3_key} if s3_key else None
        calls += [
            Call("s3:ListBucket", temp.bucket_arn),
            *write_calls(resource, temp, part, key_value),
            *read_calls(resource, temp, part),
            Call("s3:DeleteObject", part),
        ]
    return calls


def _catalog_calls(resource: Resource) -> list[Call]:
    if str(_argument(resource, "--enable-glue-datacatalog")).lower() != "true":
        return []
    calls = [
        Call("glue:GetDatabase", f"{_GLUE_ARN}:{target}")
        for target in ("catalog", "database/default")
    ]
    for table in resource.of_type("AWS::Glue::Table").values():
        properties = cfn.properties_of(table)
        database = properties.get("DatabaseName")
        name = cfn.get(properties, "TableInput.Name")
        if isinstance(database, str) and isinstance(name, str):
            calls += [
                Call("glue:GetTable", f"{_GLUE_ARN}:{target}")
                for target in ("catalog", f"database/{database}", f"table/{database}/{name}")
            ]
    return calls


def _log_calls(
    resource: Resource, role: str, configuration: str | None, key: str | None
) -> list[Call]:
    if configuration is not None and key is not None:
        group = f"/aws-glue/jobs/${{{configuration}}}-role/${{{role}}}/output"
    else:
        group = "/aws-glue/jobs/output"
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
    calls = [
        Call("logs:CreateLogGroup", arn),
        Call("logs:CreateLogStream", f"{arn}:log-stream:run"),
        Call("logs:PutLogEvents", f"{arn}:log-stream:run"),
    ]
    if key is not None:
        calls.append(Call("logs:AssociateKmsKey", arn))
    return calls


@derives("AWS::Glue::Job")
def job_role(resource: Resource) -> list[Scenario]:
    role = resource.role_of(resource.properties.get("Role"))
    if role is None:
        return []
    configuration, keys = _encryption(resource)
    scenarios = [
        resource.scenario(
            "Glue reads the script, uses the temporary directory and the Data Catalog",
            role,
            GLUE_SERVICE_POLICY,
            _storage_calls(resource, keys.get("s3")) + _catalog_calls(resource),
            on_behalf_of="Glue, running the job",
        ),
        resource.scenario(
            "Glue writes the job's logs",
            role,
            GLUE_ENCRYPTION if "logs" in keys else GLUE_ROLE,
            _log_calls(resource, role, configuration, keys.get("logs")),
            on_behalf_of="Glue, running the job",
        ),
    ]
    if "logs" in keys:
        group = f"/aws-glue/jobs/${{{configuration}}}-role/${{{role}}}/output"
        group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
        context = {"kms:EncryptionContext:aws:logs:arn": group_arn}
        scenarios.append(
            resource.scenario(
                "CloudWatch Logs encrypts the job's logs with the security configuration's key",
                f"service:logs.{REGION}.amazonaws.com",
                GLUE_ENCRYPTION,
                [
                    Call(action, "${" + keys["logs"] + ".Arn}", context)
                    for action in ("kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt")
                ],
                on_behalf_of="the job's log groups",
            )
        )
    bookmarks = str(_argument(resource, "--job-bookmark-option"))
    if "bookmarks" in keys and bookmarks == "job-bookmark-enable":
        scenarios.append(
            resource.scenario(
                "the job encrypts and reads its bookmarks (CSE-KMS)",
                role,
                GLUE_ENCRYPTION,
                [
                    Call(action, "${" + keys["bookmarks"] + ".Arn}")
                    for action in ("kms:GenerateDataKey", "kms:Decrypt")
                ],
                on_behalf_of="Glue, running the job",
            )
        )
    return scenarios
