// Command benchreport turns the files `make bench` (hack/bench.sh) leaves in
// its output folder into one report: it prints the table, writes
// results.json (every figure, machine-readable, with the targets and whether
// they hold) and bench.png (QPS and latency percentiles per contender,
// propagation and heap per Service).
//
// It is a module of its own so that its one dependency (golang.org/x/image,
// for a bitmap font) stays out of the plugin's go.mod.
//
//	go run . -dir ../../.cache/bench -commit $(git rev-parse HEAD)
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	dir := flag.String("dir", ".cache/bench", "the folder hack/bench.sh wrote")
	commit := flag.String("commit", "", "the commit measured")
	dirty := flag.Int("dirty", 0, "files of cmd/, plugin/, go.mod, go.sum changed against the commit when measured")
	took := flag.Int("seconds", 0, "how long the whole run took")
	command := flag.String("command", "make bench", "the command that reproduces the figures")
	flag.Parse()

	r := &Report{
		Commit: *commit, Dirty: *dirty, Command: *command, Seconds: *took,
		Date:    time.Now().UTC().Format(time.RFC3339),
		Machine: machine(*dir),
	}
	readJSON(filepath.Join(*dir, "serve.json"), &r.Serve)
	readJSON(filepath.Join(*dir, "propagation.json"), &r.Propagation)
	readJSON(filepath.Join(*dir, "heap.json"), &r.Heap)
	readJSON(filepath.Join(*dir, "headless.json"), &r.Headless)
	readJSON(filepath.Join(*dir, "route53.json"), &r.Route53)
	r.GoBench = append(parseGoBench(filepath.Join(*dir, "gobench-servedns.txt")), parseGoBench(filepath.Join(*dir, "gobench-table.txt"))...)
	r.GoBench = append(r.GoBench, parseGoBench(filepath.Join(*dir, "gobench-ixfr.txt"))...)
	r.Benchstat = map[string]string{}
	for _, n := range []string{"servedns", "apply", "lookup", "ixfr"} {
		if b, err := os.ReadFile(filepath.Join(*dir, "benchstat-"+n+".txt")); err == nil {
			r.Benchstat[n] = string(b)
		}
	}
	r.Targets = targets(r)

	text := r.Text()
	fmt.Print(text)
	if err := os.WriteFile(filepath.Join(*dir, "report.txt"), []byte(text), 0o644); err != nil {
		fail(err)
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(filepath.Join(*dir, "results.json"), append(data, '\n'), 0o644); err != nil {
		fail(err)
	}
	if err := writeChart(filepath.Join(*dir, "bench.png"), r); err != nil {
		fail(err)
	}
	fmt.Printf("\nwritten: %s, %s, %s\n", filepath.Join(*dir, "results.json"), filepath.Join(*dir, "bench.png"), filepath.Join(*dir, "report.txt"))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchreport:", err)
	os.Exit(1)
}

// Report is results.json.
type Report struct {
	Commit      string
	Dirty       int
	Date        string
	Command     string
	Seconds     int
	Machine     Machine
	Targets     []Target
	Serve       *BenchFile[Serve]       `json:",omitempty"`
	Propagation *BenchFile[Propagation] `json:",omitempty"`
	Heap        *BenchFile[Heap]        `json:",omitempty"`
	Headless    *BenchFile[Headless]    `json:",omitempty"`
	Route53     *BenchFile[Route53]     `json:",omitempty"`
	GoBench     []GoBench               `json:",omitempty"`
	Benchstat   map[string]string       `json:",omitempty"`
}

// BenchFile is what test/bench writes for one benchmark.
type BenchFile[T any] struct {
	Benchmark string
	Finished  string
	Results   T
}

// Serve is test/bench's serve.json.
type Serve struct {
	Names, QueryLines int
	QueryMix          map[string]int
	Rounds            int
	Seconds           float64
	LatencySeconds    float64
	LatencyQPS        int
	DNSPerf           string
	DNSPerfLatency    string
	CreateSeconds     float64
	Contenders        []Contender
}

// Contender is one server of the serving benchmark.
type Contender struct {
	Name                                         string
	Plugins                                      string
	QPS                                          []float64
	QPSMedian                                    float64
	Lost                                         int
	Rcodes                                       map[string]int
	AvgLatencyMs                                 []float64
	Latency                                      Latency
	QPSvsFile, QPSvsWhoami, P99vsFile, P50vsFile float64
	SyncSeconds                                  float64
}

// Latency is a distribution in milliseconds.
type Latency struct {
	N                        int
	P50, P90, P99, P999, Max float64
	Mean                     float64
	Histogram                []struct {
		UpToMs float64
		Count  int
	}
}

// Propagation is test/bench's propagation.json.
type Propagation struct {
	PollIntervalMs float64
	Summaries      []PropSummary
}

// PropSummary is the propagation delay of one server and kind of update.
type PropSummary struct {
	Contender, Kind    string
	N                  int
	P50, P90, P99, Max float64
	APIWriteP50        float64
	PollsPerUpdateMean float64
	LatenciesMs        []float64
	P99vsK8sExternal   float64
}

// Heap is test/bench's heap.json.
type Heap struct {
	Shape  string
	Scales []HeapScale
}

// HeapScale is the memory at one number of Services.
type HeapScale struct {
	Services                                    int
	CreateSeconds                               float64
	Baseline, Clusterzone, Kubernetes           HeapSample
	ClusterzonePerService, KubernetesPerService float64
	NetHeapRatio, RSSRatio                      float64
}

// HeapSample is one process's memory.
type HeapSample struct {
	Alloc, Inuse, Objects float64
	RSS, HWM              float64
	SyncSeconds           float64
}

// Headless is test/bench's headless.json: headless Services with a name per
// Pod, clusterzone vs ExternalDNS on one cluster.
type Headless struct {
	Shape                              string
	Services, PodsPerService, Pods     int
	Names, Nodes                       int
	CreateSeconds, SlicesSeconds       float64
	Baseline, Clusterzone, ExternalDNS HeapSample
	ExternalDNSHeap                    string
	ExternalDNSLiveMiB                 float64
	ExternalDNSArgs                    []string
	ClusterzoneNetPerPod               float64
	ExternalDNSPerPod                  float64
	HeapRatio, RSSRatio                float64
	Checked                            int
	PollIntervalMs                     float64
	Readiness                          []PropSummary
}

// Route53 is test/bench's route53.json: clusterzone's Route 53 mirror vs
// ExternalDNS (aws provider) on one API server and one moto_server.
type Route53 struct {
	Shape              string
	ExternalDNSArgs    []string
	ClusterzoneRoute53 string
	Changes            int
	IdleSeconds        float64
	Scales             []Route53Scale
}

// Route53Scale is both contenders at one number of Services; the ratios are
// ExternalDNS's figure / clusterzone's (0 when clusterzone's is 0).
type Route53Scale struct {
	Services                                                                                int
	CreateSeconds                                                                           float64
	Order                                                                                   []string
	Clusterzone, ExternalDNS                                                                Route53Contender
	ConvergeRatio, ConvergeCallsRatio, ChangeLatencyRatio, ChangeCallsRatio, IdleCallsRatio float64
}

// Route53Contender is what one contender did at one scale.
type Route53Contender struct {
	ConvergeSeconds       float64
	ConvergeCalls         int
	ConvergeCallsByAction map[string]int
	ConvergeBusySeconds   float64
	Records               int
	ChangeLatencyMs       []float64
	ChangeLatencyMedianMs float64
	ChangeBusyMs          []float64
	ChangeBusyMedianMs    float64
	ChangeCalls           []int
	ChangeCallsMedian     float64
	ChangeCallsByAction   map[string]int
	IdleCalls             int
	IdleCallsPerMinute    float64
	IdleCallsByAction     map[string]int
}

// GoBench is the median of one Go benchmark over its runs.
type GoBench struct {
	Name                       string
	Runs                       int
	NsPerOp, BPerOp, AllocsPer float64
	// CPUNsPerOp is the process's CPU time per op (garbage collection
	// included), where the benchmark reports it.
	CPUNsPerOp float64 `json:",omitempty"`
	// Extra holds the medians of other units the benchmark reports (B/name).
	Extra      map[string]float64 `json:",omitempty"`
	NsPerOpAll []float64
}

// Target is one of the performance targets and whether it holds.
type Target struct {
	Target string
	Holds  bool
	Figure string
}

// Machine describes where the figures were taken.
type Machine struct {
	CPU        string
	CPUs       int
	MemoryGiB  float64
	Kernel     string
	Go         string
	DNSPerf    string
	LoadBefore string
	LoadAfter  string
}

func readJSON[T any](path string, dst **BenchFile[T]) {
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var f BenchFile[T]
	if err := json.Unmarshal(data, &f); err != nil {
		fail(fmt.Errorf("%s: %v", path, err))
	}
	*dst = &f
}

// parseGoBench reads `go test -bench` output and returns, per benchmark, the
// median of each unit over the runs.
func parseGoBench(path string) []GoBench {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	type acc struct {
		ns, cpu, b, allocs []float64
		extra              map[string][]float64
	}
	runs := map[string]*acc{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 || !strings.HasPrefix(fs[0], "Benchmark") {
			continue
		}
		name := fs[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		a := runs[name]
		if a == nil {
			a = &acc{}
			runs[name] = a
			order = append(order, name)
		}
		for i := 2; i+1 < len(fs); i += 2 {
			v, err := strconv.ParseFloat(fs[i], 64)
			if err != nil {
				continue
			}
			switch fs[i+1] {
			case "ns/op":
				a.ns = append(a.ns, v)
			case "cpu-ns/op":
				a.cpu = append(a.cpu, v)
			case "B/op":
				a.b = append(a.b, v)
			case "allocs/op":
				a.allocs = append(a.allocs, v)
			default:
				if a.extra == nil {
					a.extra = map[string][]float64{}
				}
				a.extra[fs[i+1]] = append(a.extra[fs[i+1]], v)
			}
		}
	}
	var out []GoBench
	for _, name := range order {
		a := runs[name]
		g := GoBench{Name: name, Runs: len(a.ns), NsPerOp: median(a.ns), BPerOp: median(a.b), AllocsPer: median(a.allocs), NsPerOpAll: a.ns}
		if len(a.cpu) > 0 {
			g.CPUNsPerOp = median(a.cpu)
		}
		for unit, v := range a.extra {
			if g.Extra == nil {
				g.Extra = map[string]float64{}
			}
			g.Extra[unit] = median(v)
		}
		out = append(out, g)
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (r *Report) goBench(name string) (GoBench, bool) {
	for _, g := range r.GoBench {
		if g.Name == name {
			return g, true
		}
	}
	return GoBench{}, false
}

func machine(dir string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				m.MemoryGiB = math.Round(kb/(1<<20)*10) / 10
			}
		}
	}
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("dnsperf", "-h").CombinedOutput(); err == nil || len(out) > 0 {
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "Version") {
				m.DNSPerf = strings.TrimSpace(strings.TrimPrefix(line, "Version"))
			}
		}
	}
	load := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		s := strings.TrimSpace(string(b))
		if i := strings.Index(s, "load average:"); i >= 0 {
			return strings.TrimSpace(s[i+len("load average:"):])
		}
		return s
	}
	m.LoadBefore, m.LoadAfter = load("load-start.txt"), load("load-end.txt")
	return m
}

// targets evaluates the performance targets on what was measured.
func targets(r *Report) []Target {
	var ts []Target
	add := func(target string, holds bool, format string, args ...any) {
		ts = append(ts, Target{Target: target, Holds: holds, Figure: fmt.Sprintf(format, args...)})
	}
	if r.Serve != nil {
		for _, c := range r.Serve.Results.Contenders {
			if !strings.HasPrefix(c.Name, "clusterzone") {
				continue
			}
			if c.QPSvsFile > 0 {
				add(fmt.Sprintf("%s: QPS >= file's", c.Name), c.QPSvsFile >= 1, "%.0f vs %.0f QPS (%.2fx)", c.QPSMedian, c.QPSMedian/c.QPSvsFile, c.QPSvsFile)
			}
			if c.QPSvsWhoami > 0 {
				add(fmt.Sprintf("%s: QPS >= 0.9 x whoami's", c.Name), c.QPSvsWhoami >= 0.9, "%.2fx whoami", c.QPSvsWhoami)
			}
			if c.P99vsFile > 0 {
				add(fmt.Sprintf("%s: p99 <= file's", c.Name), c.P99vsFile <= 1, "p99 %.3f ms vs %.3f ms (%.2fx) at %d QPS", c.Latency.P99, c.Latency.P99/c.P99vsFile, c.P99vsFile, r.Serve.Results.LatencyQPS)
			}
		}
	}
	if r.Propagation != nil {
		var cz, k8s *PropSummary
		for i := range r.Propagation.Results.Summaries {
			s := &r.Propagation.Results.Summaries[i]
			if s.Kind == "lb-ip" && s.Contender == "clusterzone" {
				cz = s
			}
			if s.Kind == "lb-ip" && s.Contender == "k8s_external" {
				k8s = s
			}
		}
		if cz != nil && k8s != nil {
			add("propagation p99 <= k8s_external's", cz.P99 <= k8s.P99, "%.2f ms vs %.2f ms over %d same updates", cz.P99, k8s.P99, cz.N)
			add("propagation p99 < 50 ms", cz.P99 < 50, "%.2f ms", cz.P99)
		}
	}
	if r.Heap != nil {
		for _, s := range r.Heap.Results.Scales {
			add(fmt.Sprintf("heap per Service <= kubernetes plugin's (%d Services)", s.Services), s.ClusterzonePerService <= s.KubernetesPerService,
				"%.0f vs %.0f bytes per Service (kubernetes/clusterzone %.2fx)", s.ClusterzonePerService, s.KubernetesPerService, s.NetHeapRatio)
		}
	}
	if r.Route53 != nil {
		// The goal is at 10,000 Services; a run without that scale
		// reports it at its largest.
		var at *Route53Scale
		for i := range r.Route53.Results.Scales {
			s := &r.Route53.Results.Scales[i]
			if at == nil || s.Services == 10000 || (at.Services != 10000 && s.Services > at.Services) {
				at = s
			}
		}
		if at != nil {
			cz, ed := at.Clusterzone, at.ExternalDNS
			add(fmt.Sprintf("Route 53: converge >= 5x faster than ExternalDNS (%d Services)", at.Services), at.ConvergeRatio >= 5,
				"%.2f s vs %.2f s (%.2fx), %d vs %d calls", cz.ConvergeSeconds, ed.ConvergeSeconds, at.ConvergeRatio, cz.ConvergeCalls, ed.ConvergeCalls)
			add(fmt.Sprintf("Route 53: >= 10x fewer calls per change than ExternalDNS (%d Services)", at.Services), at.ChangeCallsRatio >= 10,
				"median %.1f vs %.1f calls (%.2fx), latency %.0f vs %.0f ms", cz.ChangeCallsMedian, ed.ChangeCallsMedian, at.ChangeCallsRatio, cz.ChangeLatencyMedianMs, ed.ChangeLatencyMedianMs)
		}
	}
	for _, op := range []string{"ip", "rename"} {
		small, ok1 := r.goBench("BenchmarkApply/op=" + op + "/names=1000")
		large, ok2 := r.goBench("BenchmarkApply/op=" + op + "/names=100000")
		if !ok1 || !ok2 {
			continue
		}
		wall := large.NsPerOp / small.NsPerOp
		if small.CPUNsPerOp > 0 && large.CPUNsPerOp > 0 {
			// The cost: CPU time of the process per change, garbage
			// collection included, steadier than wall time on a busy machine.
			cpu := large.CPUNsPerOp / small.CPUNsPerOp
			add(fmt.Sprintf("one change (%s) at 100,000 names <= 2x at 1,000", op), cpu <= 2, "CPU %.0f vs %.0f ns (%.2fx); wall %.0f vs %.0f ns (%.2fx); %.0f allocs both",
				large.CPUNsPerOp, small.CPUNsPerOp, cpu, large.NsPerOp, small.NsPerOp, wall, large.AllocsPer)
		} else {
			add(fmt.Sprintf("one change (%s) at 100,000 names <= 2x at 1,000", op), wall <= 2, "wall %.0f vs %.0f ns (%.2fx), %.0f vs %.0f allocs", large.NsPerOp, small.NsPerOp, wall, large.AllocsPer, small.AllocsPer)
		}
	}
	if ixfr, axfr, ok := r.transfer(100000); ok {
		share := ixfr.Extra["wire-B/op"] / axfr.Extra["wire-B/op"]
		add("IXFR of one change at 100,000 names < 1% of the AXFR's bytes", share < 0.01, "%.0f vs %.0f bytes (%.4f%%); %.0f vs %.0f ns",
			ixfr.Extra["wire-B/op"], axfr.Extra["wire-B/op"], 100*share, ixfr.NsPerOp, axfr.NsPerOp)
	}
	var lookups []string
	zero := true
	for _, g := range r.GoBench {
		if strings.HasPrefix(g.Name, "BenchmarkLookup/") {
			lookups = append(lookups, fmt.Sprintf("%s %.0f", strings.TrimPrefix(g.Name, "BenchmarkLookup/q="), g.AllocsPer))
			zero = zero && g.AllocsPer == 0
		}
	}
	if len(lookups) > 0 {
		add("zero allocations per query in the table lookup", zero, "allocs/op: %s", strings.Join(lookups, ", "))
	}
	return ts
}

// transfer returns BenchmarkTransfer's IXFR and AXFR of one change at names.
func (r *Report) transfer(names int) (ixfr, axfr GoBench, ok bool) {
	ixfr, ok1 := r.goBench(fmt.Sprintf("BenchmarkTransfer/names=%d/xfr=ixfr", names))
	axfr, ok2 := r.goBench(fmt.Sprintf("BenchmarkTransfer/names=%d/xfr=axfr", names))
	return ixfr, axfr, ok1 && ok2 && axfr.Extra["wire-B/op"] > 0
}
