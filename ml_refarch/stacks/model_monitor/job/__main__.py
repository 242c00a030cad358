"""Entry point of the monitoring job: read the inputs, write the report and the metrics.

In the processing job (``python3 /opt/ml/processing/input/code/<asset>.zip ...``) the
inputs are where the job's ``ProcessingInputs`` put them; locally
(``python -m ml_refarch.stacks.model_monitor.job --baseline ... --captures ...``) any
directories do. Writes ``report.json``, ``report.html`` and ``metrics.json`` (CloudWatch
``MetricData`` entries) to ``--output``. Exit codes: 0 no violation, 0 with violations too
(they are data, and the alarms act on them), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

try:
    from . import capture, report
except ImportError:  # pragma: no cover - the layout inside the processing job
    import capture  # type: ignore[no-redef]
    import report  # type: ignore[no-redef]

INPUT = "/opt/ml/processing/input"
OUTPUT = "/opt/ml/processing/output"


def _floats(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()] if text else []


def parser() -> argparse.ArgumentParser:
    defaults = report.Settings(endpoint_name="", protected_attribute="", group_attribute="")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", default=f"{INPUT}/baseline/baseline.csv")
    p.add_argument("--captures", default=f"{INPUT}/captures")
    p.add_argument("--ground-truth", default=f"{INPUT}/ground-truth")
    p.add_argument("--output", default=OUTPUT)
    p.add_argument("--endpoint-name", required=True)
    p.add_argument("--protected-attribute", required=True)
    p.add_argument("--group-attribute", required=True)
    p.add_argument("--segment-edges", type=_floats, default=[])
    p.add_argument("--group-edges", type=_floats, default=[])
    for name in (
        "score_threshold",
        "psi_threshold",
        "ks_threshold",
        "missing_threshold",
        "bias_drift_threshold",
        "min_accuracy",
    ):
        p.add_argument("--" + name.replace("_", "-"), type=float, default=getattr(defaults, name))
    return p


def _lines(directory: Path, suffix: str) -> list[str]:
    if not directory.is_dir():
        return []
    lines: list[str] = []
    for path in sorted(directory.rglob(f"*{suffix}")):
        lines += path.read_text(encoding="utf-8").splitlines()
    return lines


def run(args: argparse.Namespace) -> dict:
    settings = report.Settings(
        endpoint_name=args.endpoint_name,
        protected_attribute=args.protected_attribute,
        group_attribute=args.group_attribute,
        segment_edges=tuple(args.segment_edges),
        group_edges=tuple(args.group_edges),
        score_threshold=args.score_threshold,
        psi_threshold=args.psi_threshold,
        ks_threshold=args.ks_threshold,
        missing_threshold=args.missing_threshold,
        bias_drift_threshold=args.bias_drift_threshold,
        min_accuracy=args.min_accuracy,
    )
    baseline = capture.read_baseline(Path(args.baseline).read_text(encoding="utf-8"))
    rows = capture.read_captures(_lines(Path(args.captures), ".jsonl"))
    labels = capture.read_ground_truth(_lines(Path(args.ground_truth), ".jsonl"))
    capture.join_ground_truth(rows, labels)
    return report.build(settings, baseline, rows)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        result = run(args)
    except (OSError, ValueError) as error:
        print(f"monitoring job: {error}", file=sys.stderr)
        return 2
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "report.json").write_text(json.dumps(result, indent=2, sort_keys=True))
    (output / "report.html").write_text(report.html(result))
    (output / "metrics.json").write_text(json.dumps(report.metric_data(result), indent=2))
    found = report.violations(result)
    print(f"monitoring job: {result['captured_rows']} rows, {len(found)} violations")
    for violation in found:
        print(f"  {json.dumps(violation, sort_keys=True)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
