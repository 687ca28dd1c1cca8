#!/usr/bin/env bash
# `make bench`: clusterzone against CoreDNS's own plugins in the same ./coredns
# binary (and ExternalDNS, for headless Services). Not part of `make test`.
# Takes about 14 minutes on 2 cores (20 on a busy machine; step 5 about 3).
#
#   1. Go benchmarks (-benchmem), alternated BENCH_COUNT times: ServeDNS of
#      clusterzone vs the file plugin on the same 10,000 names (hit, NODATA,
#      NXDOMAIN, wildcard), the table's Lookup, and the cost of one Service
#      change at 1,000 vs 100,000 names; summarized with benchstat.
#   2. Serving throughput and latency with dnsperf: clusterzone (manifests),
#      clusterzone (real kube-apiserver), file, k8s_external + kubernetes,
#      whoami; each its own ./coredns on loopback, run alternately.
#   3. Propagation: API write returning -> new answer served, clusterzone and
#      k8s_external on the same updates.
#   4. Scale: heap and RSS with BENCH_SCALES Services from a real API server,
#      clusterzone vs CoreDNS's kubernetes plugin; time to fully loaded.
#   5. Headless: BENCH_HEADLESS_SERVICES headless Services x
#      BENCH_HEADLESS_PODS Pods (each Pod its own name), EndpointSlices from
#      the real kube-controller-manager; heap and RSS of clusterzone vs
#      ExternalDNS v0.20 watching the same cluster, then Pod readiness change
#      -> clusterzone's answer changed, BENCH_READINESS_CHANGES times (the
#      first BENCH_EXTERNALDNS_CHANGES also on ExternalDNS, ~8 s each).
#   6. Route 53: clusterzone's mirror vs ExternalDNS v0.20 (aws provider, txt
#      registry, --policy=sync --events --interval=1m), one after the other on
#      the same kube-apiserver and moto_server, each with a fresh hosted zone
#      and a counting proxy, at BENCH_ROUTE53_SCALES dual-stack LoadBalancer
#      Services: time and Route 53 calls to a complete zone, one Service
#      change (median of BENCH_ROUTE53_CHANGES), idle calls per minute (over
#      BENCH_ROUTE53_IDLE seconds). Needs moto_server (make deps).
#   7. IXFR: one Service change transferred to a secondary that had the zone
#      just before, by IXFR vs AXFR, at 1,000 and 100,000 names: time, bytes
#      of the messages, records (Go benchmark BenchmarkTransfer through the
#      transfer plugin, no cluster), alternated BENCH_COUNT times.
#
# Then tool/benchreport prints the table and writes, under BENCH_OUT
# (default .cache/bench): results.json (everything, machine-readable),
# bench.png (QPS and latency percentiles per contender), the raw logs and
# benchstat tables.
#
# Knobs (environment): BENCH_OUT, BENCH_COUNT (Go benchmark repetitions, 6),
# BENCH_ROUNDS (3), BENCH_SECONDS (10, per throughput run),
# BENCH_LATENCY_SECONDS (5), BENCH_LATENCY_QPS (0: half the lowest QPS),
# BENCH_NAMES (10000), BENCH_UPDATES (1500), BENCH_SCALES
# (1000,10000,100000), BENCH_HEADLESS_SERVICES (500), BENCH_HEADLESS_PODS
# (20), BENCH_READINESS_CHANGES (400), BENCH_EXTERNALDNS_CHANGES (10),
# BENCH_ROUTE53_SCALES (1000,10000), BENCH_ROUTE53_CHANGES (5),
# BENCH_ROUTE53_IDLE (60), BENCH_ONLY (any of: go serve propagation heap
# headless route53 ixfr).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
t0=$(date +%s)
out=${BENCH_OUT:-$top/.cache/bench}
count=${BENCH_COUNT:-6}
rounds=${BENCH_ROUNDS:-3}
secs=${BENCH_SECONDS:-10}
lsecs=${BENCH_LATENCY_SECONDS:-5}
lqps=${BENCH_LATENCY_QPS:-0}
names=${BENCH_NAMES:-10000}
updates=${BENCH_UPDATES:-1500}
scales=${BENCH_SCALES:-1000,10000,100000}
hl_services=${BENCH_HEADLESS_SERVICES:-500}
hl_pods=${BENCH_HEADLESS_PODS:-20}
readiness=${BENCH_READINESS_CHANGES:-400}
edns_changes=${BENCH_EXTERNALDNS_CHANGES:-10}
r53_scales=${BENCH_ROUTE53_SCALES:-1000,10000}
r53_changes=${BENCH_ROUTE53_CHANGES:-5}
r53_idle=${BENCH_ROUTE53_IDLE:-60}
only=${BENCH_ONLY:-go serve propagation heap headless route53 ixfr}
export CLUSTERZONE_CACHE=${CLUSTERZONE_CACHE:-$top/.cache}
want() { [[ " $only " == *" $1 "* ]]; }
step() { echo; echo "=== bench: $* ($(( $(date +%s) - t0 ))s)"; }

step "tools"
if ! command -v dnsperf >/dev/null; then
  echo "installing dnsperf (Debian package)" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq dnsperf >/dev/null
fi
# etcd and kube-apiserver for the harness (built once, reused).
hack/testbins.sh
# benchstat, into the repository's ignored .cache/bin, reused when present.
BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da
benchstat=$top/.cache/bin/benchstat
if [ ! -x "$benchstat" ] || [ "$(cat "$benchstat.version" 2>/dev/null)" != "$BENCHSTAT_VERSION" ]; then
  echo "installing benchstat into .cache/bin" >&2
  mkdir -p "$top/.cache/bin"
  GOBIN=$top/.cache/bin go install "golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION"
  echo "$BENCHSTAT_VERSION" > "$benchstat.version"
fi

step "build"
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.log "$out"/*.txt "$out"/bench.png
go build -o coredns ./cmd/coredns
# Others may rebuild ./coredns while this runs: every contender runs this copy.
cp coredns "$out/coredns"
export CLUSTERZONE_COREDNS=$out/coredns
go test -c -o "$out/clusterzone.test" ./plugin/clusterzone
go test -c -o "$out/table.test" ./plugin/clusterzone/table
go test -c -o "$out/bench.test" ./test/bench
commit=$(git rev-parse HEAD)
dirty=$(git status --porcelain --untracked-files=no -- cmd plugin go.mod go.sum | wc -l)
uptime > "$out/load-start.txt"

if want go; then
  step "Go benchmarks, $count alternated runs"
  : > "$out/gobench-servedns.txt"; : > "$out/gobench-table.txt"
  for i in $(seq "$count"); do
    (cd plugin/clusterzone && "$out/clusterzone.test" -test.run '^$' -test.bench '^BenchmarkServeDNS$' -test.benchmem -test.benchtime 0.15s) | tee -a "$out/gobench-servedns.txt" | grep '^Benchmark' || true
    (cd plugin/clusterzone/table && "$out/table.test" -test.run '^$' -test.bench '^Benchmark(Apply|Lookup|Memory)$' -test.benchmem -test.benchtime 0.25s) | tee -a "$out/gobench-table.txt" | grep '^Benchmark' || true
  done
  "$benchstat" -col /impl "$out/gobench-servedns.txt" > "$out/benchstat-servedns.txt"
  "$benchstat" -filter '.name:Apply' -col /names "$out/gobench-table.txt" > "$out/benchstat-apply.txt"
  "$benchstat" -filter '.name:Lookup' "$out/gobench-table.txt" > "$out/benchstat-lookup.txt"
  cat "$out/benchstat-servedns.txt" "$out/benchstat-apply.txt" "$out/benchstat-lookup.txt"
fi

# The benchmarks that need the built binary and a real API server; -test.v
# streams their logs. e2e_timeout=DURATION before the call overrides 40m.
e2e() {
  local name=$1; shift
  "$out/bench.test" -test.run '^$' -test.bench "^$name\$" -test.benchtime 1x -test.timeout "${e2e_timeout:-40m}" -test.v \
    -results "$out" "$@" 2>&1 | grep -v '^I[0-9]\{4\} ' | tee "$out/$name.log"
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "bench: $name failed, see $out/$name.log" >&2; exit 1; }
}
if want serve; then
  step "serving: dnsperf, $rounds rounds x ($secs s throughput + $lsecs s latency) per contender"
  e2e BenchmarkServe -serve-names "$names" -rounds "$rounds" -seconds "$secs" -latency-seconds "$lsecs" -latency-qps "$lqps"
fi
if want propagation; then
  step "propagation: $updates updates"
  e2e BenchmarkPropagation -updates "$updates"
fi
if want heap; then
  step "scale: heap and RSS at $scales Services"
  e2e BenchmarkHeap -scales "$scales"
fi
if want headless; then
  step "headless: $hl_services Services x $hl_pods Pods, clusterzone vs ExternalDNS; $readiness readiness changes"
  e2e BenchmarkHeadless -headless-services "$hl_services" -headless-pods "$hl_pods" -readiness-changes "$readiness" -externaldns-changes "$edns_changes"
fi
if want route53; then
  step "route53: clusterzone vs ExternalDNS at $r53_scales Services; $r53_changes changes, ${r53_idle} s idle each"
  # moto_server from pyenv, when it is installed there but not on PATH.
  if ! command -v moto_server >/dev/null && [ -x "$HOME/.pyenv/shims/moto_server" ]; then PATH=$PATH:$HOME/.pyenv/shims; fi
  e2e_timeout=120m e2e BenchmarkRoute53 -route53-scales "$r53_scales" -route53-changes "$r53_changes" -route53-idle "${r53_idle}s"
fi
if want ixfr; then
  step "IXFR vs AXFR of one Service change at 1,000 and 100,000 names, $count alternated runs"
  : > "$out/gobench-ixfr.txt"
  for i in $(seq "$count"); do
    (cd plugin/clusterzone && "$out/clusterzone.test" -test.run '^$' -test.bench '^BenchmarkTransfer$' -test.benchmem -test.benchtime 1s) | tee -a "$out/gobench-ixfr.txt" | grep '^Benchmark' || true
  done
  "$benchstat" -col /xfr "$out/gobench-ixfr.txt" > "$out/benchstat-ixfr.txt"
  cat "$out/benchstat-ixfr.txt"
fi
uptime > "$out/load-end.txt"

step "report"
took=$(( $(date +%s) - t0 ))
(cd tool/benchreport && go run . -dir "$out" -commit "$commit" -dirty "$dirty" -seconds "$took" -command "make bench")
echo "bench: done in $((took / 60))m$((took % 60))s; results in $out (results.json, bench.png)"
