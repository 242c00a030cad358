"""Runtime code of the secure-data-lake Glue job (uploaded as an asset, tested locally)."""
