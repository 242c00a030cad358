"""``python -m ml_refarch delivery bootstrap-commands``: what each account needs."""

from __future__ import annotations

import shlex

from ml_refarch.__main__ import main
from ml_refarch.config import read_config
from ml_refarch.delivery.bootstrap import bootstraps
from tests.delivery.support import CONNECTION_ARN

SETTINGS = {
    "delivery.connection_arn": CONNECTION_ARN,
    "delivery.repository": "owner/repo",
    "delivery.sandbox": "111122223333/us-east-1,555566667777/us-west-2",
    "delivery.production": "444455556666/eu-west-1",
}


def test_each_target_account_trusts_the_pipeline_account_in_its_regions():
    found = {b.account: b for b in bootstraps(read_config(SETTINGS).delivery)}
    assert list(found) == ["111122223333", "555566667777", "444455556666"]
    home = found["111122223333"]
    # The pipeline's own account: its region, and each target region for the replication
    # stacks; it trusts nobody else.
    assert home.regions == ("us-east-1", "us-west-2", "eu-west-1") and home.trust is None
    assert found["555566667777"].regions == ("us-west-2",)
    assert found["555566667777"].trust == "111122223333"
    assert found["444455556666"].roles == ("production",)


def test_the_command_prints_one_runnable_bootstrap_per_account(capsys):
    arguments = [f"-c{key}={value}" for key, value in SETTINGS.items()]
    assert main(["delivery", "bootstrap-commands", *arguments]) == 0
    commands = [line for line in capsys.readouterr().out.splitlines() if line.startswith("npx")]
    assert len(commands) == 3
    production = shlex.split(commands[2])
    assert production[:4] == ["npx", "cdk", "bootstrap", "aws://444455556666/eu-west-1"]
    assert production[production.index("--trust") + 1] == "111122223333"
    policy = production[production.index("--cloudformation-execution-policies") + 1]
    assert policy == "arn:aws:iam::aws:policy/AdministratorAccess"


def test_without_delivery_settings_the_command_says_what_to_give(capsys):
    assert main(["delivery", "bootstrap-commands"]) == 2
    error = capsys.readouterr().err
    assert "delivery.connection_arn" in error and "Traceback" not in error


def test_bad_settings_are_reported_not_raised(capsys):
    assert main(["delivery", "bootstrap-commands", "-c", "delivery.sandbox=nowhere"]) == 2
    assert "delivery.sandbox" in capsys.readouterr().err


def test_list_shows_the_delivery_entry_apart_from_the_patterns(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    patterns, delivery, retired = out.split("\n\n")
    assert "MlRefArch-Delivery" in delivery and "MlRefArch-Delivery" not in patterns
    assert "MlRefArch-Delivery" not in retired and retired.startswith("Services in the notes")
