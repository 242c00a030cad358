"""The deploy rehearsal's stand-in: moto's server, with narrow fixes to its CloudFormation.

``python -m ml_refarch.rehearsal.server [--port 0] [--ready-file FILE]`` serves every moto
service on one loopback port (0 picks a free one), writes the port it got and the resource
types moto's CloudFormation models to ``FILE`` as JSON, and runs until it receives SIGTERM
or SIGINT.

The fixes below are written for the moto version in :data:`PATCHED_MOTO_VERSION`; each names
the bug it works around. They change only how moto's CloudFormation reads a template, never
the templates ml-refarch deploys to AWS. The server refuses to start under another moto
version: check each bug there, then update the pin and this module.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
import warnings
from pathlib import Path
from typing import Any

from ml_refarch.cfn import getatt_target
from ml_refarch.config import LOCAL_ACCOUNT, LOCAL_REGION
from ml_refarch.rehearsal.checks import skipped_by_stand_in

#: The moto version whose bugs these patches work around (requirements-dev.txt pins it).
PATCHED_MOTO_VERSION = "5.2.5"

#: What a reference to a resource moto does not model resolves to, with ``{id}`` (logical
#: id) and ``{attribute}`` filled in. CloudFormation would return the real value; the
#: rehearsal reports every output that still carries this marker.
UNMODELLED_MARKER = "moto-unmodelled"
_UNMODELLED_ARN = f"arn:aws:{UNMODELLED_MARKER}:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{{id}}"
_UNMODELLED_VALUE = UNMODELLED_MARKER + "-{id}-{attribute}"


def unmodelled_value(logical_id: str, attribute: str) -> str:
    """The stand-in value of ``Fn::GetAtt [logical_id, attribute]`` on an unmodelled type."""
    template = _UNMODELLED_ARN if attribute.endswith("Arn") else _UNMODELLED_VALUE
    return template.format(id=logical_id, attribute=attribute.replace(".", "-"))


def _is_unmodelled(resource_type: str) -> bool:
    """A type moto's CloudFormation skips (one it models as doing nothing is not skipped)."""
    from moto.cloudformation import parsing

    return skipped_by_stand_in(resource_type, {*parsing.get_model_map(), *parsing.NULL_MODELS})


def _patch_kms_key_properties() -> None:
    """moto 5.2.5: an ``AWS::KMS::Key`` from CloudFormation breaks on its tags and policy.

    - ``Tags``: CloudFormation gives them as ``Key``/``Value``; moto's KMS model hands them
      to its tagging service, which expects the KMS API's ``TagKey``/``TagValue`` (the stack
      create fails with KeyError 'TagKey').
    - ``KeyPolicy``: CloudFormation takes a JSON object, which moto stores as is, while its
      KMS API expects a JSON string (DescribeKey then fails with "TypeError: the JSON
      object must be str, bytes or bytearray, not dict"). CloudFormation stores the JSON text.
    """
    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, *args, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        tags = properties.get("Tags")
        if tags:
            properties["Tags"] = [
                {"TagKey": tag["Key"], "TagValue": tag["Value"]} if "Key" in tag else tag
                for tag in tags
            ]
        if isinstance(properties.get("KeyPolicy"), dict):
            properties["KeyPolicy"] = json.dumps(properties["KeyPolicy"])
        return original(cls, resource_name, cloudformation_json, *args, **kwargs)

    Key.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


def _patch_subnet_route_table_association() -> None:
    """moto 5.2.5: ``AWS::EC2::SubnetRouteTableAssociation`` never reaches the EC2 model.

    moto's CloudFormation records the association in a side table, so DescribeRouteTables
    shows the route table without it. Associating through the EC2 backend, as the
    AssociateRouteTable API does, makes the association visible (and checkable).
    """
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.subnets import SubnetRouteTableAssociation

    original = SubnetRouteTableAssociation.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        association = original(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        ec2_backends[account_id][region_name].associate_route_table(
            association.route_table_id, subnet_id=association.subnet_id
        )
        return association

    SubnetRouteTableAssociation.create_from_cloudformation_json = classmethod(
        create_from_cloudformation_json
    )


def _patch_sagemaker_model_containers() -> None:
    """moto 5.2.5: an ``AWS::SageMaker::Model`` without ``PrimaryContainer`` fails.

    An inference pipeline lists its containers in ``Containers`` instead; CloudFormation and
    moto's own CreateModel accept that, but moto's CloudFormation model reads
    ``PrimaryContainer`` unconditionally (KeyError 'PrimaryContainer').
    """
    from moto.sagemaker.models import Model

    original = Model.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, *args, **kwargs):
        cloudformation_json.get("Properties", {}).setdefault("PrimaryContainer", None)
        return original(cls, resource_name, cloudformation_json, *args, **kwargs)

    Model.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


def _patch_batch_service_linked_role() -> None:
    """moto 5.2.5: an ``AWS::Batch::ComputeEnvironment`` without ``ServiceRole`` fails.

    ``ServiceRole`` is optional: without it Batch uses its service-linked role
    ``AWSServiceRoleForBatch``, which it creates when needed ("Using service-linked roles
    for AWS Batch",
    https://docs.aws.amazon.com/batch/latest/userguide/using-service-linked-roles.html).
    moto's CloudFormation model reads the property unconditionally (KeyError
    'ServiceRole') and its backend wants a role that exists, so the stand-in creates the
    service-linked role, as Batch would, and passes its ARN.
    """
    from moto.batch.models import ComputeEnvironment
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    original = ComputeEnvironment.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        properties = cloudformation_json.get("Properties", {})
        if "ServiceRole" not in properties:
            iam = iam_backends[account_id][get_partition(region_name)]
            path = "/aws-service-role/batch.amazonaws.com/"
            role = next((r for r in iam.roles.values() if r.path == path), None)
            if role is None:
                role = iam.create_service_linked_role(
                    "batch.amazonaws.com", "Batch service-linked role", suffix=""
                )
            properties["ServiceRole"] = role.arn
        return original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    ComputeEnvironment.create_from_cloudformation_json = classmethod(
        create_from_cloudformation_json
    )


def _patch_references_to_unmodelled_resources() -> None:
    """moto 5.2.5: ``Fn::GetAtt`` on a resource type moto does not model breaks the stack.

    moto skips such resources (with a warning), but then fails every reference to one: in
    ``Outputs`` its validation crashes (``'NoneType' object has no attribute
    'has_cfn_attr'``), and in properties or when outputs are read it raises "instance of
    Fn::GetAtt references undefined resource". CloudFormation would resolve the attribute;
    here it resolves to :func:`unmodelled_value`, so the rest of the stack is still created
    and checked. References to modelled resources are untouched.
    """
    from moto.cloudformation import parsing

    original_clean_json = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        target = None
        if isinstance(resource_json, dict) and "Fn::GetAtt" in resource_json:
            target = getatt_target(resource_json["Fn::GetAtt"])
        if target is not None:
            # Conditions are resolved against a plain dict, without the template.
            definition = getattr(resources_map, "_resource_json_map", {}).get(target[0])
            if definition is not None and _is_unmodelled(definition.get("Type", "")):
                return unmodelled_value(*target)
        return original_clean_json(resource_json, resources_map)

    # clean_json calls itself through the module global, so nested references (in Fn::Join,
    # Fn::Sub, ...) come through here too.
    parsing.clean_json = clean_json

    original_validate_outputs = parsing.ResourceMap.validate_outputs

    def validate_outputs(self: Any) -> None:
        outputs = self._template.get("Outputs") or {}
        modelled = {}
        for name, output in outputs.items():
            value = output.get("Value", {}) if isinstance(output, dict) else {}
            target = getatt_target(value.get("Fn::GetAtt")) if isinstance(value, dict) else None
            definition = self._resource_json_map.get(target[0]) if target else None
            if definition is None or not _is_unmodelled(definition.get("Type", "")):
                modelled[name] = output
        template = self._template
        self._template = {**template, "Outputs": modelled}
        try:
            original_validate_outputs(self)
        finally:
            self._template = template

    parsing.ResourceMap.validate_outputs = validate_outputs


def apply_patches() -> None:
    """Apply every fix; refuse to run on a moto version they were not written for."""
    import moto

    if moto.__version__ != PATCHED_MOTO_VERSION:
        raise SystemExit(
            f"ml_refarch.rehearsal.server patches moto {PATCHED_MOTO_VERSION}, but moto "
            f"{moto.__version__} is installed; check whether each bug it works around is still "
            "there, then update PATCHED_MOTO_VERSION"
        )
    _patch_kms_key_properties()
    _patch_subnet_route_table_association()
    _patch_sagemaker_model_containers()
    _patch_batch_service_linked_role()
    _patch_references_to_unmodelled_resources()


def modelled_types() -> list[str]:
    """The resource types moto's CloudFormation creates; it skips every other type."""
    from moto.cloudformation import parsing

    return sorted(parsing.get_model_map())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ml_refarch.rehearsal.server")
    parser.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="default: 0, a free port")
    parser.add_argument(
        "--ready-file",
        type=Path,
        help="once listening, write {port, modelled_types} here as JSON",
    )
    args = parser.parse_args(argv)

    apply_patches()
    # moto warns about every skipped resource, each time it is referenced; the rehearsal
    # reports the skipped types itself.
    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Tried to parse .* not supported by moto")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server.start()
    port = server.get_host_and_port()[1]
    if args.ready_file:
        partial = args.ready_file.with_name(args.ready_file.name + ".partial")
        partial.write_text(json.dumps({"port": port, "modelled_types": modelled_types()}))
        partial.rename(args.ready_file)  # readers never see a half-written file
    print(f"moto {PATCHED_MOTO_VERSION} listening on http://{args.host}:{port}", flush=True)
    while not stop.wait(timeout=0.2):
        pass
    # Everything moto holds is in memory and meant to go: exit at once, without waiting
    # for the server's poll interval or tearing down every imported moto module.
    os._exit(0)


if __name__ == "__main__":
    main()
