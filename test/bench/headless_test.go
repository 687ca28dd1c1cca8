package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

var (
	headlessServices = flag.Int("headless-services", 500, "BenchmarkHeadless: headless Services")
	headlessPods     = flag.Int("headless-pods", 20, "BenchmarkHeadless: Pods per Service, each with its own name (spec.hostname + spec.subdomain)")
	readinessChanges = flag.Int("readiness-changes", 400, "BenchmarkHeadless: Pod readiness changes measured on clusterzone, alternately unready and ready")
	ednsChanges      = flag.Int("externaldns-changes", 10, "BenchmarkHeadless: readiness changes measured on ExternalDNS too (--events: at least 5 s each); 0 skips them")
)

const (
	headlessNS    = "headless"
	headlessZone  = "example.org"
	headlessNodes = 10
	// ednsInterval is ExternalDNS's --interval: its periodic sync, also what
	// makes it collect garbage while the benchmark waits for a collection.
	ednsInterval = "1m"
)

// headlessReport is headless.json.
type headlessReport struct {
	Shape                          string
	Services, PodsPerService, Pods int
	Names, Nodes                   int
	// CreateSeconds: the API writes of the Services and Pods; SlicesSeconds:
	// from the last write to every Pod in an EndpointSlice, ready, with its
	// hostname (the real kube-controller-manager).
	CreateSeconds, SlicesSeconds float64
	// Memory once everything is served. Clusterzone and Baseline after a
	// forced GC; ExternalDNS (which serves no pprof) at the first scrape
	// after one of its own collections, see ExternalDNSHeap.
	Baseline, Clusterzone, ExternalDNS heapSample
	ExternalDNSHeap                    string
	// ExternalDNSLiveMiB is the live heap of ExternalDNS's last collection
	// before the scrape, from GODEBUG=gctrace=1 (whole MiB).
	ExternalDNSLiveMiB float64
	ExternalDNSArgs    []string
	// Heap less the baseline's per Pod (clusterzone); whole heap per Pod
	// (ExternalDNS, no baseline of its own).
	ClusterzoneNetPerPod, ExternalDNSPerPod float64
	// ExternalDNS / clusterzone: whole heap, RSS.
	HeapRatio, RSSRatio float64
	// Checked is how many names were checked in both before measuring.
	Checked int
	// Readiness: the Pod status write returned -> the answer changed.
	PollIntervalMs float64
	Readiness      []propSummary
}

// headlessNames are the names of Pod p of Service s: the Service, the Pod,
// the Pod's spec.hostname.
func headlessNames(s, p int) (svc, pod, host string) {
	return fmt.Sprintf("svc%d", s), fmt.Sprintf("svc%d-%d", s, p), fmt.Sprintf("p%d", p)
}

// podIP is the address of Pod g (= s*pods + p): 10.64.0.1 onwards.
func podIP(g int) string {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], (10<<24|64<<16)+uint32(g)+1)
	return net.IP(a[:]).String()
}

// BenchmarkHeadless publishes -headless-services headless Services of
// -headless-pods Pods each (500 x 20 = 10,000 Pods by default), every Pod
// with spec.hostname and spec.subdomain so that it has its own name
// (pN.svcS.example.org besides svcS.example.org), on 10 Nodes, in one real
// kube-apiserver, with the real kube-controller-manager's EndpointSlice
// controller turning the Pods into EndpointSlices. Then, side by side:
//
//   - clusterzone: `clusterzone { kubeconfig }` in the built ./coredns (RBAC
//     of deploy/rbac.yaml); it watches Services, EndpointSlices and Nodes;
//   - ExternalDNS v0.20: --source=service --provider=inmemory
//     --registry=noop, admin kubeconfig; it caches Services, Pods (trimmed
//     by its transform) and EndpointSlices;
//   - baseline: a ./coredns with only whoami.
//
// 1. Memory. Both are started once everything is in EndpointSlices and waited
// for: clusterzone until coredns_clusterzone_names reaches the names and a
// sample of them answers the right Pod IPs, ExternalDNS until its first sync
// loop has run (external_dns_controller_last_sync_timestamp_seconds) and its
// log holds a CREATE per name, the same sample with the same targets. Then
// clusterzone and the baseline are made to collect garbage and read (as in
// BenchmarkHeap); ExternalDNS has no pprof, so its heap is the lower of the
// first two scrapes of its /metrics (every 100 ms) that follow a collection
// of its own (its syncs allocate; at worst the runtime forces one every two
// minutes), cross-checked with gctrace's live heap.
//
// 2. Readiness propagation: from the API write of a Pod's status (Ready
// True/False) returning to clusterzone's answer for the Pod's name changing
// (A record gone, or back), polled over UDP every 0.3 ms; -readiness-changes
// changes alternating unready/ready on different Pods (at most two unready at
// a time). The path includes the EndpointSlice controller. The first
// -externaldns-changes changes are also timed on ExternalDNS (run with
// --events --listen-endpoint-events --min-event-sync-interval=1s: a change
// schedules a sync 5 s later at the earliest) until its log shows the name
// deleted or created; ExternalDNS is stopped before the others, which are
// measured on clusterzone alone. Nothing is asserted.
func BenchmarkHeadless(b *testing.B) {
	nSvc, nPod := *headlessServices, *headlessPods
	if nSvc < 1 || nPod < 1 || nSvc*nPod > 1<<20 {
		b.Fatalf("-headless-services %d -headless-pods %d: want positive counts, at most 2^20 Pods", nSvc, nPod)
	}
	if *readinessChanges < 0 || *ednsChanges < 0 {
		b.Fatalf("-readiness-changes %d -externaldns-changes %d: want counts >= 0", *readinessChanges, *ednsChanges)
	}
	total := nSvc * nPod
	names := nSvc * (nPod + 1)
	ctx := context.Background()

	c := harness.StartCluster(b)
	c.StartControllerManager(b)
	c.CreateNamespace(b, headlessNS)
	for i := 0; i < headlessNodes; i++ {
		c.CreateNode(b, fmt.Sprintf("node-%d", i), corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("192.0.2.%d", i+1)})
	}

	b.ResetTimer()
	took := createServices(b, c, 0, nSvc, *loadWorkers, func(s int) *corev1.Service {
		svc, _, _ := headlessNames(s, 0)
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: svc, Namespace: headlessNS, Annotations: map[string]string{hostnameAnn: svc + "." + headlessZone}},
			Spec: corev1.ServiceSpec{
				ClusterIP: corev1.ClusterIPNone,
				Selector:  map[string]string{"app": svc},
				Ports:     []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(80)}},
			},
		}
	}, func(ctx context.Context, cs kubernetes.Interface, s int, _ *corev1.Service) error {
		for p := 0; p < nPod; p++ {
			if err := createHeadlessPod(ctx, cs, s, p, nPod); err != nil {
				return err
			}
		}
		return nil
	})
	b.Logf("%d headless Services and %d Pods created in %v (%.0f Pods per second)", nSvc, total, took.Round(100*time.Millisecond), float64(total)/took.Seconds())
	slicesTook := waitHeadlessSlices(b, c, nSvc, total, 10*time.Minute)
	b.Logf("every Pod in an EndpointSlice, ready, with its hostname, %v after the last write", slicesTook.Round(100*time.Millisecond))

	// 1. Memory.
	base := startServer(b, "baseline", ".", "    whoami")
	cz := startServer(b, "clusterzone", headlessZone, fmt.Sprintf(`    clusterzone {
        kubeconfig %s
        owner-id bench
    }`, c.Kubeconfig))
	ednsArgs := []string{
		"--kubeconfig=" + c.AdminKubeconfig,
		"--source=service",
		"--provider=inmemory",
		"--inmemory-zone=" + headlessZone,
		"--domain-filter=" + headlessZone,
		"--registry=noop",
		"--interval=" + ednsInterval,
		"--events",
		"--listen-endpoint-events",
		"--min-event-sync-interval=1s",
	}
	ednsStarted := time.Now()
	edns := harness.StartExternalDNSEnv(b, []string{"GODEBUG=gctrace=1"}, ednsArgs...)

	rng := rand.New(rand.NewPCG(1, 2))
	sample := rng.Perm(total)[:min(total, 100)]
	var ednsSync time.Duration
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		errs[0] = waitSynced(cz, 15*time.Minute, func() error {
			v, err := cz.metric("coredns_clusterzone_names")
			if err != nil {
				return err
			}
			if int(v) < names {
				return fmt.Errorf("coredns_clusterzone_names %v, want %d", v, names)
			}
			return checkClusterzone(cz.Addr, sample, nPod)
		})
	}()
	go func() {
		defer wg.Done()
		ednsSync, errs[1] = waitExternalDNS(edns, ednsStarted, names, 15*time.Minute)
	}()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := checkExternalDNS(edns.LogPath, sample, nPod); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d names: clusterzone loaded in %v, ExternalDNS's first sync done %v after its start; %d sampled Pod names and their Services' names checked in both",
		names, cz.syncTook.Round(10*time.Millisecond), ednsSync.Round(10*time.Millisecond), len(sample))

	time.Sleep(3 * time.Second)
	r := headlessReport{
		Shape:    fmt.Sprintf("headless Services (hostname annotation, selector, one port), %d ready Pods each with spec.hostname/subdomain, IPv4, %d Nodes; EndpointSlices from kube-controller-manager", nPod, headlessNodes),
		Services: nSvc, PodsPerService: nPod, Pods: total, Names: names, Nodes: headlessNodes,
		CreateSeconds: took.Seconds(), SlicesSeconds: slicesTook.Seconds(),
		Baseline: measure(b, base), Clusterzone: measure(b, cz),
		ExternalDNSArgs: ednsArgs, Checked: len(sample),
		PollIntervalMs: ms(pollInterval),
	}
	base.cd.Stop(b)
	var gcWait time.Duration
	r.ExternalDNS, r.ExternalDNSLiveMiB, gcWait = measureExternalDNS(b, edns, 150*time.Second)
	r.ExternalDNSHeap = fmt.Sprintf("no forced GC (ExternalDNS serves no pprof): the lowest of /metrics scraped every 100 ms just after one of its own collections, within %.0f s", gcWait.Seconds())
	r.Clusterzone.SyncSeconds, r.ExternalDNS.SyncSeconds = cz.syncTook.Seconds(), ednsSync.Seconds()
	r.ClusterzoneNetPerPod = (r.Clusterzone.Alloc - r.Baseline.Alloc) / float64(total)
	r.ExternalDNSPerPod = r.ExternalDNS.Alloc / float64(total)
	r.HeapRatio, r.RSSRatio = r.ExternalDNS.Alloc/r.Clusterzone.Alloc, r.ExternalDNS.RSS/r.Clusterzone.RSS

	// 2. Readiness propagation.
	cs := c.Admin
	pods := cs.CoreV1().Pods(headlessNS)
	pz := newPoller(b, cz.Addr)
	sw := watchSlices(b, c)
	order := rng.Perm(total)
	nextPod := 0
	takePod := func() int { g := order[nextPod%total]; nextPod++; return g }
	var unready []int // FIFO: made unready, not yet ready again
	// change sets the readiness of Pod g and returns how long the write took,
	// when it returned, and where the EndpointSlice watch sends when it sees
	// the change.
	change := func(g int, ready bool) (time.Duration, time.Time, <-chan time.Time) {
		s, p := g/nPod, g%nPod
		svc, pod, _ := headlessNames(s, p)
		cur, err := pods.Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		harness.SetReadyConditions(&cur.Status, ready, metav1.Now())
		seen := sw.expect(svc, pod, ready)
		start := time.Now()
		if _, err := pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
			b.Fatalf("pod %s ready=%v: %v", pod, ready, err)
		}
		wrote := time.Now()
		return wrote.Sub(start), wrote, seen
	}
	want := func(g int, ready bool) (string, []string) {
		s, p := g/nPod, g%nPod
		svc, _, host := headlessNames(s, p)
		if ready {
			return host + "." + svc + "." + headlessZone + ".", []string{"A " + podIP(g)}
		}
		return host + "." + svc + "." + headlessZone + ".", nil
	}
	var elog *logWatch
	if *ednsChanges > 0 {
		var err error
		if elog, err = newLogWatch(edns.LogPath); err != nil {
			b.Fatal(err)
		}
		defer elog.close()
	}
	// One unready Pod beforehand, so that each change below is on another
	// Pod than the previous one: unready the next Pod, ready the oldest.
	{
		g := takePod()
		change(g, false)
		name, w := want(g, false)
		if _, _, err := pz.waitFor(name, dns.TypeA, w, pollInterval, 30*time.Second); err != nil {
			b.Fatalf("clusterzone, warm-up change: %v", err)
		}
		if elog != nil {
			if _, err := elog.waitFor("DELETE: "+strings.TrimSuffix(name, ".")+" ", 5*time.Millisecond, 2*time.Minute); err != nil {
				b.Fatalf("ExternalDNS, warm-up change: %v", err)
			}
		}
		unready = append(unready, g)
	}
	step := func() (g int, ready bool) {
		if len(unready) < 2 {
			g = takePod()
			unready = append(unready, g)
			return g, false
		}
		g, unready = unready[0], unready[1:]
		return g, true
	}
	kindOf := func(ready bool) string {
		if ready {
			return "ready"
		}
		return "unready"
	}

	var samples []propSample
	if *ednsChanges > 0 {
		for i := 0; i < *ednsChanges; i++ {
			time.Sleep(time.Duration(5+rng.IntN(20)) * time.Millisecond)
			g, ready := step()
			name, w := want(g, ready)
			op := "DELETE: "
			if ready {
				op = "CREATE: "
			}
			if err := elog.skip(); err != nil {
				b.Fatal(err)
			}
			write, wrote, _ := change(g, ready)
			var zAt, eAt time.Time
			var zPolls int
			var zErr, eErr error
			var pw sync.WaitGroup
			pw.Add(2)
			go func() {
				defer pw.Done()
				zAt, zPolls, zErr = pz.waitFor(name, dns.TypeA, w, pollInterval, 30*time.Second)
			}()
			go func() {
				defer pw.Done()
				eAt, eErr = elog.waitFor(op+strings.TrimSuffix(name, ".")+" ", 5*time.Millisecond, 2*time.Minute)
			}()
			pw.Wait()
			if zErr != nil {
				b.Fatalf("change %d (%s) not served by clusterzone: %v", i, kindOf(ready), zErr)
			}
			if eErr != nil {
				b.Fatalf("change %d (%s) not applied by ExternalDNS: %v\n%s", i, kindOf(ready), eErr, tail(edns.Log(), 20))
			}
			samples = append(samples,
				propSample{kind: "edns-" + kindOf(ready), contender: "clusterzone", write: write, lat: zAt.Sub(wrote), polls: zPolls},
				propSample{kind: kindOf(ready), contender: "externaldns", write: write, lat: eAt.Sub(wrote)})
		}
	}
	edns.Stop(b)
	for i := 0; i < *readinessChanges; i++ {
		// A short, irregular pause so that changes are not in step with
		// anything periodic in the watchers.
		time.Sleep(time.Duration(5+rng.IntN(20)) * time.Millisecond)
		g, ready := step()
		name, w := want(g, ready)
		write, wrote, seen := change(g, ready)
		at, polls, err := pz.waitFor(name, dns.TypeA, w, pollInterval, 30*time.Second)
		if err != nil {
			b.Fatalf("change %d (%s) not served by clusterzone: %v", i, kindOf(ready), err)
		}
		var sliceAt time.Time
		select {
		case sliceAt = <-seen:
		case <-time.After(30 * time.Second):
			b.Fatalf("change %d (%s): the EndpointSlice watch saw no change", i, kindOf(ready))
		}
		samples = append(samples,
			propSample{kind: kindOf(ready), contender: "clusterzone", write: write, lat: at.Sub(wrote), polls: polls},
			propSample{kind: kindOf(ready), contender: "endpointslice", write: write, lat: sliceAt.Sub(wrote)},
			propSample{kind: "from-slice", contender: "clusterzone", write: write, lat: at.Sub(sliceAt)})
	}
	b.StopTimer()

	var rows []propSummary
	if *readinessChanges > 0 {
		rows = append(rows,
			propagationSummary(samples, "clusterzone", "unready", "unready"),
			propagationSummary(samples, "clusterzone", "ready", "ready"),
			propagationSummary(samples, "clusterzone", "all", "unready", "ready"),
			propagationSummary(samples, "endpointslice", "all", "unready", "ready"),
			propagationSummary(samples, "clusterzone", "from-slice", "from-slice"))
	}
	if *ednsChanges > 0 {
		rows = append(rows,
			propagationSummary(samples, "externaldns", "unready", "unready"),
			propagationSummary(samples, "externaldns", "ready", "ready"),
			propagationSummary(samples, "externaldns", "all", "unready", "ready"),
			propagationSummary(samples, "clusterzone", "edns-all", "edns-unready", "edns-ready"))
	}
	r.Readiness = rows

	b.ReportMetric(0, "ns/op")
	b.ReportMetric(mb(r.Clusterzone.Alloc), "cz-heap-MiB")
	b.ReportMetric(mb(r.ExternalDNS.Alloc), "edns-heap-MiB")
	if *readinessChanges > 0 {
		b.ReportMetric(rows[2].P50, "cz-ready-p50-ms")
		b.ReportMetric(rows[2].P99, "cz-ready-p99-ms")
	}
	b.Logf("memory, %d headless Services x %d Pods (%d names), from one kube-apiserver:", nSvc, nPod, names)
	b.Logf("  %-12s %10s %10s %12s %10s %10s %10s %11s", "process", "heap MiB", "net MiB", "heap_objects", "RSS MiB", "HWM MiB", "B/Pod", "loaded in")
	for _, row := range []struct {
		name   string
		s      heapSample
		net    string
		perPod float64
	}{
		{"baseline", r.Baseline, "-", 0},
		{"clusterzone", r.Clusterzone, fmt.Sprintf("%.1f", mb(r.Clusterzone.Alloc-r.Baseline.Alloc)), r.ClusterzoneNetPerPod},
		{"externaldns", r.ExternalDNS, "-", r.ExternalDNSPerPod},
	} {
		loaded, per := "-", "-"
		if row.s.SyncSeconds > 0 {
			loaded = fmt.Sprintf("%.2fs", row.s.SyncSeconds)
		}
		if row.perPod > 0 {
			per = fmt.Sprintf("%.0f", row.perPod)
		}
		b.Logf("  %-12s %10.1f %10s %12.0f %10.1f %10.1f %10s %11s", row.name, mb(row.s.Alloc), row.net, row.s.Objects, mb(row.s.RSS), mb(row.s.HWM), per, loaded)
	}
	b.Logf("  ExternalDNS / clusterzone: heap %.2fx, RSS %.2fx; ExternalDNS's gctrace live heap %.0f MiB", r.HeapRatio, r.RSSRatio, r.ExternalDNSLiveMiB)
	b.Logf("  (clusterzone, baseline: after a forced GC, net = less the whoami baseline, B/Pod of the net heap; ExternalDNS: %s, B/Pod of its whole heap)", r.ExternalDNSHeap)
	b.Logf("  (created in %.1f s, in EndpointSlices %.1f s later; loaded in = process start to serving every name / first sync done)", r.CreateSeconds, r.SlicesSeconds)
	b.Logf("readiness (Pod status write returned -> answer changed), polling every %v:", pollInterval)
	b.Logf("  %-13s %-10s %5s %9s %9s %9s %9s %12s", "server", "change", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", "API write ms")
	for _, x := range rows {
		b.Logf("  %-13s %-10s %5d %9.2f %9.2f %9.2f %9.2f %12.2f", x.Contender, x.Kind, x.N, x.P50, x.P90, x.P99, x.Max, x.APIWriteP50)
	}
	if *ednsChanges > 0 {
		b.Logf("  (edns-all: clusterzone on the changes ExternalDNS was timed on, while it ran; the others with ExternalDNS stopped)")
	}
	if *readinessChanges > 0 {
		b.Logf("  (endpointslice: write returned -> the EndpointSlice change seen on a watch of this process; from-slice: that -> clusterzone's answer)")
	}
	writeResults(b, "headless", r)
}

// sliceWatch watches the benchmark's EndpointSlices, to tell when the
// EndpointSlice controller has written a change.
type sliceWatch struct {
	mu   sync.Mutex
	want *sliceWant
}

type sliceWant struct {
	svc, pod string
	ready    bool
	seen     chan time.Time
}

// watchSlices starts a watch of the namespace's EndpointSlices (again from
// the last resourceVersion when the API server ends it) until b ends.
func watchSlices(b *testing.B, c *harness.Cluster) *sliceWatch {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	api := c.Admin.DiscoveryV1().EndpointSlices(headlessNS)
	list, err := api.List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		b.Fatal(err)
	}
	w := &sliceWatch{}
	rv := list.ResourceVersion
	done := make(chan struct{})
	b.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			wi, err := api.Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			for ev := range wi.ResultChan() {
				at := time.Now()
				if ev.Type == watch.Error { // e.g. resourceVersion too old: start again from now
					if l, err := api.List(ctx, metav1.ListOptions{Limit: 1}); err == nil {
						rv = l.ResourceVersion
					}
					break
				}
				s, ok := ev.Object.(*discoveryv1.EndpointSlice)
				if !ok {
					continue
				}
				rv = s.ResourceVersion
				w.saw(s, at)
			}
			wi.Stop()
		}
	}()
	return w
}

// expect registers the change to watch for: Pod pod of Service svc ready or
// not; the returned channel receives when a slice shows it.
func (w *sliceWatch) expect(svc, pod string, ready bool) <-chan time.Time {
	ch := make(chan time.Time, 1)
	w.mu.Lock()
	w.want = &sliceWant{svc: svc, pod: pod, ready: ready, seen: ch}
	w.mu.Unlock()
	return ch
}

func (w *sliceWatch) saw(s *discoveryv1.EndpointSlice, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	want := w.want
	if want == nil || s.Labels[discoveryv1.LabelServiceName] != want.svc {
		return
	}
	for _, ep := range s.Endpoints {
		if ep.TargetRef != nil && ep.TargetRef.Name == want.pod && (ep.Conditions.Ready == nil || *ep.Conditions.Ready) == want.ready {
			want.seen <- at
			w.want = nil
			return
		}
	}
}

// createHeadlessPod creates Pod p of Service s as a kubelet would leave it
// (harness.NewPod): bound to a Node, hostname and subdomain set, then its
// status: Running, its IP, Ready.
func createHeadlessPod(ctx context.Context, cs kubernetes.Interface, s, p, nPod int) error {
	svc, name, host := headlessNames(s, p)
	g := s*nPod + p
	_, err := harness.NewPod(ctx, cs, headlessNS, harness.PodSpec{
		Name: name, Labels: map[string]string{"app": svc},
		NodeName: fmt.Sprintf("node-%d", g%headlessNodes), Hostname: host, Subdomain: svc,
		IPs: []string{podIP(g)}, HostIP: fmt.Sprintf("192.0.2.%d", g%headlessNodes+1), Ready: true,
	})
	return err
}

// waitHeadlessSlices polls the namespace's EndpointSlices every second until
// every Service has its Pods in them, ready and with their hostnames, and
// returns how long that took.
func waitHeadlessSlices(b *testing.B, c *harness.Cluster, nSvc, total int, timeout time.Duration) time.Duration {
	b.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		list, err := c.Admin.DiscoveryV1().EndpointSlices(headlessNS).List(context.Background(), metav1.ListOptions{})
		ready := 0
		svcs := map[string]bool{}
		if err == nil {
			for _, s := range list.Items {
				svcs[s.Labels[discoveryv1.LabelServiceName]] = true
				for _, e := range s.Endpoints {
					if e.Conditions.Ready != nil && *e.Conditions.Ready && e.Hostname != nil && *e.Hostname != "" {
						ready++
					}
				}
			}
			if ready == total && len(svcs) == nSvc {
				return time.Since(start)
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("EndpointSlices not complete within %v: %d Services with slices of %d, %d ready endpoints with a hostname of %d (list error %v)\nkube-controller-manager log:\n%s",
				timeout, len(svcs), nSvc, ready, total, err, tailFileText(c.ControllerManagerLog, 40))
		}
		time.Sleep(time.Second)
	}
}

func tailFileText(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return tail(string(data), n)
}

// checkClusterzone checks that each sampled Pod's name answers its IP and
// its Service's name answers nPod addresses.
func checkClusterzone(addr string, sample []int, nPod int) error {
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	for _, g := range sample {
		svc, _, host := headlessNames(g/nPod, g%nPod)
		if err := expectA(addr, host+"."+svc+"."+headlessZone+".", podIP(g)); err != nil {
			return err
		}
		r, _, err := c.Exchange(new(dns.Msg).SetQuestion(svc+"."+headlessZone+".", dns.TypeA), addr)
		if err != nil {
			return err
		}
		if len(r.Answer) != nPod {
			return fmt.Errorf("%s.%s A: %d answers, want %d", svc, headlessZone, len(r.Answer), nPod)
		}
	}
	return nil
}

// waitExternalDNS waits until ExternalDNS's first sync has run with every
// name: external_dns_controller_last_sync_timestamp_seconds is set and
// external_dns_source_endpoints_total is names. It returns the time from
// started.
func waitExternalDNS(e *harness.ExternalDNS, started time.Time, names int, timeout time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if e.Exited() {
			return 0, fmt.Errorf("external-dns exited:\n%s", tail(e.Log(), 40))
		}
		text, err := httpGet(e.MetricsURL + "/metrics")
		if err == nil {
			synced, _ := harness.SumMetric(text, "external_dns_controller_last_sync_timestamp_seconds", nil)
			endpoints, _ := harness.SumMetric(text, "external_dns_source_endpoints_total", nil)
			if synced > 0 && int(endpoints) == names {
				return time.Since(started), nil
			}
			err = fmt.Errorf("last sync %v, source endpoints %v, want %d", synced, endpoints, names)
		}
		last = err
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("external-dns not synced within %v: %v\n%s", timeout, last, tail(e.Log(), 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkExternalDNS checks, in ExternalDNS's log (the inmemory provider logs
// "CREATE: <name> <ttl> IN A  <targets> []" per record), that each sampled
// Pod's name was created with its IP and its Service's name with nPod
// targets.
func checkExternalDNS(logPath string, sample []int, nPod int) error {
	data, err := os.ReadFile(logPath)
	if err != nil {
		return err
	}
	created := map[string]string{} // name -> targets
	for _, line := range strings.Split(string(data), "\n") {
		_, rest, ok := strings.Cut(line, "CREATE: ")
		if !ok {
			continue
		}
		f := strings.Fields(strings.TrimRight(rest, `"`))
		if len(f) >= 5 && f[2] == "IN" && f[3] == "A" {
			created[f[0]] = f[4]
		}
	}
	for _, g := range sample {
		svc, _, host := headlessNames(g/nPod, g%nPod)
		name := host + "." + svc + "." + headlessZone
		if got := created[name]; got != podIP(g) {
			return fmt.Errorf("ExternalDNS created %s A %q, want %s (%d names created)", name, got, podIP(g), len(created))
		}
		if n := len(strings.Split(created[svc+"."+headlessZone], ";")); n != nPod {
			return fmt.Errorf("ExternalDNS created %s.%s A with %d targets, want %d", svc, headlessZone, n, nPod)
		}
	}
	return nil
}

var gctraceLine = regexp.MustCompile(`gc \d+ @[0-9.]+s [0-9]+%: .* (\d+)->(\d+)->(\d+) MB`)

// measureExternalDNS scrapes ExternalDNS's /metrics every 100 ms until it
// has seen two of its garbage collections (go_gc_duration_seconds_count went
// up since the previous scrape), or one and 30 seconds, and returns the
// sample with the lowest heap, gctrace's live heap of the last collection
// (MiB) and how long it waited. It fails if no collection happened within
// timeout (the runtime forces one every two minutes).
func measureExternalDNS(b *testing.B, e *harness.ExternalDNS, timeout time.Duration) (heapSample, float64, time.Duration) {
	b.Helper()
	start := time.Now()
	var best heapSample
	seen := 0
	prev := -1.0
	for {
		if e.Exited() {
			b.Fatalf("external-dns exited:\n%s", tail(e.Log(), 40))
		}
		text, err := httpGet(e.MetricsURL + "/metrics")
		if err != nil {
			b.Fatalf("external-dns: %v", err)
		}
		gcs, ok := harness.SumMetric(text, "go_gc_duration_seconds_count", nil)
		if !ok {
			b.Fatalf("external-dns: no go_gc_duration_seconds_count in /metrics")
		}
		if prev >= 0 && gcs > prev {
			var h heapSample
			for name, dst := range map[string]*float64{
				"go_memstats_heap_alloc_bytes": &h.Alloc,
				"go_memstats_heap_inuse_bytes": &h.Inuse,
				"go_memstats_heap_objects":     &h.Objects,
			} {
				v, ok := harness.SumMetric(text, name, nil)
				if !ok {
					b.Fatalf("external-dns: no %s in /metrics", name)
				}
				*dst = v
			}
			if h.RSS, err = procStatusOf(e.Pid(), "VmRSS"); err != nil {
				b.Fatal(err)
			}
			if h.HWM, err = procStatusOf(e.Pid(), "VmHWM"); err != nil {
				b.Fatal(err)
			}
			if seen == 0 || h.Alloc < best.Alloc {
				best = h
			}
			seen++
		}
		prev = gcs
		waited := time.Since(start)
		if seen >= 2 || (seen == 1 && waited > 30*time.Second) {
			break
		}
		if waited > timeout {
			b.Fatalf("external-dns: no garbage collection within %v", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	live := 0.0
	if data, err := os.ReadFile(e.LogPath); err == nil {
		if m := gctraceLine.FindAllStringSubmatch(string(data), -1); len(m) > 0 {
			live, _ = strconv.ParseFloat(m[len(m)-1][3], 64)
		}
	}
	return best, live, time.Since(start)
}

// logWatch follows a growing log file, for a line that appears after a
// given moment.
type logWatch struct {
	f   *os.File
	off int64
	buf []byte // read, not yet searched: from the start of an incomplete line
}

func newLogWatch(path string) (*logWatch, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	w := &logWatch{f: f}
	return w, w.skip()
}

func (w *logWatch) close() { w.f.Close() }

// read appends what was written since the last read.
func (w *logWatch) read() error {
	chunk := make([]byte, 64<<10)
	for {
		n, err := w.f.ReadAt(chunk, w.off)
		w.buf = append(w.buf, chunk[:n]...)
		w.off += int64(n)
		if err == io.EOF || n < len(chunk) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// skip forgets everything written so far.
func (w *logWatch) skip() error {
	if err := w.read(); err != nil {
		return err
	}
	if i := bytes.LastIndexByte(w.buf, '\n'); i >= 0 {
		w.buf = w.buf[i+1:]
	}
	return nil
}

// waitFor reads the file every interval until a complete line written since
// the last skip or waitFor holds needle, and returns when it saw it.
func (w *logWatch) waitFor(needle string, interval, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		if err := w.read(); err != nil {
			return time.Time{}, err
		}
		now := time.Now()
		if end := bytes.LastIndexByte(w.buf, '\n'); end >= 0 {
			done := w.buf[:end+1]
			found := bytes.Contains(done, []byte(needle))
			w.buf = w.buf[end+1:]
			if found {
				return now, nil
			}
		}
		if now.After(deadline) {
			return now, fmt.Errorf("no line with %q within %v", needle, timeout)
		}
		time.Sleep(interval)
	}
}
