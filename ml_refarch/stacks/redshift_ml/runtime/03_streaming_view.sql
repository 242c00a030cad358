-- Streaming ingestion: the view reads the stream itself, and AUTO REFRESH YES refreshes it as
-- records arrive. Each record keeps its Kinesis metadata; its JSON payload is a SUPER value.
CREATE MATERIALIZED VIEW {{streaming_view}}
AUTO REFRESH YES
AS
SELECT
    approximate_arrival_timestamp,
    partition_key,
    shard_id,
    sequence_number,
    JSON_PARSE(kinesis_data) AS payload
FROM {{stream_schema}}."{{stream_name}}"
WHERE CAN_JSON_PARSE(kinesis_data);
