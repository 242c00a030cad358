"""Derivers for state machines, the jobs they start, EventBridge rules and alarms: each finds
what a small template lacks, and passes once the template grants it."""

from __future__ import annotations

import json
from typing import Any

from ml_refarch.permissions.derive import derived_scenarios
from ml_refarch.permissions.run import StackResult, evaluate

PARTITION = {"Ref": "AWS::Partition"}
ACCOUNT_ROOT = {"Fn::Join": ["", ["arn:", PARTITION, ":iam::", {"Ref": "AWS::AccountId"}, ":root"]]}


def role(service: str) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": service},
                    }
                ]
            }
        },
    }


def policy(role_id: str, *statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            "PolicyDocument": {"Statement": [{"Effect": "Allow", **s} for s in statements]},
            "Roles": [{"Ref": role_id}],
        },
    }


def key(*statements: dict[str, Any]) -> dict[str, Any]:
    account = {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT}, "Action": "kms:*"}
    return {
        "Type": "AWS::KMS::Key",
        "Properties": {"KeyPolicy": {"Statement": [{**account, "Resource": "*"}, *statements]}},
    }


def sagemaker_arn(kind: str) -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                PARTITION,
                ":sagemaker:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":{kind}",
            ],
        ]
    }


def state_machine(states: dict[str, Any]) -> dict[str, Any]:
    """A state machine whose definition is written the way CDK writes it: JSON text in an
    ``Fn::Join``, with ``@{Ref X}`` / ``@{GetAtt X.Arn}`` for references."""
    text = json.dumps({"StartAt": next(iter(states)), "States": states})
    parts: list[Any] = []
    for index, piece in enumerate(text.split("@{")):
        if index == 0:
            parts.append(piece)
            continue
        reference, rest = piece.split("}", 1)
        kind, target = reference.split(" ")
        parts.append({"Ref": target} if kind == "Ref" else {"Fn::GetAtt": target.split(".", 1)})
        parts.append(rest)
    return {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "RoleArn": {"Fn::GetAtt": ["WorkflowRole", "Arn"]},
            "DefinitionString": {"Fn::Join": ["", parts]},
        },
    }


def failures(template: dict[str, Any]) -> list[str]:
    result: StackResult = evaluate("Test", template)
    return [f"{r.principal} {r.call.action} {r.resource}" for r in result.failures]


# --- the state machine's role: the endpoint configuration's volume key ----------------------

DEPLOY_STATES = {
    "Config": {
        "Type": "Task",
        "Resource": "arn:@{Ref AWS::Partition}:states:::sagemaker:createEndpointConfig",
        "Parameters": {
            "EndpointConfigName.$": "States.Format('config-{}', $.id)",
            "KmsKeyId": "@{GetAtt Key.Arn}",
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m"}],
        },
        "Next": "Deploy",
    },
    "Deploy": {
        "Type": "Task",
        "Resource": "arn:@{Ref AWS::Partition}:states:::sagemaker:createEndpoint",
        "Parameters": {"EndpointName": "served", "EndpointConfigName.$": "$.config"},
        "End": True,
    },
}
DEPLOY = {
    "Sid": "Deploy",
    "Action": ["sagemaker:CreateEndpointConfig", "sagemaker:CreateEndpoint"],
    "Resource": [sagemaker_arn("endpoint-config/config-*"), sagemaker_arn("endpoint/served")],
}
VOLUME_KEY_GRANT = [
    {
        "Action": "kms:CreateGrant",
        "Resource": {"Fn::GetAtt": ["Key", "Arn"]},
        "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
    },
    {"Action": "kms:DescribeKey", "Resource": {"Fn::GetAtt": ["Key", "Arn"]}},
]


def deploy_template(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Resources": {
            "Key": key(),
            "WorkflowRole": role("states.amazonaws.com"),
            "WorkflowPolicy": policy("WorkflowRole", DEPLOY, *statements),
            "Workflow": state_machine(DEPLOY_STATES),
        }
    }


def test_the_endpoint_config_volume_key_must_be_usable_by_who_creates_the_endpoint():
    missing = failures(deploy_template())
    key_arn = "arn:aws:kms:us-east-1:111122223333:key/"
    assert any(f.startswith(f"WorkflowRole kms:CreateGrant {key_arn}") for f in missing)
    assert any(f.startswith(f"WorkflowRole kms:DescribeKey {key_arn}") for f in missing)
    assert len(missing) == 2, missing


def test_a_grant_for_aws_resources_on_the_volume_key_is_enough():
    assert failures(deploy_template(*VOLUME_KEY_GRANT)) == []


def test_a_name_set_at_run_time_is_evaluated_with_the_literal_prefix_of_its_format():
    scenarios = derived_scenarios(deploy_template())
    resources = {call.resource for s in scenarios for call in s.calls}
    assert (
        "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:"
        "endpoint-config/config-run" in resources
    )


# --- a training job: the workflow's calls and the job role's --------------------------------

TRAIN_STATES = {
    "Train": {
        "Type": "Task",
        "Resource": "arn:@{Ref AWS::Partition}:states:::sagemaker:createTrainingJob.sync",
        "Parameters": {
            "TrainingJobName.$": "$.name",
            "RoleArn": "@{GetAtt JobRole.Arn}",
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": "s3://@{Ref Data}/train/",
                        }
                    },
                }
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://@{Ref Data}/output/"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        },
        "End": True,
    }
}
DATA_ARN = {"Fn::GetAtt": ["Data", "Arn"]}
JOB_BASICS = [
    {
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": {"Fn::Join": ["", ["arn:", PARTITION, ":logs:*:*:log-group:/aws/sagemaker/*"]]},
    },
    {"Action": "cloudwatch:PutMetricData", "Resource": "*"},
    {"Action": ["ecr:*"], "Resource": "*"},
    {"Action": "s3:GetObject", "Resource": {"Fn::Join": ["", [DATA_ARN, "/train/*"]]}},
    {"Action": "s3:PutObject", "Resource": {"Fn::Join": ["", [DATA_ARN, "/output/*"]]}},
]
LIST_TRAIN = {
    "Action": "s3:ListBucket",
    "Resource": DATA_ARN,
    "Condition": {"StringLike": {"s3:prefix": "train/*"}},
}
WORKFLOW_TRAIN = [
    {
        "Action": [
            "sagemaker:CreateTrainingJob",
            "sagemaker:DescribeTrainingJob",
            "sagemaker:StopTrainingJob",
            "sagemaker:ListTags",
        ],
        "Resource": sagemaker_arn("training-job/*"),
    },
    {
        "Action": "iam:PassRole",
        "Resource": {"Fn::GetAtt": ["JobRole", "Arn"]},
        "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    },
    {
        "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
        "Resource": {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    PARTITION,
                    ":events:*:*:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule",
                ],
            ]
        },
    },
]


def training_template(workflow: list[dict], job: list[dict]) -> dict[str, Any]:
    return {
        "Resources": {
            "Data": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "JobRole": role("sagemaker.amazonaws.com"),
            "JobPolicy": policy("JobRole", *job),
            "WorkflowRole": role("states.amazonaws.com"),
            "WorkflowPolicy": policy("WorkflowRole", *workflow),
            "Workflow": state_machine(TRAIN_STATES),
        }
    }


def test_a_sync_training_job_needs_the_managed_rule_and_to_pass_the_job_role():
    missing = failures(training_template(WORKFLOW_TRAIN[:1], [*JOB_BASICS, LIST_TRAIN]))
    actions = {f.split()[1] for f in missing if f.startswith("WorkflowRole")}
    assert actions == {"iam:PassRole", "events:PutTargets", "events:PutRule", "events:DescribeRule"}


def test_the_job_role_lists_the_prefix_of_an_s3prefix_channel():
    missing = failures(training_template(WORKFLOW_TRAIN, JOB_BASICS))
    assert missing == ["JobRole s3:ListBucket arn:aws:s3:::data"]


def test_a_training_workflow_with_its_grants_passes():
    assert failures(training_template(WORKFLOW_TRAIN, [*JOB_BASICS, LIST_TRAIN])) == []


# --- EventBridge rules and alarms --------------------------------------------------------------


def rule_template(*statements: dict[str, Any]) -> dict[str, Any]:
    resources = training_template(WORKFLOW_TRAIN, [*JOB_BASICS, LIST_TRAIN])["Resources"]
    return {
        "Resources": {
            **resources,
            "StarterRole": role("events.amazonaws.com"),
            "StarterPolicy": policy("StarterRole", *statements),
            "Daily": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "ScheduleExpression": "rate(1 day)",
                    "Targets": [
                        {
                            "Id": "Target0",
                            "Arn": {"Ref": "Workflow"},
                            "RoleArn": {"Fn::GetAtt": ["StarterRole", "Arn"]},
                        }
                    ],
                },
            },
        }
    }


def test_a_rule_target_role_must_start_the_state_machine():
    assert failures(rule_template({"Action": "sns:Publish", "Resource": "*"})) == [
        "StarterRole states:StartExecution "
        "arn:aws:states:us-east-1:111122223333:stateMachine:workflow"
    ]


def test_a_rule_target_role_that_starts_the_state_machine_passes():
    start = {"Action": "states:StartExecution", "Resource": {"Ref": "Workflow"}}
    assert failures(rule_template(start)) == []


def alarm_template(*key_statements: dict[str, Any]) -> dict[str, Any]:
    topic = {"Ref": "Alerts"}
    return {
        "Resources": {
            "Key": key(*key_statements),
            "Alerts": {
                "Type": "AWS::SNS::Topic",
                "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
            },
            "AlertsPolicy": {
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {
                    "Topics": [topic],
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Resource": topic,
                            }
                        ]
                    },
                },
            },
            "Errors": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {"AlarmActions": [topic]},
            },
        }
    }


def test_an_alarm_to_an_encrypted_topic_needs_cloudwatch_in_the_key_policy():
    missing = failures(alarm_template())
    assert sorted(f.split()[1] for f in missing) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert all(f.startswith("service:cloudwatch.amazonaws.com") for f in missing)


def test_a_key_policy_that_lets_cloudwatch_use_the_key_passes():
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
    }
    assert failures(alarm_template(statement)) == []


# --- the state machine's role: a DynamoDB export to S3 ------------------------------------

TABLE_ARN = {"Fn::GetAtt": ["Table", "Arn"]}
EXPORT_STATES = {
    "StartExport": {
        "Type": "Task",
        "Resource": "arn:@{Ref AWS::Partition}:states:::aws-sdk:dynamodb:exportTableToPointInTime",
        "Parameters": {
            "TableArn": "@{GetAtt Table.Arn}",
            "S3Bucket": "@{Ref Bucket}",
            "S3Prefix": "exports",
            "S3SseAlgorithm": "KMS",
            "S3SseKmsKeyId": "@{GetAtt Key.Arn}",
        },
        "ResultPath": "$.export",
        "Next": "DescribeExport",
    },
    "DescribeExport": {
        "Type": "Task",
        "Resource": "arn:@{Ref AWS::Partition}:states:::aws-sdk:dynamodb:describeExport",
        "Parameters": {"ExportArn.$": "$.export.arn"},
        "End": True,
    },
}
BUCKET_ARN = {"Fn::GetAtt": ["Bucket", "Arn"]}
EXPORT_GRANTS = {
    "table": {"Action": "dynamodb:ExportTableToPointInTime", "Resource": TABLE_ARN},
    "describe": {
        "Action": "dynamodb:DescribeExport",
        "Resource": {"Fn::Join": ["", [TABLE_ARN, "/export/*"]]},
    },
    "writes": {
        "Action": ["s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectAcl"],
        "Resource": {"Fn::Join": ["", [BUCKET_ARN, "/exports/*"]]},
    },
    "key": {
        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": {"Fn::GetAtt": ["Key", "Arn"]},
    },
}


def export_template(*left_out: str, **replaced: dict[str, Any]) -> dict[str, Any]:
    grants = {**EXPORT_GRANTS, **replaced}
    statements = [grant for name, grant in grants.items() if name not in left_out]
    return {
        "Resources": {
            "Key": key(),
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "WorkflowRole": role("states.amazonaws.com"),
            "WorkflowPolicy": policy("WorkflowRole", *statements),
            "Workflow": state_machine(EXPORT_STATES),
        }
    }


def test_a_dynamodb_export_with_its_grants_passes():
    assert failures(export_template()) == []


def test_the_export_needs_the_table_action_the_bucket_writes_and_the_key():
    assert [f.split(" ")[1] for f in failures(export_template("table"))] == [
        "dynamodb:ExportTableToPointInTime"
    ]
    assert sorted(f.split(" ")[1] for f in failures(export_template("writes"))) == [
        "s3:AbortMultipartUpload",
        "s3:PutObject",
        "s3:PutObjectAcl",
    ]
    assert sorted(f.split(" ")[1] for f in failures(export_template("key"))) == [
        "kms:Decrypt",
        "kms:GenerateDataKey",
    ]


def test_the_export_writes_under_its_prefix_and_not_elsewhere():
    elsewhere = {**EXPORT_GRANTS["writes"], "Resource": {"Fn::Join": ["", [BUCKET_ARN, "/csv/*"]]}}
    missing = failures(export_template(writes=elsewhere))
    assert len(missing) == 3
    assert all("/exports/AWSDynamoDB/" in f for f in missing)


def test_describe_export_at_run_time_acts_on_an_export_of_the_exported_table():
    assert [f.split(" ")[1] for f in failures(export_template("describe"))] == [
        "dynamodb:DescribeExport"
    ]
    scenarios = derived_scenarios(export_template())
    described = [c.resource for s in scenarios for c in s.calls if c.action.endswith("Export")]
    assert described == ["${Table.Arn}/export/run"]


# --- SDK tasks that read a report object and publish its metrics ------------------------------

PUBLISH_STATES = {
    "Read": {
        "Type": "Task",
        "Resource": "arn:@{Ref AWS::Partition}:states:::aws-sdk:s3:getObject",
        "Parameters": {
            "Bucket": "@{Ref Data}",
            "Key.$": "States.Format('reports/{}/metrics.json', $.detail.ProcessingJobName)",
        },
        "Next": "Publish",
    },
    "Publish": {
        "Type": "Task",
        "Resource": "arn:@{Ref AWS::Partition}:states:::aws-sdk:cloudwatch:putMetricData",
        "Parameters": {"Namespace": "Monitor", "MetricData.$": "$.metrics"},
        "End": True,
    },
}
READ_REPORTS = {
    "Action": "s3:GetObject",
    "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": ["Data", "Arn"]}, "/reports/*"]]},
}
DECRYPT = {"Action": "kms:Decrypt", "Resource": {"Fn::GetAtt": ["Key", "Arn"]}}
PUT_METRICS = {
    "Action": "cloudwatch:PutMetricData",
    "Resource": "*",
    "Condition": {"StringEquals": {"cloudwatch:namespace": "Monitor"}},
}


def publish_template(*statements: dict[str, Any]) -> dict[str, Any]:
    bucket = {
        "Type": "AWS::S3::Bucket",
        "Properties": {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {
                        "ServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": {"Fn::GetAtt": ["Key", "Arn"]},
                        }
                    }
                ]
            }
        },
    }
    return {
        "Resources": {
            "Key": key(),
            "Data": bucket,
            "WorkflowRole": role("states.amazonaws.com"),
            "WorkflowPolicy": policy("WorkflowRole", *statements),
            "Workflow": state_machine(PUBLISH_STATES),
        }
    }


def test_reading_an_object_and_publishing_metrics_need_the_object_key_and_namespace():
    assert failures(publish_template(READ_REPORTS, DECRYPT, PUT_METRICS)) == []
    assert failures(publish_template(DECRYPT, PUT_METRICS)) == [
        "WorkflowRole s3:GetObject arn:aws:s3:::data/reports/run/metrics.json"
    ]
    other_namespace = {**PUT_METRICS, "Condition": {"StringEquals": {"cloudwatch:namespace": "X"}}}
    assert failures(publish_template(READ_REPORTS, DECRYPT, other_namespace)) == [
        "WorkflowRole cloudwatch:PutMetricData *"
    ]
    assert [f.split()[1] for f in failures(publish_template(READ_REPORTS, PUT_METRICS))] == [
        "kms:Decrypt"
    ]


# --- the state machine's role: Textract reads the document it is given ---------------------

TEXTRACT_STATES = {
    "StartAnalysis": {
        "Type": "Task",
        "Resource": "arn:@{Ref AWS::Partition}:states:::aws-sdk:textract:startDocumentAnalysis",
        "Parameters": {
            "DocumentLocation": {"S3Object": {"Bucket": "@{Ref Bucket}", "Name.$": "$.key"}},
            "FeatureTypes": ["FORMS", "TABLES"],
        },
        "End": True,
    }
}
ENCRYPTED_BUCKET = {
    "Type": "AWS::S3::Bucket",
    "Properties": {
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {
                    "ServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": {"Fn::GetAtt": ["Key", "Arn"]},
                    }
                }
            ]
        }
    },
}
TEXTRACT_GRANTS = {
    "start": {"Action": "textract:StartDocumentAnalysis", "Resource": "*"},
    "read": {
        "Action": "s3:GetObject",
        "Resource": {"Fn::Join": ["", [BUCKET_ARN, "/incoming/*"]]},
    },
    "key": {"Action": "kms:Decrypt", "Resource": {"Fn::GetAtt": ["Key", "Arn"]}},
}


def textract_template(*left_out: str, **replaced: dict[str, Any]) -> dict[str, Any]:
    grants = {**TEXTRACT_GRANTS, **replaced}
    statements = [grant for name, grant in grants.items() if name not in left_out]
    return {
        "Resources": {
            "Key": key(),
            "Bucket": ENCRYPTED_BUCKET,
            "WorkflowRole": role("states.amazonaws.com"),
            "WorkflowPolicy": policy("WorkflowRole", *statements),
            # Another role's grant elsewhere in the bucket is no representative of the key.
            "OtherRole": role("lambda.amazonaws.com"),
            "OtherPolicy": policy(
                "OtherRole",
                {"Action": "s3:GetObject", "Resource": {"Fn::Join": ["", [BUCKET_ARN, "/x/*"]]}},
            ),
            "Workflow": state_machine(TEXTRACT_STATES),
        }
    }


def test_a_textract_start_with_its_grants_passes():
    assert failures(textract_template()) == []


def test_textract_reads_the_document_with_the_callers_rights_and_key():
    assert [f.split(" ")[1] for f in failures(textract_template("start"))] == [
        "textract:StartDocumentAnalysis"
    ]
    assert [f.split(" ")[1] for f in failures(textract_template("read"))] == ["s3:GetObject"]
    assert [f.split(" ")[1] for f in failures(textract_template("key"))] == ["kms:Decrypt"]


def test_a_document_named_at_run_time_stands_for_one_under_the_roles_own_grant():
    scenarios = derived_scenarios(textract_template())
    (read,) = [s for s in scenarios if s.name.endswith("reads the object it names")]
    assert read.calls[0].resource == "arn:aws:s3:::${Bucket}/incoming/run"
    elsewhere = {**TEXTRACT_GRANTS["read"], "Action": "s3:PutObject"}
    (failure,) = failures(textract_template(read=elsewhere))
    assert failure.endswith("/run")
