# volfailover — make targets. `make` alone lists them.

GO        ?= go
PKGS      ?= ./...
# Unit and integration tests must finish well inside CI's budget on 2 cores.
TEST_FLAGS ?= -race -count=1 -timeout 20m
BIN_DIR   ?= bin
# How many times `make stress` runs each test, and where it keeps the events it summarises.
STRESS_COUNT ?= 20
STRESS_JSON  ?= $(BIN_DIR)/stress.json
# Bounds each package's whole stress run; a hang then shows as a package failure.
STRESS_TIMEOUT ?= 4h
# How long `make chaos` injects faults, and the seed that picks them (empty: the clock).
DURATION  ?= 5m
SEED      ?=
# Bounds the whole chaos run: DURATION plus the sandbox's start, the last repair and the checks.
CHAOS_TIMEOUT ?= 3h
# Latency profile of the emulated cloud for demo and sandbox: instant or aws-typical.
PROFILE   ?= instant
# What a build says it is: `volfailover --version`, the build_info metric and
# each host's registration show these. VERSION is the nearest tag (with the
# commits since and -dirty), REVISION the full commit.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -X main.version=$(VERSION) -X main.revision=$(REVISION)
# Where `make release` puts the binaries and their checksums, and for which platforms.
DIST_DIR  ?= dist
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build every binary into ./bin
	@mkdir -p $(BIN_DIR)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN_DIR)/ ./cmd/... ./e2e/cmd/...

.PHONY: release
release: ## static volfailover binaries for RELEASE_PLATFORMS (linux/amd64, linux/arm64) and SHA256SUMS in ./dist
	@rm -rf $(DIST_DIR) && mkdir -p $(DIST_DIR)
	@set -e; for p in $(RELEASE_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; out=$(DIST_DIR)/volfailover-$(VERSION)-$$os-$$arch; \
		echo "build $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $$out ./cmd/volfailover; \
	done
	cd $(DIST_DIR) && sha256sum volfailover-* > SHA256SUMS
	@cat $(DIST_DIR)/SHA256SUMS

.PHONY: test
test: ## run unit and integration tests with the race detector
	$(GO) test $(TEST_FLAGS) $(PKGS)

.PHONY: stress
stress: ## run the tests STRESS_COUNT times (default 20) under -race, then list every test that failed at least once (PKGS=./health/... for one package)
	@mkdir -p $(BIN_DIR)
	@echo "stress: $(GO) test -race -count=$(STRESS_COUNT) $(PKGS), events in $(STRESS_JSON)"
	@$(GO) test -race -count=$(STRESS_COUNT) -timeout $(STRESS_TIMEOUT) -json $(PKGS) > $(STRESS_JSON); \
	status=$$?; \
	$(GO) build -o $(BIN_DIR)/teststat ./internal/teststat && $(BIN_DIR)/teststat $(STRESS_JSON) || exit $$?; \
	exit $$status

.PHONY: e2e
e2e: ## end-to-end and chaos tests: real processes, etcd, PostgreSQL 15 (E2E_CHAOS_SEED replays a chaos run)
	$(GO) test -race -count=1 -timeout 15m -tags e2e -v ./e2e/e2etest/

.PHONY: chaos
chaos: ## inject random faults for DURATION (default 5m) with SEED, then print the faults, the checks run by invariant, the moves and every violation
	E2E_CHAOS_DURATION=$(DURATION) E2E_CHAOS_SEED=$(SEED) $(GO) test -race -count=1 -timeout $(CHAOS_TIMEOUT) -tags e2e -run '^TestChaos$$' -v ./e2e/e2etest/

.PHONY: bench
bench: ## measure recovery, takeover, scale, footprint and the peers (Patroni, pg_auto_failover: apt-get install patroni postgresql-15-auto-failover pg-auto-failover-cli); writes docs/benchmarks (BENCH_FLAGS=-short for a quick run)
	$(GO) run ./cmd/volfailover-bench -out docs/benchmarks $(BENCH_FLAGS)

.PHONY: lint
lint: ## gofmt check, go vet and staticcheck, also of the e2e build tag (staticcheck pinned in go.mod's tool section)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags e2e ./e2e/...
	$(GO) tool staticcheck $(PKGS)
	$(GO) tool staticcheck -tags e2e ./e2e/...

.PHONY: demo
demo: ## play a real failover on this machine and verify it (PROFILE=aws-typical for cloud latencies; needs PostgreSQL 15)
	@mkdir -p $(BIN_DIR)
	$(GO) build -o $(BIN_DIR)/ ./cmd/volfailover ./cmd/volfailover-sandbox
	$(BIN_DIR)/volfailover-sandbox demo -profile $(PROFILE) -volfailover-bin $(BIN_DIR)/volfailover

.PHONY: sandbox
sandbox: ## run the sandbox until Ctrl-C and write sandbox.env (PROFILE=aws-typical for cloud latencies)
	@mkdir -p $(BIN_DIR)
	$(GO) build -o $(BIN_DIR)/ ./cmd/volfailover ./cmd/volfailover-sandbox
	$(BIN_DIR)/volfailover-sandbox up -profile $(PROFILE) -volfailover-bin $(BIN_DIR)/volfailover
