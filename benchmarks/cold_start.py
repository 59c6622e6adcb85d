"""Cold start: import time of each built function's handler against `import boto3`, same runtime.

Each sample is a fresh interpreter with Lambda's layout (see ``lambda_layout``); the handler
module creates its clients, plugin and configuration at import, as Lambda guidance recommends.
Samples of the baseline and of every function are interleaved so machine noise hits all alike.
Two figures per function: in-process import time (the init work we own) and whole-process
wall time (interpreter start included, closer to what Lambda's init phase bills).
"""

from __future__ import annotations

import statistics
import subprocess
import time
from dataclasses import dataclass

from benchmarks.lambda_layout import LAMBDA_PYTHON, BuiltFunction, built_functions, lambda_env

TIMER = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
BUDGET = {"webhook": 1.6, "worker": 2.5}


@dataclass
class Sample:
    import_s: float
    process_s: float


def _sample(function: BuiltFunction, module: str) -> Sample:
    started = time.perf_counter()
    out = subprocess.run(
        [str(LAMBDA_PYTHON), "-s", "-P", "-c", TIMER.format(module=module)],
        env=lambda_env(function),
        cwd=function.task_root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return Sample(float(out.strip().splitlines()[-1]), time.perf_counter() - started)


def run(runs: int = 7) -> dict[str, object]:
    functions = built_functions()
    baseline: list[Sample] = []
    samples: dict[str, list[Sample]] = {fn.logical_id: [] for fn in functions}
    for _ in range(runs):
        baseline.append(_sample(functions[0], "boto3"))
        for fn in functions:
            samples[fn.logical_id].append(_sample(fn, fn.module))
    base_import = statistics.median(s.import_s for s in baseline)
    base_process = statistics.median(s.process_s for s in baseline)
    rows = []
    for fn in functions:
        imp = statistics.median(s.import_s for s in samples[fn.logical_id])
        proc = statistics.median(s.process_s for s in samples[fn.logical_id])
        rows.append(
            {
                "function": fn.logical_id,
                "kind": fn.kind,
                "import_ms": round(imp * 1000, 1),
                "import_ratio": round(imp / base_import, 2),
                "process_ms": round(proc * 1000, 1),
                "process_ratio": round(proc / base_process, 2),
                "budget": BUDGET[fn.kind],
            }
        )
    return {
        "runs": runs,
        "baseline_import_ms": round(base_import * 1000, 1),
        "baseline_process_ms": round(base_process * 1000, 1),
        "functions": rows,
    }


def report(result: dict[str, object]) -> str:
    lines = [
        f"cold start ({result['runs']} runs, medians); baseline `import boto3`: "
        f"{result['baseline_import_ms']} ms in-process, {result['baseline_process_ms']} ms whole process",
        f"{'function':34} {'import ms':>9} {'ratio':>6} {'process ms':>10} {'ratio':>6} budget",
    ]
    for row in result["functions"]:  # type: ignore[attr-defined]
        lines.append(
            f"{row['function']:34} {row['import_ms']:9} {row['import_ratio']:6} "
            f"{row['process_ms']:10} {row['process_ratio']:6} {row['budget']}x"
        )
    return "\n".join(lines)
