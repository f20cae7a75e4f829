# BAT OS engine. `make help` lists the targets.
SHELL := /bin/bash
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: help setup run status test test-fast lint bench compose-check compose-test compose-up-cpu clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

setup:  ## venv with every extra, redis-server (idempotent)
	@bash scripts/setup.sh

run: setup  ## run Redis, the local LLM server (unless BATOS_OLLAMA_HOST is set), the API and every service/worker, supervised
	@bash scripts/run_local.sh

status:  ## the processes of a running `make run`, as its supervisord sees them (state, pid, uptime)
	@.venv/bin/supervisorctl -c deploy/supervisord.conf -s "unix://$${BATOS_VAR_DIR:-$(CURDIR)/var}/supervisor.sock" \
		status || case $$? in 3) ;; 4) echo "no supervisord answers: is make run running?" >&2; exit 4 ;; *) exit 1 ;; esac

test:  ## set up everything the tests need (Docker+gVisor, unsloth venv), then run them all
	@bash scripts/setup.sh --test
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup  ## the tests that need neither Docker, training nor a browser
	$(PY) -m pytest -m "not docker and not training and not loop and not browser" $(PYTEST_ARGS)

lint: setup  ## ruff, the import rules (pyproject's importlinter contracts), mypy (strict on shared/)
	$(PY) -m ruff check .
	.venv/bin/lint-imports
	$(PY) -m mypy shared services workers cli

bench: setup  ## benchmarks (figures beside their anchors; not tests)
	@command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
	@BATOS_CI_MACHINE=1 bash scripts/docker_up.sh >/dev/null  # CI machines only (rewrites daemon.json)
	@for b in bench/bench_*.py; do echo "=== $$b"; $(PY) -m bench.$$(basename $$b .py) || exit 1; done

# The check needs no real token: a dummy one satisfies the file's ${BATOS_API_TOKEN:?} guard.
compose-check:  ## validate docker-compose.yml and the CPU variant (Compose v2: scripts/setup.sh --test)
	BATOS_API_TOKEN=compose-check-dummy-token docker compose -f docker-compose.yml config -q
	BATOS_API_TOKEN=compose-check-dummy-token docker compose -f docker-compose.yml -f docker-compose.cpu.yml config -q

compose-test:  ## build the images offline and bring the CPU variant up for real (tests/deploy)
	@bash scripts/setup.sh --test
	$(PY) -m pytest -m compose tests/deploy -s $(PYTEST_ARGS)

compose-up-cpu:  ## the CPU variant on this machine (offline base image; needs BATOS_API_TOKEN)
	bash deploy/docker/build_base_offline.sh
	docker image inspect batos-sandbox:latest >/dev/null 2>&1 || bash deploy/sandbox/build_offline.sh
	BATOS_BASE_IMAGE=batos/base:bookworm docker compose -f docker-compose.yml -f docker-compose.cpu.yml build redis nginx api
	docker compose -f docker-compose.yml -f docker-compose.cpu.yml up -d --wait --no-build

clean:  ## remove local state (var/) and caches
	rm -rf var .pytest_cache .ruff_cache .mypy_cache
