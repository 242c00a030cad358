"""SageMaker framework container images for any region, resolved offline.

The sagemaker SDK knows each framework image's registry account per region. Its table for
the images the patterns use is kept in ``ml_refarch/data/framework-images.json`` (looking it
up through the SDK at every synth costs seconds; a test checks the file still matches the
SDK, and ``scripts/update_images.py`` rewrites it). A stack pinned to a region gets the
literal URI; an environment-agnostic stack gets a CloudFormation mapping of every region,
looked up with ``AWS::Region`` at deploy time, so the same template works anywhere.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import aws_cdk as cdk
from constructs import Construct

#: The scikit-learn framework container the training script is written for.
SKLEARN_FRAMEWORK = "sklearn"
SKLEARN_VERSION = "1.2-1"
#: The XGBoost container (XGBoost 3.0.5) that serves the committed models; it is also the
#: built-in algorithm image, and supports multi-model endpoints.
XGBOOST_FRAMEWORK = "xgboost"
XGBOOST_VERSION = "3.0-5"
#: The Model Monitor analyzer (data quality baselines and monitoring runs). The SDK lists it
#: unversioned: one image per region, under the version "" and the scope "monitoring".
MODEL_MONITOR_FRAMEWORK = "model-monitor"
MODEL_MONITOR_VERSION = ""
MODEL_MONITOR_SCOPE = "monitoring"


IMAGES_FILE = Path(__file__).resolve().parents[1] / "data" / "framework-images.json"
#: (framework, version, image scope) of every image the patterns use.
IMAGES_USED = (
    (SKLEARN_FRAMEWORK, SKLEARN_VERSION, "training"),
    (SKLEARN_FRAMEWORK, SKLEARN_VERSION, "inference"),
    (XGBOOST_FRAMEWORK, XGBOOST_VERSION, "inference"),
    (MODEL_MONITOR_FRAMEWORK, MODEL_MONITOR_VERSION, MODEL_MONITOR_SCOPE),
)


@functools.cache
def _table() -> dict:
    return json.loads(IMAGES_FILE.read_text())


def image_uris_by_region(framework: str, version: str, image_scope: str) -> dict[str, str]:
    """Every region's image URI for a framework version, from the committed table."""
    try:
        return dict(_table()[framework][version][image_scope])
    except KeyError:
        raise KeyError(
            f"{IMAGES_FILE.name} has no {framework} {version} {image_scope} images; add the "
            "image to IMAGES_USED and run scripts/update_images.py"
        ) from None


def sdk_image_uris_by_region(framework: str, version: str, image_scope: str) -> dict[str, str]:
    """Every region's image URI for a framework version, from the sagemaker SDK's config."""
    from sagemaker.core import image_uris

    config = image_uris.config_for_framework(framework)
    # Framework images list versions per scope; single-scope images such as the Model
    # Monitor analyzer list them at the top level next to a "scope" list.
    config = config.get(image_scope, config)["versions"][version]
    uris = {}
    for region in sorted(config["registries"]):
        try:
            uris[region] = image_uris.retrieve(
                framework, region=region, version=version, image_scope=image_scope
            )
        except ValueError:
            continue  # a region the SDK lists a registry for but cannot build a URI in
    return uris


def framework_image_uri(
    scope: Construct,
    *,
    framework: str = SKLEARN_FRAMEWORK,
    version: str = SKLEARN_VERSION,
    image_scope: str = "training",
) -> str:
    """The image URI for the stack's region: a literal, or a mapping lookup when unknown."""
    stack = cdk.Stack.of(scope)
    uris = image_uris_by_region(framework, version, image_scope)
    if not cdk.Token.is_unresolved(stack.region):
        if stack.region not in uris:
            raise ValueError(
                f"the sagemaker SDK lists no {framework} {version} {image_scope} image in "
                f"{stack.region}; regions with one: {', '.join(uris)}"
            )
        return uris[stack.region]
    mapping_id = f"{framework}{version}{image_scope}Images".replace("-", "").replace(".", "")
    mapping = stack.node.try_find_child(mapping_id)
    if mapping is None:
        mapping = cdk.CfnMapping(
            stack, mapping_id, mapping={region: {"uri": uri} for region, uri in uris.items()}
        )
    return mapping.find_in_map(cdk.Aws.REGION, "uri")


def sdk_table() -> dict:
    """The table of :data:`IMAGES_USED` as the sagemaker SDK gives it today."""
    from unittest import mock

    from sagemaker.core import common_utils

    # The SDK re-reads botocore's endpoint file (a large JSON document) for every URI it
    # builds; reading it once makes the whole table take a second instead of ten.
    resolver = functools.cache(common_utils._botocore_resolver)
    table: dict = {}
    with mock.patch.object(common_utils, "_botocore_resolver", resolver):
        for framework, version, image_scope in IMAGES_USED:
            uris = sdk_image_uris_by_region(framework, version, image_scope)
            table.setdefault(framework, {}).setdefault(version, {})[image_scope] = uris
    return table
