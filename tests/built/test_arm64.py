"""The arm64 build imports: every built function, with the arm64 DependenciesLayer, in Lambda's layout,
on an aarch64 CPython of the runtime's version (Debian trixie's python3.13, run by qemu-user's
emulator: `make install` fetches both into .python/arm64). One interpreter imports all the handlers
in turn: under emulation each fresh interpreter costs tens of seconds, and the one-process-per-
function checks (what each handler imports, and nothing else) run on x86_64 in the other tests.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from benchmarks.lambda_layout import BUILD, ROOT, built_functions, lambda_env

pytestmark = pytest.mark.built

EMULATED_PYTHON = ROOT / ".python" / "arm64" / "run"
RUNTIME_SITE_PACKAGES = ROOT / ".lambda-runtime" / "lib" / "python3.13" / "site-packages"
LAYERS = ("DependenciesLayerArm64", "SharedLayer")  # the template's layers when Architecture=arm64

PROBE = """
import importlib, json, os, platform, sys
handlers = {}
for logical_id, module, task_root, env in json.loads(sys.argv[1]):
    os.environ.update(env)
    sys.path.insert(0, task_root)
    handlers[logical_id] = callable(importlib.import_module(module).handler)
print(json.dumps({
    "machine": platform.machine(),
    "version": "%d.%d" % sys.version_info[:2],
    "handlers": handlers,
    "extension": sys.modules["pydantic_core._pydantic_core"].__file__,
    "botocore": sys.modules["botocore"].__file__,
}))
"""


def test_every_function_imports_on_an_aarch64_python_with_the_arm64_layer() -> None:
    if not EMULATED_PYTHON.exists():
        pytest.fail("run `make install` first (it fetches the aarch64 python3.13 and qemu-user)")
    functions = built_functions()
    assert functions
    layers = [str(BUILD / layer / "python") for layer in LAYERS]
    env = {
        **lambda_env(functions[0]),
        # Lambda's order: the function (inserted per function below), the layers, the runtime's boto3
        "PYTHONPATH": ":".join([*layers, str(RUNTIME_SITE_PACKAGES)]),
    }
    plan = [[fn.logical_id, fn.module, str(fn.task_root), fn.environment] for fn in functions]
    result = subprocess.run(  # noqa: S603 (the emulator script `make install` wrote, fixed arguments)
        [str(EMULATED_PYTHON), "-s", "-P", "-c", PROBE, json.dumps(plan)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    probe = json.loads(result.stdout.splitlines()[-1])
    assert probe["machine"] == "aarch64"
    assert probe["version"] == "3.13"
    assert probe["handlers"] == {fn.logical_id: True for fn in functions}
    assert probe["extension"].startswith(str(BUILD / "DependenciesLayerArm64" / "python"))
    assert probe["extension"].endswith("-aarch64-linux-gnu.so")
    assert probe["botocore"].startswith(str(RUNTIME_SITE_PACKAGES))
