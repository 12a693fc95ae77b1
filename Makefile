# agentq — the two commands a new machine needs are `make run` and `make test`.
SWIFT ?= swift
SWIFT_FLAGS ?=
BIN_DIR = $(shell $(SWIFT) build $(SWIFT_FLAGS) --show-bin-path)

.PHONY: run test bench bench-peers fuzz build deps clean

# System packages the build needs: the SQLite headers (GRDB links the system libsqlite3),
# bubblewrap for the agents' sandboxed tools, and strace for the test that checks a submit is
# on the disk before it answers.
deps:
	@missing=""; \
	[ -f /usr/include/sqlite3.h ] || missing="$$missing libsqlite3-dev"; \
	command -v bwrap >/dev/null 2>&1 || missing="$$missing bubblewrap"; \
	command -v strace >/dev/null 2>&1 || missing="$$missing strace"; \
	python3 -c 'import ensurepip' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing >/dev/null \
			|| { echo "could not install$$missing: install them with apt-get and run make again" >&2; exit 1; }; \
	fi

build: deps
	$(SWIFT) build $(SWIFT_FLAGS) --product agentq

# The main job: submit the example prompts on the default home (~/.agentq or $AGENTQ_HOME),
# run them to the end, and show where the results are.
run: build
	$(BIN_DIR)/agentq submit jobs/examples/hello.jsonl --agent echo
	$(BIN_DIR)/agentq worker --drain
	@echo "one result file per job in $${AGENTQ_HOME:-$$HOME/.agentq}/results; e.g.:"
	@ls -t "$${AGENTQ_HOME:-$$HOME/.agentq}/results" | head -n 1 | sed "s|^|  $${AGENTQ_HOME:-$$HOME/.agentq}/results/|"

# fakellm (a third-party OpenAI/Anthropic mock server from PyPI) for the end-to-end provider tests.
VENV = .venv
$(VENV)/bin/fakellm:
	python3 -m venv $(VENV) || { echo "python3 -m venv failed: install python3-venv (apt-get install -y python3-venv)" >&2; exit 1; }
	$(VENV)/bin/pip install -q --disable-pip-version-check fakellm==0.3.5

# The official OpenAI SDK, for the test that runs an OpenAI batch on `agentq serve` with it.
$(VENV)/bin/openai: $(VENV)/bin/fakellm
	$(VENV)/bin/pip install -q --disable-pip-version-check openai==1.109.1

# openapi-spec-validator (PyPI) checks that GET /openapi.json is a valid OpenAPI 3.1 document.
$(VENV)/bin/openapi-spec-validator: $(VENV)/bin/fakellm
	$(VENV)/bin/pip install -q --disable-pip-version-check openapi-spec-validator==0.9.0

# The PostgreSQL tests run against a throwaway server (installed with apt-get when missing)
# started here on a free loopback port and removed afterwards, pass or fail.
test: deps $(VENV)/bin/fakellm $(VENV)/bin/openai $(VENV)/bin/openapi-spec-validator
	$(SWIFT) build $(SWIFT_FLAGS) --build-tests
	@pgdir=$$(mktemp -d /tmp/agentq-test-pg.XXXXXX); \
	url=$$(bash Tests/Support/postgres-test-server.sh start $$pgdir) || { rm -rf $$pgdir; exit 1; }; \
	echo "PostgreSQL for the tests: $$url"; \
	AGENTQ_TEST_POSTGRES_URL=$$url AGENTQ_FAKELLM=$(CURDIR)/$(VENV)/bin/fakellm AGENTQ_PYTHON=$(CURDIR)/$(VENV)/bin/python \
		AGENTQ_OPENAPI_SPEC_VALIDATOR=$(CURDIR)/$(VENV)/bin/openapi-spec-validator \
		$(SWIFT) test $(SWIFT_FLAGS) --skip-build; status=$$?; \
	bash Tests/Support/postgres-test-server.sh stop $$pgdir; exit $$status

# Throughput figures, in release mode. Figures, not pass/fail.
bench: deps
	$(SWIFT) build -c release --product agentq-bench
	$(SWIFT) build -c release --product agentq
	$$($(SWIFT) build -c release --show-bin-path)/agentq-bench --agentq $$($(SWIFT) build -c release --show-bin-path)/agentq

# huey (PyPI, pinned) for `make bench-peers`.
$(VENV)/bin/huey_consumer: $(VENV)/bin/fakellm
	$(VENV)/bin/pip install -q --disable-pip-version-check huey==3.5.4

# agentq's end-to-end drain against huey's task API on SQLite: same jobs, same workers, same run
# (PEERS_JOBS, PEERS_WORKERS to change them). bench/peers/huey_bench.py says what each side does.
PEERS_JOBS ?= 20000
PEERS_WORKERS ?= 4
bench-peers: deps $(VENV)/bin/huey_consumer
	$(SWIFT) build -c release --product agentq
	$(VENV)/bin/python bench/peers/huey_bench.py --agentq $$($(SWIFT) build -c release --show-bin-path)/agentq \
		--jobs $(PEERS_JOBS) --workers $(PEERS_WORKERS)

# The bulk-line reader against Foundation's JSONSerialization on 1,000,000 generated lines
# (FUZZ_COUNT, FUZZ_SEED to change them); fails at the first disagreement. A short run of it
# is part of `make test`.
FUZZ_COUNT ?= 1000000
FUZZ_SEED ?= $(shell date +%s)
fuzz: deps
	$(SWIFT) build -c release --product agentq-fuzz
	$$($(SWIFT) build -c release --show-bin-path)/agentq-fuzz --count $(FUZZ_COUNT) --seed $(FUZZ_SEED)

clean:
	rm -rf .build
