"""Run code the way Lambda loads a built function: nothing but the build output on the path.

Lambda's python3.13 runtime puts ``/var/task`` (the function's build folder) first, then the
layers under ``/opt/python``, then its own site-packages, which hold boto3. We reproduce that
with ``.lambda-runtime`` (a venv of the repo's CPython 3.13 holding only boto3) and ``PYTHONPATH``
over ``.aws-sam/build``. The template's parameters take their defaults (architecture x86_64).
"""

from __future__ import annotations

import os
import subprocess  # nosec B404 # runs our own interpreter with a fixed argument list, never a shell
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".aws-sam" / "build"
LAMBDA_PYTHON = ROOT / ".lambda-runtime" / "bin" / "python"
DUMMY_KEY = "testing"  # importing creates clients; no AWS is reachable or called


@dataclass(frozen=True)
class BuiltFunction:
    logical_id: str
    module: str  # handler module, e.g. "jira_webhook"
    kind: str  # "webhook", "worker" or "other" (the secrets migration)
    environment: dict[str, str]
    layers: tuple[str, ...]

    @property
    def task_root(self) -> Path:
        return BUILD / self.logical_id


def _literal_env(values: dict[str, Any], parameters: dict[str, Any]) -> dict[str, str]:
    # Parameters take their defaults; other Refs (tables, queue URLs) become placeholders:
    # importing must not need real resources.
    env = {}
    for key, raw in values.items():
        value = raw
        if isinstance(raw, dict) and raw.get("Ref") in parameters:
            value = str(parameters[raw["Ref"]].get("Default", ""))
        env[key] = value if isinstance(value, str) else f"placeholder-{key.lower()}"
    return env


def _condition(node: Any, template: dict[str, Any]) -> bool:
    """A template condition, every parameter at its default (Fn::Equals, Fn::Not, Fn::And, Fn::Or)."""
    (name, args), *_ = node.items()
    if name == "Condition":
        return _condition(template["Conditions"][args], template)
    if name == "Fn::Equals":
        left, right = (_literal_env({"v": arg}, template.get("Parameters", {}))["v"] for arg in args)
        return left == right
    values = [_condition(arg, template) for arg in args]
    if name == "Fn::Not":
        return not values[0]
    if name == "Fn::And":
        return all(values)
    if name == "Fn::Or":
        return any(values)
    raise ValueError(f"unsupported condition function {name}")


def _layer(node: dict[str, Any], template: dict[str, Any]) -> str:
    """The logical id of a layer reference: ``Ref``, or the ``Fn::If`` branch the defaults select."""
    if "Fn::If" in node:
        name, when_true, when_false = node["Fn::If"]
        chosen = when_true if _condition(template["Conditions"][name], template) else when_false
        return _layer(chosen, template)
    return str(node["Ref"])


def built_functions() -> list[BuiltFunction]:
    template = yaml.safe_load((BUILD / "template.yaml").read_text())
    globals_fn = template.get("Globals", {}).get("Function", {})
    global_env = globals_fn.get("Environment", {}).get("Variables", {})
    global_layers = [_layer(layer, template) for layer in globals_fn.get("Layers", [])]
    functions = []
    for logical_id, resource in sorted(template["Resources"].items()):
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        module = props["Handler"].rsplit(".", 1)[0]
        env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
        # SAM adds a function's own layers after the Globals ones (lists in Globals are additive).
        layers = [*global_layers, *(_layer(layer, template) for layer in props.get("Layers", []))]
        kind = next((k for k in ("webhook", "worker") if module.endswith(f"_{k}")), "other")
        environment = _literal_env(env, template.get("Parameters", {}))
        functions.append(BuiltFunction(logical_id, module, kind, environment, tuple(layers)))
    return functions


def lambda_python_version() -> str:
    """The version of the interpreter the built functions run with (``.lambda-runtime``)."""
    result = subprocess.run(  # nosec B603 # our own interpreter, fixed arguments, no shell
        [str(LAMBDA_PYTHON), "-I", "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return f"CPython {result.stdout.strip()}"


def lambda_env(function: BuiltFunction) -> dict[str, str]:
    paths = [str(function.task_root)] + [str(BUILD / layer / "python") for layer in function.layers]
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(paths),
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LAMBDA_TASK_ROOT": str(function.task_root),
        "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": DUMMY_KEY,
        "AWS_SECRET_ACCESS_KEY": DUMMY_KEY,
        **function.environment,
    }


def run_in_lambda_layout(
    function: BuiltFunction, code: str, timeout: float = 60, extra_env: dict[str, str] | None = None
) -> str:
    """Run ``code`` with the function's Lambda layout in a fresh interpreter; return stdout."""
    result = subprocess.run(  # nosec B603 # our own interpreter, fixed arguments, no shell
        [str(LAMBDA_PYTHON), "-s", "-P", "-c", code],
        env={**lambda_env(function), **(extra_env or {})},
        cwd=function.task_root,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{function.logical_id}: exit {result.returncode}\n{result.stderr[-3000:]}")
    return result.stdout
