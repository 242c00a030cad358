-- The model's state (TRAINING, READY or FAILED) among its properties, one key/value per row.
SHOW MODEL {{model_name}};
