"""`make bench`: every benchmark, each as a ratio against a baseline measured in the same run.

Results go to stdout and ``benchmarks/results/latest.json``. Ratios never fail the run (CI runs
``--small``); the README states what ``make bench`` measured.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import (  # noqa: E402 (after the path set-up)
    cold_start,
    context_lookup,
    note_composition,
    webhook_latency,
    worker_batch,
)
from benchmarks.lambda_layout import lambda_python_version  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="few runs (CI): checks the benchmarks run")
    args = parser.parse_args(argv)
    results: dict[str, object] = {"lambda_python": lambda_python_version()}
    print(f"built functions run with {results['lambda_python']} (.lambda-runtime)", flush=True)
    cold = cold_start.run(runs=3 if args.small else 7)
    print(cold_start.report(cold), flush=True)
    results["cold_start"] = cold
    webhook = webhook_latency.run(samples=30 if args.small else 300)
    print(webhook_latency.report(webhook), flush=True)
    results["webhook_latency"] = webhook
    worker = worker_batch.run(rounds=1 if args.small else 5)
    print(worker_batch.report(worker), flush=True)
    results["worker_batch"] = worker
    note = note_composition.run(samples=30 if args.small else 200)
    print(note_composition.report(note), flush=True)
    results["note_composition"] = note
    lookup = context_lookup.run(small=args.small)
    print(context_lookup.report(lookup), flush=True)
    results["context_lookup"] = lookup
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
