-- Redshift ML: trains an XGBoost regressor on the streamed rows of one run with SageMaker AI
-- and makes it a SQL function. Redshift unloads the training rows to S3_BUCKET (encrypted with
-- KMS_KEY_ID) and passes IAM_ROLE to SageMaker for the training job ("CREATE MODEL",
-- Amazon Redshift Database Developer Guide).
CREATE MODEL {{model_name}}
FROM (
    SELECT
        CAST(payload.x1 AS FLOAT8) AS x1,
        CAST(payload.x2 AS FLOAT8) AS x2,
        CAST(payload.y AS FLOAT8) AS y
    FROM {{streaming_view}}
    WHERE CAST(payload.run_id AS VARCHAR) = '{{run_id}}'
)
TARGET y
FUNCTION {{function_name}}
IAM_ROLE '{{redshift_role_arn}}'
AUTO OFF
MODEL_TYPE XGBOOST
OBJECTIVE 'reg:squarederror'
PREPROCESSORS 'none'
HYPERPARAMETERS DEFAULT EXCEPT (NUM_ROUND '20')
SETTINGS (
    S3_BUCKET '{{model_bucket}}',
    KMS_KEY_ID '{{key_id}}',
    MAX_RUNTIME 1800
);
