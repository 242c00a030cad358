"""The etl-export stack's output names (see ``ml_refarch/smoke/outputs.py``)."""

from __future__ import annotations


class Outputs:
    """The etl-export stack's outputs."""

    TABLE_NAME = "TableName"
    STATE_MACHINE_ARN = "StateMachineArn"
    BUCKET_NAME = "BucketName"
    TRAINING_URI = "TrainingUri"
    REPORTS_URI = "ReportsUri"
    TOPIC_ARN = "TopicArn"
    LOG_GROUP_NAME = "LogGroupName"
    SCHEDULE_EXPRESSION = "ScheduleExpression"
