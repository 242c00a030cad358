"""The monitoring job of the ``model-monitor`` pattern: plain Python run by a SageMaker
processing job (the AWS scikit-learn processing image: Python 3 with numpy), and by the
tests on the committed sample data.

- :mod:`.capture` reads the endpoint's data capture files (JSON Lines) and ground truth;
- :mod:`.drift` data-quality drift per feature: population stability index (PSI), the
  two-sample Kolmogorov-Smirnov statistic, missing values and type checks;
- :mod:`.quality` model quality once ground truth arrives: accuracy, precision, recall,
  F1 and ROC AUC;
- :mod:`.bias` the Clarify pre-training bias metrics (CI, DPL, KL, JS, Lp-norm, TVD, KS,
  CDD) per segment of a protected attribute;
- :mod:`.report` puts them together: the JSON and HTML report and the CloudWatch metrics;
- ``__main__`` is the job's entry point (``python3 <the uploaded zip>``, or
  ``python -m ml_refarch.stacks.model_monitor.job`` locally).

Every module imports only the standard library and numpy, so the job needs no package the
image lacks, and needs no network (the job runs network isolated). The code stays within
Python 3.8 (no ``zip(strict=...)``, ``itertools.pairwise`` or ``match``): the image's Python
is older than the project's.
"""
