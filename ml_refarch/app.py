"""Builds the ml-refarch CDK app: one stack per catalog pattern, plus the compliance gate."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from ml_refarch.catalog import PATTERNS
from ml_refarch.compliance.packs import make_plugins
from ml_refarch.config import AppConfig, config_from_scope


def add_pattern_stacks(
    app: Construct, config: AppConfig, *, only: Collection[str] | None = None
) -> dict[str, cdk.Stack]:
    """Add each catalog pattern's stack (or those named in ``only``) to ``app`` (the app, or
    a delivery stage), by name."""
    env = None
    if config.account or config.region:
        env = cdk.Environment(account=config.account, region=config.region)
    stacks: dict[str, cdk.Stack] = {}
    for pattern in PATTERNS:
        if only is not None and pattern.stack_name not in only:
            continue
        stacks[pattern.stack_name] = pattern.stack_type(
            app,
            pattern.stack_name,
            profile=config.profile,
            settings=config.settings_for(pattern),
            env=env,
        )
    return stacks


def register_packs(app: cdk.App) -> None:
    """Run every rule pack at synth time; any unacknowledged finding fails the synth."""
    validations = cdk.Validations.of(app)
    for plugin in make_plugins(app):
        validations.add_plugins(plugin)


def build_app(app: cdk.App | None = None, *, compliance_gate: bool = True) -> cdk.App:
    """The full app. Raises ``ConfigError`` before any construct is built on bad context."""
    app = app or cdk.App()
    config = config_from_scope(app)
    add_pattern_stacks(app, config)
    if config.delivery is not None:
        from ml_refarch.delivery.stack import DeliveryStack

        DeliveryStack(app, config.delivery)
    if compliance_gate:
        register_packs(app)
    return app


CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


def project_context(**overrides: Any) -> dict[str, Any]:
    """cdk.json's context (feature flags, and any overrides a user keeps there) with
    ``overrides`` on top, as ``cdk synth -c ...`` sees it."""
    context = json.loads(CDK_JSON.read_text())["context"]
    context.update(overrides)
    return context


def synthesize_templates(
    *, only: Collection[str] | None = None, compliance_gate: bool = False, **overrides: Any
) -> dict[str, dict]:
    """Templates by stack name, synthesized into a temporary directory.

    For commands that read templates (cost, diagrams); ``overrides`` are context values
    such as ``profile="production"``, on top of cdk.json's. With ``compliance_gate`` the
    rule packs run as in ``cdk synth`` and write their acknowledgment metadata, which the
    hashed logical ids of some resources (API Gateway deployments) depend on: the
    templates are then exactly those ``cdk synth`` writes.
    """
    with tempfile.TemporaryDirectory(prefix="ml-refarch-") as outdir:
        app = cdk.App(context=project_context(**overrides), outdir=outdir)
        stacks = add_pattern_stacks(app, config_from_scope(app), only=only)
        if compliance_gate:
            register_packs(app)
        assembly = app.synth()
        return {name: assembly.get_stack_by_name(name).template for name in stacks}
