package bench

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var propUpdates = flag.Int("updates", 1500, "BenchmarkPropagation: updates per iteration; two in three change the load-balancer IP (measured on clusterzone and k8s_external), one in three the hostname annotation (clusterzone only)")

const (
	hostnameAnn = "external-dns.alpha.kubernetes.io/hostname"
	// pollInterval is the pause between two polling queries; one query on
	// loopback takes about 0.1 ms more, so a change is seen within ~0.5 ms.
	pollInterval = 300 * time.Microsecond
)

// propSample is one update seen by one contender.
type propSample struct {
	kind, contender string
	write, lat      time.Duration
	polls           int
}

// propSummary is a distribution of propagation delays (propagation.json).
type propSummary struct {
	Contender, Kind    string
	N                  int
	P50, P90, P99, Max float64 // ms
	APIWriteP50        float64 // ms, the write itself
	PollsPerUpdateMean float64
	LatenciesMs        []float64 `json:",omitempty"`
	P99vsK8sExternal   float64   `json:",omitempty"`
}

// BenchmarkPropagation measures how long a change written to the API server
// takes to be served: from the API write (Update or UpdateStatus) returning
// to the first UDP reply carrying the new answer, with a query every ~0.5 ms.
//
// Two servers watch the same API server and are measured on the same
// updates: clusterzone (name from the hostname annotation, prop-H.example.org)
// and CoreDNS's k8s_external + kubernetes (prop.prop.example.org, the
// Service's load-balancer IPs). Updates cycle through: a new load-balancer
// ingress IP (status subresource, as a cloud controller writes it; both
// servers polled at once, each by its own socket), another new IP, and a new
// hostname annotation (clusterzone only: k8s_external has no annotations).
// It reports p50, p99 and max in milliseconds per server and kind of update;
// ns/op is not meaningful and is not reported.
func BenchmarkPropagation(b *testing.B) {
	if *propUpdates < 1 {
		b.Fatalf("-updates %d: want at least 1", *propUpdates)
	}
	c := harness.StartCluster(b)
	ctx := context.Background()
	ns := c.CreateNamespace(b, "prop")
	svcs := c.Admin.CoreV1().Services(ns)

	cz := startBare(b, "clusterzone", "example.org", fmt.Sprintf(`    clusterzone {
        kubeconfig %s
        owner-id bench
    }`, c.Kubeconfig))
	k8s := startBare(b, "k8s_external", "example.org", fmt.Sprintf(`    k8s_external example.org
    kubernetes cluster.local {
        kubeconfig %s
    }`, c.AdminKubeconfig))

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
	pz, pk := newPoller(b, cz.Addr), newPoller(b, k8s.Addr)
	const k8sName = "prop.prop.example.org."
	if _, _, err := pz.waitFor("prop-0.example.org.", dns.TypeA, []string{"A " + ipv4(0)}, 10*time.Millisecond, 60*time.Second); err != nil {
		b.Fatalf("clusterzone, initial answer: %v", err)
	}
	if _, _, err := pk.waitFor(k8sName, dns.TypeA, []string{"A " + ipv4(0)}, 10*time.Millisecond, 60*time.Second); err != nil {
		b.Fatalf("k8s_external, initial answer: %v", err)
	}

	var samples []propSample
	host, ip := 0, 0
	rng := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for iter := 0; iter < b.N; iter++ {
		for i := 0; i < *propUpdates; i++ {
			// A short, irregular pause so that updates are not in step with
			// anything periodic in the watchers.
			time.Sleep(time.Duration(5+rng.IntN(20)) * time.Millisecond)
			var (
				kind  string
				write func(*corev1.Service) (*corev1.Service, error)
			)
			if i%3 != 2 {
				ip++
				kind = "lb-ip"
				write = func(s *corev1.Service) (*corev1.Service, error) {
					s.Status.LoadBalancer.Ingress = ingress(ip)
					return svcs.UpdateStatus(ctx, s, metav1.UpdateOptions{})
				}
			} else {
				host++
				kind = "hostname"
				write = func(s *corev1.Service) (*corev1.Service, error) {
					s.Annotations[hostnameAnn] = fmt.Sprintf("prop-%d.example.org", host)
					return svcs.Update(ctx, s, metav1.UpdateOptions{})
				}
			}
			want := []string{"A " + ipv4(ip)}
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
			// Poll every server that should see this update, at once.
			type seen struct {
				at    time.Time
				polls int
				err   error
			}
			var wg sync.WaitGroup
			var zs, ks seen
			pollZ := func() {
				defer wg.Done()
				zs.at, zs.polls, zs.err = pz.waitFor(fmt.Sprintf("prop-%d.example.org.", host), dns.TypeA, want, pollInterval, 10*time.Second)
			}
			pollK := func() {
				defer wg.Done()
				ks.at, ks.polls, ks.err = pk.waitFor(k8sName, dns.TypeA, want, pollInterval, 10*time.Second)
			}
			// Which poller starts first alternates, so that neither server
			// is favoured by the order the goroutines are scheduled in.
			polls := []func(){pollZ}
			if kind == "lb-ip" {
				polls = append(polls, pollK)
				if ip%2 == 0 {
					polls[0], polls[1] = pollK, pollZ
				}
			}
			wg.Add(len(polls))
			for _, p := range polls {
				go p()
			}
			wg.Wait()
			if zs.err != nil {
				b.Fatalf("update %d (%s) not served by clusterzone: %v", i, kind, zs.err)
			}
			samples = append(samples, propSample{kind: kind, contender: "clusterzone", write: wrote.Sub(start), lat: zs.at.Sub(wrote), polls: zs.polls})
			if kind == "lb-ip" {
				if ks.err != nil {
					b.Fatalf("update %d (%s) not served by k8s_external: %v", i, kind, ks.err)
				}
				samples = append(samples, propSample{kind: kind, contender: "k8s_external", write: wrote.Sub(start), lat: ks.at.Sub(wrote), polls: ks.polls})
			}
		}
	}
	b.StopTimer()

	rows := []propSummary{
		propagationSummary(samples, "clusterzone", "lb-ip", "lb-ip"),
		propagationSummary(samples, "k8s_external", "lb-ip", "lb-ip"),
		propagationSummary(samples, "clusterzone", "hostname", "hostname"),
		propagationSummary(samples, "clusterzone", "all", "lb-ip", "hostname"),
	}
	rows[0].P99vsK8sExternal = rows[0].P99 / rows[1].P99
	b.ReportMetric(0, "ns/op") // one op is many updates; the percentiles are the result
	b.ReportMetric(rows[0].P50, "cz-p50-ms")
	b.ReportMetric(rows[0].P99, "cz-p99-ms")
	b.ReportMetric(rows[1].P50, "k8s_external-p50-ms")
	b.ReportMetric(rows[1].P99, "k8s_external-p99-ms")
	b.Logf("propagation (API write returned -> new answer served), polling every %v:", pollInterval)
	b.Logf("  %-13s %-9s %5s %9s %9s %9s %9s %12s", "server", "update", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", "API write ms")
	for _, r := range rows {
		b.Logf("  %-13s %-9s %5d %9.2f %9.2f %9.2f %9.2f %12.2f", r.Contender, r.Kind, r.N, r.P50, r.P90, r.P99, r.Max, r.APIWriteP50)
	}
	b.Logf("clusterzone/k8s_external on the same load-balancer IP updates: p50 %.2fx, p99 %.2fx", rows[0].P50/rows[1].P50, rows[0].P99vsK8sExternal)
	b.Logf("for comparison (not measured here): ExternalDNS applies changes on its sync loop, --interval default 1m; " +
		"with --events a change triggers a sync no sooner than --min-event-sync-interval (default 5s) after the last one, " +
		"and each sync relists the zone")
	writeResults(b, "propagation", map[string]any{"PollIntervalMs": ms(pollInterval), "Summaries": rows})
}

func ipv4(i int) string { return fmt.Sprintf("198.18.%d.%d", i/250, i%250+1) }

func ingress(i int) []corev1.LoadBalancerIngress {
	return []corev1.LoadBalancerIngress{{IP: ipv4(i)}, {IP: fmt.Sprintf("2001:db8:18::%x", i+1)}}
}
