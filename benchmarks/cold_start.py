"""Cold start: import time of each built function's handler against `import boto3`, same runtime.

Each sample is a fresh interpreter with Lambda's layout (see ``lambda_layout``); the handler
module creates its clients, plugin and configuration at import, as Lambda guidance recommends.
Samples of the baseline and of every function are interleaved so machine noise hits all alike.
Two figures per function: in-process import time (the init work we own) and whole-process
wall time (interpreter start included). For context, two references per kind of function: the
AWS clients it cannot do without, created with botocore (``import botocore.session`` plus the
clients: what functions paid before ``ticket_enhancer.aws.jsonapi``) and with the light client
the functions use (clients plus the TLS context).
"""

from __future__ import annotations

import statistics
import subprocess  # nosec B404 # runs our own interpreter with a fixed argument list, never a shell
import time
from dataclasses import dataclass

from benchmarks.lambda_layout import LAMBDA_PYTHON, BuiltFunction, built_functions, lambda_env

BUDGET = {"webhook": 1.6, "worker": 2.5}
CLIENTS = {"webhook": ("dynamodb", "sqs", "secretsmanager"), "worker": ("dynamodb", "secretsmanager")}
REFERENCES = ("botocore", "light")
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


def _reference_code(kind: str, client: str) -> str:
    names = CLIENTS[kind]
    if client == "botocore":
        session = "import botocore.session\ns = botocore.session.get_session()"
        return f"{session}\nclients = [s.create_client(n) for n in {names!r}]"
    light = "from ticket_enhancer import aws\naws.tls_context()"
    return f"{light}\nclients = [getattr(aws, n)() for n in {names!r}]"


def _median(samples: list[Sample]) -> tuple[float, float]:
    return statistics.median(s.import_s for s in samples), statistics.median(s.process_s for s in samples)


def run(runs: int = 7) -> dict[str, object]:
    functions = built_functions()
    first = {kind: next(fn for fn in functions if fn.kind == kind) for kind in BUDGET}
    baseline: list[Sample] = []
    references: dict[tuple[str, str], list[Sample]] = {(k, c): [] for k in BUDGET for c in REFERENCES}
    samples: dict[str, list[Sample]] = {fn.logical_id: [] for fn in functions}
    for _ in range(runs):
        baseline.append(_sample(functions[0], "import boto3"))
        for (kind, client), values in references.items():
            values.append(_sample(first[kind], _reference_code(kind, client)))
        for fn in functions:
            samples[fn.logical_id].append(_sample(fn, f"import {fn.module}"))
    base_import, base_process = _median(baseline)
    rows = []
    for fn in functions:
        imp, proc = _median(samples[fn.logical_id])
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
    reference = {
        client: {kind: round(_median(references[kind, client])[0] / base_import, 2) for kind in BUDGET}
        for client in REFERENCES
    }
    return {
        "runs": runs,
        "baseline_import_ms": round(base_import * 1000, 1),
        "baseline_process_ms": round(base_process * 1000, 1),
        "clients_import_ratio": reference,
        "functions": rows,
    }


def report(result: dict[str, object]) -> str:
    reference = result["clients_import_ratio"]
    lines = [
        f"cold start ({result['runs']} runs, medians); baseline `import boto3`: "
        f"{result['baseline_import_ms']} ms in-process, {result['baseline_process_ms']} ms whole process",
        f"the AWS clients each kind needs, alone: {reference}",
        f"{'function':34} {'import ms':>9} {'ratio':>6} {'process ms':>10} {'ratio':>6} budget",
    ]
    for row in result["functions"]:  # type: ignore[attr-defined]
        lines.append(
            f"{row['function']:34} {row['import_ms']:9} {row['import_ratio']:6} "
            f"{row['process_ms']:10} {row['process_ratio']:6} {row['budget']}x"
        )
    return "\n".join(lines)
