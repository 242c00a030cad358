"""DigestName: a physical name that changes with every other property, tags included."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.assertions import Template

from ml_refarch.constructs.digest_name import DIGEST_LENGTH, DigestName


def lifecycle_template(content: str = "echo hi", tag: str = "sandbox") -> dict:
    """A stack with one named lifecycle configuration, an output and a consumer of its name."""
    stack = cdk.Stack(cdk.App(), "Tiny")
    config = sagemaker.CfnStudioLifecycleConfig(
        stack,
        "Lifecycle",
        studio_lifecycle_config_name="placeholder",
        studio_lifecycle_config_app_type="JupyterLab",
        studio_lifecycle_config_content=cdk.Fn.base64(content),
    )
    cdk.Tags.of(stack).add("profile", tag)
    name = DigestName(config, name_property="StudioLifecycleConfigName", prefix="tiny-install")
    output = cdk.CfnOutput(stack, "LifecycleName", value="placeholder")
    name.use(lambda value: setattr(output, "value", value))
    return Template.from_stack(stack).to_json()


def name_of(template: dict) -> str:
    return template["Resources"]["Lifecycle"]["Properties"]["StudioLifecycleConfigName"]


def test_the_name_is_the_prefix_and_a_digest_and_reaches_its_users():
    template = lifecycle_template()
    name = name_of(template)
    prefix, _, digest = name.rpartition("-")
    assert prefix == "tiny-install" and len(digest) == DIGEST_LENGTH
    assert int(digest, 16) >= 0  # hexadecimal
    assert template["Outputs"]["LifecycleName"]["Value"] == name


def test_the_name_changes_with_any_property_or_tag_and_only_then():
    name = name_of(lifecycle_template())
    assert name_of(lifecycle_template()) == name
    assert name_of(lifecycle_template(content="echo bye")) != name
    # Tags come from an aspect: the digest is taken after they are applied.
    assert name_of(lifecycle_template(tag="production")) != name
