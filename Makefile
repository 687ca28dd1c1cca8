# The two commands: `make run` and `make test`. Tools and test binaries go
# into .cache/ (ignored) and are reused when present.
GO        ?= go
BINARY    := coredns
GOFLAGS   ?=
TEST_TIMEOUT ?= 75m

.PHONY: all build run test unit e2e deps test-bins bench vet fmt clean

all: build

build:
	$(GO) build -o $(BINARY) ./cmd/coredns

# Serve Corefile.example on 127.0.0.1:1053 (no cluster needed).
run: build
	./$(BINARY) -conf Corefile.example

# What the tests need on this machine: dig/kdig, a secondary (Knot),
# dnsperf, moto_server, and etcd, kube-apiserver, kube-controller-manager,
# external-dns and helm built from Go modules.
deps:
	hack/deps.sh
	hack/testbins.sh

test-bins:
	hack/testbins.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	$(GO) vet ./...

# Every test, end-to-end included.
test: deps build vet
	CI=$${CI:-true} $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

unit:
	$(GO) test -count=1 ./plugin/... ./cmd/...

e2e: deps build
	CI=$${CI:-true} $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./test/...

# Benchmarks against CoreDNS's own plugins in the same binary (about 11
# minutes; not part of `make test`): hack/bench.sh installs dnsperf when
# missing, builds ./coredns and writes .cache/bench/{results.json,bench.png}.
bench:
	hack/bench.sh

# Fuzz targets, one at a time, each for FUZZTIME (plain `go test` runs only
# their seed corpus: f.Add and testdata/fuzz). A crasher is written to the
# package's testdata/fuzz/<target>/ and then fails `go test` until fixed.
FUZZTIME ?= 3m
FUZZ_TARGETS := ./plugin/clusterzone:FuzzServeDNS \
	./plugin/clusterzone:FuzzParseCorefile \
	./plugin/clusterzone/translate:FuzzTranslateService \
	./plugin/clusterzone/translate:FuzzJoin \
	./plugin/clusterzone/source/manifests:FuzzParseManifest

.PHONY: fuzz
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== $$fn ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

clean:
	rm -f $(BINARY)
