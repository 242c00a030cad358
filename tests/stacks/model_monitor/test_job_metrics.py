"""model-monitor: the monitoring job's metrics against scipy, scikit-learn and smclarify."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as sk

from ml_refarch.stacks.model_monitor.job import bias, drift, quality

# --- data quality --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ks_statistic_is_scipys_two_sample_statistic(seed):
    rng = np.random.default_rng(seed)
    first = rng.normal(0.0, 1.0, 300)
    # Ties across the samples too: rounded values.
    second = np.round(rng.normal(0.3, 1.2, 200), 1)
    expected = stats.ks_2samp(first, second).statistic
    assert drift.ks_statistic(first, second) == pytest.approx(expected, rel=1e-9)


def test_ks_of_a_sample_with_itself_is_zero_and_of_disjoint_samples_one():
    values = np.arange(10.0)
    assert drift.ks_statistic(values, values) == 0.0
    assert drift.ks_statistic(values, values + 100.0) == 1.0


def test_psi_follows_its_formula_over_the_baseline_deciles():
    baseline = np.arange(100.0)  # deciles at 9.9, 19.8, ...: ten bins of ten values
    live = np.concatenate([np.arange(50.0), np.full(50, 95.0)])  # half in bins 1-5, half in 10
    expected_shares = np.full(10, 0.1)
    live_shares = np.array([0.1] * 5 + [drift.EMPTY_BIN_SHARE] * 4 + [0.5])
    expected = np.sum((live_shares - expected_shares) * np.log(live_shares / expected_shares))
    assert drift.psi(baseline, live) == pytest.approx(expected, rel=1e-9)
    assert drift.psi(baseline, baseline) == pytest.approx(0.0, abs=1e-12)


def test_psi_counts_values_beyond_the_baseline_in_its_end_bins():
    baseline = np.linspace(0.0, 1.0, 1000)
    assert drift.shares(np.array([-5.0, 5.0]), drift.psi_edges(baseline)).tolist() == (
        [0.5] + [0.0] * 8 + [0.5]
    )


def test_parse_column_counts_missing_values_and_type_errors():
    column = drift.parse_column(["1.5", "", " nan ", "abc", "inf", "2"])
    assert column.values.tolist() == [1.5, 2.0]
    assert (column.missing, column.type_errors, column.rows) == (2, 2, 6)
    assert column.missing_fraction == pytest.approx(2 / 6)


def test_feature_drift_leaves_out_psi_and_ks_without_numbers_and_flags_type_errors():
    result = drift.feature_drift(
        "f", drift.parse_column(["1", "2"]), drift.parse_column(["x", "y"])
    )
    assert result.psi is None and result.ks is None
    found = result.violations(psi_threshold=0.2, ks_threshold=0.1, missing_threshold=0.05)
    assert found == [("type_error_fraction", 1.0, 0.0)]


def test_psi_and_ks_refuse_empty_samples():
    with pytest.raises(ValueError, match="PSI"):
        drift.psi(np.array([]), np.array([1.0]))
    with pytest.raises(ValueError, match="Kolmogorov"):
        drift.ks_statistic(np.array([1.0]), np.array([]))


# --- model quality ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_model_quality_is_scikit_learns(seed):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, 400)
    # Scores correlated with the truth, rounded so that some tie.
    scores = np.round(np.clip(0.35 * truth + rng.random(400) * 0.65, 0, 1), 2)
    result = quality.model_quality(truth, scores, threshold=0.5)
    predicted = scores >= 0.5
    assert result.rows == 400
    assert result.accuracy == pytest.approx(sk.accuracy_score(truth, predicted), rel=1e-9)
    assert result.precision == pytest.approx(sk.precision_score(truth, predicted), rel=1e-9)
    assert result.recall == pytest.approx(sk.recall_score(truth, predicted), rel=1e-9)
    assert result.f1 == pytest.approx(sk.f1_score(truth, predicted), rel=1e-9)
    assert result.roc_auc == pytest.approx(sk.roc_auc_score(truth, scores), rel=1e-9)


def test_model_quality_edge_cases_match_scikit_learns_zero_division():
    truth, scores = np.array([1, 1, 0]), np.array([0.1, 0.2, 0.3])  # nothing predicted positive
    result = quality.model_quality(truth, scores)
    predicted = scores >= 0.5
    assert result.precision == sk.precision_score(truth, predicted, zero_division=0) == 0.0
    assert result.f1 == 0.0
    assert quality.model_quality([1, 1], [0.9, 0.2]).roc_auc is None  # one class only
    with pytest.raises(ValueError, match="2 labels but 1 scores"):
        quality.model_quality([1, 0], [0.5])


# --- bias: values smclarify 0.5 computes for the same data ---------------------------------------

#: Binary labels, a balanced facet and three subgroups.
CASE_BINARY = {
    "labels": [
        *(1, 1, 0, 1, 0, 0, 1, 0, 1, 1),
        *(0, 0, 1, 0, 0, 0, 1, 0, 0, 1),
        *(1, 0, 1, 1, 0, 1, 0, 0, 1, 0),
    ],
    "facet_d": [0] * 10 + [1] * 10 + [0, 1] * 5,
    "groups": [0] * 5 + [1] * 5 + [0] * 5 + [1] * 5 + [2] * 10,
}
#: smclarify.bias.metrics.pretraining CI, DPL, KL, JS, LP, TVD, KS and CDDL of CASE_BINARY.
SMCLARIFY_BINARY = {
    "CI": 0.0,
    "DPL": 0.26666666666666666,
    "KL": 0.14834174943487521,
    "JS": 0.036160391661783364,
    "LP": 0.3771236166328253,
    "TVD": 0.2666666666666666,
    "KS": 0.26666666666666666,
    "CDD": 0.2722222222222222,
}
#: Three outcomes, one of which facet d never has (left out of KL, JS, LP, TVD and KS, which
#: makes KL negative here, as in smclarify), and an imbalanced facet.
CASE_MULTICLASS = {
    "labels": [0, 1, 2, 2, 1, 0, 2, 2, 1, 2, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1],
    "facet_d": [0] * 12 + [1] * 8,
}
SMCLARIFY_MULTICLASS = {
    "CI": 0.2,
    "KL": -0.3084418311760411,
    "JS": 0.029627176912211742,
    "LP": 0.3004626062886658,
    "TVD": 0.20833333333333334,
    "KS": 0.25,
}


def test_bias_metrics_equal_smclarifys_on_binary_labels():
    case = {k: np.array(v) for k, v in CASE_BINARY.items()}
    values = bias.bias_metrics(case["labels"], case["facet_d"], case["groups"])
    assert set(values) == set(bias.METRICS) == set(bias.PAGES)
    for metric, expected in SMCLARIFY_BINARY.items():
        assert values[metric] == pytest.approx(expected, rel=1e-9, abs=1e-12), metric


def test_outcome_distances_equal_smclarifys_with_an_outcome_one_facet_lacks():
    labels, facet_d = np.array(CASE_MULTICLASS["labels"]), np.array(CASE_MULTICLASS["facet_d"])
    got = {
        "CI": bias.class_imbalance(facet_d),
        "KL": bias.kl(labels, facet_d),
        "JS": bias.js(labels, facet_d),
        "LP": bias.lp_norm(labels, facet_d),
        "TVD": bias.tvd(labels, facet_d),
        "KS": bias.ks(labels, facet_d),
    }
    for metric, expected in SMCLARIFY_MULTICLASS.items():
        assert got[metric] == pytest.approx(expected, rel=1e-9), metric


def test_bias_metrics_equal_smclarifys_when_it_is_installed():
    """The recorded values above, recomputed by smclarify itself where it is installed (it is
    not a dependency: try it in a throwaway venv, see the pattern page)."""
    pd = pytest.importorskip("pandas")
    pretraining = pytest.importorskip("smclarify.bias.metrics.pretraining")
    labels = pd.Series(CASE_BINARY["labels"])
    facet = pd.Series(np.array(CASE_BINARY["facet_d"], dtype=bool))
    positive = pd.Series(labels.to_numpy().astype(bool))
    groups = pd.Series(CASE_BINARY["groups"])
    assert pretraining.CI(labels, facet) == pytest.approx(SMCLARIFY_BINARY["CI"], abs=1e-12)
    assert pretraining.DPL(labels, facet, positive) == pytest.approx(SMCLARIFY_BINARY["DPL"])
    for name in ("KL", "JS", "LP", "TVD", "KS"):
        assert getattr(pretraining, name)(labels, facet) == pytest.approx(SMCLARIFY_BINARY[name])
    cdd = pretraining.CDDL(labels, facet, positive, groups)
    assert cdd == pytest.approx(SMCLARIFY_BINARY["CDD"])


def test_bias_metrics_follow_the_clarify_formulas_on_a_worked_case():
    """n_a = 6, n_d = 4; q_a = 4/6, q_d = 1/4."""
    labels = np.array([1, 1, 1, 1, 0, 0, 1, 0, 0, 0])
    facet_d = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    q_a, q_d = 4 / 6, 1 / 4
    p_a, p_d = np.array([1 - q_a, q_a]), np.array([1 - q_d, q_d])
    assert bias.class_imbalance(facet_d) == pytest.approx((6 - 4) / 10)
    assert bias.dpl(labels, facet_d) == pytest.approx(q_a - q_d)
    assert bias.kl(labels, facet_d) == pytest.approx(np.sum(p_a * np.log(p_a / p_d)))
    middle = (p_a + p_d) / 2
    js = 0.5 * (np.sum(p_a * np.log(p_a / middle)) + np.sum(p_d * np.log(p_d / middle)))
    assert bias.js(labels, facet_d) == pytest.approx(js)
    assert bias.lp_norm(labels, facet_d) == pytest.approx(np.sqrt(2) * (q_a - q_d))
    assert bias.tvd(labels, facet_d) == pytest.approx(q_a - q_d)
    assert bias.ks(labels, facet_d) == pytest.approx(q_a - q_d)
    # One subgroup: CDD is the demographic disparity, d's share of rejections minus of
    # acceptances: 3/5 - 1/5.
    assert bias.cdd(labels, facet_d, np.zeros(10)) == pytest.approx(3 / 5 - 1 / 5)


def test_bias_metrics_refuse_an_empty_facet_and_one_sided_outcomes():
    with pytest.raises(ValueError, match="both facets"):
        bias.class_imbalance(np.zeros(4, dtype=bool))
    with pytest.raises(ValueError, match="accepted and rejected"):
        bias.cdd(np.ones(4), np.array([0, 0, 1, 1]), np.zeros(4))
