-- An update of the stack recreates the view with the new definition.
DROP MATERIALIZED VIEW IF EXISTS {{streaming_view}};
