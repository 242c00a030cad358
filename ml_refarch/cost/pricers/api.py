"""APIs, WAF and notifications: a web ACL bills by the month, the rest by request.

- ``AWS::WAFv2::WebACL``: per web ACL-month plus per rule-month (a managed rule group counts
  as one rule); requests inspected are usage-based;
- ``AWS::ApiGateway::RestApi``: requests and data transfer out, by use;
- ``AWS::SNS::Topic``: publishes and deliveries, by use;
- ``AWS::Lex::Bot`` (with its versions and aliases): Lex V2 bills per text and per speech
  request, and streaming conversations per 15-second interval; a bot nobody talks to costs
  nothing ("Amazon Lex pricing", https://aws.amazon.com/lex/pricing/).
"""

from __future__ import annotations

from collections.abc import Iterator

from ml_refarch.cfn import properties_of
from ml_refarch.cost.lines import CostLine, Group, Usage, plural, show, unit_price
from ml_refarch.cost.prices import WAF_RULE_MONTH, WAF_WEB_ACL_MONTH
from ml_refarch.cost.registry import Entry, Priced, TemplateContext, pricer


@pricer("AWS::WAFv2::WebACL")
def web_acls(acls: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    acl_usd = context.prices.usd(WAF_WEB_ACL_MONTH)
    rule_usd = context.prices.usd(WAF_RULE_MONTH)
    rules = Group()
    for logical_id, resource in acls:
        listed = properties_of(resource).get("Rules", [])
        if isinstance(listed, list):
            rules.quantity += len(listed)
        else:
            rules.unresolved(f"{logical_id}: Rules is {show(listed)}, counted as none")
        rules.resources.append(logical_id)
    names = ", ".join(rules.resources)
    yield CostLine(
        item=plural(len(acls), "WAF web ACL"),
        quantity=len(acls),
        unit=f"{unit_price(acl_usd)}/web-ACL-month",
        monthly_usd=len(acls) * acl_usd,
        note=names,
    )
    if rules.quantity or rules.lower_bound:
        yield CostLine(
            item=f"{rules.at_least}{plural(rules.quantity, 'WAF rule')}",
            quantity=rules.quantity,
            unit=f"{unit_price(rule_usd)}/rule-month",
            monthly_usd=rules.quantity * rule_usd,
            note=rules.note(f"{names}; a managed rule group counts as one rule"),
        )
    yield Usage("waf", "WAF requests inspected (per million)")


@pricer("AWS::ApiGateway::RestApi")
def rest_apis(_: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    yield Usage("api-gateway", "API Gateway REST API requests (per million) and data transfer out")


@pricer("AWS::SNS::Topic")
def topics(_: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    yield Usage("sns", "SNS publishes and deliveries")


@pricer("AWS::Lex::Bot", "AWS::Lex::BotVersion", "AWS::Lex::BotAlias")
def lex_bots(_: list[Entry], __: TemplateContext) -> Iterator[Priced]:
    yield Usage("lex", "Lex V2 text and speech requests (streaming per 15-second interval)")
