"""What each stack costs a month while idle, estimated from its synthesized template.

Idle means deployed with nothing flowing through it: no records written, no jobs running,
no requests served. What bills then is capacity that exists by the hour or month whether
used or not. :func:`estimate_stack` runs the pricers registered by resource type
(:mod:`ml_refarch.cost.registry`; one module per service area in
:mod:`ml_refarch.cost.pricers`, whose docstrings say what each type costs) over a template.

Everything billed by use is left out of the totals and named per stack instead, from the
resource types present (S3 storage and requests, CloudWatch Logs ingestion, Firehose and
Kinesis data, Lambda invocations, Step Functions state transitions, SageMaker training and
tuning, Model Monitor runs, Studio apps and EFS, CodeArtifact, SNS, data processed by
endpoints, the endpoint a state machine deploys, ...).

Prices come from ``ml_refarch/data/prices-us-east-1.json`` (:mod:`ml_refarch.cost.prices`):
approximate us-east-1 public list prices as of 2026-11-25, with 730 hours a month. Other
regions price differently, and list prices change: check the AWS pricing pages before
relying on a figure.

A value CloudFormation resolves only at deploy time (``Ref``, ``Fn::GetAtt``, ...) never
fails the estimate: a quantity falls back to its smallest possible value and the line says
"at least"; an instance type that cannot be read is left unpriced with a note. An instance
type or FSx tier missing from the price table is an error naming the file to add it to.
"""

from ml_refarch.cost.lines import USAGE_ORDER, CostLine, StackCost, Usage
from ml_refarch.cost.prices import (
    ENDPOINT_INSTANCE_HOUR,
    FSX_LUSTRE_GB_MONTH,
    INTERFACE_ENDPOINT_AZ_HOUR,
    KINESIS_ON_DEMAND_STREAM_HOUR,
    KINESIS_SHARD_HOUR,
    KMS_KEY_MONTH,
    LOGS_INGESTED_GB,
    ML_STORAGE_GB_MONTH,
    NAT_GATEWAY_HOUR,
    NOTEBOOK_INSTANCE_HOUR,
    PRICES_PATH,
    REQUIRED_PRICES,
    WAF_RULE_MONTH,
    WAF_WEB_ACL_MONTH,
    MissingPriceError,
    Price,
    PriceTable,
    load_prices,
)
from ml_refarch.cost.registry import PRICERS, Pricer, TemplateContext, pricer, pricers_for

# The engine imports the pricers, which register themselves.
from ml_refarch.cost.engine import estimate_assembly, estimate_stack  # isort: skip
from ml_refarch.cost.report import (  # isort: skip
    IDLE_BUDGET_USD,
    IDLE_WARNING_THRESHOLD_USD,
    cost_lines,
    cost_table_markdown,
    idle_budget_problems,
    idle_cost_phrase,
    over_threshold,
)

__all__ = [
    "ENDPOINT_INSTANCE_HOUR",
    "FSX_LUSTRE_GB_MONTH",
    "IDLE_BUDGET_USD",
    "IDLE_WARNING_THRESHOLD_USD",
    "INTERFACE_ENDPOINT_AZ_HOUR",
    "KINESIS_ON_DEMAND_STREAM_HOUR",
    "KINESIS_SHARD_HOUR",
    "KMS_KEY_MONTH",
    "LOGS_INGESTED_GB",
    "ML_STORAGE_GB_MONTH",
    "NAT_GATEWAY_HOUR",
    "NOTEBOOK_INSTANCE_HOUR",
    "PRICERS",
    "PRICES_PATH",
    "REQUIRED_PRICES",
    "USAGE_ORDER",
    "WAF_RULE_MONTH",
    "WAF_WEB_ACL_MONTH",
    "CostLine",
    "MissingPriceError",
    "Price",
    "PriceTable",
    "Pricer",
    "StackCost",
    "TemplateContext",
    "Usage",
    "cost_lines",
    "cost_table_markdown",
    "estimate_assembly",
    "estimate_stack",
    "idle_budget_problems",
    "idle_cost_phrase",
    "load_prices",
    "over_threshold",
    "pricer",
    "pricers_for",
]
