package main

import (
	"fmt"
	"slices"
	"strings"
)

// Text renders the report as the table `make bench` prints.
func (r *Report) Text() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	commit := r.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if r.Dirty > 0 {
		commit += fmt.Sprintf(" (+%d uncommitted files under cmd/ plugin/)", r.Dirty)
	}
	m := r.Machine
	p("")
	p("clusterzone benchmarks (%s): commit %s, %s, whole run %dm%02ds", r.Command, commit, r.Date, r.Seconds/60, r.Seconds%60)
	p("machine: %d x %s, %.1f GiB, %s, %s, dnsperf %s; load average before: %s; after: %s", m.CPUs, m.CPU, m.MemoryGiB, m.Kernel, m.Go, m.DNSPerf, m.LoadBefore, m.LoadAfter)

	if r.Serve != nil {
		s := r.Serve.Results
		p("")
		p("1. Serving: %d names (30%% A-only, 30%% AAAA-only, 40%% dual-stack; each with its TXT), %d-line query file: %s", s.Names, s.QueryLines, mix(s.QueryMix, s.QueryLines))
		p("   each contender a ./coredns on loopback; %d rounds, order rotated each round; throughput: %s", s.Rounds, trimCmd(s.DNSPerf))
		p("   latency at a fixed %d QPS (%d x %.0f s, every response): %s", s.LatencyQPS, s.Rounds, s.LatencySeconds, trimCmd(s.DNSPerfLatency))
		p("   %-22s %9s %17s %7s %8s %8s %8s %8s %9s %9s %6s", "contender", "QPS", "min..max", "x file", "x whoami", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "p99/file", "lost")
		for _, c := range s.Contenders {
			p("   %-22s %9.0f %8.0f..%-8.0f %7.2f %8.2f %8.3f %8.3f %8.3f %9.3f %9.2f %6d", c.Name, c.QPSMedian, slices.Min(c.QPS), slices.Max(c.QPS),
				c.QPSvsFile, c.QPSvsWhoami, c.Latency.P50, c.Latency.P90, c.Latency.P99, c.Latency.P999, c.P99vsFile, c.Lost)
		}
		var notes []string
		for _, c := range s.Contenders {
			if c.SyncSeconds > 0 {
				notes = append(notes, fmt.Sprintf("%s loaded %d Services in %.2f s", c.Name, s.Names, c.SyncSeconds))
			}
		}
		if s.CreateSeconds > 0 {
			notes = append(notes, fmt.Sprintf("creating them took %.1f s", s.CreateSeconds))
		}
		if len(notes) > 0 {
			p("   (%s; k8s_external has no TXT: its TXT hits are NODATA)", strings.Join(notes, "; "))
		}
	}

	if r.Propagation != nil {
		s := r.Propagation.Results
		p("")
		p("2. Propagation: API write returned -> new answer served (polling every %.1f ms), same updates for both servers", s.PollIntervalMs)
		p("   %-13s %-9s %5s %9s %9s %9s %9s %13s", "server", "update", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", "API write p50")
		for _, x := range s.Summaries {
			p("   %-13s %-9s %5d %9.2f %9.2f %9.2f %9.2f %13.2f", x.Contender, x.Kind, x.N, x.P50, x.P90, x.P99, x.Max, x.APIWriteP50)
		}
	}

	if r.Heap != nil {
		s := r.Heap.Results
		p("")
		p("3. Scale: %s; both plugins load the same Services from one kube-apiserver, after a forced GC", s.Shape)
		p("   %9s %-12s %9s %9s %11s %9s %9s %10s %8s", "services", "process", "heap MiB", "net MiB", "B/Service", "RSS MiB", "HWM MiB", "loaded in", "k8s/cz")
		for _, sc := range s.Scales {
			for _, row := range []struct {
				name string
				s    HeapSample
				per  float64
			}{{"baseline", sc.Baseline, 0}, {"clusterzone", sc.Clusterzone, sc.ClusterzonePerService}, {"kubernetes", sc.Kubernetes, sc.KubernetesPerService}} {
				sync, ratio := "-", ""
				if row.s.SyncSeconds > 0 {
					sync = fmt.Sprintf("%.2f s", row.s.SyncSeconds)
				}
				if row.name == "kubernetes" {
					ratio = fmt.Sprintf("%.2fx", sc.NetHeapRatio)
				}
				p("   %9d %-12s %9.1f %9.1f %11.0f %9.1f %9.1f %10s %8s", sc.Services, row.name, mib(row.s.Alloc), mib(row.s.Alloc-sc.Baseline.Alloc), row.per, mib(row.s.RSS), mib(row.s.HWM), sync, ratio)
			}
		}
		p("   (net = heap less the whoami baseline; k8s/cz = kubernetes plugin's net heap / clusterzone's; loaded in = process start to serving every Service)")
	}

	if len(r.GoBench) > 0 {
		p("")
		p("4. Go benchmarks (-benchmem; medians of %d alternated runs)", r.GoBench[0].Runs)
		p("   ServeDNS, 10,000 names + a wildcard   %28s   %28s   %9s", "clusterzone", "file", "cz/file")
		p("   %-36s %10s %8s %8s   %10s %8s %8s   %9s", "query", "ns/op", "B/op", "allocs", "ns/op", "B/op", "allocs", "ns/op")
		for _, q := range []string{"A", "AAAA", "TXT", "NODATA", "NXDOMAIN", "wildcard"} {
			cz, ok1 := r.goBench("BenchmarkServeDNS/q=" + q + "/impl=clusterzone")
			f, ok2 := r.goBench("BenchmarkServeDNS/q=" + q + "/impl=file")
			if ok1 && ok2 {
				p("   %-36s %10.0f %8.0f %8.0f   %10.0f %8.0f %8.0f   %8.2fx", q, cz.NsPerOp, cz.BPerOp, cz.AllocsPer, f.NsPerOp, f.BPerOp, f.AllocsPer, cz.NsPerOp/f.NsPerOp)
			}
		}
		p("   Table.Apply, one Service change   %28s   %28s   %9s", "1,000 names", "100,000 names", "100k/1k")
		p("   %-30s %8s %8s %5s %6s   %8s %8s %5s %6s   %4s %4s", "", "ns/op", "cpu-ns", "B/op", "allocs", "ns/op", "cpu-ns", "B/op", "allocs", "wall", "cpu")
		for _, op := range []string{"ip", "rename"} {
			s, ok1 := r.goBench("BenchmarkApply/op=" + op + "/names=1000")
			l, ok2 := r.goBench("BenchmarkApply/op=" + op + "/names=100000")
			if ok1 && ok2 {
				p("   %-30s %8.0f %8.0f %5.0f %6.0f   %8.0f %8.0f %5.0f %6.0f   %4.2f %4.2f", "op="+op, s.NsPerOp, s.CPUNsPerOp, s.BPerOp, s.AllocsPer, l.NsPerOp, l.CPUNsPerOp, l.BPerOp, l.AllocsPer, l.NsPerOp/s.NsPerOp, l.CPUNsPerOp/s.CPUNsPerOp)
			}
		}
		p("   (cpu-ns: the process's CPU time per op, garbage collection included)")
		if g, ok := r.goBench("BenchmarkMemory"); ok && g.Extra["B/name"] > 0 {
			p("   Table memory, 10,000 dual-stack names: %.0f bytes per name (live heap; the table's share of the heap per Service)", g.Extra["B/name"])
		}
		p("   Table.Lookup, 10,000 names             %10s %8s %8s", "ns/op", "B/op", "allocs")
		for _, g := range r.GoBench {
			if q, ok := strings.CutPrefix(g.Name, "BenchmarkLookup/"); ok {
				p("   %-36s %10.1f %8.0f %8.0f", q, g.NsPerOp, g.BPerOp, g.AllocsPer)
			}
		}
		if _, _, ok := r.transfer(1000); ok {
			p("   Zone transfer of one Service change  %22s   %22s   %14s", "IXFR", "AXFR", "IXFR/AXFR")
			p("   %-36s %10s %11s   %10s %11s   %7s %6s", "", "ns/op", "wire-B/op", "ns/op", "wire-B/op", "bytes", "time")
			for _, n := range []int{1000, 100000} {
				if i, a, ok := r.transfer(n); ok {
					p("   %-36s %10.0f %11.0f   %10.0f %11.0f   %6.3f%% %5.2f%%", fmt.Sprintf("names=%d", n), i.NsPerOp, i.Extra["wire-B/op"], a.NsPerOp, a.Extra["wire-B/op"],
						100*i.Extra["wire-B/op"]/a.Extra["wire-B/op"], 100*i.NsPerOp/a.NsPerOp)
				}
			}
			p("   (the change and its transfer through the transfer plugin; wire-B: the packed messages)")
		}
		for _, k := range []string{"servedns", "apply", "lookup", "ixfr"} {
			if t := r.Benchstat[k]; t != "" {
				p("")
				p("   benchstat (%s):", k)
				for _, line := range strings.Split(strings.TrimRight(t, "\n"), "\n") {
					p("   | %s", line)
				}
			}
		}
	}

	if r.Headless != nil {
		s := r.Headless.Results
		p("")
		p("5. Headless Services: %d x %d Pods = %d Pods, %d names (%s)", s.Services, s.PodsPerService, s.Pods, s.Names, s.Shape)
		p("   created in %.1f s, all in EndpointSlices %.1f s later; clusterzone and ExternalDNS (%s) load them from one kube-apiserver", s.CreateSeconds, s.SlicesSeconds, ednsFlags(s.ExternalDNSArgs))
		p("   %-12s %9s %9s %9s %9s %10s %10s", "process", "heap MiB", "net MiB", "RSS MiB", "HWM MiB", "B/Pod", "loaded in")
		for _, row := range []struct {
			name string
			s    HeapSample
			net  string
			per  float64
		}{
			{"baseline", s.Baseline, "-", 0},
			{"clusterzone", s.Clusterzone, fmt.Sprintf("%.1f", mib(s.Clusterzone.Alloc-s.Baseline.Alloc)), s.ClusterzoneNetPerPod},
			{"externaldns", s.ExternalDNS, "-", s.ExternalDNSPerPod},
		} {
			loaded, per := "-", "-"
			if row.s.SyncSeconds > 0 {
				loaded = fmt.Sprintf("%.2f s", row.s.SyncSeconds)
			}
			if row.per > 0 {
				per = fmt.Sprintf("%.0f", row.per)
			}
			p("   %-12s %9.1f %9s %9.1f %9.1f %10s %10s", row.name, mib(row.s.Alloc), row.net, mib(row.s.RSS), mib(row.s.HWM), per, loaded)
		}
		p("   ExternalDNS / clusterzone: heap %.2fx, RSS %.2fx (ExternalDNS's gctrace live heap: %.0f MiB)", s.HeapRatio, s.RSSRatio, s.ExternalDNSLiveMiB)
		p("   (clusterzone, baseline: after a forced GC; net = less the whoami baseline; B/Pod: clusterzone's net heap, ExternalDNS's whole heap per Pod;")
		p("    ExternalDNS: %s; %d Pod names and their Services' checked in both first)", s.ExternalDNSHeap, s.Checked)
		if len(s.Readiness) > 0 {
			p("   Readiness: Pod status write returned -> answer changed (polling every %.1f ms; the path includes the EndpointSlice controller)", s.PollIntervalMs)
			p("   %-13s %-10s %5s %9s %9s %9s %9s %13s", "server", "change", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", "API write p50")
			for _, x := range s.Readiness {
				p("   %-13s %-10s %5d %9.2f %9.2f %9.2f %9.2f %13.2f", x.Contender, x.Kind, x.N, x.P50, x.P90, x.P99, x.Max, x.APIWriteP50)
			}
			p("   (endpointslice: write -> the slice change seen on a watch; from-slice: that -> clusterzone's answer; externaldns: -> its log shows the")
			p("    name created or deleted, --events: a sync 5 s after a change at the earliest; edns-all: clusterzone on those changes, ExternalDNS running)")
		}
	}

	if r.Route53 != nil {
		s := r.Route53.Results
		p("")
		p("6. Route 53: clusterzone's mirror vs ExternalDNS v0.20 (aws provider), one kube-apiserver, one moto_server, one contender at a time (%s)", s.Shape)
		p("   ExternalDNS: %s; clusterzone: %s", ednsFlags(s.ExternalDNSArgs), strings.Join(strings.Fields(s.ClusterzoneRoute53), " "))
		p("   %9s %-12s %11s %9s %8s %14s %10s %13s %15s", "services", "contender", "converge s", "in R53 s", "calls", "change p50 ms", "in R53 ms", "calls/change", "idle calls/min")
		for _, sc := range s.Scales {
			for _, row := range []struct {
				name string
				c    Route53Contender
			}{{"clusterzone", sc.Clusterzone}, {"externaldns", sc.ExternalDNS}} {
				p("   %9d %-12s %11.2f %9.2f %8d %14.0f %10.0f %13.1f %15.1f", sc.Services, row.name, row.c.ConvergeSeconds, row.c.ConvergeBusySeconds, row.c.ConvergeCalls,
					row.c.ChangeLatencyMedianMs, row.c.ChangeBusyMedianMs, row.c.ChangeCallsMedian, row.c.IdleCallsPerMinute)
			}
			idle := fmt.Sprintf("%.1fx", sc.IdleCallsRatio)
			if sc.Clusterzone.IdleCallsPerMinute == 0 {
				idle = fmt.Sprintf("%.1f vs 0", sc.ExternalDNS.IdleCallsPerMinute)
			}
			p("   %9d %-12s %10.1fx %9s %7.1fx %13.1fx %10s %12.1fx %15s", sc.Services, "edns/cz", sc.ConvergeRatio, "", sc.ConvergeCallsRatio, sc.ChangeLatencyRatio, "", sc.ChangeCallsRatio, idle)
		}
		for _, sc := range s.Scales {
			for _, row := range []struct {
				name string
				c    Route53Contender
			}{{"clusterzone", sc.Clusterzone}, {"externaldns", sc.ExternalDNS}} {
				p("   %d %s: converge %s; %d changes %s; idle %s", sc.Services, row.name, byAction(row.c.ConvergeCallsByAction), len(row.c.ChangeCalls), byAction(row.c.ChangeCallsByAction), byAction(row.c.IdleCallsByAction))
			}
		}
		p("   (converge: process start -> moto accepted every A, AAAA and ownership TXT, calls = Route 53 requests sent until then; change: LB IPv4 status write")
		p("    returned -> new A accepted, median of %d, calls until 2 s after; idle: over %.0f s; each contender its own fresh hosted zone and counting proxy;", s.Changes, s.IdleSeconds)
		p("    in R53: of that time, how long a Route 53 request was in flight, i.e. waiting on moto_server, whose own cost grows with the zone)")
	}

	if len(r.Targets) > 0 {
		p("")
		p("Targets:")
		for _, t := range r.Targets {
			mark := "holds        "
			if !t.Holds {
				mark = "DOES NOT HOLD"
			}
			p("   %s  %-62s %s", mark, t.Target, t.Figure)
		}
	}
	return b.String()
}

func mib(bytes float64) float64 { return bytes / (1 << 20) }

// byAction formats per-action request counts, sorted by action.
func byAction(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// ednsFlags is ExternalDNS's arguments less the per-run ones (kubeconfig,
// metrics address).
func ednsFlags(args []string) string {
	var out []string
	for _, a := range args {
		if !strings.HasPrefix(a, "--kubeconfig=") && !strings.HasPrefix(a, "--metrics-address=") {
			out = append(out, a)
		}
	}
	return strings.Join(out, " ")
}

func mix(m map[string]int, total int) string {
	var parts []string
	for _, k := range []string{"hit A", "hit AAAA", "hit TXT", "nodata", "nxdomain"} {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f%%", k, 100*float64(m[k])/float64(total)))
		}
	}
	return strings.Join(parts, ", ")
}

// trimCmd drops the per-run parts of a dnsperf command line (server port,
// temporary query file).
func trimCmd(c string) string {
	f := strings.Fields(c)
	var out []string
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case "-s", "-p", "-d":
			i++
			continue
		}
		out = append(out, f[i])
	}
	return strings.Join(out, " ")
}
