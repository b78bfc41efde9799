# Wharf's front door. `make help` lists the targets.
GO        ?= go
BIN       ?= bin/wharf
# The agent-only build, beside BIN: the server serves it to /install.sh.
AGENT_BIN ?= $(dir $(BIN))wharf-agent
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The commit is stamped here too: Go's own VCS stamping is off where
# GOFLAGS has -buildvcs=false, and absent in a tarball build.
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -X github.com/wharfhq/wharf/internal/cli.Version=$(VERSION) -X github.com/wharfhq/wharf/internal/cli.Commit=$(COMMIT) -X github.com/wharfhq/wharf/internal/agent.Version=$(VERSION)
STATICCHECK_VERSION := v0.8.2
FUZZTIME  ?= 6s
# Test packages run four at a time (go test's default is one per core, two
# here). Most of them wait on processes, containers and failover graces
# more than they compute: at two, the cores sat 45 % idle over `make unit`
# (708 s); at four, it took 483 and 491 s. TEST_P=2 restores the default.
TEST_P    ?= 4

.PHONY: help build test check unit fuzz bench up image examples clean

help: ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## build bin/wharf and the agent-only bin/wharf-agent beside it
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/wharf
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o $(AGENT_BIN) ./cmd/wharf-agent

check: ## gofmt, go vet, staticcheck, package docs, import direction
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck -checks all ./...
	scripts/check-imports.sh

unit: build ## all tests (process tests use bin/wharf, and the agent-only build beside it)
	WHARF_BIN=$(CURDIR)/$(BIN) $(GO) test -p $(TEST_P) -count=1 -timeout 15m ./...

fuzz: ## every fuzz target, briefly ($(FUZZTIME) each)
	scripts/fuzz.sh $(FUZZTIME)

test: check unit fuzz ## what CI runs: checks, every test, a short fuzz run

bench: build ## API and etcd benchmarks, side by side
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 20m ./test/bench/

up: build ## a local cluster with a first service
	$(BIN) up -d && $(BIN) service create --name web --replicas 6 --route web.localhost -- $(CURDIR)/$(BIN) hello

image: ## build wharf/hello:local for examples/docker (needs a Docker Engine)
	GO=$(GO) examples/docker/build-image.sh

examples: ## build the static binaries of examples/build into their build contexts
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -buildvcs=false -o examples/build/web/web ./examples/build/web
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -buildvcs=false -o examples/build/worker/worker ./examples/build/worker

clean: ## remove build output
	rm -rf bin examples/build/web/web examples/build/worker/worker
