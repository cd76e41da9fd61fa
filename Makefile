# Spindle: the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
GOFLAGS_TEST ?= -race -count=1
TESTBED := integration/testbed

.PHONY: all build test unit integration fuzz generate testbed testbed-build demo vet clean bench soak

all: build

build:
	$(GO) build ./...

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./integration/...

# Regenerates the Go code for every .proto under internal/proto (committed;
# needs Debian's protobuf-compiler; protoc-gen-go comes at go.mod's version).
# Files are named relative to internal/proto ("hadoopcommon/RpcHeader.proto")
# and their packages carry a "spindle." prefix, so that Go's protobuf
# registry does not clash with colinmarc/hdfs, which registers Hadoop's
# files under their bare names; neither reaches the wire.
generate:
	GOBIN=$(CURDIR)/bin $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go
	protoc --plugin=protoc-gen-go=$(CURDIR)/bin/protoc-gen-go -I internal/proto \
	  --go_out=. --go_opt=module=github.com/spindle-yarn/spindle \
	  $(wildcard internal/proto/*/*.proto)

# The whole suite: unit tests, brief fuzzing, and the integration tests on
# the real test bed in each mode (plain, kerberos, ha), with their counts.
test: vet unit fuzz integration

unit:
	$(GO) test $(GOFLAGS_TEST) ./...

fuzz:
	internal/fuzz.sh

integration: testbed-build
	integration/run-suite.sh $(MODES)

# Every benchmark beside Hadoop's Java tools, on one plain test bed, as the
# Markdown tables README's Benchmarks section shows; not part of make test.
# QUICK=1 leaves out the 1 GiB staging benchmark (15 minutes or more);
# SPINDLE_TESTBED_DIR=<dir> uses a plain test bed already running there.
bench: testbed-build
	integration/run-bench.sh

# The soak (issue: nothing lost, nothing left behind): 200 Application-mode
# deployments one after another, 20 at once, 200 jobs through one session,
# all from one process, whose goroutines and open files are counted before
# and after. Not part of make test (10 minutes or more); SOAK_N=20 is quick.
soak: testbed-build
	SPINDLE_SOAK=1 SPINDLE_TESTBED_MODE=plain $(GO) test -tags integration -count=1 -v -timeout 2h -run '^TestSoak$$' ./integration/

# Starts a plain test bed, shows the cluster, runs examples/dshell on it.
demo: testbed-build
	$(GO) run ./integration/cmd/demo

testbed-build:
	$(TESTBED)/build.sh

# Runs the Hadoop test bed in the foreground until interrupted:
#   make testbed DIR=/tmp/tb [KERBEROS=1] [HA=1] [RPC_PROTECTION=privacy]
DIR ?= $(CURDIR)/.testbed/manual
testbed:
	$(TESTBED)/run.sh "$(DIR)" $(if $(filter 1,$(KERBEROS)),--kerberos) $(if $(filter 1,$(HA)),--ha) \
	  $(if $(RPC_PROTECTION),--rpc-protection $(RPC_PROTECTION)) \
	  $(if $(TOKEN_RENEW_MS),--token-renew-interval-ms $(TOKEN_RENEW_MS)) \
	  $(if $(TOKEN_MAX_LIFETIME_MS),--token-max-lifetime-ms $(TOKEN_MAX_LIFETIME_MS))

clean:
	rm -rf bin .testbed $(TESTBED)/target
