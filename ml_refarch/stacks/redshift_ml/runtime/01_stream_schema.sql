-- Maps the Kinesis data stream into Redshift: an external schema FROM KINESIS, read as the
-- role the namespace lists ("Getting started with streaming ingestion from Amazon Kinesis
-- Data Streams", Amazon Redshift Database Developer Guide).
CREATE EXTERNAL SCHEMA IF NOT EXISTS {{stream_schema}}
FROM KINESIS
IAM_ROLE '{{redshift_role_arn}}';
