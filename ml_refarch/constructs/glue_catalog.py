"""A Glue database and an external Parquet table in it, for data a stack writes to S3.

Athena and Spark read the table's files with the Hive Parquet SerDe; the table's columns
and location are the caller's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from constructs import Construct

PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


def glue_database(scope: Construct, construct_id: str, *, name: str, description: str):
    """The database ``name`` in this account's Data Catalog."""
    return glue.CfnDatabase(
        scope,
        construct_id,
        catalog_id=cdk.Stack.of(scope).account,
        database_input=glue.CfnDatabase.DatabaseInputProperty(name=name, description=description),
    )


def parquet_table(
    scope: Construct,
    construct_id: str,
    *,
    database: glue.CfnDatabase,
    name: str,
    description: str,
    location: str,
    columns: Sequence[tuple[str, str]],
    parameters: Mapping[str, str] | None = None,
    partition_keys: Sequence[str] = (),
) -> glue.CfnTable:
    """An external table ``name`` over the Parquet files under ``location`` (``s3://...``).

    Args:
        columns: (name, Hive type) of each column, in order.
        parameters: table parameters besides ``classification`` (partition projection).
            Default: none.
        partition_keys: string partition columns. Default: none, the table is unpartitioned.
    """
    database_input = database.database_input
    assert isinstance(database_input, glue.CfnDatabase.DatabaseInputProperty)
    table = glue.CfnTable(
        scope,
        construct_id,
        catalog_id=cdk.Stack.of(scope).account,
        database_name=database_input.name,
        table_input=glue.CfnTable.TableInputProperty(
            name=name,
            description=description,
            table_type="EXTERNAL_TABLE",
            parameters={"classification": "parquet", **(parameters or {})},
            partition_keys=[
                glue.CfnTable.ColumnProperty(name=key, type="string") for key in partition_keys
            ]
            or None,
            storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                location=location,
                columns=[
                    glue.CfnTable.ColumnProperty(name=column, type=type_)
                    for column, type_ in columns
                ],
                input_format=PARQUET_INPUT,
                output_format=PARQUET_OUTPUT,
                serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=PARQUET_SERDE),
            ),
        ),
    )
    table.node.add_dependency(database)
    return table
