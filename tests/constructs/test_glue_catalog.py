"""glue_database and parquet_table: a Parquet external table that follows its database."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk.assertions import Template

from ml_refarch.constructs.glue_catalog import PARQUET_SERDE, glue_database, parquet_table


def table_template(**options) -> dict:
    stack = cdk.Stack(cdk.App())
    database = glue_database(stack, "Database", name="lake", description="d")
    parquet_table(
        stack,
        "Table",
        database=database,
        name="rows",
        description="t",
        location="s3://bucket/rows/",
        columns=[("id", "string"), ("score", "double")],
        **options,
    )
    return Template.from_stack(stack).to_json()["Resources"]


def test_an_unpartitioned_table_reads_parquet_after_its_database_exists():
    table = table_template()["Table"]
    assert table["DependsOn"] == ["Database"]
    table_input = table["Properties"]["TableInput"]
    assert table["Properties"]["DatabaseName"] == "lake"
    assert table_input["Parameters"] == {"classification": "parquet"}
    assert "PartitionKeys" not in table_input
    descriptor = table_input["StorageDescriptor"]
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == PARQUET_SERDE
    assert descriptor["Columns"] == [
        {"Name": "id", "Type": "string"},
        {"Name": "score", "Type": "double"},
    ]


def test_partition_keys_and_parameters_are_added():
    table_input = table_template(
        parameters={"projection.enabled": "true"}, partition_keys=("year",)
    )["Table"]["Properties"]["TableInput"]
    assert table_input["PartitionKeys"] == [{"Name": "year", "Type": "string"}]
    assert table_input["Parameters"] == {
        "classification": "parquet",
        "projection.enabled": "true",
    }
