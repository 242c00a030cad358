"""Redshift Serverless in the idle-cost estimate: nothing idle, compute and storage by use."""

from __future__ import annotations

from ml_refarch.cost import estimate_stack, load_prices


def test_a_serverless_warehouse_costs_nothing_idle_and_names_what_bills_by_use():
    template = {
        "Resources": {
            "Namespace": {
                "Type": "AWS::RedshiftServerless::Namespace",
                "Properties": {"NamespaceName": "ns", "ManageAdminPassword": True},
            },
            "Workgroup": {
                "Type": "AWS::RedshiftServerless::Workgroup",
                "Properties": {"WorkgroupName": "wg", "BaseCapacity": 512},
            },
        }
    }
    cost = estimate_stack(template, load_prices(), "Warehouse")
    assert cost.lines == [] and cost.monthly_usd == 0
    assert cost.usage_based == [
        "Redshift Serverless RPU-hours while queries run (none idle)",
        "Redshift managed storage per GB-month stored",
    ]
