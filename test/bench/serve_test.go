package bench

import (
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
)

var (
	serveNames      = flag.Int("serve-names", 10000, "BenchmarkServe: names (Services) in the data set")
	serveQueryLines = flag.Int("serve-queries", 100000, "BenchmarkServe: lines of the dnsperf query file (dnsperf loops over it)")
	serveRounds     = flag.Int("rounds", 3, "BenchmarkServe: rounds; each round runs every contender once, in a rotated order")
	serveSeconds    = flag.Float64("seconds", 10, "BenchmarkServe: seconds of each throughput run (dnsperf -l)")
	latencySeconds  = flag.Float64("latency-seconds", 5, "BenchmarkServe: seconds of each latency run (dnsperf -l with -Q and -v)")
	latencyQPS      = flag.Int("latency-qps", 0, "BenchmarkServe: offered load of the latency runs (dnsperf -Q); 0: half the lowest QPS of the first round")
	perfClients     = flag.Int("dnsperf-clients", 4, "BenchmarkServe: dnsperf -c (UDP sockets)")
	perfOutstanding = flag.Int("dnsperf-outstanding", 100, "BenchmarkServe: dnsperf -q (queries in flight)")
	perfThreads     = flag.Int("dnsperf-threads", 1, "BenchmarkServe: dnsperf -T")
	serveContenders = flag.String("contenders", "clusterzone-manifests,clusterzone-api,file,k8s_external,whoami", "BenchmarkServe: contenders, comma-separated")
)

// serveResult is one contender's result in serve.json.
type serveResult struct {
	Name    string
	Plugins string // the server block's plugin lines
	// Throughput: one dnsperf run per round, as fast as it answers.
	QPS       []float64
	QPSMedian float64
	Lost      int
	Rcodes    map[string]int // of the last throughput run
	// AvgLatencyMs is dnsperf's average latency of each throughput run
	// (under saturation it mostly reflects -q queries in flight / QPS).
	AvgLatencyMs []float64
	// Latency at a fixed offered load (LatencyQPS), every response of every
	// round, in milliseconds.
	Latency latencySummary
	// Ratios to file and whoami (medians of QPS; p99 at the fixed load).
	QPSvsFile, QPSvsWhoami, P99vsFile, P50vsFile float64
	// SyncSeconds: process start to serving the last Service (API sources).
	SyncSeconds float64 `json:",omitempty"`
}

type serveReport struct {
	Names, QueryLines int
	QueryMix          map[string]int
	Rounds            int
	Seconds           float64
	LatencySeconds    float64
	LatencyQPS        int
	DNSPerf           string // the throughput command line of one run
	DNSPerfLatency    string
	CreateSeconds     float64 `json:",omitempty"` // creating the Services in the API server
	Contenders        []*serveResult
}

// BenchmarkServe measures serving throughput and latency of clusterzone and
// of CoreDNS's own plugins in the same ./coredns binary, each a process of
// its own on loopback, over the same data set (see servedata_test.go): 10,000
// names, A-only, AAAA-only and dual-stack, each with a TXT record, and a query
// file mixing hits (A, AAAA, TXT), NODATA and NXDOMAIN.
//
// Contenders (-contenders): clusterzone-manifests (clusterzone reading the
// Services from a manifest file), clusterzone-api (clusterzone watching the
// same Services in a real kube-apiserver), file (the same records as a zone
// file), k8s_external (+kubernetes, watching the same Services; it has no TXT,
// so its TXT hits are NODATA), whoami (the floor: no lookup at all). All are
// started together and stay up; each round runs each contender once, in an
// order rotated every round, so that whatever else the machine does is spread
// over all of them.
//
// Per round and contender: a throughput run (dnsperf -l -seconds, -c, -q,
// as fast as it answers) and a latency run at a fixed offered load (-Q
// -latency-qps, default half the lowest QPS of round 1; dnsperf -v, every
// response's latency). Reported: median QPS, p50/p99 at the fixed load, and
// the ratios to file and whoami. Before timing, every contender's answers to
// the first 300 queries are checked.
func BenchmarkServe(b *testing.B) {
	perf := dnsperfBinary(b)
	n := *serveNames
	names := strings.Split(*serveContenders, ",")
	dir := b.TempDir()
	manifests := filepath.Join(dir, "services.yaml")
	zonefile := filepath.Join(dir, "example.org.zone")
	qfile := filepath.Join(dir, "queries.txt")
	qs := serveQueries(n, *serveQueryLines)
	for _, err := range []error{writeManifests(manifests, n), writeZone(zonefile, n), writeQueries(qfile, qs)} {
		if err != nil {
			b.Fatal(err)
		}
	}
	rep := &serveReport{Names: n, QueryLines: len(qs), QueryMix: queryMix(qs), Rounds: *serveRounds, Seconds: *serveSeconds, LatencySeconds: *latencySeconds}

	var c *harness.Cluster
	if slices.Contains(names, "clusterzone-api") || slices.Contains(names, "k8s_external") {
		c = harness.StartCluster(b)
		c.CreateNamespace(b, serveNamespace)
		took := createServices(b, c, 0, n, 64, serveService, nil)
		rep.CreateSeconds = took.Seconds()
		b.Logf("created %d Services (external IPs: %d%% A-only, %d%% AAAA-only, %d%% dual-stack) in %v", n, 30, 30, 40, took.Round(100*time.Millisecond))
	}

	// Start every contender, then wait until each serves the last name.
	type contender struct {
		res *serveResult
		srv *server
	}
	var cs []*contender
	for _, name := range names {
		var plugins string
		switch name {
		case "clusterzone-manifests":
			plugins = fmt.Sprintf("    clusterzone {\n        manifests %s\n        owner-id %s\n    }", manifests, serveOwnerID)
		case "clusterzone-api":
			plugins = fmt.Sprintf("    clusterzone {\n        kubeconfig %s\n        owner-id %s\n    }", c.Kubeconfig, serveOwnerID)
		case "file":
			plugins = fmt.Sprintf("    file %s %s", zonefile, serveZone)
		case "k8s_external":
			plugins = fmt.Sprintf("    k8s_external %s\n    kubernetes cluster.local {\n        kubeconfig %s\n    }", serveZone, c.AdminKubeconfig)
		case "whoami":
			plugins = "    whoami"
		default:
			b.Fatalf("-contenders: unknown contender %q", name)
		}
		cs = append(cs, &contender{res: &serveResult{Name: name, Plugins: plugins}, srv: startBare(b, name, serveZone, plugins)})
	}
	last := serveQuery{name: serveName(n - 1), qtype: dns.TypeA, want: hit}
	if familyOf(n-1) == v6Only {
		last.qtype = dns.TypeAAAA
	}
	for _, ct := range cs {
		if ct.res.Name == "whoami" {
			continue
		}
		if err := waitSynced(ct.srv, 10*time.Minute, func() error { return checkAnswer(ct.srv.Addr, last, hit) }); err != nil {
			b.Fatal(err)
		}
		if strings.Contains(ct.res.Name, "api") || ct.res.Name == "k8s_external" {
			ct.res.SyncSeconds = ct.srv.syncTook.Seconds()
		}
		for _, q := range qs[:min(300, len(qs))] {
			if err := checkAnswer(ct.srv.Addr, q, q.wantFor(ct.res.Name)); err != nil {
				b.Fatalf("%s: %v", ct.res.Name, err)
			}
		}
	}
	b.Logf("all %d contenders serve the data set; answers checked", len(cs))

	tput := dnsperfOpts{seconds: *serveSeconds, clients: *perfClients, outstanding: *perfOutstanding, threads: *perfThreads}
	latencies := make([][]float64, len(cs))
	b.ResetTimer()
	for iter := 0; iter < b.N; iter++ {
		for r := 0; r < *serveRounds; r++ {
			order := rotate(len(cs), r)
			for _, i := range order {
				ct := cs[i]
				run := runDNSPerf(b, perf, ct.srv.Addr, qfile, tput)
				ct.res.QPS = append(ct.res.QPS, run.QPS)
				ct.res.AvgLatencyMs = append(ct.res.AvgLatencyMs, run.AvgLatency*1000)
				ct.res.Lost += run.Lost
				ct.res.Rcodes = run.Rcodes
				rep.DNSPerf = run.Command
				b.Logf("round %d %-22s %9.0f QPS  (avg latency %.3f ms, lost %d, %v)", r+1, ct.res.Name, run.QPS, run.AvgLatency*1000, run.Lost, run.Rcodes)
			}
			if rep.LatencyQPS == 0 {
				rep.LatencyQPS = *latencyQPS
				if rep.LatencyQPS == 0 {
					low := cs[0].res.QPS[0]
					for _, ct := range cs {
						low = min(low, ct.res.QPS[0])
					}
					rep.LatencyQPS = max(1000, int(low/2/1000)*1000)
				}
				b.Logf("latency runs at a fixed %d queries per second", rep.LatencyQPS)
			}
			lat := tput
			lat.seconds, lat.rate, lat.verbose = *latencySeconds, rep.LatencyQPS, true
			for _, i := range order {
				ct := cs[i]
				run := runDNSPerf(b, perf, ct.srv.Addr, qfile, lat)
				latencies[i] = append(latencies[i], run.Latencies...)
				rep.DNSPerfLatency = run.Command
				s := summarize(run.Latencies)
				b.Logf("round %d %-22s at %d QPS: p50 %.3f ms, p99 %.3f ms (%d responses, lost %d)", r+1, ct.res.Name, rep.LatencyQPS, s.P50, s.P99, s.N, run.Lost)
			}
		}
	}
	b.StopTimer()

	byName := map[string]*serveResult{}
	for i, ct := range cs {
		ct.res.QPSMedian = median(ct.res.QPS)
		ct.res.Latency = summarize(latencies[i])
		byName[ct.res.Name] = ct.res
		rep.Contenders = append(rep.Contenders, ct.res)
	}
	for _, r := range rep.Contenders {
		if f := byName["file"]; f != nil {
			r.QPSvsFile = r.QPSMedian / f.QPSMedian
			r.P99vsFile = r.Latency.P99 / f.Latency.P99
			r.P50vsFile = r.Latency.P50 / f.Latency.P50
		}
		if w := byName["whoami"]; w != nil {
			r.QPSvsWhoami = r.QPSMedian / w.QPSMedian
		}
	}

	b.ReportMetric(0, "ns/op")
	for _, r := range rep.Contenders {
		b.ReportMetric(r.QPSMedian, r.Name+"-qps")
	}
	b.Logf("serving %d names, %d rounds of %.0f s per contender (dnsperf -c %d -q %d -T %d); latency at %d QPS over %d x %.0f s:",
		n, *serveRounds, *serveSeconds, *perfClients, *perfOutstanding, *perfThreads, rep.LatencyQPS, *serveRounds, *latencySeconds)
	b.Logf("  %-22s %9s %19s %7s %8s %8s %8s %8s %6s", "contender", "QPS", "(min..max)", "x file", "x whoami", "p50 ms", "p99 ms", "p99/file", "lost")
	for _, r := range rep.Contenders {
		b.Logf("  %-22s %9.0f %9.0f..%-9.0f %7.2f %8.2f %8.3f %8.3f %8.2f %6d", r.Name, r.QPSMedian, slices.Min(r.QPS), slices.Max(r.QPS),
			r.QPSvsFile, r.QPSvsWhoami, r.Latency.P50, r.Latency.P99, r.P99vsFile, r.Lost)
	}
	writeResults(b, "serve", rep)
}

// rotate returns 0..n-1 rotated left by r.
func rotate(n, r int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = (i + r) % n
	}
	return out
}
