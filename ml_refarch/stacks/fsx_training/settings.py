"""Settings of the ``fsx-training`` pattern: the Lustre file system's size and throughput."""

from __future__ import annotations

from dataclasses import dataclass

from ml_refarch.settings import Field, SettingsSpec, integer_in

#: Sizes SCRATCH_2 and PERSISTENT_2 file systems accept: 1200 GiB, 2400 GiB, or a multiple of
#: 2400 GiB (up to the 200-step range this project allows).
LUSTRE_CAPACITIES_GIB = (1200, *range(2400, 2400 * 200 + 1, 2400))
#: MB/s per TiB a PERSISTENT_2 file system offers.
LUSTRE_THROUGHPUTS_MB_PER_TIB = (125, 250, 500, 1000)


@dataclass(frozen=True)
class FsxTrainingSettings:
    """Settings of the ``fsx-training`` pattern.

    Attributes:
        storage_capacity_gib: the Lustre file system's size: 1200, 2400, or a multiple of
            2400 GiB (what SCRATCH_2 and PERSISTENT_2 accept).
        per_unit_storage_throughput: MB/s per TiB of a PERSISTENT_2 file system (production
            profile): 125, 250, 500 or 1000.
    """

    storage_capacity_gib: int
    per_unit_storage_throughput: int


FIELDS = {
    "storage_capacity_gib": Field(
        integer_in(
            LUSTRE_CAPACITIES_GIB,
            "1200, 2400, or a multiple of 2400 GiB (FSx for Lustre SCRATCH_2/PERSISTENT_2 sizes)",
        ),
        1200,
        "2400",
        "Size of the Lustre file system (billed per GiB-month while it exists)",
    ),
    "per_unit_storage_throughput": Field(
        integer_in(
            LUSTRE_THROUGHPUTS_MB_PER_TIB, "125, 250, 500 or 1000 MB/s per TiB (PERSISTENT_2)"
        ),
        125,
        "250",
        "MB/s per TiB of the PERSISTENT_2 file system (production profile only)",
    ),
}

NOTES = """\
The deployment type follows the profile: SCRATCH_2 in `sandbox` (no replication, AWS-owned
encryption key, cheapest), PERSISTENT_2 with the stack's customer-managed key in
`production`."""

SETTINGS = SettingsSpec(cls=FsxTrainingSettings, fields=FIELDS, notes=NOTES)
