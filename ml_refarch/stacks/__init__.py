"""One stack per architecture pattern; ``ml_refarch.catalog`` lists them."""
