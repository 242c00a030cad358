-- Auto refresh runs as records arrive; the smoke check refreshes once more to not wait for it.
REFRESH MATERIALIZED VIEW {{streaming_view}};
