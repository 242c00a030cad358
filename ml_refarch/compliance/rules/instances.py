"""Instance types with local NVMe storage, where SageMaker refuses a KMS key for the volume.

Used by the endpoint-config rule (KmsKeyId) and the job rules (VolumeKmsKeyId): the API
rejects a key for these instances because their local volumes are encrypted in hardware.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

#: Instance families (``ml.<family>.<size>``) that come with local NVMe instance storage.
#: Sources: the SageMaker API reference for CreateEndpointConfig (KmsKeyId: "Certain
#: Nitro-based instances include local storage ... You can't request a KmsKeyId when using an
#: instance type with local storage"), and the EC2 user guide's "Instance store volumes" list.
#: Patterns use fnmatch syntax: a family name ending in "d", "dn" or "de" (c5d, m5d, r5d,
#: c6id, m6id, r6id, g4dn, p3dn, p4d, p4de, ...) always has instance storage; the rest are
#: accelerated families whose names do not say so.
LOCAL_STORAGE_FAMILIES: tuple[str, ...] = (
    "*d",
    "*dn",
    "*de",
    "g5",
    "g6",
    "g6e",
    "p5",
    "p5e",
    "p5en",
    "trn1",
    "trn1n",
    "trn2",
)


def has_local_storage(instance_type: Any) -> bool:
    """Whether an ``ml.<family>.<size>`` instance type has local NVMe instance storage."""
    if not isinstance(instance_type, str):
        return False
    parts = instance_type.strip().lower().split(".")
    if len(parts) != 3 or parts[0] != "ml":
        return False
    family = parts[1]
    return any(fnmatchcase(family, pattern) for pattern in LOCAL_STORAGE_FAMILIES)
