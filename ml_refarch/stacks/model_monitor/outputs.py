"""The model-monitor stack's output names (see ``ml_refarch/smoke/outputs.py``)."""

from __future__ import annotations


class Outputs:
    """The model-monitor stack's outputs."""

    ENDPOINT_NAME = "EndpointName"
    VARIANT_NAME = "VariantName"
    SCHEDULE_NAME = "ScheduleName"
    JOB_DEFINITION_NAME = "JobDefinitionName"
    BUCKET_NAME = "BucketName"
    CAPTURE_URI = "CaptureUri"
    BASELINE_DATASET_URI = "BaselineDatasetUri"
    BASELINE_RESULTS_URI = "BaselineResultsUri"
    CONSTRAINTS_URI = "ConstraintsUri"
    STATISTICS_URI = "StatisticsUri"
    REPORTS_URI = "ReportsUri"
    ROLE_ARN = "RoleArn"
    KEY_ARN = "KeyArn"
    SUBNET_IDS = "SubnetIds"
    SECURITY_GROUP_IDS = "SecurityGroupIds"
    MONITORING_INSTANCE_TYPE = "MonitoringInstanceType"
    MONITORING_INSTANCE_COUNT = "MonitoringInstanceCount"
    MONITORING_VOLUME_SIZE_GI_B = "MonitoringVolumeSizeGiB"
    MAX_RUNTIME_SECONDS = "MaxRuntimeSeconds"
    DRIFT_ALARM_NAME = "DriftAlarmName"
    TOPIC_ARN = "TopicArn"
    # The processing-job engine's.
    GROUND_TRUTH_URI = "GroundTruthUri"
    JOB_ROLE_ARN = "JobRoleArn"
    PUBLISHER_ARN = "PublisherArn"
    METRICS_NAMESPACE = "MetricsNamespace"
    DATA_DRIFT_ALARM_NAME = "DataDriftAlarmName"
    BIAS_DRIFT_ALARM_NAME = "BiasDriftAlarmName"
    MODEL_QUALITY_ALARM_NAME = "ModelQualityAlarmName"
