# cairn's two set-up commands on a fresh machine are `make demo` and `make test`.
export PATH := /usr/local/go/bin:$(PATH)
GO      ?= go
BIN     := bin/cairn
DEMO_DB ?= demo.db
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: all build demo test vet fuzz bench clean geoip

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/cairn

# demo generates the four demo stories as real Tetragon and CloudTrail
# records anchored to now and runs them through cairn (decode, store, rules)
# into a fresh $(DEMO_DB), shows what was stored and detected, then serves
# the web UI on $(DEMO_ADDR) and prints the link to open (Ctrl-C stops it).
DEMO_ADDR ?= 127.0.0.1:8080
demo: build
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	./$(BIN) demo --db $(DEMO_DB)
	./$(BIN) serve --db $(DEMO_DB) --addr $(DEMO_ADDR)

test: vet
	$(GO) test -count=1 ./...

vet:
	$(GO) vet ./...
	@out="$$(gofmt -l . 2>&1)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# fuzz runs every fuzz test for FUZZTIME each (seed corpora also run in `make test`).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# bench measures ingest throughput (json-only, decode-only, decode+store and
# decode+store+process tree, interleaved on the same inputs), peak memory,
# the store's write cost, lineage lookups among 1M stored processes, the
# process table under churn, and the filter; BENCHMARKS.md records the
# figures with this command.
BENCHCOUNT ?= 3
bench: build
	$(GO) test -run '^$$' -bench 'Ingest|WriteEvents$$' -benchmem -benchtime 5x -count $(BENCHCOUNT) ./ingest/ ./sqlite/
	$(GO) test -run '^$$' -bench '^BenchmarkLineage$$' -benchmem -benchtime 20000x ./sqlite/
	$(GO) test -run '^$$' -bench 'WriteProcesses|EventsAround' -benchmem ./sqlite/
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) ./decode/ ./filter/ ./proctree/ ./falco/ ./sigma/
	$(GO) test -run '^$$' -bench . -benchmem -cpu 1 -count $(BENCHCOUNT) ./correlate/
	$(GO) test -run '^$$' -bench UIFeed -benchtime 20x ./server/
	$(GO) test -run '^$$' -bench . -benchtime 1x ./sensor/
	CAIRN_BENCH_SEEDS=60 $(GO) test -run '^$$' -bench '^BenchmarkScaleOut$$' -benchtime 1x -count 2 -timeout 30m ./cmd/cairn/
	cd bench/sigmago && $(GO) test -run '^$$' -bench . -benchmem -benchtime 3s -count $(BENCHCOUNT)
	./scripts/bench-cli.sh

# geoip fetches a free IP geolocation database (DB-IP Lite City by default,
# GEOIP_PACKAGE picks another @ip-location-db package) from the npm registry
# into ./geoip/ and prints its attribution; cairn then reads it offline.
geoip:
	./scripts/geoip.sh

clean:
	rm -rf bin $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
