"""ml_refarch/stacks/multi_az_endpoint/smoke.py and the shared endpoint helpers, without AWS."""

from __future__ import annotations

import io

import pytest
from botocore.stub import Stubber

from ml_refarch.model_artifacts import load_manifest, sample_csv
from ml_refarch.smoke import endpoint as endpoint_smoke
from ml_refarch.stacks.multi_az_endpoint import PATTERN
from ml_refarch.stacks.multi_az_endpoint import smoke as smoke_multi_az
from ml_refarch.stacks.multi_az_endpoint.outputs import Outputs
from tests import smoke_fakes as fakes
from tests.smoke_fakes import Fake, Session, runner_for

main = runner_for(PATTERN)

ENDPOINT = "Endpoint-AbC123"
OUTPUTS = {Outputs.ENDPOINT_NAME: ENDPOINT, Outputs.VARIANT_MODELS: "AllTraffic=churn-v1"}
SCORES = load_manifest()["samples"]["scores"]


def scores_body(scores) -> bytes:
    return "".join(f"{score}\n" for score in scores).encode()


def session(
    *,
    statuses=("Creating", "InService"),
    instances=2,
    minimum=2,
    targets=True,
    zones=("us-east-1a", "us-east-1b"),
    scores=SCORES["churn-v1"],
    outputs=OUTPUTS,
):
    cloudformation = fakes.stack(outputs)
    variant = {
        "VariantName": "AllTraffic",
        "CurrentInstanceCount": instances,
        "DesiredInstanceCount": instances,
        "CurrentWeight": 1.0,
    }
    sagemaker = Fake(
        describe_endpoint=[
            {
                "EndpointStatus": status,
                "EndpointConfigName": "Config-1",
                "ProductionVariants": [variant],
            }
            for status in statuses
        ],
        describe_endpoint_config={
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "Model-1"}]
        },
        describe_model={"VpcConfig": {"Subnets": [f"subnet-{i}" for i in range(len(zones))]}},
    )
    ec2 = Fake(
        describe_subnets=lambda SubnetIds: {
            "Subnets": [
                {"SubnetId": subnet, "AvailabilityZone": zone}
                for subnet, zone in zip(SubnetIds, zones, strict=True)
            ]
        }
    )
    autoscaling = Fake(
        describe_scalable_targets={
            "ScalableTargets": [{"MinCapacity": minimum, "MaxCapacity": 4}] if targets else []
        },
        describe_scaling_policies={
            "ScalingPolicies": [
                {
                    "PolicyName": "InvocationsPerInstance",
                    "PolicyType": "TargetTrackingScaling",
                    "TargetTrackingScalingPolicyConfiguration": {
                        "TargetValue": 100.0,
                        "ScaleInCooldown": 300,
                        "ScaleOutCooldown": 60,
                    },
                }
            ]
        },
    )
    runtime = Fake(
        invoke_endpoint=lambda **_: {
            "Body": io.BytesIO(scores_body(scores)),
            "InvokedProductionVariant": "AllTraffic",
        }
    )
    return Session(
        cloudformation=cloudformation,
        sagemaker=sagemaker,
        ec2=ec2,
        **{"sagemaker-runtime": runtime, "application-autoscaling": autoscaling},
    )


def run(aws, *argv: str) -> int:
    return main(list(argv), session=aws, sleep=lambda seconds: None)


def test_a_healthy_endpoint_passes_and_reports_instances_scaling_and_zones(capsys):
    aws = session()
    assert run(aws, "--requests", "2") == 0
    out = capsys.readouterr().out
    assert "PASS variant AllTraffic runs 2+ instances: 2 in service, 2 desired" in out
    assert "min 2, max 4; InvocationsPerInstance: target 100.0" in out
    assert "us-east-1a, us-east-1b" in out
    assert "2 of 2 answers matched" in out
    invokes = aws.clients["sagemaker-runtime"].calls
    assert len(invokes) == 2
    request = invokes[0][1]
    assert request["ContentType"] == "text/csv"
    assert request["Body"] == sample_csv().encode()
    assert "TargetVariant" not in request
    (_, scaling) = aws.clients["application-autoscaling"].calls[0]
    assert scaling["ResourceIds"] == [f"endpoint/{ENDPOINT}/variant/AllTraffic"]


@pytest.mark.parametrize(
    ("options", "failing"),
    [
        ({"statuses": ("Creating", "Failed")}, "endpoint in service"),
        ({"instances": 1}, "variant AllTraffic runs 2+ instances"),
        ({"minimum": 1}, "variant AllTraffic scales"),
        ({"targets": False}, "variant AllTraffic scales"),
        ({"zones": ("us-east-1a", "us-east-1a")}, "model subnets in 2+ Availability Zones"),
        ({"scores": SCORES["churn-v2"]}, "scores match the manifest"),
        ({"scores": ["not", "numbers"]}, "scores match the manifest"),
    ],
)
def test_each_failure_is_reported(capsys, options, failing):
    assert run(session(**options)) == 1
    out = capsys.readouterr().out
    assert any(line.startswith("FAIL") and failing in line for line in out.splitlines()), out


def test_an_endpoint_still_creating_at_the_timeout_fails():
    aws = session(statuses=("Creating",) * 50)
    assert run(aws, "--timeout-seconds", "60", "--poll-seconds", "15") == 1
    assert len(aws.clients["sagemaker"].calls) <= 6


@pytest.mark.parametrize(
    "outputs",
    [
        {Outputs.ENDPOINT_NAME: ENDPOINT},
        {Outputs.ENDPOINT_NAME: ENDPOINT, Outputs.VARIANT_MODELS: "AllTraffic"},
        {Outputs.ENDPOINT_NAME: ENDPOINT, Outputs.VARIANT_MODELS: "AllTraffic=churn-v9"},
    ],
)
def test_unusable_outputs_are_setup_errors(capsys, outputs):
    assert run(session(outputs=outputs)) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_requests_must_be_positive():
    with pytest.raises(SystemExit):
        main(["--requests", "0"])


def test_the_scaling_queries_are_valid_application_auto_scaling_requests():
    client = fakes.client("application-autoscaling")
    resource_id = f"endpoint/{ENDPOINT}/variant/AllTraffic"
    with Stubber(client) as stub:
        stub.add_response(
            "describe_scalable_targets",
            {"ScalableTargets": []},
            {
                "ServiceNamespace": "sagemaker",
                "ResourceIds": [resource_id],
                "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            },
        )
        (check,) = smoke_multi_az.scaling_checks(client, ENDPOINT, ["AllTraffic"])
        stub.assert_no_pending_responses()
    assert not check.passed and resource_id in check.detail


def test_the_invocation_is_a_valid_runtime_request():
    client = fakes.client("sagemaker-runtime")
    body = sample_csv()
    with Stubber(client) as stub:
        stub.add_response(
            "invoke_endpoint",
            {"Body": io.BytesIO(scores_body(SCORES["churn-v1"])), "InvokedProductionVariant": "A"},
            endpoint_smoke.invoke_request(ENDPOINT, body),
        )
        answer = endpoint_smoke.invoke_once(client, ENDPOINT, {"A": SCORES["churn-v1"]}, body=body)
    assert answer.matched and answer.variant == "A"


def test_variant_models_round_trip_and_reject_duplicates():
    pairs = {"churn-v1": "churn-v1", "churn-v2": "churn-v2"}
    assert endpoint_smoke.parse_variant_models(endpoint_smoke.format_variant_models(pairs)) == pairs
    with pytest.raises(endpoint_smoke.SetupError):
        endpoint_smoke.parse_variant_models("a=churn-v1,a=churn-v2")


def test_dry_run_makes_no_calls(capsys):
    assert main(["--dry-run"], session=None) == 0
    assert "dry run" in capsys.readouterr().out
