"""The public-endpoint stack's output names (see ``ml_refarch/smoke/outputs.py``)."""

from __future__ import annotations


class Outputs:
    """The public-endpoint stack's outputs."""

    API_URL = "ApiUrl"
    PREDICT_URL = "PredictUrl"
    AUTH_MODE = "AuthMode"
    MAX_ROWS_PER_REQUEST = "MaxRowsPerRequest"
    REST_API_ID = "RestApiId"
    STAGE_NAME = "StageName"
    ENDPOINT_NAME = "EndpointName"
    INTEGRATION_ROLE_ARN = "IntegrationRoleArn"
    ACCESS_LOG_GROUP_NAME = "AccessLogGroupName"
    ALERT_TOPIC_ARN = "AlertTopicArn"
    API_KEY_ID = "ApiKeyId"
    WEB_ACL_ARN = "WebAclArn"
