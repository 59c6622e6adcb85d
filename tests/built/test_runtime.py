"""The `sam build` output is for the template's runtime: the interpreter the built tests import with
is that Python version, every layer's bytecode was compiled by it, every wheel is for it and for
its layer's architecture, and the arm64 dependencies layer is the x86_64 one (which the other
built tests import) with only its native extensions built for aarch64 instead.
"""

from __future__ import annotations

import filecmp
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from packaging.tags import Tag, parse_tag

from benchmarks.lambda_layout import BUILD, LAMBDA_PYTHON

pytestmark = pytest.mark.built

LAYERS = {"DependenciesLayer": "x86_64", "DependenciesLayerArm64": "arm64", "SharedLayer": "any"}
# ELF e_machine of each architecture, and its name in extension modules' and wheels' tags.
ELF_MACHINE = {"x86_64": 62, "arm64": 183}
MACHINE = {"x86_64": "x86_64", "arm64": "aarch64"}
NATIVE = (".so",)


def _runtime() -> str:
    template = yaml.safe_load((BUILD / "template.yaml").read_text(encoding="utf-8"))
    runtime: str = template["Globals"]["Function"]["Runtime"]
    return runtime


def _interpreter() -> dict[str, str]:
    if not LAMBDA_PYTHON.exists():
        pytest.fail("run `make install` first (make built-test does)")
    code = (
        "import importlib.util, json, sys; print(json.dumps({"
        "'version': '%d.%d' % sys.version_info[:2], 'magic': importlib.util.MAGIC_NUMBER.hex(),"
        "'cache_tag': sys.implementation.cache_tag}))"
    )
    out = subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        [str(LAMBDA_PYTHON), "-I", "-c", code], capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, str] = json.loads(out)
    return result


def _layer(name: str) -> Path:
    root = BUILD / name / "python"
    if not root.is_dir():
        pytest.fail(f"{root} is missing: run `make build` (make built-test does)")
    return root


def test_the_built_tests_interpreter_is_the_runtimes_python() -> None:
    assert _runtime() == f"python{_interpreter()['version']}" == "python3.13"


@pytest.mark.parametrize("layer", LAYERS)
def test_every_module_has_bytecode_compiled_by_the_runtimes_python(layer: str) -> None:
    interpreter = _interpreter()
    magic = bytes.fromhex(interpreter["magic"])
    sources = [p for p in _layer(layer).rglob("*.py") if "__pycache__" not in p.parts]
    assert sources
    for source in sources:
        cached = source.parent / "__pycache__" / f"{source.stem}.{interpreter['cache_tag']}.pyc"
        assert cached.is_file(), f"{cached} missing"
        header = cached.read_bytes()[:8]
        assert header[:4] == magic, f"{cached}: magic {header[:4].hex()}, not {interpreter['version']}'s"
        # PEP 552 flags: hash-based (bit 0), never checked against the source (bit 1 clear)
        assert int.from_bytes(header[4:8], "little") == 0b01, cached
        # tracebacks name the file where Lambda mounts layers, not the build folder
        assert b"/opt/python/" in cached.read_bytes(), cached
    ours = f".{interpreter['cache_tag']}.pyc"
    stale = [p for p in _layer(layer).rglob("*.pyc") if not p.name.endswith(ours)]
    assert not stale, stale[:5]


def _wheel_tags(layer: Path) -> dict[str, set[Tag]]:
    tags: dict[str, set[Tag]] = {}
    for wheel in layer.glob("*.dist-info/WHEEL"):
        lines = wheel.read_text(encoding="utf-8").splitlines()
        tags[wheel.parent.name] = {
            tag for line in lines if line.startswith("Tag: ") for tag in parse_tag(line.removeprefix("Tag: "))
        }
    return tags


def _fits(tag: Tag, architecture: str, version: str) -> bool:
    if tag.abi == "none" and tag.platform == "any":
        return tag.interpreter in ("py3", f"py{version.replace('.', '')}")
    cpython = f"cp{version.replace('.', '')}"
    platform = tag.platform.startswith("manylinux") and tag.platform.endswith(f"_{MACHINE[architecture]}")
    return platform and tag.interpreter == cpython and tag.abi in (cpython, "abi3")


@pytest.mark.parametrize("layer", ["DependenciesLayer", "DependenciesLayerArm64"])
def test_every_wheel_is_for_the_runtimes_python_and_the_layers_architecture(layer: str) -> None:
    version, architecture = _interpreter()["version"], LAYERS[layer]
    tags = _wheel_tags(_layer(layer))
    assert tags
    for dist, wheel_tags in tags.items():
        assert any(_fits(t, architecture, version) for t in wheel_tags), f"{layer}: {dist} {wheel_tags}"
    native = [t for ts in tags.values() for t in ts if t.platform != "any"]
    assert native, f"{layer} has no native wheel: this test would prove nothing about its architecture"


def _elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", path
    assert header[5] == 1, path  # little-endian, as x86_64 and Lambda's arm64 are
    return int.from_bytes(header[18:20], "little")


@pytest.mark.parametrize("layer", ["DependenciesLayer", "DependenciesLayerArm64"])
def test_native_extensions_are_built_for_the_layers_architecture(layer: str) -> None:
    architecture = LAYERS[layer]
    version = _interpreter()["version"].replace(".", "")
    extensions = [p for p in _layer(layer).rglob("*") if p.suffix in NATIVE]
    assert extensions
    for extension in extensions:
        assert _elf_machine(extension) == ELF_MACHINE[architecture], extension
        suffixes = (f".cpython-{version}-{MACHINE[architecture]}-linux-gnu.so", ".abi3.so")
        assert extension.name.endswith(suffixes), extension


def _portable_files(layer: Path) -> set[str]:
    """Every file but native extensions and the wheels' records of their build (file hashes, tags,
    SBOMs); each wheel's METADATA (name, version, requirements) stays."""
    return {
        str(p.relative_to(layer))
        for p in layer.rglob("*")
        if p.is_file()
        and p.suffix not in NATIVE
        and (p.name == "METADATA" or not any(part.endswith(".dist-info") for part in p.parts))
    }


def test_the_arm64_layer_is_the_imported_x86_64_layer_but_for_native_code() -> None:
    """What the other built tests import (the x86_64 build) is, file for file, the arm64 build: the
    same distributions at the same versions, identical Python sources and bytecode; only the
    extension modules differ, each the same module built for aarch64."""
    x86, arm = _layer("DependenciesLayer"), _layer("DependenciesLayerArm64")
    assert sorted(_wheel_tags(x86)) == sorted(_wheel_tags(arm))  # names and versions
    files = _portable_files(x86)
    assert files == _portable_files(arm)
    _, mismatch, errors = filecmp.cmpfiles(x86, arm, sorted(files), shallow=False)
    assert not mismatch, mismatch[:5]
    assert not errors, errors[:5]
    native = {str(p.relative_to(x86)).replace("x86_64", "aarch64") for p in x86.rglob("*.so")}
    assert native == {str(p.relative_to(arm)) for p in arm.rglob("*.so")}
