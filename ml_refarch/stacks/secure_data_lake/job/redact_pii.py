"""Glue job of the secure-data-lake pattern: raw CSV in, PII redacted, Parquet out.

Runs as a Glue Spark job (``glueetl``, Glue 4.0: 5.0 and newer have no machine learning
transforms, see settings.py). Glue itself finds the personal
data, with its sensitive data detection API ("Using Sensitive Data Detection outside AWS
Glue Studio", https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-sensitive-data-example.html):

    "AWS Glue provides two APIs in a AWS Glue ETL job. These are detect() and
    classifyColumns():
      detect(frame: DynamicFrame, entityTypesToDetect: Seq[String],
          outputColumnName: String = "DetectedEntities",
          detectionSensitivity: String = "LOW"): DynamicFrame
      classifyColumns(frame: DynamicFrame, entityTypesToDetect: Seq[String],
          sampleFraction: Double = 0.1, thresholdFraction: Double = 0.1,
          detectionSensitivity: String = "LOW")
    You can use the detect() API to identify AWS Managed PII types and custom entity types.
    A new column is automatically created with the detection result. The classifyColumns()
    API returns a map where keys are column names and values are list of detected entity
    types. SampleFraction indicates the fraction of the data to sample when scanning for PII
    entities whereas ThresholdFraction indicates the fraction of the data that must be met in
    order for a column to be identified as PII data."

In Python the same calls are ``EntityDetector().detect(frame, entity_types,
output_column_name)`` and ``EntityDetector().classify_columns(frame, entity_types,
sample_fraction, threshold_fraction)`` (``from awsglueml.transforms import EntityDetector``,
the import of the scripts Glue Studio generates for its Detect PII transform,
https://docs.aws.amazon.com/glue/latest/dg/detect-PII.html). The detection column's layout is
the one aws-glue-api-sensitive-data-example.html documents: "For each row in the output
column, the supplementary column includes a map of the column name to the detected entity
metadata with the following key-value pairs" (``entityType``, ``actionUsed``, ``start``,
``end``), e.g. ``"SSN Col":[{"entityType":"USA_SSN","actionUsed":"DETECT","start":4,
"end":15}]``; plain ``detect(frame, entity_types, output_column_name)`` calls get the same
column ("Even customers using APIs without fine-grained actions ... will see this persistent
audit log in the resulting dataframe",
https://docs.aws.amazon.com/glue/latest/dg/sensitive-data-fine-grained-actions.html). The
code reads ``detected_entities[column]`` entries, ``entity["start"]`` and
``entity["end"]``. The two levels follow the transform's two modes (detect-PII.html):

- "Detect fields containing PII": a column that ``classify_columns`` names (at least
  ``--COLUMN_THRESHOLD_PERCENT`` of the ``--SAMPLE_PERCENT`` sample is one entity type) is
  redacted whole, every non-empty cell;
- "Detect PII in each cell": in the other columns each span ``detect`` reports is replaced
  inside its cell, the rest of the text kept.

``--ACTION`` is ``REDACT`` (replace with ``--REDACT_TEXT``) or ``SHA256_HASH`` (replace with
the value's SHA-256, so equal values still join). Everything but ``main`` is plain Python that
applies Glue's results, importable and tested without Spark or Glue; only ``main`` calls
Glue (its job bookmark reads each raw file once). The output goes to ``--CURATED_PATH`` as
Parquet, every column a string; the Glue table of the stack describes it.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: Glue's managed PII entity type names: "PII type entities include: PERSON_NAME, DATE,
#: USA_SNN, EMAIL, USA_ITIN, USA_PASSPORT_NUMBER, PHONE_NUMBER, BANK_ACCOUNT, IP_ADDRESS,
#: MAC_ADDRESS, USA_CPT_CODE, USA_HCPCS_CODE, USA_NATIONAL_DRUG_CODE,
#: USA_MEDICARE_BENEFICIARY_IDENTIFIER, USA_HEALTH_INSURANCE_CLAIM_NUMBER, CREDIT_CARD,
#: USA_NATIONAL_PROVIDER_IDENTIFIER, USA_DEA_NUMBER, USA_DRIVING_LICENSE"
#: (PIIDetection, https://docs.aws.amazon.com/glue/latest/webapi/API_PIIDetection.html; its
#: "USA_SNN" is a misprint: the detection example writes ``"entityType":"USA_SSN"``,
#: aws-glue-api-sensitive-data-example.html, and the DataBrew page that lists the same names
#: spells it USA_SSN,
#: https://docs.aws.amazon.com/databrew/latest/dg/API_EntityDetectorConfiguration.html; the
#: full list with examples: https://docs.aws.amazon.com/glue/latest/dg/sensitive-data-managed-data-types.html).
MANAGED_ENTITY_TYPES = (
    "USA_SSN",
    "EMAIL",
    "USA_ITIN",
    "USA_PASSPORT_NUMBER",
    "PHONE_NUMBER",
    "USA_DRIVING_LICENSE",
    "BANK_ACCOUNT",
    "CREDIT_CARD",
    "IP_ADDRESS",
    "MAC_ADDRESS",
    "USA_DEA_NUMBER",
    "USA_HCPCS_CODE",
    "USA_NATIONAL_PROVIDER_IDENTIFIER",
    "USA_NATIONAL_DRUG_CODE",
    "USA_HEALTH_INSURANCE_CLAIM_NUMBER",
    "USA_MEDICARE_BENEFICIARY_IDENTIFIER",
    "USA_CPT_CODE",
    "PERSON_NAME",
    "DATE",
)
#: The entity types the job detects unless settings say otherwise.
DEFAULT_ENTITY_TYPES = (
    "EMAIL",
    "USA_SSN",
    "CREDIT_CARD",
    "PHONE_NUMBER",
    "IP_ADDRESS",
    "MAC_ADDRESS",
)
ACTIONS = ("REDACT", "SHA256_HASH")
#: The column ``detect`` adds (the API's default ``outputColumnName``).
DETECTION_COLUMN = "DetectedEntities"
#: The job's own arguments (``--NAME`` in the job's DefaultArguments).
ARGUMENTS = (
    "RAW_PATH",
    "CURATED_PATH",
    "ENTITY_TYPES",
    "ACTION",
    "REDACT_TEXT",
    "COLUMN_THRESHOLD_PERCENT",
    "SAMPLE_PERCENT",
)


def replacement(value: str, action: str, redact_text: str) -> str:
    if action == "SHA256_HASH":
        return hashlib.sha256(value.encode()).hexdigest()
    return redact_text


def spans(entities: Iterable[Mapping[str, Any]] | None) -> list[tuple[int, int]]:
    """(start, end) of each entity Glue reported in one cell, in order of start."""
    return sorted((int(entity["start"]), int(entity["end"])) for entity in entities or ())


def redact_spans(text: str, found: Sequence[tuple[int, int]], action: str, redact_text: str) -> str:
    """``text`` with each (start, end) span replaced; a span overlapping one replaced
    already is skipped."""
    kept, position = [], 0
    for start, end in sorted(found):
        if start < position or not 0 <= start < end <= len(text):
            continue
        kept += [text[position:start], replacement(text[start:end], action, redact_text)]
        position = end
    return "".join(kept) + text[position:]


def pii_columns(classified: Mapping[str, Sequence[str] | None]) -> dict[str, list[str]]:
    """The columns ``classify_columns`` found PII in: {column: entity types}."""
    return {column: list(types) for column, types in classified.items() if types}


def redact_row(
    row: Mapping[str, Any],
    whole_columns: Mapping[str, Sequence[str]],
    action: str,
    redact_text: str,
    detection_column: str = DETECTION_COLUMN,
) -> dict[str, str | None]:
    """One row of ``detect``'s output, its detection column dropped, with the PII columns
    replaced whole and the reported spans replaced inside other cells."""
    detections = row.get(detection_column) or {}
    out: dict[str, str | None] = {}
    for column, value in row.items():
        if column == detection_column:
            continue
        if value is None or value == "":
            out[column] = value
        elif column in whole_columns:
            out[column] = replacement(value, action, redact_text)
        else:
            out[column] = redact_spans(value, spans(detections.get(column)), action, redact_text)
    return out


def redact_rows(
    detected: Iterable[Mapping[str, Any]],
    classified: Mapping[str, Sequence[str] | None],
    action: str,
    redact_text: str,
) -> list[dict[str, str | None]]:
    """Every row of ``detect``'s output redacted with ``classify_columns``'s result."""
    whole = pii_columns(classified)
    return [redact_row(row, whole, action, redact_text) for row in detected]


def parse_entity_types(text: str) -> list[str]:
    """The ``--ENTITY_TYPES`` argument: comma-separated Glue managed entity type names."""
    names = [name.strip().upper() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in MANAGED_ENTITY_TYPES]
    if unknown or not names:
        known = ", ".join(MANAGED_ENTITY_TYPES)
        raise ValueError(f"unknown entity types {unknown}; known: {known}")
    return names


def main(argv: Sequence[str]) -> None:  # pragma: no cover - runs in Glue
    from awsglue.context import GlueContext
    from awsglue.dynamicframe import DynamicFrame
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from awsglueml.transforms import EntityDetector
    from pyspark.context import SparkContext
    from pyspark.sql.functions import col

    args = getResolvedOptions(list(argv), ["JOB_NAME", *ARGUMENTS])
    entity_types = parse_entity_types(args["ENTITY_TYPES"])
    action, redact_text = args["ACTION"], args["REDACT_TEXT"]
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    # Read through Glue so the job bookmark (transformation_ctx) skips files read before.
    raw = glue_context.create_dynamic_frame.from_options(
        connection_type="s3",
        connection_options={"paths": [args["RAW_PATH"]], "recurse": True},
        format="csv",
        format_options={"withHeader": True},
        transformation_ctx="raw_csv",
    ).toDF()
    columns = raw.columns
    if columns:
        frame = DynamicFrame.fromDF(
            raw.select([col(name).cast("string").alias(name) for name in columns]),
            glue_context,
            "raw_strings",
        )
        detector = EntityDetector()
        classified = detector.classify_columns(
            frame,
            entity_types,
            float(args["SAMPLE_PERCENT"]) / 100,
            float(args["COLUMN_THRESHOLD_PERCENT"]) / 100,
        )
        whole = pii_columns(classified)
        print(f"columns redacted whole: {whole}")
        detected = detector.detect(frame, entity_types, DETECTION_COLUMN).toDF()

        def redact(row):
            cleaned = redact_row(row.asDict(recursive=True), whole, action, redact_text)
            return tuple(cleaned[name] for name in columns)

        schema = detected.drop(DETECTION_COLUMN).schema
        redacted = spark.createDataFrame(detected.rdd.map(redact), schema)
        redacted.write.mode("append").parquet(args["CURATED_PATH"])
    job.commit()


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv)
