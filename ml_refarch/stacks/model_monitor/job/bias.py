"""Clarify's pre-training bias metrics, per segment of a protected attribute.

For one segment (facet *d*, the rows in it) against all other rows (facet *a*), over the
binary outcomes (``labels``: predicted labels, or the ground truth once it arrives), as the
SageMaker Clarify pages on pre-training bias metrics define them
(https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-measure-data-bias.html and the page
of each metric, linked in :data:`PAGES`):

- CI, class imbalance: ``(n_a - n_d) / (n_a + n_d)``;
- DPL, difference in proportions of labels: ``q_a - q_d``, each facet's share of positive
  outcomes;
- KL, Kullback-Leibler divergence: ``sum P_a(y) ln(P_a(y) / P_d(y))`` over the outcomes;
- JS, Jensen-Shannon divergence: ``(KL(P_a, P) + KL(P_d, P)) / 2`` with ``P = (P_a + P_d)/2``;
- LP, the Lp-norm (p = 2) of ``P_a - P_d``;
- TVD, total variation distance: half the L1-norm of ``P_a - P_d``;
- KS, Kolmogorov-Smirnov: ``max |P_a(y) - P_d(y)|``;
- CDD, conditional demographic disparity: per subgroup *i* of a grouping attribute,
  ``DD_i`` = facet d's share of the rejected (negative) outcomes minus its share of the
  accepted (positive) ones, averaged weighted by the subgroups' sizes.

The outcome distributions are compared over the outcomes both facets have (an outcome one
facet never has would make KL infinite), as the open-source implementation, ``smclarify``,
does; the tests compare every metric with values ``smclarify`` 0.5 computes (recorded in
the tests, and recomputed when it is installed).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

BASE = "https://docs.aws.amazon.com/sagemaker/latest/dg/"
#: Each metric's AWS page.
PAGES: Mapping[str, str] = {
    "CI": BASE + "clarify-bias-metric-class-imbalance.html",
    "DPL": BASE + "clarify-data-bias-metric-true-label-imbalance.html",
    "KL": BASE + "clarify-data-bias-metric-kl-divergence.html",
    "JS": BASE + "clarify-data-bias-metric-jensen-shannon-divergence.html",
    "LP": BASE + "clarify-data-bias-metric-lp-norm.html",
    "TVD": BASE + "clarify-data-bias-metric-total-variation-distance.html",
    "KS": BASE + "clarify-data-bias-metric-kolmogorov-smirnov.html",
    "CDD": BASE + "clarify-data-bias-metric-cddl.html",
}
METRICS = tuple(PAGES)


def _facets(facet_d) -> tuple[np.ndarray, int, int]:
    facet_d = np.asarray(facet_d, dtype=bool)
    n_d = int(facet_d.sum())
    n_a = len(facet_d) - n_d
    if n_a == 0 or n_d == 0:
        raise ValueError("both facets need rows: the segment and the rest")
    return facet_d, n_a, n_d


def class_imbalance(facet_d) -> float:
    _, n_a, n_d = _facets(facet_d)
    return (n_a - n_d) / (n_a + n_d)


def dpl(labels, facet_d) -> float:
    facet_d, _, _ = _facets(facet_d)
    labels = np.asarray(labels, dtype=bool)
    return float(labels[~facet_d].mean() - labels[facet_d].mean())


def _distributions(labels, facet_d) -> tuple[np.ndarray, np.ndarray]:
    """P_a and P_d over the outcomes both facets have."""
    facet_d, _, _ = _facets(facet_d)
    labels = np.asarray(labels)
    outcomes = np.unique(labels)
    p_a = np.array([np.mean(labels[~facet_d] == y) for y in outcomes])
    p_d = np.array([np.mean(labels[facet_d] == y) for y in outcomes])
    common = (p_a > 0) & (p_d > 0)
    if not common.any():
        raise ValueError("the facets have no outcome in common")
    return p_a[common], p_d[common]


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    return float(np.sum(p * np.log(p / q)))


def kl(labels, facet_d) -> float:
    p_a, p_d = _distributions(labels, facet_d)
    return _kl(p_a, p_d)


def js(labels, facet_d) -> float:
    p_a, p_d = _distributions(labels, facet_d)
    middle = (p_a + p_d) / 2.0
    return 0.5 * (_kl(p_a, middle) + _kl(p_d, middle))


def lp_norm(labels, facet_d, p: float = 2.0) -> float:
    p_a, p_d = _distributions(labels, facet_d)
    return float(np.linalg.norm(p_a - p_d, p))


def tvd(labels, facet_d) -> float:
    return 0.5 * lp_norm(labels, facet_d, 1.0)


def ks(labels, facet_d) -> float:
    p_a, p_d = _distributions(labels, facet_d)
    return float(np.max(np.abs(p_a - p_d)))


def cdd(labels, facet_d, groups) -> float:
    """Conditional demographic disparity over the subgroups ``groups`` names."""
    facet_d, _, _ = _facets(facet_d)
    labels = np.asarray(labels, dtype=bool)
    groups = np.asarray(groups)
    if labels.all() or not labels.any():
        raise ValueError("CDD needs both accepted and rejected outcomes")
    total, weighted = 0, 0.0
    for group in np.unique(groups):
        member = groups == group
        accepted, rejected = member & labels, member & ~labels
        share_accepted = (accepted & facet_d).sum() / accepted.sum() if accepted.any() else 0.0
        share_rejected = (rejected & facet_d).sum() / rejected.sum() if rejected.any() else 0.0
        weighted += member.sum() * (share_rejected - share_accepted)
        total += member.sum()
    return float(weighted / total)


def bias_metrics(labels, facet_d, groups) -> dict[str, float]:
    """All eight metrics of one segment (``facet_d``: the rows in it)."""
    return {
        "CI": class_imbalance(facet_d),
        "DPL": dpl(labels, facet_d),
        "KL": kl(labels, facet_d),
        "JS": js(labels, facet_d),
        "LP": lp_norm(labels, facet_d),
        "TVD": tvd(labels, facet_d),
        "KS": ks(labels, facet_d),
        "CDD": cdd(labels, facet_d, groups),
    }
