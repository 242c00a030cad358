-- The rows of one smoke run the view holds; :run_id is a Data API parameter.
SELECT COUNT(*) AS row_count
FROM {{streaming_view}}
WHERE CAST(payload.run_id AS VARCHAR) = :run_id;
