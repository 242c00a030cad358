"""Tests of the secure-data-lake unit."""
