"""The `sam build` output imports with exactly Lambda's layout (run by `make test` after the build)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TypedDict

import pytest

from benchmarks.lambda_layout import (
    BUILD,
    LAMBDA_PYTHON,
    ROOT,
    BuiltFunction,
    built_functions,
    lambda_env,
    run_in_lambda_layout,
)

pytestmark = pytest.mark.built


class Probe(TypedDict):
    handler: bool
    package: str
    sys_path: list[str]
    modules: list[str]
    dists: list[str]


PROBE = """
import json, sys, importlib.metadata as md
import {module}
dists = sorted(d.metadata["Name"].lower().replace("_", "-") for d in md.distributions() if d.metadata["Name"])
print(json.dumps({{
    "handler": callable({module}.handler),
    "package": sys.modules["ticket_enhancer"].__file__,
    "sys_path": sys.path,
    "modules": sorted(sys.modules),
    "dists": dists,
}}))
"""

TOOLS = ("jira", "zendesk", "servicenow", "freshservice", "servicedesk_plus", "zammad")


def _functions() -> list[BuiltFunction]:
    if not (BUILD / "template.yaml").exists() or not LAMBDA_PYTHON.exists():
        pytest.fail("run `make build` and `make install` first (make built-test does both)")
    return built_functions()


@pytest.fixture(scope="module")
def probes() -> dict[str, Probe]:
    return {
        fn.logical_id: json.loads(run_in_lambda_layout(fn, PROBE.format(module=fn.module)).splitlines()[-1])
        for fn in _functions()
    }


def test_every_function_is_built() -> None:
    kinds = sorted(fn.module for fn in _functions())
    expected = [f"{t}_{kind}" for t in TOOLS for kind in ("webhook", "worker", "ops")] + ["secrets_migration"]
    assert kinds == sorted(expected)


def test_every_handler_imports_from_the_build_only(probes: dict[str, Probe]) -> None:
    for logical_id, probe in probes.items():
        assert probe["handler"] is True, logical_id
        assert str(BUILD / "SharedLayer" / "python") in str(probe["package"]), logical_id
        paths = [str(p) for p in probe["sys_path"]]
        assert not any(p.startswith((str(ROOT / "shared"), str(ROOT / "dev"))) for p in paths), logical_id
        assert not any(p.startswith(str(ROOT / ".venv")) for p in paths), logical_id


def _pinned(requirements: Path) -> set[str]:
    """The distribution names a layer's requirements file pins (normalised as the metadata has them)."""
    names = set()
    for raw in requirements.read_text().splitlines():
        pin = raw.split("#", 1)[0].strip()
        if pin:
            names.add(pin.split("==", 1)[0].strip().lower().replace("_", "-"))
    return names


def test_runtime_site_packages_hold_only_boto3_and_its_dependencies(
    probes: dict[str, Probe],
) -> None:
    runtime = {
        "boto3",
        "botocore",
        "s3transfer",
        "jmespath",
        "python-dateutil",
        "six",
        "urllib3",
        "pip",
        "setuptools",
    }
    layer = _pinned(ROOT / "layers" / "dependencies" / "requirements.txt")
    index = _pinned(ROOT / "layers" / "index" / "requirements.txt")  # workers and ops functions only
    for logical_id, probe in probes.items():
        searches = logical_id.endswith(("WorkerFunction", "OpsFunction"))
        extra = set(probe["dists"]) - runtime - layer - (index if searches else set())
        assert not extra, f"{logical_id} sees unexpected distributions: {sorted(extra)}"


@pytest.mark.parametrize("tool", TOOLS)
def test_webhook_imports_no_other_tool_and_no_dev_dependency(tool: str, probes: dict[str, Probe]) -> None:
    modules = set(probes[f"{_camel(tool)}WebhookFunction"]["modules"])
    others = [t for t in TOOLS if t != tool]
    assert f"ticket_enhancer.plugins.{tool}.plugin" in modules
    for other in others:
        assert not any(m.startswith(f"ticket_enhancer.plugins.{other}") for m in modules), other
    assert "boto3" not in modules
    for heavy in (
        "moto",
        "yaml",
        "httpx",
        "asyncio",
        "ticket_enhancer_dev",
        "ticket_enhancer.enhance",
        "ticket_enhancer.render",
        "aws_xray_sdk",
        "aws_lambda_powertools.utilities.batch",
    ):
        assert heavy not in modules, heavy


# What a worker's init leaves for the jobs that need it (tests/unit/test_worker_init.py has the
# reasons; the cold-start budget, README "Benchmarks", depends on it).
WORKER_FIRST_USE = (
    "ticket_enhancer.enhance.model_output",
    "ticket_enhancer.enhance.model_note",
    "ticket_enhancer.enhance.prompt",
    "ticket_enhancer_dev",  # never: not in any layer
    "langdetect",
    "stdnum",
    "phonenumbers",
    "numpy",
    "bm25s",
    "aws_lambda_powertools.utilities.batch",
)


@pytest.mark.parametrize("tool", TOOLS)
def test_worker_init_imports_nothing_that_waits_for_first_use(tool: str, probes: dict[str, Probe]) -> None:
    modules = set(probes[f"{_camel(tool)}WorkerFunction"]["modules"])
    assert f"ticket_enhancer.plugins.{tool}.plugin" in modules
    assert {"ticket_enhancer.enhance.pipeline", "ticket_enhancer.enhance.language", "httpx"} <= modules
    loaded = sorted(m for m in modules for lazy in WORKER_FIRST_USE if m == lazy or m.startswith(f"{lazy}."))
    assert loaded == [], tool


def test_functions_call_aws_through_the_runtimes_botocore_never_boto3(probes: dict[str, Probe]) -> None:
    """One AWS SDK: botocore's clients, made at init from the runtime's own botocore (no layer ships
    one), without boto3's import on top (README, "One AWS SDK")."""
    for logical_id, probe in probes.items():
        modules = set(probe["modules"])
        assert "botocore.client" in modules, logical_id
        assert "boto3" not in modules, f"{logical_id} imports boto3"
        assert not any(m.startswith("ticket_enhancer.aws.") for m in modules), logical_id


def test_no_layer_ships_an_aws_sdk() -> None:
    for layer in ("DependenciesLayer", "SharedLayer"):
        for sdk in ("boto3", "botocore"):
            assert not (BUILD / layer / "python" / sdk).exists(), f"{layer} ships {sdk}"


INVOKE = """
import json, {module}
for event in json.loads({events!r}):
    print("RESULT", json.dumps({module}.handler(event, None)))
"""


@pytest.mark.parametrize("tool", TOOLS)
def test_built_webhook_queues_a_job_on_aws_from_lambdas_python(tool: str) -> None:
    """The built webhook, in Lambda's layout and Python, calls moto's server through the runtime's
    botocore (``AWS_ENDPOINT_URL``, as the local stack sets it)."""
    from tests.support import moto_server, server_env, server_world

    function = next(fn for fn in _functions() if fn.module == f"{tool}_webhook")
    with moto_server() as endpoint:
        stack = server_world(endpoint).stack()
        tenant = stack.add_tenant(tool)
        event = tenant.event()
        events = json.dumps([event, event])
        env = {**server_env(endpoint), **stack.env(tool)}
        out = run_in_lambda_layout(
            function, INVOKE.format(module=function.module, events=events), extra_env=env
        )
        results = [json.loads(line[7:]) for line in out.splitlines() if line.startswith("RESULT ")]
        first, again = results  # the function's log lines (JSON, stdout) are the rest
        assert first["statusCode"] == 202, first
        assert again["statusCode"] == 200, again
        (queued,) = stack.drain(tool)
        assert queued.job.job_id == json.loads(first["body"])["job_id"]


def test_dev_only_code_is_not_in_the_layer(probes: dict[str, Probe]) -> None:
    """The CLI, the local stack and the sandbox are a package of their own (dev/ticket_enhancer_dev):
    the layer is shared/ticket_enhancer copied whole, and no function sees or imports the dev package."""
    python = BUILD / "SharedLayer" / "python"
    assert sorted(p.name for p in python.iterdir()) == ["ticket_enhancer"]
    package = python / "ticket_enhancer"
    assert (package / "plugins" / "registry.py").exists()
    for dev_only in ("cli", "local", "sandbox"):
        assert not (package / dev_only).exists(), dev_only
    for logical_id, probe in probes.items():
        assert not [m for m in probe["modules"] if m.partition(".")[0] == "ticket_enhancer_dev"], logical_id


def test_python_m_ticket_enhancer_without_the_dev_package_is_one_line_and_exit_2() -> None:
    """`python -m ticket_enhancer` ships in the layer (never run there): without the dev package it
    says so in one line on stderr and exits 2, as every CLI error does."""
    (function,) = [fn for fn in _functions() if fn.module == "jira_webhook"]
    code = (
        "import runpy, sys; sys.argv = ['ticket-enhancer', 'tenants', 'list']; "
        "runpy.run_module('ticket_enhancer', run_name='__main__')"
    )
    result = subprocess.run(  # noqa: S603 # our own interpreter, fixed arguments, no shell
        [str(LAMBDA_PYTHON), "-s", "-P", "-c", code],
        env=lambda_env(function),
        cwd=function.task_root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (2, "")
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "ticket-enhancer: error: the CLI's package ticket_enhancer_dev (dev/) is not installed"
    )


def _camel(tool: str) -> str:
    """The tool's name in the template's logical ids, as its plugin declares it."""
    from ticket_enhancer.plugins import PluginManager

    return PluginManager().get_plugin(tool).logical_name()
