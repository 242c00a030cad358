"""Idle cost: arithmetic per resource kind, values left to deploy time, and the real stacks.

The price table is tested in test_cost_prices.py, the pricer registry in test_cost_registry.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ml_refarch.cost import (
    IDLE_WARNING_THRESHOLD_USD,
    MissingPriceError,
    PriceTable,
    StackCost,
    cost_lines,
    cost_table_markdown,
    estimate_assembly,
    estimate_stack,
    load_prices,
    over_threshold,
)

HOURS = 730
SANDBOX_SUBNETS = [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]

NOTEBOOK = "MlRefArch-IsolatedNotebook"
STUDIO = "MlRefArch-StudioDomain"
KINESIS = "MlRefArch-KinesisParquet"
FSX = "MlRefArch-FsxTraining"
WORKFLOW = "MlRefArch-MlWorkflow"
MULTI_AZ = "MlRefArch-MultiAzEndpoint"
AB = "MlRefArch-AbVariants"
MULTI_MODEL = "MlRefArch-MultiModelEndpoint"
SERVERLESS = "MlRefArch-ServerlessInference"
MONITOR = "MlRefArch-ModelMonitor"
PUBLIC = "MlRefArch-PublicEndpoint"
PIPELINE = "MlRefArch-InferencePipeline"
#: Stacks whose idle cost is one endpoint variant of two instances plus the key.
ONE_VARIANT_ENDPOINTS = (MULTI_AZ, MULTI_MODEL, MONITOR, PIPELINE)


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return load_prices()


def template(*resources: tuple[str, str, dict[str, Any]]) -> dict:
    return {
        "Resources": {
            logical_id: {"Type": resource_type, "Properties": properties}
            for logical_id, resource_type, properties in resources
        }
    }


def endpoint(logical_id: str, service: str, subnets: Any, kind: str = "Interface") -> tuple:
    properties = {
        "ServiceName": {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, service]]},
        "VpcEndpointType": kind,
        "VpcId": {"Ref": "Vpc"},
    }
    if subnets is not None:
        properties["SubnetIds"] = subnets
    return (logical_id, "AWS::EC2::VPCEndpoint", properties)


def only_line(cost: StackCost):
    assert len(cost.lines) == 1, cost.lines
    return cost.lines[0]


# --------------------------------------------------------------------------------------
# Arithmetic per resource kind


def test_each_kms_key_costs_a_dollar(prices):
    cost = estimate_stack(
        template(("KeyA", "AWS::KMS::Key", {}), ("KeyB", "AWS::KMS::Key", {})), prices, "s"
    )
    line = only_line(cost)
    assert (line.item, line.quantity) == ("2 KMS keys", 2)
    assert cost.monthly_usd == pytest.approx(2 * 1.00)


def test_interface_endpoints_bill_per_az_hour_and_gateway_endpoints_are_free(prices):
    services = [".sagemaker.api", ".sagemaker.runtime", ".sts", ".logs", ".ecr.api", ".ecr.dkr"]
    resources = [endpoint(f"E{i}", s, SANDBOX_SUBNETS) for i, s in enumerate(services)]
    resources += [
        endpoint("Notebook", ".notebook", SANDBOX_SUBNETS),
        endpoint("S3", ".s3", None, kind="Gateway"),
        ("Dynamo", "AWS::EC2::VPCEndpoint", {"ServiceName": "com.amazonaws.x.dynamodb"}),
    ]
    cost = estimate_stack(template(*resources), prices)
    line = only_line(cost)
    assert line.item == "7 interface endpoints x 2 AZs"
    assert line.quantity == 14
    assert line.monthly_usd == pytest.approx(7 * 2 * 0.01 * 730)
    assert "sagemaker.api" in line.note and "s3" not in line.note.split(", ")
    assert "interface endpoint data processed per GB" in cost.usage_based


def test_nat_gateways_bill_per_hour(prices):
    cost = estimate_stack(template(("Nat", "AWS::EC2::NatGateway", {})), prices)
    assert only_line(cost).monthly_usd == pytest.approx(0.045 * 730)
    assert "NAT gateway data processed per GB" in cost.usage_based


def test_provisioned_streams_bill_per_shard_and_on_demand_per_stream(prices):
    provisioned = ("Stream", "AWS::Kinesis::Stream", {"ShardCount": 3})
    explicit = (
        "Explicit",
        "AWS::Kinesis::Stream",
        {"ShardCount": "2", "StreamModeDetails": {"StreamMode": "PROVISIONED"}},
    )
    on_demand = (
        "OnDemand",
        "AWS::Kinesis::Stream",
        {"StreamModeDetails": {"StreamMode": "ON_DEMAND"}},
    )
    cost = estimate_stack(template(provisioned, explicit, on_demand), prices)
    lines = {line.item: line for line in cost.lines}
    assert lines["5 Kinesis shards"].monthly_usd == pytest.approx(5 * 0.015 * 730)
    assert lines["1 Kinesis on-demand stream"].monthly_usd == pytest.approx(0.04 * 730)
    assert cost.monthly_usd == pytest.approx(5 * 0.015 * 730 + 0.04 * 730)
    assert "Kinesis PUT payload units (25 KB each)" in cost.usage_based
    assert "Kinesis on-demand data written and read per GB" in cost.usage_based


def lustre(capacity: Any, deployment: str, throughput: Any = None) -> tuple:
    configuration: dict[str, Any] = {"DeploymentType": deployment}
    if throughput is not None:
        configuration["PerUnitStorageThroughput"] = throughput
    return (
        "Lustre",
        "AWS::FSx::FileSystem",
        {
            "FileSystemType": "LUSTRE",
            "StorageCapacity": capacity,
            "LustreConfiguration": configuration,
        },
    )


def test_scratch_lustre_bills_per_gb_month(prices):
    line = only_line(estimate_stack(template(lustre(2400, "SCRATCH_2")), prices))
    assert (line.item, line.quantity) == ("FSx for Lustre SCRATCH_2, 2400 GiB", 2400)
    assert line.monthly_usd == pytest.approx(2400 * 0.14)


@pytest.mark.parametrize(
    ("throughput", "usd"), [(125, 0.145), (250, 0.21), (500, 0.34), (1000, 0.60)]
)
def test_persistent_lustre_bills_by_throughput_tier(prices, throughput, usd):
    line = only_line(estimate_stack(template(lustre(1200, "PERSISTENT_2", throughput)), prices))
    assert f"PERSISTENT_2 at {throughput} MB/s/TiB" in line.item
    assert line.monthly_usd == pytest.approx(1200 * usd)


def test_notebook_costs_its_instance_in_service_and_its_volume(prices):
    notebook = (
        "Notebook",
        "AWS::SageMaker::NotebookInstance",
        {"InstanceType": "ml.t3.large", "VolumeSizeInGB": 20, "RoleArn": {"Ref": "Role"}},
    )
    cost = estimate_stack(template(notebook), prices)
    instance, volume = cost.lines
    assert instance.item == "1 notebook instance ml.t3.large, in service"
    assert instance.monthly_usd == pytest.approx(0.10 * 730)
    assert "a stopped notebook costs only its volume" in instance.note
    assert (volume.item, volume.quantity) == ("notebook ML storage, 20 GB", 20)
    assert volume.monthly_usd == pytest.approx(20 * 0.14)
    assert cost.monthly_usd == pytest.approx(0.10 * 730 + 20 * 0.14)


def test_notebook_volume_defaults_to_five_gb(prices):
    notebook = ("Nb", "AWS::SageMaker::NotebookInstance", {"InstanceType": "ml.t3.medium"})
    cost = estimate_stack(template(notebook), prices)
    assert cost.monthly_usd == pytest.approx(0.05 * 730 + 5 * 0.14)


def endpoint_config(logical_id: str, *variants: dict) -> tuple:
    return (logical_id, "AWS::SageMaker::EndpointConfig", {"ProductionVariants": list(variants)})


def test_endpoint_instances_bill_per_hour_when_an_endpoint_uses_the_config(prices):
    config = endpoint_config(
        "Config",
        {"VariantName": "A", "InstanceType": "ml.c5.large", "InitialInstanceCount": 2},
        {"VariantName": "B", "InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 1},
    )
    unused = endpoint_config("Unused", {"InstanceType": "ml.m5.large", "InitialInstanceCount": 4})
    live = (
        "Endpoint",
        "AWS::SageMaker::Endpoint",
        {"EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}},
    )
    cost = estimate_stack(template(config, unused, live), prices)
    lines = {line.item: line for line in cost.lines}
    assert set(lines) == {"2 endpoint instances ml.c5.large", "1 endpoint instance ml.m5.xlarge"}
    assert lines["2 endpoint instances ml.c5.large"].monthly_usd == pytest.approx(2 * 0.102 * 730)
    assert cost.monthly_usd == pytest.approx(2 * 0.102 * 730 + 0.23 * 730)
    assert "SageMaker endpoint data processed in and out" in cost.usage_based


def test_an_endpoint_config_alone_and_serverless_variants_cost_nothing_idle(prices):
    serverless = endpoint_config(
        "Serverless", {"ServerlessConfig": {"MaxConcurrency": 1, "MemorySizeInMB": 2048}}
    )
    lone = endpoint_config("Lone", {"InstanceType": "ml.m5.large", "InitialInstanceCount": 2})
    live = ("Endpoint", "AWS::SageMaker::Endpoint", {"EndpointConfigName": {"Ref": "Serverless"}})
    cost = estimate_stack(template(serverless, lone, live), prices)
    assert cost.lines == [] and cost.monthly_usd == 0
    assert "SageMaker serverless inference per request and GB-second" in cost.usage_based


def test_lambda_is_usage_based_unless_it_only_handles_custom_resources(prices):
    handler = ("Handler", "AWS::Lambda::Function", {})
    custom = (
        "Cleanup",
        "Custom::S3AutoDeleteObjects",
        {"ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]}},
    )
    deploy_time_only = estimate_stack(template(handler, custom), prices)
    assert "Lambda invocations and GB-seconds" not in deploy_time_only.usage_based
    transform = ("Transform", "AWS::Lambda::Function", {})
    with_transform = estimate_stack(template(handler, custom, transform), prices)
    assert "Lambda invocations and GB-seconds" in with_transform.usage_based


def test_an_on_demand_table_bills_by_use_and_a_provisioned_one_is_named(prices):
    on_demand = ("Table", "AWS::DynamoDB::Table", {"BillingMode": "PAY_PER_REQUEST"})
    cost = estimate_stack(template(on_demand), prices)
    assert cost.monthly_usd == 0 and cost.lines == []
    assert any(item.startswith("DynamoDB request units") for item in cost.usage_based)
    provisioned = ("Old", "AWS::DynamoDB::Table", {"ProvisionedThroughput": {}})
    (line,) = estimate_stack(template(on_demand, provisioned), prices).lines
    assert line.unit == "unpriced" and "Old" in line.note


def test_batch_compute_bills_by_use_unless_it_keeps_vcpus_running(prices):
    spot = ("Spot", "AWS::Batch::ComputeEnvironment", {"ComputeResources": {"Type": "SPOT"}})
    fargate = (
        "Fargate",
        "AWS::Batch::ComputeEnvironment",
        {"ComputeResources": {"Type": "FARGATE"}},
    )
    queue = ("Queue", "AWS::Batch::JobQueue", {"Priority": 1})
    idle = estimate_stack(template(spot, fargate, queue), prices)
    assert idle.lines == []
    assert "AWS Batch jobs on EC2 SPOT capacity, billed while jobs run" in idle.usage_based
    assert "AWS Batch jobs on Fargate capacity, billed while jobs run" in idle.usage_based
    warm = (
        "Warm",
        "AWS::Batch::ComputeEnvironment",
        {"ComputeResources": {"Type": "EC2", "MinvCpus": 2}},
    )
    (line,) = estimate_stack(template(warm), prices).lines
    assert line.unit == "unpriced" and "2 vCPUs kept running" in line.item


def test_a_codebuild_project_bills_build_minutes_of_its_compute_type_only(prices):
    project = (
        "Build",
        "AWS::CodeBuild::Project",
        {"Environment": {"ComputeType": "BUILD_GENERAL1_SMALL"}},
    )
    idle = estimate_stack(template(project), prices)
    assert idle.lines == []
    assert any(
        item.startswith("CodeBuild build minutes on BUILD_GENERAL1_SMALL")
        for item in idle.usage_based
    )


def test_lines_are_biggest_first(prices):
    cost = estimate_stack(
        template(("Key", "AWS::KMS::Key", {}), ("Nat", "AWS::EC2::NatGateway", {})), prices
    )
    assert [line.item for line in cost.lines] == ["1 NAT gateway", "1 KMS key"]


# --------------------------------------------------------------------------------------
# Values left to deploy time, and prices the table lacks


def test_unresolved_values_count_their_minimum_and_say_so(prices):
    unresolved = template(
        ("Stream", "AWS::Kinesis::Stream", {"ShardCount": {"Ref": "Shards"}}),
        endpoint("Api", ".sagemaker.api", {"Fn::Split": [",", {"Ref": "Subnets"}]}),
        endpoint("Sts", ".sts", SANDBOX_SUBNETS),
        lustre({"Ref": "Capacity"}, "PERSISTENT_2", {"Ref": "Throughput"}),
        (
            "Notebook",
            "AWS::SageMaker::NotebookInstance",
            {"InstanceType": {"Ref": "Type"}, "VolumeSizeInGB": {"Ref": "Size"}},
        ),
        endpoint_config(
            "Config", {"InstanceType": "ml.m5.large", "InitialInstanceCount": {"Ref": "N"}}
        ),
        ("Endpoint", "AWS::SageMaker::Endpoint", {"EndpointConfigName": {"Ref": "Config"}}),
        ("Other", "AWS::SageMaker::Endpoint", {"EndpointConfigName": {"Ref": "NotHere"}}),
        ("Mystery", "AWS::EC2::VPCEndpoint", {"VpcEndpointType": {"Ref": "Kind"}}),
    )
    cost = estimate_stack(unresolved, prices)
    lines = {line.item: line for line in cost.lines}
    assert lines["at least 1 Kinesis shard"].monthly_usd == pytest.approx(0.015 * 730)
    assert "ShardCount is" in lines["at least 1 Kinesis shard"].note
    endpoints = lines["2 interface endpoints in at least 3 endpoint-AZs"]
    assert endpoints.monthly_usd == pytest.approx(3 * 0.01 * 730)
    assert "SubnetIds is" in endpoints.note
    fsx = lines["FSx for Lustre PERSISTENT_2 at 125+ MB/s/TiB, at least 1200 GiB"]
    assert fsx.monthly_usd == pytest.approx(1200 * 0.145)
    assert "lowest tier" in fsx.note and "StorageCapacity" in fsx.note
    assert lines["notebook instance of unresolved type, in service"].monthly_usd == 0
    assert "not counted" in lines["notebook instance of unresolved type, in service"].note
    assert lines["notebook ML storage, at least 5 GB"].monthly_usd == pytest.approx(5 * 0.14)
    assert lines["at least 1 endpoint instance ml.m5.large"].monthly_usd == pytest.approx(
        0.115 * 730
    )
    assert "NotHere" in lines["endpoint with a configuration outside the template"].note
    assert lines["VPC endpoint of unresolved type"].monthly_usd == 0
    assert cost.monthly_usd == pytest.approx(
        0.015 * 730 + 3 * 0.01 * 730 + 1200 * 0.145 + 5 * 0.14 + 0.115 * 730
    )


def test_a_template_without_resources_costs_nothing(prices):
    cost = estimate_stack({}, prices, "Empty")
    assert (cost.stack_name, cost.lines, cost.usage_based, cost.monthly_usd) == (
        "Empty",
        [],
        [],
        0,
    )


@pytest.mark.parametrize(
    ("resource", "missing"),
    [
        (
            ("Nb", "AWS::SageMaker::NotebookInstance", {"InstanceType": "ml.p4d.24xlarge"}),
            "ml.p4d.24xlarge",
        ),
        (
            endpoint_config("Config", {"InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1}),
            "ml.g5.xlarge",
        ),
        (lustre(1200, "PERSISTENT_1", 50), "PERSISTENT_1/50"),
    ],
)
def test_a_type_missing_from_the_price_table_names_it_and_the_file(prices, resource, missing):
    resources = [resource]
    if resource[1] == "AWS::SageMaker::EndpointConfig":
        resources.append(
            ("Endpoint", "AWS::SageMaker::Endpoint", {"EndpointConfigName": {"Ref": "Config"}})
        )
    with pytest.raises(MissingPriceError) as error:
        estimate_stack(template(*resources), prices)
    message = str(error.value)
    assert repr(missing) in message
    assert "ml_refarch/data/prices-us-east-1.json" in message and "usd_by_type" in message


def test_other_fsx_file_systems_are_not_priced_silently(prices):
    windows = ("Fs", "AWS::FSx::FileSystem", {"FileSystemType": "WINDOWS", "StorageCapacity": 32})
    with pytest.raises(MissingPriceError, match="WINDOWS"):
        estimate_stack(template(windows), prices)


# --------------------------------------------------------------------------------------
# State machines that deploy endpoints


def state_machine(*states: str) -> tuple:
    """A definition as CDK renders it: JSON text with tokens between the strings."""
    parts: list[Any] = ['{"StartAt":"A","States":{']
    for index, state in enumerate(states):
        parts += [
            ("," if index else "") + f'"S{index}":{{"Type":"Task","Resource":"arn:',
            {"Ref": "AWS::Partition"},
            f":states:::sagemaker:{state}",
        ]
    parts.append("}}")
    return (
        "Machine",
        "AWS::StepFunctions::StateMachine",
        {"DefinitionString": {"Fn::Join": ["", parts]}, "RoleArn": {"Ref": "Role"}},
    )


CONFIG_STATE = (
    'createEndpointConfig","Parameters":{"EndpointConfigName.$":"$.name",'
    '"ProductionVariants":[{"VariantName":"AllTraffic","InitialInstanceCount":3,'
    '"InstanceType":"ml.c5.large"}]}}'
)
CREATE_STATE = 'createEndpoint","Parameters":{"EndpointName":"e","EndpointConfigName.$":"$.c"}}'
TRAIN_STATE = 'createTrainingJob.sync","Parameters":{}}'


def test_a_state_machine_that_deploys_names_the_endpoint_and_its_hourly_cost(prices):
    cost = estimate_stack(template(state_machine(TRAIN_STATE, CONFIG_STATE, CREATE_STATE)), prices)
    assert cost.lines == []
    (deployed,) = [item for item in cost.usage_based if "endpoint the state machine" in item]
    assert "3 x ml.c5.large" in deployed
    assert "$0.306 an hour" in deployed and f"${3 * 0.102 * 730:,.2f} a month" in deployed
    assert "Step Functions state transitions" in cost.usage_based
    assert "SageMaker training and tuning instance-hours" in cost.usage_based


def test_a_deployed_endpoint_of_run_time_type_is_named_generically(prices):
    config = CONFIG_STATE.replace('"InstanceType":"ml.c5.large"', '"InstanceType.$":"$.type"')
    cost = estimate_stack(template(state_machine(config, CREATE_STATE)), prices)
    (deployed,) = [item for item in cost.usage_based if "endpoint the state machine" in item]
    assert "not readable from the definition" in deployed


def test_an_endpoint_config_alone_is_not_a_deployed_endpoint(prices):
    cost = estimate_stack(template(state_machine(CONFIG_STATE)), prices)
    assert not [item for item in cost.usage_based if "endpoint the state machine" in item]


def test_a_deployed_endpoint_type_missing_from_the_table_is_an_error(prices):
    config = CONFIG_STATE.replace("ml.c5.large", "ml.inf2.xlarge")
    with pytest.raises(MissingPriceError, match=r"ml\.inf2\.xlarge"):
        estimate_stack(template(state_machine(config, CREATE_STATE)), prices)


# --------------------------------------------------------------------------------------
# The synthesized stacks (each stack's band is in its unit: tests/stacks/test_idle_cost.py)


@pytest.fixture(scope="module")
def sandbox(synthesized, prices) -> dict[str, StackCost]:
    costs = estimate_assembly(synthesized("sandbox").templates, prices)
    return {cost.stack_name: cost for cost in costs}


@pytest.fixture(scope="module")
def production(synthesized, prices) -> dict[str, StackCost]:
    costs = estimate_assembly(synthesized("production").templates, prices)
    return {cost.stack_name: cost for cost in costs}


def quantities(cost: StackCost) -> dict[str, float]:
    return {line.item: line.quantity for line in cost.lines}


def test_sandbox_idle_costs_come_from_the_expected_resources(sandbox):
    assert quantities(sandbox[KINESIS]) == {"1 Kinesis shard": 1, "1 KMS key": 1}
    assert quantities(sandbox[NOTEBOOK]) == {
        "7 interface endpoints x 1 AZ": 7,
        "1 notebook instance ml.t3.medium, in service": 1,
        "notebook ML storage, 5 GB": 5,
        "1 KMS key": 1,
    }
    assert quantities(sandbox[STUDIO]) == {"7 interface endpoints x 1 AZ": 7, "1 KMS key": 1}
    for stack in (AB, PUBLIC, *ONE_VARIANT_ENDPOINTS):
        assert [item for item in quantities(sandbox[stack]) if "endpoint instance" in item] == [
            f"{4 if stack == AB else 2} endpoint instances ml.c5.large"
        ], stack
    assert quantities(sandbox[FSX]) == {"FSx for Lustre SCRATCH_2, 1200 GiB": 1200, "1 KMS key": 1}
    assert sandbox[FSX].monthly_usd == pytest.approx(1200 * 0.14 + 1)
    assert quantities(sandbox[WORKFLOW]) == {"1 KMS key": 1}


def test_production_lustre_is_persistent_at_the_lowest_tier(production):
    assert quantities(production[FSX]) == {
        "FSx for Lustre PERSISTENT_2 at 125 MB/s/TiB, 1200 GiB": 1200,
        "1 KMS key": 1,
    }


def test_the_wheelhouse_variant_drops_the_codeartifact_endpoints(synthesized, prices):
    templates = synthesized("sandbox-wheelhouse").templates
    costs = {c.stack_name: c for c in estimate_assembly(templates, prices)}
    assert quantities(costs[STUDIO])["5 interface endpoints x 1 AZ"] == 5
    assert costs[STUDIO].monthly_usd == pytest.approx(5 * 1 * 0.01 * 730 + 1)
    assert "CodeArtifact storage and requests" not in costs[STUDIO].usage_based


def test_only_the_csv_variant_pays_for_lambda_invocations(synthesized, sandbox, prices):
    csv = estimate_stack(synthesized("sandbox-csv").templates[KINESIS], prices, KINESIS)
    assert "Lambda invocations and GB-seconds" in csv.usage_based
    assert "Lambda invocations and GB-seconds" not in sandbox[KINESIS].usage_based
    assert csv.monthly_usd == pytest.approx(sandbox[KINESIS].monthly_usd)


def test_the_workflow_names_the_endpoint_it_deploys(sandbox, production):
    for costs, shape in ((sandbox, "2 x ml.c5.large"), (production, "2 x ml.m5.large")):
        (deployed,) = [
            item for item in costs[WORKFLOW].usage_based if "endpoint the state machine" in item
        ]
        month = "$148.92" if costs is sandbox else "$167.90"
        assert shape in deployed and f"{month} a month" in deployed


def test_usage_based_costs_are_named_per_stack(sandbox):
    usage = {name: cost.usage_based for name, cost in sandbox.items()}
    for name in usage:
        # Endpoints serving committed artifacts keep them in CDK's asset bucket, not their own;
        # the Lex bot has a bucket only when it logs audio.
        has_bucket = name not in (MULTI_AZ, AB, SERVERLESS, PUBLIC, "MlRefArch-LexChatbot")
        assert ("S3 storage and requests" in usage[name]) == has_bucket, name
        assert "KMS requests" in usage[name]
        logs = any(item.startswith("CloudWatch Logs ingestion ($0.50/GB") for item in usage[name])
        assert logs == (name != SERVERLESS), name  # the only stack without a VPC or log group
    assert "Firehose per GB ingested and per GB converted to Parquet" in usage[KINESIS]
    assert "Kinesis PUT payload units (25 KB each)" in usage[KINESIS]
    assert "Step Functions state transitions" in usage[WORKFLOW]
    assert "SNS publishes and deliveries" in usage[WORKFLOW]
    assert "SageMaker training and tuning instance-hours" in usage[FSX]
    # Hosting stacks have an execution role too, but only models (and monitors) use it.
    for name in (AB, SERVERLESS, PUBLIC, PIPELINE, MONITOR, *ONE_VARIANT_ENDPOINTS):
        assert "SageMaker training and tuning instance-hours" not in usage[name], name
        assert "SageMaker endpoint data processed in and out" in usage[name], name
    assert "SageMaker batch transform instance-hours per run" in usage[PIPELINE]
    assert "SageMaker serverless inference per request and GB-second" in usage[SERVERLESS]
    assert "Studio app instance-hours while apps run, and home EFS storage" in usage[STUDIO]
    for name in (NOTEBOOK, STUDIO):
        assert "CodeArtifact storage and requests" in usage[name]
    assert len(set(usage[WORKFLOW])) == len(usage[WORKFLOW])


@pytest.mark.parametrize("profile", ["sandbox", "production"])
def test_over_threshold_picks_exactly_the_stacks_above_it_by_name(request, profile):
    costs = list(request.getfixturevalue(profile).values())
    assert IDLE_WARNING_THRESHOLD_USD == 50.0
    for threshold in (IDLE_WARNING_THRESHOLD_USD, 120, 200):
        expected = sorted(c.stack_name for c in costs if c.monthly_usd > threshold)
        assert [c.stack_name for c in over_threshold(costs, threshold)] == expected
    assert FSX in [c.stack_name for c in over_threshold(costs)]
    assert KINESIS not in [c.stack_name for c in over_threshold(costs)]
    assert [c.stack_name for c in over_threshold(costs, 200)] == [AB]
    assert over_threshold(costs, 1000) == []


# --------------------------------------------------------------------------------------
# Reports


def test_markdown_table_is_deterministic_and_sorted(sandbox, prices):
    costs = list(sandbox.values())
    text = cost_table_markdown(costs, "sandbox", prices)
    assert text == cost_table_markdown(list(reversed(costs)), "sandbox", prices)
    header, blank, columns, rule, *rows = text.split("\n")
    assert "`sandbox`" in header and "us-east-1" in header and "2026-11-25" in header
    assert blank == ""
    assert columns == (
        "| Stack | Idle per month (USD) | What costs money idle | Usage-based, not included |"
    )
    assert rule == "| --- | ---: | --- | --- |"
    assert [row.split(" | ")[0] for row in rows] == [f"| `{name}`" for name in sorted(sandbox)]
    kinesis = next(row for row in rows if KINESIS in row)
    assert "| 11.95 |" in kinesis and "1 Kinesis shard ($10.95)" in kinesis
    assert all(row.count(" | ") == 3 and row.endswith(" |") for row in rows)
    assert not text.endswith("\n") and all(line == line.rstrip() for line in text.split("\n"))


def test_markdown_table_names_the_profile(production, prices):
    text = cost_table_markdown(list(production.values()), "production", prices)
    assert "`production`" in text.split("\n")[0]
    assert "PERSISTENT_2 at 125 MB/s/TiB, 1200 GiB ($174.00)" in text


def test_cost_lines_show_quantity_unit_price_and_monthly_total(sandbox):
    lines = cost_lines([sandbox[NOTEBOOK], sandbox[KINESIS]])
    text = "\n".join(lines)
    assert lines[0] == f"{NOTEBOOK}: about $89.30 a month idle"
    endpoint_line = next(line for line in lines if "interface endpoints" in line)
    assert "7 x $0.01/endpoint-AZ-hour x 730 h" in endpoint_line
    assert endpoint_line.endswith("$51.10")
    assert "1 x $0.015/shard-hour x 730 h" in text
    assert "  usage-based, not included:" in lines
    assert "    - CodeArtifact storage and requests" in lines
    assert lines[-1] == "Total idle: about $101.25 a month for 2 stacks"


# --------------------------------------------------------------------------------------
# WAF web ACLs and API Gateway (public-endpoint)


def test_a_web_acl_bills_per_month_and_per_rule(prices):
    rules = [{"Name": name} for name in ("Common", "BadInputs", "Rate")]
    acl = ("Acl", "AWS::WAFv2::WebACL", {"Scope": "REGIONAL", "Rules": rules})
    api = ("Api", "AWS::ApiGateway::RestApi", {})
    cost = estimate_stack(template(acl, api), prices)
    lines = {line.item: line for line in cost.lines}
    assert lines["1 WAF web ACL"].monthly_usd == 5.0
    assert lines["1 WAF web ACL"].unit == "$5.00/web-ACL-month"
    assert lines["3 WAF rules"].monthly_usd == 3.0 and lines["3 WAF rules"].quantity == 3
    assert "managed rule group counts as one rule" in lines["3 WAF rules"].note
    assert cost.monthly_usd == 8.0
    assert "WAF requests inspected (per million)" in cost.usage_based
    assert any(item.startswith("API Gateway REST API requests") for item in cost.usage_based)


def test_web_acl_rules_left_to_deploy_time_count_as_none_and_say_so(prices):
    acl = ("Acl", "AWS::WAFv2::WebACL", {"Rules": {"Ref": "Rules"}})
    cost = estimate_stack(template(acl), prices)
    lines = {line.item: line for line in cost.lines}
    assert lines["at least 0 WAF rules"].monthly_usd == 0
    assert "Rules is" in lines["at least 0 WAF rules"].note
    assert cost.monthly_usd == 5.0


def test_an_api_alone_bills_nothing_idle(prices):
    cost = estimate_stack(template(("Api", "AWS::ApiGateway::RestApi", {})), prices)
    assert cost.lines == [] and "WAF requests inspected (per million)" not in cost.usage_based


def test_waf_prices_are_in_the_table(prices):
    assert prices.usd("waf_web_acl_month") == 5.0
    assert prices.usd("waf_rule_month") == 1.0


def test_a_glue_job_bills_dpu_hours_only_while_it_runs(prices):
    job = ("Job", "AWS::Glue::Job", {"WorkerType": "G.1X", "NumberOfWorkers": 2})
    configuration = ("Security", "AWS::Glue::SecurityConfiguration", {})
    table = ("Table", "AWS::Glue::Table", {})
    cost = estimate_stack(template(job, configuration, table), prices)
    assert cost.lines == [] and cost.monthly_usd == 0
    (glue,) = [item for item in cost.usage_based if item.startswith("Glue job DPU-hours")]
    assert "G.1X" in glue
    assert "CloudWatch Logs ingestion ($0.50/GB) and storage of Glue job logs" in cost.usage_based
    without_job = estimate_stack(template(configuration, table), prices)
    assert not [item for item in without_job.usage_based if item.startswith("Glue")]


def test_spark_workers_and_feature_store_bill_by_use_unless_kept_running(prices):
    idle = estimate_stack(
        template(
            ("App", "AWS::EMRServerless::Application", {"Type": "SPARK"}),
            ("Group", "AWS::SageMaker::FeatureGroup", {"FeatureGroupName": "g"}),
            ("Export", "AWS::Athena::WorkGroup", {"Name": "w"}),
        ),
        prices,
        "s",
    )
    assert idle.lines == [] and idle.monthly_usd == 0
    assert {item.split(" ")[0] for item in idle.usage_based} >= {"EMR", "Feature", "Athena"}
    kept = estimate_stack(
        template(
            ("App", "AWS::EMRServerless::Application", {"InitialCapacity": [{"Key": "Driver"}]}),
            (
                "Group",
                "AWS::SageMaker::FeatureGroup",
                {"ThroughputConfig": {"ThroughputMode": "Provisioned"}},
            ),
        ),
        prices,
        "s",
    )
    assert sorted(line.item for line in kept.lines) == [
        "EMR Serverless application App: pre-initialized workers",
        "Feature group Group: provisioned throughput",
    ]
    assert all(line.unit == "unpriced" for line in kept.lines)


def _scheduled_job(action: str) -> dict:
    request = {
        "RoleArn": {"Fn::GetAtt": ["JobRole", "Arn"]},
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.large"}
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    text = json.dumps(request).split('{"Fn::GetAtt": ["JobRole", "Arn"]}')
    role = {"Fn::GetAtt": ["JobRole", "Arn"]}
    return template(
        (
            "JobRole",
            "AWS::IAM::Role",
            {
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
                    ]
                }
            },
        ),
        (
            "Monitor",
            "AWS::Scheduler::Schedule",
            {
                "ScheduleExpression": "cron(0 3 ? * * *)",
                "Target": {
                    "Arn": f"arn:aws:scheduler:::aws-sdk:sagemaker:{action}",
                    "Input": {"Fn::Join": ["", [text[0] + '"', role, '"' + text[1]]]},
                },
            },
        ),
    )


def test_a_schedule_that_starts_processing_jobs_names_its_runs_not_training(prices):
    cost = estimate_stack(_scheduled_job("createProcessingJob"), prices)
    (line,) = [item for item in cost.usage_based if item.startswith("schedule Monitor")]
    assert "about 30 processing runs a month on 2 x ml.m5.large" in line
    assert "at most 600 s" in line
    assert "SageMaker training and tuning instance-hours" not in cost.usage_based


def test_a_schedule_that_starts_training_jobs_counts_its_role_as_training(prices):
    cost = estimate_stack(_scheduled_job("createTrainingJob"), prices)
    assert "SageMaker training and tuning instance-hours" in cost.usage_based
    assert not [item for item in cost.usage_based if item.startswith("schedule Monitor")]
