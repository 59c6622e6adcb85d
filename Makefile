# Ticket Enhancer: `make demo` runs the product locally, `make test` runs every check.
# Every target installs what it needs first (idempotent).

PYTHON ?= python3.11
VENV   := .venv
TOOLS  := .tools
LAMBDA := .lambda-runtime
# The CPython of the Lambda runtime (template.yaml: python3.13), built by scripts/install-python.sh.
# `sam build` finds it on PATH as python3.13 (the functions' python workflow and the layer Makefiles).
RUNTIME_PY := .python/3.13.5
SAM_PATH := $(CURDIR)/$(RUNTIME_PY)/bin:$(PATH)
# An aarch64 CPython 3.13 and qemu-user's emulator, to import the arm64 build (tests/built/test_arm64.py).
ARM64_PY := .python/arm64
CHECKOV := .checkov
PIP_FLAGS := --quiet --disable-pip-version-check
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install lint typecheck unit quick validate build built-test test demo bench bench-small events template \
	clean static proof load eval

install: $(VENV)/.installed $(TOOLS)/.installed $(RUNTIME_PY)/.installed $(LAMBDA)/.installed \
	$(ARM64_PY)/.installed

$(VENV)/.installed: requirements/dev.txt requirements/dev.lock layers/dependencies/requirements.txt pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) pip==25.3
	cd requirements && ../$(VENV)/bin/pip install $(PIP_FLAGS) -r dev.txt -c dev.lock
	$(VENV)/bin/pip install $(PIP_FLAGS) --no-deps -e .
	touch $@

# SAM CLI and cfn-lint pin their own boto3 and pydantic: they get an environment of their own.
$(TOOLS)/.installed: requirements/tools.txt requirements/tools.lock
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install $(PIP_FLAGS) pip==25.3
	$(TOOLS)/bin/pip install $(PIP_FLAGS) -r requirements/tools.txt -c requirements/tools.lock
	touch $@

# checkov pins its own boto3, pydantic and many more: an environment of its own too.
$(CHECKOV)/.installed: requirements/checkov.txt requirements/checkov.lock
	test -x $(CHECKOV)/bin/python || $(PYTHON) -m venv $(CHECKOV)
	$(CHECKOV)/bin/pip install $(PIP_FLAGS) pip==25.3
	$(CHECKOV)/bin/pip install $(PIP_FLAGS) -r requirements/checkov.txt -c requirements/checkov.lock
	touch $@

# CPython 3.13 from the upstream tarball in Debian trixie's source package (sha256-pinned), a few
# minutes on 2 cores; pip for the layer Makefiles' wheel installs.
$(RUNTIME_PY)/.installed: scripts/install-python.sh
	scripts/install-python.sh build $(RUNTIME_PY)
	$(RUNTIME_PY)/bin/python3.13 -m pip install $(PIP_FLAGS) --root-user-action=ignore pip==25.3
	touch $@

# Debian trixie's aarch64 python3.13 and qemu-user (downloads only, about 80 MB).
$(ARM64_PY)/.installed: scripts/install-python.sh
	scripts/install-python.sh arm64 $(ARM64_PY)
	touch $@

# Lambda's Python (3.13) whose site-packages hold only boto3, as Lambda's runtime does.
$(LAMBDA)/.installed: requirements/lambda-runtime.txt $(RUNTIME_PY)/.installed
	test -x $(LAMBDA)/bin/python3.13 || { rm -rf $(LAMBDA) && $(RUNTIME_PY)/bin/python3.13 -m venv $(LAMBDA); }
	$(LAMBDA)/bin/pip install $(PIP_FLAGS) -r requirements/lambda-runtime.txt
	touch $@

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/python scripts/gen_template.py --check

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy shared dev functions scripts tests benchmarks evaluation

# Every test but the built-artifact ones and the load test (`make proof` runs that): faults and abuse included.
unit: $(VENV)/.installed
	$(VENV)/bin/pytest -m "not built and not load" -q

# The inner loop, under a minute: the unit tests but hypothesis properties (marked `property` by
# tests/conftest.py), and the worker and pipeline suites on moto. `make unit` runs them all.
QUICK := tests/unit tests/integration/test_worker.py tests/integration/test_pipeline.py
quick: $(VENV)/.installed
	$(VENV)/bin/pytest -m "not property and not built and not load" -q -x $(QUICK)

validate: $(TOOLS)/.installed
	$(TOOLS)/bin/sam validate --lint

build: $(TOOLS)/.installed $(RUNTIME_PY)/.installed
	PATH="$(SAM_PATH)" $(TOOLS)/bin/sam build

built-test: build $(LAMBDA)/.installed $(ARM64_PY)/.installed
	$(VENV)/bin/pytest -m built -q tests/built

# The README's test command: lint, types, all tests, template lint, build, built-artifact imports.
test: install lint typecheck unit validate built-test

demo: $(VENV)/.installed
	$(VENV)/bin/python -m ticket_enhancer local demo

# The offline note's quality on the evaluation set (evaluation/README.md); `make unit` runs the
# CI size (tests/unit/test_evaluation.py).
eval: $(VENV)/.installed
	$(VENV)/bin/python -m evaluation.eval

bench: build $(LAMBDA)/.installed $(VENV)/.installed
	$(VENV)/bin/python benchmarks/run_all.py

bench-small: build $(LAMBDA)/.installed $(VENV)/.installed
	$(VENV)/bin/python benchmarks/run_all.py --small

events: $(VENV)/.installed
	$(VENV)/bin/python scripts/make_events.py

template: $(VENV)/.installed
	$(VENV)/bin/python scripts/gen_template.py

# Security linters: bandit over our Python, checkov over the template (cfn-lint runs in `validate`).
static: $(VENV)/.installed $(CHECKOV)/.installed validate
	$(VENV)/bin/bandit -q -r shared dev functions scripts benchmarks evaluation
	$(CHECKOV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f template.yaml

# Proof under load, faults and abuse: static checks, the fault and abuse suites, the CI-size load test
# (100 webhooks, 5 senders; results in benchmarks/results/load.json and latency.png).
proof: static $(VENV)/.installed
	$(VENV)/bin/pytest -q tests/faults tests/abuse
	$(VENV)/bin/pytest -q -m load tests/load

# The full load against `local up`: 1,000 webhooks from 20 senders (capacity), the emulator's floor, then
# the noisy-tenant run of 10,000 webhooks and its baseline (LOAD_SIZE=small for the CI size).
load: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/load.py --size $${LOAD_SIZE:-full}

clean:
	rm -rf .aws-sam .mypy_cache .ruff_cache .pytest_cache .hypothesis
