"""Cold start: import time of each built function's handler against the SDK floor, same runtime.

The floor of a kind of function is what any Python function doing its job pays at init: botocore
imported and the AWS clients that kind needs created (a webhook: DynamoDB, SQS, Secrets Manager; a
worker: DynamoDB, Secrets Manager, Bedrock Runtime), Powertools' Logger and Metrics and pydantic's
``BaseModel`` imported. Budgets: webhooks <= 1.25x their floor, workers <= 1.6x.

Each sample is a fresh interpreter with Lambda's layout (see ``lambda_layout``); the handler
module creates its clients, plugin and configuration at import, as Lambda guidance recommends.
Samples of the floors and of every function are interleaved so machine noise hits all alike.
Two figures per function: in-process import time (Lambda's init work) and whole-process wall
time (interpreter start included). For reference, the same clients made by ``boto3.client()``
(what importing boto3 would add) and by botocore alone; and each layer's unzipped size.
"""

from __future__ import annotations

import statistics
import subprocess  # nosec B404 # runs our own interpreter with a fixed argument list, never a shell
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmarks.lambda_layout import BUILD, LAMBDA_PYTHON, BuiltFunction, built_functions, lambda_env

BUDGET = {"webhook": 1.25, "worker": 1.6}
CLIENTS = {
    "webhook": ("dynamodb", "sqs", "secretsmanager"),
    "worker": ("dynamodb", "secretsmanager", "bedrock-runtime"),
}
LIBRARIES = (
    "from aws_lambda_powertools.logging import Logger\n"
    "from aws_lambda_powertools.metrics import Metrics\n"
    "from pydantic import BaseModel"
)
REFERENCES = ("floor", "botocore", "boto3")
LAYER_LIMIT_MB = 250.0  # Lambda: function code and all its layers, unzipped
TIMER = "import time\nt = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"


@dataclass
class Sample:
    import_s: float
    process_s: float


def _sample(function: BuiltFunction, code: str) -> Sample:
    started = time.perf_counter()
    out = subprocess.run(  # nosec B603 # our own interpreter, fixed arguments, no shell
        [str(LAMBDA_PYTHON), "-s", "-P", "-c", TIMER.format(code=code)],
        env=lambda_env(function),
        cwd=function.task_root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return Sample(float(out.strip().splitlines()[-1]), time.perf_counter() - started)


def reference_code(kind: str, reference: str) -> str:
    """``floor``: the SDK floor of ``kind``; ``botocore`` / ``boto3``: its clients alone, each way."""
    names = CLIENTS[kind]
    if reference == "boto3":
        return f"import boto3\nclients = [boto3.client(n) for n in {names!r}]"
    session = "import botocore.session\ns = botocore.session.get_session()"
    clients = f"{session}\nclients = [s.create_client(n) for n in {names!r}]"
    return f"{clients}\n{LIBRARIES}" if reference == "floor" else clients


def _median(samples: list[Sample]) -> tuple[float, float]:
    return statistics.median(s.import_s for s in samples), statistics.median(s.process_s for s in samples)


def _size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def layer_sizes() -> dict[str, float]:
    """Each built layer's unzipped size in MB (what counts against Lambda's 250 MB)."""
    template = yaml.safe_load((BUILD / "template.yaml").read_text())
    names = sorted(
        key for key, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::LayerVersion"
    )
    return {name: round(_size_mb(BUILD / name), 1) for name in names if (BUILD / name).is_dir()}


def largest_deployment_mb(functions: list[BuiltFunction], layers: dict[str, float]) -> float:
    """The largest function's code plus all its layers, unzipped (Lambda's limit: 250 MB)."""
    return round(
        max(_size_mb(fn.task_root) + sum(layers.get(n, 0.0) for n in fn.layers) for fn in functions), 1
    )


def run(runs: int = 7) -> dict[str, object]:
    functions = [fn for fn in built_functions() if fn.kind in BUDGET]
    first = {kind: next(fn for fn in functions if fn.kind == kind) for kind in BUDGET}
    references: dict[tuple[str, str], list[Sample]] = {(k, r): [] for k in BUDGET for r in REFERENCES}
    samples: dict[str, list[Sample]] = {fn.logical_id: [] for fn in functions}
    for _ in range(runs):
        for (kind, reference), values in references.items():
            values.append(_sample(first[kind], reference_code(kind, reference)))
        for fn in functions:
            samples[fn.logical_id].append(_sample(fn, f"import {fn.module}"))
    medians = {key: _median(values) for key, values in references.items()}
    floors = {kind: medians[kind, "floor"] for kind in BUDGET}
    rows = []
    for fn in functions:
        imp, proc = _median(samples[fn.logical_id])
        floor_import, floor_process = floors[fn.kind]
        ratio = round(imp / floor_import, 2)
        rows.append(
            {
                "function": fn.logical_id,
                "kind": fn.kind,
                "import_ms": round(imp * 1000, 1),
                "import_ratio": ratio,
                "process_ms": round(proc * 1000, 1),
                "process_ratio": round(proc / floor_process, 2),
                "budget": BUDGET[fn.kind],
                "holds": ratio <= BUDGET[fn.kind],
            }
        )
    layers = layer_sizes()
    every = built_functions()
    return {
        "runs": runs,
        "floor": {
            kind: {
                "clients": list(CLIENTS[kind]),
                "import_ms": round(floors[kind][0] * 1000, 1),
                "process_ms": round(floors[kind][1] * 1000, 1),
            }
            for kind in BUDGET
        },
        "clients_import_ms": {
            kind: {ref: round(medians[kind, ref][0] * 1000, 1) for ref in ("botocore", "boto3")}
            for kind in BUDGET
        },
        "functions": rows,
        "layers_mb": layers,
        "largest_function_with_layers_mb": largest_deployment_mb(every, layers),
        "layers_limit_mb": LAYER_LIMIT_MB,
    }


def report(result: dict[str, object]) -> str:
    floor: dict[str, dict[str, object]] = result["floor"]  # type: ignore[assignment]
    clients: dict[str, dict[str, float]] = result["clients_import_ms"]  # type: ignore[assignment]
    lines = [f"cold start ({result['runs']} runs, medians) against the SDK floor of each kind:"]
    for kind, values in floor.items():
        lines.append(
            f"  {kind} floor (botocore + {', '.join(values['clients'])}, Logger, Metrics, pydantic): "  # type: ignore[arg-type]
            f"{values['import_ms']} ms in-process, {values['process_ms']} ms whole process; "
            f"those clients alone: botocore {clients[kind]['botocore']} ms, boto3 {clients[kind]['boto3']} ms"
        )
    lines.append(f"{'function':34} {'import ms':>9} {'ratio':>6} {'process ms':>10} {'ratio':>6} budget")
    for row in result["functions"]:  # type: ignore[attr-defined]
        verdict = "holds" if row["holds"] else "OVER"
        lines.append(
            f"{row['function']:34} {row['import_ms']:9} {row['import_ratio']:6} "
            f"{row['process_ms']:10} {row['process_ratio']:6} {row['budget']}x {verdict}"
        )
    layers: dict[str, float] = result["layers_mb"]  # type: ignore[assignment]
    sizes = ", ".join(f"{name} {mb} MB" for name, mb in layers.items())
    lines.append(
        f"layers unzipped: {sizes}; the largest function with its layers: "
        f"{result['largest_function_with_layers_mb']} MB of Lambda's {result['layers_limit_mb']} MB"
    )
    return "\n".join(lines)
