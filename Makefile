# Every target sets itself up from nothing, idempotently: a fresh clone needs only Python 3.11, pip and node.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
CHECKOV_VENV := .tools/checkov
PARLIAMENT_VENV := .tools/parliament
STAMP := $(VENV)/.installed
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
PARLIAMENT_STAMP := $(PARLIAMENT_VENV)/.installed
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export BENTOML_DO_NOT_TRACK := True

.PHONY: setup system-tools test demo down bench clean

setup: $(STAMP) $(CHECKOV_STAMP) $(PARLIAMENT_STAMP)

## system-tools: what the test suite runs besides Python, installed with apt where missing: redis-server (the cloud
## feature-store tests start their own on 127.0.0.1), strace (the egress test traces the stack's processes) and
## shellcheck (actionlint checks the workflows' shell steps with it)
SYSTEM_TOOLS := redis-server:redis-server strace:strace shellcheck:shellcheck
system-tools:
	@missing=""; for pair in $(SYSTEM_TOOLS); do command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing (the test suite runs them on this machine)"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo"; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml tools/python-lock.txt
	@command -v $(PY) >/dev/null || { echo "error: $(PY) not found; install Python 3.11 or run 'make PY=python3 ...'"; exit 2; }
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -c tools/python-lock.txt -e '.[test]'
	touch $@

$(PARLIAMENT_STAMP): tools/parliament-requirements.txt
	test -x $(PARLIAMENT_VENV)/bin/python || $(PY) -m venv $(PARLIAMENT_VENV)
	$(PARLIAMENT_VENV)/bin/pip install -q -r tools/parliament-requirements.txt
	touch $@

$(CHECKOV_STAMP): tools/checkov-requirements.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q -r tools/checkov-requirements.txt
	touch $@

## make test: create .venv, install, run the whole test suite (exit 5 "no tests" counts as a failure here)
test: setup system-tools
	$(VENV)/bin/python -m pytest --junitxml=reports/pytest.junit.xml

## make demo: the main job, the whole SMB stack on this machine with embedded defaults
## (every cloud environment synthesised and gated, then data → Feast → Kafka → training → signed
## models → BentoML A/B on 127.0.0.1 → drift report). Stop it with `make down`.
demo: setup
	$(VENV)/bin/sahab up local

down: setup
	$(VENV)/bin/sahab down local

## make bench: every benchmark, results in bench/results/ (serving needs a registered model version: run `make demo` once)
bench: setup
	$(VENV)/bin/python bench/synth.py
	$(VENV)/bin/python bench/check.py
	$(VENV)/bin/python bench/diff.py
	$(VENV)/bin/python bench/training.py
	$(VENV)/bin/python bench/streaming.py
	$(VENV)/bin/python bench/serving.py

clean:
	rm -rf cdktf.out reports .sahab
