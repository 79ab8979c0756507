# devupdate. `make demo` runs the pipeline end to end on the embedded default
# (local store, dev keys); `make test` installs what the tests need and runs
# them all. See README.md.

SHELL    := /bin/bash
GO       ?= go
BIN      := $(CURDIR)/bin
FUZZTIME ?= 50000x
DEMO_DIR ?= $(CURDIR)/_demo
BENCH_DIR ?= $(CURDIR)/_bench
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The version stamped into the binaries: git describe, with fallbacks
# (hack/version.sh); independent of -buildvcs.
VERSION  ?= $(shell hack/version.sh)
LDFLAGS  := -X main.buildVersion=$(VERSION)

export DEVUPDATE := $(BIN)/devupdate
export DEVUPDATE_AGENT := $(BIN)/devupdate-agent

.PHONY: all build deps test fuzz demo bench lint clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

deps:
	@hack/install-deps.sh

# The summary line (tests: N passed, N failed, N skipped) closes the run.
test: deps lint
	@mkdir -p $(BIN)
	set -o pipefail; DEVUPDATE_REQUIRE_TOOLS=1 $(GO) test -count=1 -json ./... | $(GO) run ./hack/testsummary -o $(BIN)/test-summary.txt
	FUZZTIME=$(FUZZTIME) hack/fuzz.sh
	@cat $(BIN)/test-summary.txt

fuzz:
	FUZZTIME=$(FUZZTIME) hack/fuzz.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

demo: build
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	@DEMO_DIR=$(DEMO_DIR) hack/run-parts.sh hack/demo.d

bench: deps build
	$(GO) test -run='^$$' -bench=. -benchmem ./...
	@mkdir -p $(BENCH_DIR)
	@BENCH_DIR=$(BENCH_DIR) hack/run-parts.sh hack/bench.d

clean:
	rm -rf $(BIN) $(DEMO_DIR) $(BENCH_DIR)
