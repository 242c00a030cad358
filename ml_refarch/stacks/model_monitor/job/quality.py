"""Model quality of a binary classifier once ground truth arrives.

Accuracy, precision, recall and F1 of the labels the scores predict (score at or above the
threshold: positive), and ROC AUC of the scores themselves (the Mann-Whitney statistic, ties
counted half), as the notes' evaluation section defines them. Precision or recall with an
empty denominator is 0 (as scikit-learn's ``zero_division=0``); ROC AUC needs both classes
in the ground truth and is ``None`` otherwise. The tests compare each with scikit-learn.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class ModelQuality:
    rows: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    roc_auc: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else 0.0


def roc_auc(truth: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve: the chance a positive scores above a negative (ties 1/2)."""
    truth = np.asarray(truth, dtype=bool)
    positives, negatives = int(truth.sum()), int((~truth).sum())
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranked = np.asarray(scores, dtype=float)[order]
    ranks = np.empty(len(ranked))
    start = 0
    # Average ranks over runs of equal scores.
    while start < len(ranked):
        end = start
        while end + 1 < len(ranked) and ranked[end + 1] == ranked[start]:
            end += 1
        ranks[start : end + 1] = (start + end) / 2.0 + 1.0
        start = end + 1
    positive_ranks = np.empty(len(ranks))
    positive_ranks[order] = ranks
    rank_sum = positive_ranks[truth].sum()
    return float((rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives))


def model_quality(truth, scores, threshold: float = 0.5) -> ModelQuality:
    """The metrics of ``scores`` (probabilities of the positive class) against ``truth``
    (0/1), the predicted label being ``score >= threshold``."""
    truth = np.asarray(truth, dtype=bool)
    scores = np.asarray(scores, dtype=float)
    if len(truth) != len(scores):
        raise ValueError(f"{len(truth)} labels but {len(scores)} scores")
    if len(truth) == 0:
        raise ValueError("model quality needs at least one labelled row")
    predicted = scores >= threshold
    true_positives = float(np.sum(predicted & truth))
    precision = _ratio(true_positives, float(predicted.sum()))
    recall = _ratio(true_positives, float(truth.sum()))
    return ModelQuality(
        rows=len(truth),
        accuracy=float(np.mean(predicted == truth)),
        precision=precision,
        recall=recall,
        f1=_ratio(2 * precision * recall, precision + recall),
        roc_auc=roc_auc(truth, scores),
    )
