package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
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

// The serving data set: n names svcI.bench.example.org, Service svcI in
// namespace bench, so that clusterzone (hostname annotation), the file plugin
// (zone file) and k8s_external (service.namespace.zone) serve the very same
// names. Each name is A-only (3 in 10), AAAA-only (3 in 10) or dual-stack
// (4 in 10), from spec.externalIPs (one API write per Service; both
// clusterzone and k8s_external publish external IPs), and has clusterzone's
// ownership TXT record (also in the zone file; k8s_external has no TXT).
//
// The Services are of type ExternalName (with external IPs, which both
// plugins publish whatever the type): a ClusterIP or LoadBalancer Service
// would need a ClusterIP, and kube-apiserver's ClusterIP allocator slows down
// with every address allocated (creating 10,000 took minutes on 2 cores;
// ExternalName Services take seconds).

const (
	serveZone      = "example.org."
	serveNamespace = "bench"
	serveOwnerID   = "bench"
)

type family int

const (
	v4Only family = iota
	v6Only
	dualStack
)

func familyOf(i int) family {
	switch i % 10 {
	case 0, 1, 2:
		return v4Only
	case 3, 4, 5:
		return v6Only
	}
	return dualStack
}

func serveName(i int) string { return fmt.Sprintf("svc%d.%s.%s", i, serveNamespace, serveZone) }

func serveIPv4(i int) string {
	return fmt.Sprintf("198.%d.%d.%d", 18+i/65536, (i/256)%256, i%256)
}
func serveIPv6(i int) string { return fmt.Sprintf("2001:db8:18::%x", i+1) }

// serveIPs returns the external IPs of Service i.
func serveIPs(i int) []string {
	switch familyOf(i) {
	case v4Only:
		return []string{serveIPv4(i)}
	case v6Only:
		return []string{serveIPv6(i)}
	}
	return []string{serveIPv4(i), serveIPv6(i)}
}

func ownershipTXT(i int) string {
	return fmt.Sprintf("heritage=external-dns,external-dns/owner=%s,external-dns/resource=service/%s/svc%d", serveOwnerID, serveNamespace, i)
}

// serveService is Service i as created in the API server (and written to
// the manifest file): an ExternalName Service with external IPs.
func serveService(i int) *corev1.Service {
	return &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        fmt.Sprintf("svc%d", i),
			Namespace:   serveNamespace,
			Annotations: map[string]string{hostnameAnn: strings.TrimSuffix(serveName(i), ".")},
		},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: fmt.Sprintf("svc%d.backend.invalid", i),
			Ports:        []corev1.ServicePort{{Name: "https", Port: 443}},
			ExternalIPs:  serveIPs(i),
		},
	}
}

// writeManifests writes the n Services as one multi-document YAML file.
func writeManifests(path string, n int) error {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc%d, namespace: %s, annotations: {%s: %q}}\nspec: {type: ExternalName, externalName: svc%d.backend.invalid, ports: [{name: https, port: 443}], externalIPs: [%s]}\n",
			i, serveNamespace, hostnameAnn, strings.TrimSuffix(serveName(i), "."), i, strings.Join(quoteAll(serveIPs(i)), ", "))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// writeZone writes the same records as a zone file for the file plugin, with
// clusterzone's SOA and NS (TTL 60, its default).
func writeZone(path string, n int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "$ORIGIN %s\n@ 60 IN SOA ns1.%s hostmaster.%s 1 7200 1800 1209600 60\n@ 60 IN NS ns1.%s\n", serveZone, serveZone, serveZone, serveZone)
	for i := 0; i < n; i++ {
		name := serveName(i)
		for _, ip := range serveIPs(i) {
			t := "A"
			if strings.Contains(ip, ":") {
				t = "AAAA"
			}
			fmt.Fprintf(&b, "%s 60 IN %s %s\n", name, t, ip)
		}
		fmt.Fprintf(&b, "%s 60 IN TXT %q\n", name, ownershipTXT(i))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// Outcome of a query on the data set.
type outcome int

const (
	hit outcome = iota
	nodata
	nxdomain
)

type serveQuery struct {
	name  string
	qtype uint16
	want  outcome // for clusterzone and file
}

// wantFor is the outcome a contender should give: k8s_external has no TXT.
func (q serveQuery) wantFor(contender string) outcome {
	if contender == "k8s_external" && q.qtype == dns.TypeTXT && q.want == hit {
		return nodata
	}
	return q.want
}

// serveQueries returns m queries over n names, from a fixed seed: A 30%,
// AAAA 30% (each a hit or NODATA depending on the name's families), TXT 15%
// (hits), MX 10% (NODATA), and 15% for names that do not exist (NXDOMAIN,
// A or AAAA).
func serveQueries(n, m int) []serveQuery {
	rng := rand.New(rand.NewPCG(6, 6))
	out := make([]serveQuery, m)
	for j := range out {
		i := rng.IntN(n)
		q := serveQuery{name: serveName(i)}
		f := familyOf(i)
		switch p := rng.IntN(100); {
		case p < 30:
			q.qtype, q.want = dns.TypeA, hit
			if f == v6Only {
				q.want = nodata
			}
		case p < 60:
			q.qtype, q.want = dns.TypeAAAA, hit
			if f == v4Only {
				q.want = nodata
			}
		case p < 75:
			q.qtype, q.want = dns.TypeTXT, hit
		case p < 85:
			q.qtype, q.want = dns.TypeMX, nodata
		default:
			q.name = fmt.Sprintf("nx%d.%s.%s", rng.IntN(10*n), serveNamespace, serveZone)
			q.qtype, q.want = dns.TypeA, nxdomain
			if p%2 == 1 {
				q.qtype = dns.TypeAAAA
			}
		}
		out[j] = q
	}
	return out
}

// writeQueries writes queries in dnsperf's input format.
func writeQueries(path string, qs []serveQuery) error {
	var b strings.Builder
	for _, q := range qs {
		fmt.Fprintf(&b, "%s %s\n", q.name, dns.TypeToString[q.qtype])
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// queryMix counts the queries by kind, for the report.
func queryMix(qs []serveQuery) map[string]int {
	mix := map[string]int{}
	for _, q := range qs {
		switch q.want {
		case hit:
			mix["hit "+dns.TypeToString[q.qtype]]++
		case nodata:
			mix["nodata"]++
		case nxdomain:
			mix["nxdomain"]++
		}
	}
	return mix
}

// checkAnswer queries q once and compares the reply with the outcome want.
func checkAnswer(addr string, q serveQuery, want outcome) error {
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	r, _, err := c.Exchange(new(dns.Msg).SetQuestion(q.name, q.qtype), addr)
	if err != nil {
		return fmt.Errorf("%s %s: %v", q.name, dns.TypeToString[q.qtype], err)
	}
	var got outcome
	switch {
	case r.Rcode == dns.RcodeNameError:
		got = nxdomain
	case r.Rcode == dns.RcodeSuccess && len(r.Answer) == 0:
		got = nodata
	case r.Rcode == dns.RcodeSuccess:
		got = hit
	default:
		return fmt.Errorf("%s %s: rcode %s", q.name, dns.TypeToString[q.qtype], dns.RcodeToString[r.Rcode])
	}
	if got != want {
		return fmt.Errorf("%s %s: %s with %d answers, want %v", q.name, dns.TypeToString[q.qtype], dns.RcodeToString[r.Rcode], len(r.Answer), [...]string{"an answer", "NODATA", "NXDOMAIN"}[want])
	}
	if want == hit && !r.Authoritative {
		return fmt.Errorf("%s %s: answer without AA", q.name, dns.TypeToString[q.qtype])
	}
	return nil
}

// createServices creates Services 0..n-1 built by mk with workers concurrent
// writers and a client limited to qps requests per second, then runs after
// (if not nil) on each created Service (e.g. a status update). It logs
// progress every 10% and returns how long it took.
func createServices(b *testing.B, c *harness.Cluster, from, to, workers int, mk func(i int) *corev1.Service, after func(ctx context.Context, cs kubernetes.Interface, i int, svc *corev1.Service) error) time.Duration {
	b.Helper()
	cfg := rest.CopyConfig(c.AdminConfig)
	cfg.QPS, cfg.Burst = 20000, 40000
	cfg.ContentType = "application/vnd.kubernetes.protobuf" // cheaper to encode and decode than JSON
	cfg.WarningHandler = rest.NoWarnings{}                  // "spec.externalIPs is deprecated", once per Service
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var next, done atomic.Int64
	next.Store(int64(from))
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	n := to - from
	step := max(n/10, 1)
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= to || ctx.Err() != nil {
					return
				}
				want := mk(i)
				svc, err := cs.CoreV1().Services(want.Namespace).Create(ctx, want, metav1.CreateOptions{})
				if err == nil && after != nil {
					err = after(ctx, cs, i, svc)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("service %s/%s: %w", want.Namespace, want.Name, err); cancel() })
					return
				}
				if d := done.Add(1); d%int64(step) == 0 {
					b.Logf("  %d/%d Services created (%v)", d, n, time.Since(start).Round(100*time.Millisecond))
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatalf("creating Services: %v", firstErr)
	}
	if done.Load() != int64(n) {
		b.Fatalf("created %d Services, want %d", done.Load(), n)
	}
	return time.Since(start)
}
