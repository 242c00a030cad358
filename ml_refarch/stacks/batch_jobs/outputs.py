"""The batch-jobs stack's output names (see ``ml_refarch/smoke/outputs.py``)."""

from __future__ import annotations


class Outputs:
    """The batch-jobs stack's outputs."""

    SPOT_QUEUE_ARN = "SpotQueueArn"
    FARGATE_QUEUE_ARN = "FargateQueueArn"
    SPOT_JOB_DEFINITION_ARN = "SpotJobDefinitionArn"
    FARGATE_JOB_DEFINITION_ARN = "FargateJobDefinitionArn"
    STATE_MACHINE_ARN = "StateMachineArn"
    TOPIC_ARN = "TopicArn"
    JOB_LOG_GROUP_NAME = "JobLogGroupName"
    SCHEDULE_NAME = "ScheduleName"
