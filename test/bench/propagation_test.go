package bench

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var propUpdates = flag.Int("updates", 200, "BenchmarkPropagation: updates per iteration (half load-balancer IP changes, half hostname changes)")

const (
	hostnameAnn = "external-dns.alpha.kubernetes.io/hostname"
	// pollInterval is the pause between two polling queries; one query on
	// loopback takes about 0.1 ms more, so a change is seen within ~0.5 ms.
	pollInterval = 300 * time.Microsecond
)

// BenchmarkPropagation measures how long a change written to the API server
// takes to be served: from the API write (Update or UpdateStatus) returning
// to the first UDP reply carrying the new answer, with a query every ~0.5 ms.
// Updates alternate between a new load-balancer ingress IP (status
// subresource, as a cloud controller writes it) and a new hostname annotation.
// It reports p50, p99 and max in milliseconds; ns/op is not meaningful and is
// not reported.
func BenchmarkPropagation(b *testing.B) {
	if *propUpdates < 1 {
		b.Fatalf("-updates %d: want at least 1", *propUpdates)
	}
	c := harness.StartCluster(b)
	ctx := context.Background()
	ns := c.CreateNamespace(b, "prop")
	svcs := c.Admin.CoreV1().Services(ns)

	port := harness.FreePort(b)
	cd := harness.StartCoreDNS(b, fmt.Sprintf(`example.org:%d {
    clusterzone {
        kubeconfig %s
        owner-id bench
    }
}
`, port, c.Kubeconfig))

	pol := corev1.IPFamilyPolicyRequireDualStack
	cur, err := svcs.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "prop", Namespace: ns, Annotations: map[string]string{hostnameAnn: "prop-0.example.org"}},
		Spec: corev1.ServiceSpec{
			Type:           corev1.ServiceTypeLoadBalancer,
			IPFamilyPolicy: &pol,
			IPFamilies:     []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
			Ports:          []corev1.ServicePort{{Name: "https", Port: 443}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	cur.Status.LoadBalancer.Ingress = ingress(0)
	if cur, err = svcs.UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
		b.Fatal(err)
	}
	p := newPoller(b, cd.Addr)
	if _, _, err := p.waitFor("prop-0.example.org.", dns.TypeA, []string{"A " + ipv4(0)}, 10*time.Millisecond, 30*time.Second); err != nil {
		b.Fatalf("initial answer: %v", err)
	}

	type sample struct {
		kind       string
		write, lat time.Duration
		polls      int
	}
	var samples []sample
	host, ip := 0, 0
	rng := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for iter := 0; iter < b.N; iter++ {
		for i := 0; i < *propUpdates; i++ {
			// A short, irregular pause so that updates are not in step with
			// anything periodic in the watcher.
			time.Sleep(time.Duration(5+rng.IntN(20)) * time.Millisecond)
			var (
				kind, name string
				want       []string
				write      func(*corev1.Service) (*corev1.Service, error)
			)
			if i%2 == 0 {
				ip++
				kind, name, want = "lb-ip", fmt.Sprintf("prop-%d.example.org.", host), []string{"A " + ipv4(ip)}
				write = func(s *corev1.Service) (*corev1.Service, error) {
					s.Status.LoadBalancer.Ingress = ingress(ip)
					return svcs.UpdateStatus(ctx, s, metav1.UpdateOptions{})
				}
			} else {
				host++
				kind, name, want = "hostname", fmt.Sprintf("prop-%d.example.org.", host), []string{"A " + ipv4(ip)}
				write = func(s *corev1.Service) (*corev1.Service, error) {
					s.Annotations[hostnameAnn] = fmt.Sprintf("prop-%d.example.org", host)
					return svcs.Update(ctx, s, metav1.UpdateOptions{})
				}
			}
			var start, wrote time.Time
			for attempt := 0; ; attempt++ {
				start = time.Now()
				next, err := write(cur.DeepCopy())
				wrote = time.Now()
				if err == nil {
					cur = next
					break
				}
				if !apierrors.IsConflict(err) || attempt > 5 {
					b.Fatalf("update %d (%s): %v", i, kind, err)
				}
				if cur, err = svcs.Get(ctx, "prop", metav1.GetOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			seen, polls, err := p.waitFor(name, dns.TypeA, want, pollInterval, 10*time.Second)
			if err != nil {
				b.Fatalf("update %d (%s) not served: %v", i, kind, err)
			}
			samples = append(samples, sample{kind: kind, write: wrote.Sub(start), lat: seen.Sub(wrote), polls: polls})
		}
	}
	b.StopTimer()

	summary := func(kind string) (n int, p50, p99, mx, write50 time.Duration) {
		var lat, wr []time.Duration
		for _, s := range samples {
			if kind == "" || s.kind == kind {
				lat, wr = append(lat, s.lat), append(wr, s.write)
			}
		}
		slices.Sort(lat)
		slices.Sort(wr)
		return len(lat), percentile(lat, 50), percentile(lat, 99), percentile(lat, 100), percentile(wr, 50)
	}
	n, p50, p99, mx, w50 := summary("")
	b.ReportMetric(0, "ns/op") // one op is many updates; the percentiles are the result
	b.ReportMetric(float64(n), "updates")
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(ms(mx), "max-ms")
	b.Logf("propagation (API write returned -> new answer served), %d updates: p50 %.2f ms, p99 %.2f ms, max %.2f ms (API write itself: p50 %.2f ms)",
		n, ms(p50), ms(p99), ms(mx), ms(w50))
	for _, k := range []string{"lb-ip", "hostname"} {
		n, p50, p99, mx, w50 := summary(k)
		b.Logf("  %-8s %3d updates: p50 %.2f ms, p99 %.2f ms, max %.2f ms (API write p50 %.2f ms)", k, n, ms(p50), ms(p99), ms(mx), ms(w50))
	}
	b.Logf("for comparison (not measured here): ExternalDNS applies changes on its sync loop, --interval default 1m; " +
		"with --events a change triggers a sync no sooner than --min-event-sync-interval (default 5s) after the last one, " +
		"and each sync relists the zone")
}

func ipv4(i int) string { return fmt.Sprintf("198.18.%d.%d", i/250, i%250+1) }

func ingress(i int) []corev1.LoadBalancerIngress {
	return []corev1.LoadBalancerIngress{{IP: ipv4(i)}, {IP: fmt.Sprintf("2001:db8:18::%x", i+1)}}
}
