# Two entry points a fresh machine needs: `make demo` and `make test`.
# Both install what they use (Debian packages through apt-get, Python packages into .venv).
# kubectl (for rendering deploy/ in the tests) comes from Debian's kubernetes-client only
# where no kubectl is installed already.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
APT_PACKAGES := docker-registry skopeo

.PHONY: demo test lint deps venv bench clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v kubectl >/dev/null 2>&1 || missing="$$missing kubernetes-client"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(PY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(PY)

venv: $(PY)

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks demo

test: deps venv lint
	$(PY) -m pytest

demo: deps venv
	$(PY) -m demo

bench: deps venv
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .demo benchmarks/.work
