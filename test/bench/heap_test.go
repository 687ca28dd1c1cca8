package bench

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

var heapServices = flag.Int("services", 10000, "BenchmarkHeap: annotated dual-stack LoadBalancer Services to load")

const (
	heapNamespace = "bench"
	loadWorkers   = 8
)

// heapSample is what one process holds once synced, after a forced GC.
type heapSample struct {
	alloc, inuse, objects float64 // go_memstats_heap_{alloc,inuse}_bytes, heap_objects
	rss, hwm              float64 // /proc/PID/status VmRSS, VmHWM (peak)
	sync                  time.Duration
}

// BenchmarkHeap loads -services (10,000) annotated dual-stack LoadBalancer
// Services into a real API server, then runs side by side, from the same
// ./coredns binary:
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
// coredns_clusterzone_names gauge reaches -services; the kubernetes plugin
// answers for the last Service), each process is made to collect garbage
// (GET /debug/pprof/heap?gc=1), then go_memstats_heap_alloc_bytes (the live
// heap just after that GC), heap_inuse_bytes and VmRSS are read. Reported in
// MiB, and the kubernetes/clusterzone ratio of heap_alloc less the baseline.
func BenchmarkHeap(b *testing.B) {
	n := *heapServices
	if n < 1 {
		b.Fatalf("-services %d: want at least 1", n)
	}
	c := harness.StartCluster(b)
	c.CreateNamespace(b, heapNamespace)

	t0 := time.Now()
	loadServices(b, c, n)
	b.Logf("loaded %d dual-stack LoadBalancer Services (create + status) in %v", n, time.Since(t0).Round(time.Second))

	// Same binary, same extra plugins (prometheus, pprof), started together.
	base := startServer(b, "baseline", ".", "    whoami")
	cz := startServer(b, "clusterzone", "example.org", fmt.Sprintf(`    clusterzone {
        kubeconfig %s
        owner-id bench
    }`, c.Kubeconfig))
	k8s := startServer(b, "kubernetes", "cluster.local", fmt.Sprintf(`    kubernetes cluster.local {
        kubeconfig %s
    }`, c.AdminKubeconfig))

	last := n - 1
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		errs[0] = waitSynced(cz, 10*time.Minute, func() error {
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
		errs[1] = waitSynced(k8s, 10*time.Minute, func() error {
			return expectA(k8s.Addr, fmt.Sprintf("svc%d.%s.svc.cluster.local.", last, heapNamespace), "")
		})
	}()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}

	// Let the informers settle (the initial list's buffers become garbage),
	// then collect and read.
	time.Sleep(3 * time.Second)
	var samples [3]heapSample
	for i, s := range []*server{base, cz, k8s} {
		samples[i] = measure(b, s)
	}
	samples[1].sync, samples[2].sync = cz.syncTook, k8s.syncTook
	bs, cs, ks := samples[0], samples[1], samples[2]

	czNet, k8sNet := cs.alloc-bs.alloc, ks.alloc-bs.alloc
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(n), "services")
	b.ReportMetric(mb(cs.alloc), "cz-heap-MiB")
	b.ReportMetric(mb(ks.alloc), "k8s-heap-MiB")
	b.ReportMetric(mb(bs.alloc), "base-heap-MiB")
	b.ReportMetric(mb(czNet), "cz-net-MiB")
	b.ReportMetric(mb(k8sNet), "k8s-net-MiB")
	b.ReportMetric(k8sNet/czNet, "k8s/cz-net")
	b.ReportMetric(mb(cs.rss), "cz-rss-MiB")
	b.ReportMetric(mb(ks.rss), "k8s-rss-MiB")

	b.Logf("heap with %d Services, after a forced GC (MiB; net = less the whoami baseline):", n)
	b.Logf("  %-12s %10s %10s %10s %12s %10s %10s %8s", "process", "heap_alloc", "net", "heap_inuse", "heap_objects", "VmRSS", "VmHWM", "sync")
	for i, name := range []string{"baseline", "clusterzone", "kubernetes"} {
		s := samples[i]
		sync := "-"
		if s.sync > 0 {
			sync = s.sync.Round(10 * time.Millisecond).String()
		}
		b.Logf("  %-12s %10.1f %10.1f %10.1f %12.0f %10.1f %10.1f %8s", name, mb(s.alloc), mb(s.alloc-bs.alloc), mb(s.inuse), s.objects, mb(s.rss), mb(s.hwm), sync)
	}
	b.Logf("kubernetes/clusterzone: heap_alloc %.2fx, net of baseline %.2fx, heap_inuse %.2fx, RSS %.2fx; net bytes per Service: clusterzone %.0f, kubernetes %.0f",
		ks.alloc/cs.alloc, k8sNet/czNet, ks.inuse/cs.inuse, ks.rss/cs.rss, czNet/float64(n), k8sNet/float64(n))
	b.Logf("(sync = process start to fully loaded, both syncing at the same time on this machine; the kubernetes plugin runs with the admin kubeconfig for its RBAC)")
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
		"go_memstats_heap_alloc_bytes": &h.alloc,
		"go_memstats_heap_inuse_bytes": &h.inuse,
		"go_memstats_heap_objects":     &h.objects,
	} {
		v, ok := harness.SumMetric(text, name, nil)
		if !ok {
			b.Fatalf("%s: no %s in /metrics", s.name, name)
		}
		*dst = v
	}
	if h.rss, err = s.procStatus("VmRSS"); err != nil {
		b.Fatalf("%s: %v", s.name, err)
	}
	if h.hwm, err = s.procStatus("VmHWM"); err != nil {
		b.Fatalf("%s: %v", s.name, err)
	}
	return h
}

// waitSynced polls ready every 100ms until it returns nil and records how
// long it took since the process started.
func waitSynced(s *server, timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		if s.exited() {
			return fmt.Errorf("%s exited: %v\n%s", s.name, s.err, tail(s.out.String(), 40))
		}
		err := ready()
		if err == nil {
			s.syncTook = time.Since(s.started)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not synced within %v: %v\n%s", s.name, timeout, err, tail(s.out.String(), 40))
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

func svcIPv4(i int) string { return fmt.Sprintf("198.19.%d.%d", i/250, i%250+1) }
func svcIPv6(i int) string { return fmt.Sprintf("2001:db8:19::%x", i+1) }

// loadServices creates n annotated dual-stack LoadBalancer Services in
// heapNamespace, each with an IPv4 and an IPv6 ingress address (set through
// the status subresource, as a cloud controller does), with loadWorkers
// concurrent writers.
func loadServices(b *testing.B, c *harness.Cluster, n int) {
	b.Helper()
	cfg := rest.CopyConfig(c.AdminConfig)
	cfg.QPS, cfg.Burst = 5000, 10000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	svcs := cs.CoreV1().Services(heapNamespace)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pol := corev1.IPFamilyPolicyRequireDualStack
	noNodePorts := false // 10,000 LoadBalancers would exhaust the NodePort range
	var next, done atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < loadWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				svc, err := svcs.Create(ctx, &corev1.Service{
					ObjectMeta: metav1.ObjectMeta{
						Name:        fmt.Sprintf("svc%d", i),
						Namespace:   heapNamespace,
						Annotations: map[string]string{hostnameAnn: fmt.Sprintf("svc%d.example.org", i)},
					},
					Spec: corev1.ServiceSpec{
						Type:           corev1.ServiceTypeLoadBalancer,
						IPFamilyPolicy: &pol,
						IPFamilies:     []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
						Ports:          []corev1.ServicePort{{Name: "https", Port: 443}},

						AllocateLoadBalancerNodePorts: &noNodePorts,
					},
				}, metav1.CreateOptions{})
				if err == nil {
					svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: svcIPv4(i)}, {IP: svcIPv6(i)}}
					_, err = svcs.UpdateStatus(ctx, svc, metav1.UpdateOptions{})
				}
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("service svc%d: %w", i, err); cancel() })
					return
				}
				if d := done.Add(1); d%2000 == 0 {
					b.Logf("  %d/%d Services loaded (%v)", d, n, time.Since(start).Round(time.Second))
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatalf("loading Services: %v", firstErr)
	}
	if done.Load() != int64(n) {
		b.Fatalf("loaded %d Services, want %d", done.Load(), n)
	}
}
