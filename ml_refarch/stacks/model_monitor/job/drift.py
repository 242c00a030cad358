"""Data-quality drift of one numeric feature against its baseline.

- **PSI** (population stability index): the baseline's deciles make the bins (edges at its
  quantiles, duplicates merged, open at both ends, so every live value falls in one);
  ``PSI = sum((live_i - base_i) * ln(live_i / base_i))`` over the bins' shares, with empty
  bins given :data:`EMPTY_BIN_SHARE` so the logarithm stays finite. A common reading:
  below 0.1 no shift, 0.1-0.2 moderate, above 0.2 significant.
- **Kolmogorov-Smirnov**: the two-sample statistic, the largest distance between the two
  empirical distribution functions (the tests compare it with ``scipy.stats.ks_2samp``).
- **Missing values** (empty fields, ``nan``) and **type errors** (fields that are not
  numbers) as shares of the rows.

Written here with numpy rather than taken from Evidently: these are a few lines each, the
job then needs nothing the SageMaker scikit-learn image lacks (it runs network isolated,
with no package index to install from), and every number is tested against scipy and
scikit-learn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Share given to a bin no value fell in (PSI's logarithm needs both shares above zero).
EMPTY_BIN_SHARE = 1e-4
#: The baseline quantiles that make PSI's bins (deciles).
PSI_BINS = 10


@dataclass(frozen=True)
class Column:
    """One feature's raw fields, parsed: the numbers, and how many were missing or not
    numbers."""

    values: np.ndarray
    rows: int
    missing: int
    type_errors: int

    @property
    def missing_fraction(self) -> float:
        return self.missing / self.rows if self.rows else 0.0

    @property
    def type_error_fraction(self) -> float:
        return self.type_errors / self.rows if self.rows else 0.0


def parse_column(fields: Sequence[str]) -> Column:
    """Numbers from CSV fields; empty fields and ``nan`` count as missing, anything else
    that is not a finite number as a type error."""
    values, missing, errors = [], 0, 0
    for field in fields:
        text = field.strip()
        if not text or text.lower() in ("nan", "null", "none"):
            missing += 1
            continue
        try:
            number = float(text)
        except ValueError:
            errors += 1
            continue
        if math.isfinite(number):
            values.append(number)
        else:
            errors += 1
    return Column(np.asarray(values, dtype=float), len(fields), missing, errors)


def psi_edges(baseline: np.ndarray, bins: int = PSI_BINS) -> np.ndarray:
    """Inner bin edges: the baseline's quantiles, without duplicates."""
    quantiles = np.quantile(baseline, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    return np.unique(quantiles)


def shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Each bin's share of ``values`` (bins left-closed, open at both ends)."""
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    total = counts.sum()
    return counts / total if total else counts.astype(float)


def psi(baseline: np.ndarray, live: np.ndarray, bins: int = PSI_BINS) -> float:
    """Population stability index of ``live`` against ``baseline``."""
    if len(baseline) == 0 or len(live) == 0:
        raise ValueError("PSI needs values in both the baseline and the live data")
    edges = psi_edges(baseline, bins)
    expected = np.maximum(shares(baseline, edges), EMPTY_BIN_SHARE)
    actual = np.maximum(shares(live, edges), EMPTY_BIN_SHARE)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def ks_statistic(baseline: np.ndarray, live: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: ``max |F_baseline(x) - F_live(x)|``."""
    if len(baseline) == 0 or len(live) == 0:
        raise ValueError("Kolmogorov-Smirnov needs values in both samples")
    first, second = np.sort(baseline), np.sort(live)
    points = np.concatenate([first, second])
    cdf_first = np.searchsorted(first, points, side="right") / len(first)
    cdf_second = np.searchsorted(second, points, side="right") / len(second)
    return float(np.max(np.abs(cdf_first - cdf_second)))


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's data-quality result."""

    feature: str
    psi: float | None
    ks: float | None
    missing_fraction: float
    baseline_missing_fraction: float
    type_error_fraction: float
    rows: int

    def violations(self, *, psi_threshold: float, ks_threshold: float, missing_threshold: float):
        """What crosses a threshold, as ``(check, value, threshold)``."""
        found = []
        if self.psi is not None and self.psi > psi_threshold:
            found.append(("psi", self.psi, psi_threshold))
        if self.ks is not None and self.ks > ks_threshold:
            found.append(("ks", self.ks, ks_threshold))
        extra_missing = self.missing_fraction - self.baseline_missing_fraction
        if extra_missing > missing_threshold:
            found.append(("missing_fraction", self.missing_fraction, missing_threshold))
        if self.type_error_fraction > 0:
            found.append(("type_error_fraction", self.type_error_fraction, 0.0))
        return found


def feature_drift(feature: str, baseline: Column, live: Column) -> FeatureDrift:
    """PSI, KS, missing values and type errors of one feature (PSI and KS are left out,
    ``None``, when either side has no numbers)."""
    comparable = len(baseline.values) > 0 and len(live.values) > 0
    return FeatureDrift(
        feature=feature,
        psi=psi(baseline.values, live.values) if comparable else None,
        ks=ks_statistic(baseline.values, live.values) if comparable else None,
        missing_fraction=live.missing_fraction,
        baseline_missing_fraction=baseline.missing_fraction,
        type_error_fraction=live.type_error_fraction,
        rows=live.rows,
    )
