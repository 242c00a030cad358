"""Data warehouse: Redshift Serverless bills compute only while it works.

- ``AWS::RedshiftServerless::Workgroup``: RPU-hours, billed per second (60-second minimum)
  only while queries run, nothing while idle ("Capacity and billing", which says Redshift
  Serverless prices this way:
  https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-express-capacity-billing.html).
  The base capacity sets how many RPUs a query starts with, so the cost of each query.
- ``AWS::RedshiftServerless::Namespace``: Redshift managed storage per GB-month, billed
  apart from compute ("Billing for Amazon Redshift Serverless",
  https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-billing.html); an empty
  namespace stores next to nothing. A
  namespace with ``ManageAdminPassword`` also has a Secrets Manager secret that Redshift
  creates outside the template (billed per secret-month, see Secrets Manager pricing).
"""

from __future__ import annotations

from collections.abc import Iterator

from ml_refarch.cost.lines import Usage
from ml_refarch.cost.registry import Entry, Priced, TemplateContext, pricer


@pricer("AWS::RedshiftServerless::Workgroup")
def workgroups(_: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    yield Usage(
        "redshift-serverless", "Redshift Serverless RPU-hours while queries run (none idle)"
    )


@pricer("AWS::RedshiftServerless::Namespace")
def namespaces(_: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    yield Usage("redshift-storage", "Redshift managed storage per GB-month stored")
