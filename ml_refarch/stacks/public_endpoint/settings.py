"""Settings of the ``public-endpoint`` pattern: the API's auth and limits, and its endpoint."""

from __future__ import annotations

from dataclasses import dataclass

from ml_refarch.endpoint_settings import (
    EndpointHostingSettings,
    endpoint_fields,
    endpoint_problems,
)
from ml_refarch.settings import Field, Problem, SettingsSpec, choice, integer

#: Body size above which the AWS managed common rule set (production WAF) blocks a request
#: (its SizeRestrictions_BODY rule; https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html).
WAF_COMMON_RULES_BODY_LIMIT_KB = 8


@dataclass(frozen=True)
class PublicEndpointSettings(EndpointHostingSettings):
    """Settings of the ``public-endpoint`` pattern (the endpoint fields: see the base class).

    Attributes:
        auth: ``iam`` (callers sign requests with SigV4; the method's authorization is
            ``AWS_IAM``) or ``api-key`` (callers send a usage plan's API key).
        max_rows_per_request: the most rows one body may hold (the JSON schema's maxItems).
        throttle_rate_per_second / throttle_burst: the stage's (and usage plan's) steady
            request rate and bucket size.
        quota_requests_per_day: the usage plan's daily quota (``api-key`` only).
        cloudwatch_role: ``create`` (the stack sets the region's API Gateway CloudWatch
            role, retained on delete) or ``existing`` (the account already has one).
        waf_requests_per_5_minutes: the production web ACL's per-IP limit per 5 minutes.
    """

    auth: str
    max_rows_per_request: int
    throttle_rate_per_second: int
    throttle_burst: int
    quota_requests_per_day: int
    cloudwatch_role: str
    waf_requests_per_5_minutes: int


FIELDS = {
    **endpoint_fields(instance_type="Instances of the private endpoint"),
    "auth": Field(
        choice("iam", "api-key"),
        "iam",
        "api-key",
        "How callers authenticate: SigV4-signed requests (`AWS_IAM`), or an API key of a "
        "usage plan",
    ),
    "max_rows_per_request": Field(
        integer(
            1,
            1000,
            f"rows of 8 numbers; in production the WAF blocks bodies over "
            f"{WAF_COMMON_RULES_BODY_LIMIT_KB} KB, about 80 rows",
        ),
        50,
        "20",
        "Rows of 8 numbers one `POST /predict` body may hold (the JSON schema's `maxItems`)",
    ),
    "throttle_rate_per_second": Field(
        integer(1, 10000, "requests per second; 10,000 is the default account limit"),
        10,
        "50",
        "Steady requests per second of the stage (and of the usage plan with `api-key`)",
    ),
    "throttle_burst": Field(
        integer(1, 5000, "requests; 5,000 is the default account burst"),
        20,
        "100",
        "Requests the stage accepts in a burst (at least the rate)",
    ),
    "quota_requests_per_day": Field(
        integer(1, 100_000_000, "requests a day per API key"),
        10000,
        "50000",
        "Requests a day the API key may make (`api-key` only)",
    ),
    "cloudwatch_role": Field(
        choice("create", "existing"),
        "create",
        "existing",
        "Whether the stack sets the region's API Gateway CloudWatch Logs role (retained on "
        "delete), or relies on the one the account already has",
    ),
    "waf_requests_per_5_minutes": Field(
        integer(10, 2_000_000_000, "requests per IP in any 5 minutes, WAF's rate-rule range"),
        1000,
        "2000",
        "Requests per IP address in any 5 minutes before the production web ACL blocks it",
    ),
}


def check(settings: PublicEndpointSettings, prefix: str) -> list[Problem]:
    """The endpoint's scaling bounds, and a burst that holds at least a second of the rate."""
    problems = endpoint_problems(settings, prefix)
    if settings.throttle_burst < settings.throttle_rate_per_second:
        problems.append(
            Problem(
                key=prefix + "throttle_burst",
                received=settings.throttle_burst,
                allowed=(
                    f"at least {prefix}throttle_rate_per_second "
                    f"({settings.throttle_rate_per_second}): a bucket smaller than one "
                    "second of the rate caps the rate at the burst"
                ),
                fix="raise the burst or lower the rate",
            )
        )
    return problems


NOTES = f"""\
A burst below the rate is rejected: the bucket would cap the rate at the burst. In the
`production` profile the web ACL's common rule set blocks bodies over
{WAF_COMMON_RULES_BODY_LIMIT_KB} KB, about 80 rows, whatever `max_rows_per_request` allows.
The API Gateway CloudWatch role is one setting per account and region: with `create` the stack
points it at its own role and keeps that role when deleted; use `existing` when the account
already has one (see [the pattern page](patterns/public-endpoint.md))."""

SETTINGS = SettingsSpec(cls=PublicEndpointSettings, fields=FIELDS, check=check, notes=NOTES)
