package bench

import (
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var (
	heapScales  = flag.String("scales", "1000,10000", "BenchmarkHeap: Service counts, ascending, comma-separated; loaded in turn into one API server (100000 is opt-in: make bench BENCH_SCALES=1000,10000,100000)")
	loadWorkers = flag.Int("load-workers", 64, "BenchmarkHeap: concurrent API writers loading Services")
	profileDir  = flag.String("heap-profiles", "", "BenchmarkHeap: save each process's heap profile (after the forced GC) into this folder, as SCALE-NAME.pb.gz")
)

const (
	heapNamespace = "bench"
	// The sentinel is a ClusterIP Service in a namespace that sorts after
	// heapNamespace: a LIST returns objects in key order and both plugins'
	// informers process the initial list in order, so when the kubernetes
	// plugin answers for the sentinel it holds every Service.
	sentinelNamespace = "zzz-sentinel"
)

// heapSample is what one process holds once synced, after a forced GC.
type heapSample struct {
	Alloc, Inuse, Objects float64 // go_memstats_heap_{alloc,inuse}_bytes, heap_objects
	RSS, HWM              float64 // /proc/PID/status VmRSS, VmHWM (peak)
	SyncSeconds           float64 `json:",omitempty"`
}

// heapScale is the result at one number of Services (heap.json).
type heapScale struct {
	Services      int
	CreateSeconds float64 // creating the Services added at this scale
	Baseline      heapSample
	Clusterzone   heapSample
	Kubernetes    heapSample
	// Heap less the baseline's, per Service, in bytes.
	ClusterzonePerService, KubernetesPerService float64
	// kubernetes / clusterzone: heap less baseline, RSS.
	NetHeapRatio, RSSRatio float64
}

// heapService is Service i of BenchmarkHeap: headless, with a hostname and a
// dual-stack target annotation (A and AAAA). Headless, because 100,000
// Services do not fit the test cluster's /16 and /112 ClusterIP ranges (and
// one API write per Service keeps loading 100,000 of them fast); both plugins
// keep every Service they watch, whatever its type.
func heapService(i int) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("svc%d", i),
			Namespace: heapNamespace,
			Annotations: map[string]string{
				hostnameAnn: fmt.Sprintf("svc%d.example.org", i),
				targetAnn:   svcIPv4(i) + "," + svcIPv6(i),
			},
		},
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Ports:     []corev1.ServicePort{{Name: "https", Port: 443}},
		},
	}
}

const targetAnn = "external-dns.alpha.kubernetes.io/target"

// BenchmarkHeap loads -scales Services (1,000, then up to 10,000, and
// 100,000 when asked) into a real API server, and at each scale runs side by
// side, from the same ./coredns binary, started together:
//
//   - clusterzone: `clusterzone { kubeconfig }` for example.org (RBAC of
//     deploy/rbac.yaml);
//   - kubernetes: CoreDNS's kubernetes plugin for cluster.local, watching the
//     same Services (it also watches EndpointSlices and Namespaces, so it runs
//     with the admin kubeconfig; there are no EndpointSlices or Pods here:
//     no controller manager);
//   - baseline: only whoami, the heap of the binary itself.
//
// Each also runs prometheus and pprof. When both are synced (clusterzone's
// coredns_clusterzone_names gauge reaches the scale and it answers for the
// last Service; the kubernetes plugin answers for the sentinel Service, which
// it processes last), each process is made to collect garbage (GET
// /debug/pprof/heap?gc=1), then go_memstats_heap_alloc_bytes (the live heap
// just after that GC), heap_inuse_bytes and VmRSS are read; the processes are
// stopped before the next scale is loaded. Reported per scale: MiB, bytes per
// Service less the baseline, the kubernetes/clusterzone ratios, and the time
// from process start to fully loaded (both loading at the same time).
func BenchmarkHeap(b *testing.B) {
	var scales []int
	for _, f := range strings.Split(*heapScales, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || (len(scales) > 0 && n <= scales[len(scales)-1]) {
			b.Fatalf("-scales %q: want ascending positive counts", *heapScales)
		}
		scales = append(scales, n)
	}
	c := harness.StartCluster(b)
	c.CreateNamespace(b, heapNamespace)
	c.CreateNamespace(b, sentinelNamespace)
	createServices(b, c, 0, 1, 1, func(int) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "sentinel", Namespace: sentinelNamespace},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: 443}}},
		}
	}, nil)

	var results []heapScale
	have := 0
	b.ResetTimer()
	for _, n := range scales {
		took := createServices(b, c, have, n, *loadWorkers, heapService, nil)
		b.Logf("%d Services loaded (%d created in %v, %.0f per second)", n, n-have, took.Round(100*time.Millisecond), float64(n-have)/took.Seconds())
		have = n
		r := measureScale(b, c, n)
		r.CreateSeconds = took.Seconds()
		results = append(results, r)
	}
	b.StopTimer()

	b.ReportMetric(0, "ns/op")
	for _, r := range results {
		b.ReportMetric(r.ClusterzonePerService, fmt.Sprintf("cz-B/svc@%d", r.Services))
		b.ReportMetric(r.KubernetesPerService, fmt.Sprintf("k8s-B/svc@%d", r.Services))
	}
	b.Logf("heap after a forced GC, less the whoami baseline (net), and RSS; sync = process start to fully loaded (both at once):")
	b.Logf("  %9s %-12s %10s %10s %10s %12s %10s %10s %9s %8s", "services", "process", "heap MiB", "net MiB", "B/Service", "heap_objects", "RSS MiB", "HWM MiB", "sync", "k8s/cz")
	for _, r := range results {
		for _, row := range []struct {
			name string
			s    heapSample
			per  float64
		}{{"baseline", r.Baseline, 0}, {"clusterzone", r.Clusterzone, r.ClusterzonePerService}, {"kubernetes", r.Kubernetes, r.KubernetesPerService}} {
			sync, ratio := "-", ""
			if row.s.SyncSeconds > 0 {
				sync = fmt.Sprintf("%.2fs", row.s.SyncSeconds)
			}
			if row.name == "kubernetes" {
				ratio = fmt.Sprintf("%.2fx", r.NetHeapRatio)
			}
			b.Logf("  %9d %-12s %10.1f %10.1f %10.0f %12.0f %10.1f %10.1f %9s %8s", r.Services, row.name, mb(row.s.Alloc), mb(row.s.Alloc-r.Baseline.Alloc), row.per, row.s.Objects, mb(row.s.RSS), mb(row.s.HWM), sync, ratio)
		}
	}
	b.Logf("(k8s/cz: kubernetes plugin's net heap / clusterzone's; the kubernetes plugin runs with the admin kubeconfig for its RBAC)")
	writeResults(b, "heap", map[string]any{"Shape": "headless Services, hostname + dual-stack target annotations, one port", "Scales": results})
}

// measureScale starts baseline, clusterzone and kubernetes, waits for both
// to be synced with n Services, measures the three and stops them.
func measureScale(b *testing.B, c *harness.Cluster, n int) heapScale {
	b.Helper()
	base := startServer(b, "baseline", ".", "    whoami")
	cz := startServer(b, "clusterzone", "example.org", fmt.Sprintf(`    clusterzone {
        kubeconfig %s
        owner-id bench
    }`, c.Kubeconfig))
	k8s := startServer(b, "kubernetes", "cluster.local", fmt.Sprintf(`    kubernetes cluster.local {
        kubeconfig %s
    }`, c.AdminKubeconfig))
	defer func() {
		for _, s := range []*server{cz, k8s, base} {
			s.cd.Stop(b)
		}
	}()

	last := n - 1
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
			if int(v) < n {
				return fmt.Errorf("coredns_clusterzone_names %v, want %d", v, n)
			}
			return expectA(cz.Addr, fmt.Sprintf("svc%d.example.org.", last), svcIPv4(last))
		})
	}()
	go func() {
		defer wg.Done()
		errs[1] = waitSynced(k8s, 15*time.Minute, func() error {
			return expectA(k8s.Addr, "sentinel."+sentinelNamespace+".svc.cluster.local.", "")
		})
	}()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d Services: clusterzone loaded in %v, kubernetes in %v", n, cz.syncTook.Round(10*time.Millisecond), k8s.syncTook.Round(10*time.Millisecond))

	// Let the informers settle (the initial list's buffers become garbage),
	// then collect and read.
	time.Sleep(3 * time.Second)
	r := heapScale{Services: n, Baseline: measure(b, base), Clusterzone: measure(b, cz), Kubernetes: measure(b, k8s)}
	if *profileDir != "" {
		for _, s := range []*server{cz, k8s} {
			if err := s.saveHeapProfile(filepath.Join(*profileDir, fmt.Sprintf("%d-%s.pb.gz", n, s.name))); err != nil {
				b.Fatalf("%s: %v", s.name, err)
			}
		}
	}
	r.Clusterzone.SyncSeconds, r.Kubernetes.SyncSeconds = cz.syncTook.Seconds(), k8s.syncTook.Seconds()
	czNet, k8sNet := r.Clusterzone.Alloc-r.Baseline.Alloc, r.Kubernetes.Alloc-r.Baseline.Alloc
	r.ClusterzonePerService, r.KubernetesPerService = czNet/float64(n), k8sNet/float64(n)
	r.NetHeapRatio, r.RSSRatio = k8sNet/czNet, r.Kubernetes.RSS/r.Clusterzone.RSS
	return r
}

// measure forces a GC in s and reads its heap and RSS.
func measure(b *testing.B, s *server) heapSample {
	b.Helper()
	// Two collections: the second also frees what finalizers released.
	for i := 0; i < 2; i++ {
		if err := s.forceGC(); err != nil {
			b.Fatalf("%s: forcing a GC: %v", s.name, err)
		}
	}
	text, err := s.scrape()
	if err != nil {
		b.Fatalf("%s: %v", s.name, err)
	}
	var h heapSample
	for name, dst := range map[string]*float64{
		"go_memstats_heap_alloc_bytes": &h.Alloc,
		"go_memstats_heap_inuse_bytes": &h.Inuse,
		"go_memstats_heap_objects":     &h.Objects,
	} {
		v, ok := harness.SumMetric(text, name, nil)
		if !ok {
			b.Fatalf("%s: no %s in /metrics", s.name, name)
		}
		*dst = v
	}
	if h.RSS, err = s.procStatus("VmRSS"); err != nil {
		b.Fatalf("%s: %v", s.name, err)
	}
	if h.HWM, err = s.procStatus("VmHWM"); err != nil {
		b.Fatalf("%s: %v", s.name, err)
	}
	return h
}

// waitSynced polls ready every 100ms until it returns nil and records how
// long it took since the process started.
func waitSynced(s *server, timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		if s.cd.Exited() {
			return fmt.Errorf("%s exited:\n%s", s.name, tail(s.cd.Log(), 40))
		}
		err := ready()
		if err == nil {
			s.syncTook = time.Since(s.started)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not synced within %v: %v\n%s", s.name, timeout, err, tail(s.cd.Log(), 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// expectA queries name A once; want "" accepts any address.
func expectA(addr, name, want string) error {
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	r, _, err := c.Exchange(new(dns.Msg).SetQuestion(name, dns.TypeA), addr)
	if err != nil {
		return err
	}
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		return fmt.Errorf("%s A: %s, %d answers", name, dns.RcodeToString[r.Rcode], len(r.Answer))
	}
	if a, ok := r.Answer[0].(*dns.A); want != "" && (!ok || a.A.String() != want) {
		return fmt.Errorf("%s A: %v, want %s", name, r.Answer[0], want)
	}
	return nil
}

func svcIPv4(i int) string { return fmt.Sprintf("198.%d.%d.%d", 18+i/65536, (i/256)%256, i%256) }
func svcIPv6(i int) string { return fmt.Sprintf("2001:db8:19::%x", i+1) }
