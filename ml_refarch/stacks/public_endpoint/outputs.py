"""The stack outputs of the public-endpoint pattern: their names, as the stack declares them.

The stack (``self.output(Outputs.X, ...)``), the smoke checks (``smoke.py``) and the tests
all use these constants; each name is the output's logical id in the template.
"""

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
