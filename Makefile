# `make test` is the project's one test command (README, .ci/run): it
# installs what the tests need, idempotently, then runs every suite and
# exits non-zero if any of them failed.

SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/opencom-go/opencom/server.Version=$(VERSION)
# Only root can apt-get; elsewhere fall back to sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Packages with concurrency worth racing; the rest run without -race to
# keep the suite inside the time budget on 2 cores.
RACE_PKGS := ./sqlstore/ ./server/sync/ ./server/fn/
# Web parts that other work streams add later: each is handled only once
# its package.json exists.
WEB_DIRS := $(foreach d,webui/app webui/widget,$(if $(wildcard $(d)/package.json),$(d)))
NODE_DIRS := $(if $(wildcard tests/package.json),tests) $(WEB_DIRS)
# npm writes node_modules/.package-lock.json on install: it is the stamp
# that makes `npm ci` run only when the lock file changed.
NODE_STAMPS := $(foreach d,$(NODE_DIRS),$(d)/node_modules/.package-lock.json)

.PHONY: all build test deps apt-deps test-vet test-race test-go test-node test-shellcheck test-webui clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/opencom .

deps: apt-deps $(NODE_STAMPS)

apt-deps:
	@missing=""; \
	command -v shellcheck >/dev/null || missing="$$missing shellcheck"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	else echo "Debian packages present: shellcheck chromium"; fi

%/node_modules/.package-lock.json: %/package-lock.json %/package.json
	cd $* && npm ci --no-audit --no-fund
	@touch $@

# Every suite runs even after one fails, so a single run shows all
# failures; the summary at the end names the failed ones.
test: deps
	@failed=""; \
	for s in vet race go node shellcheck webui; do \
	  echo "=== make test: $$s"; \
	  $(MAKE) --no-print-directory test-$$s || failed="$$failed $$s"; \
	done; \
	echo; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed"; exit 1; fi; \
	echo "make test: all suites passed"

test-vet:
	$(GO) vet ./...

test-race:
	$(GO) test -race -timeout 20m $(RACE_PKGS)

test-go:
	$(GO) test -timeout 20m $$($(GO) list ./... | grep -v -E '/(sqlstore|server/sync|server/fn)$$')

test-node:
	@if [ -f tests/package.json ]; then cd tests && npm test; else echo "no tests/package.json: no Node tests"; fi

test-shellcheck:
	shellcheck install.sh .ci/run
	@echo "shellcheck: ok"

test-webui:
	@for d in $(WEB_DIRS); do \
	  if node -e "process.exit(require('./$$d/package.json').scripts?.['check-build'] ? 0 : 1)"; then \
	    echo "--- $$d: npm run check-build"; (cd $$d && npm run check-build) || exit 1; \
	  else echo "--- $$d: no check-build script yet"; fi; \
	done; echo "web asset freshness: ok"

clean:
	rm -rf bin
