package clusterzone

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"

	"github.com/coredns/coredns/plugin/file"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// benchNames is the size of the zone in the ServeDNS benchmarks.
const benchNames = 10000

// benchManifests returns benchNames dual-stack LoadBalancer Services, one name
// each, and one Service publishing the wildcard *.apps.example.org.
func benchManifests() string {
	var b strings.Builder
	for i := 0; i < benchNames; i++ {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Service
metadata: {name: svc%d, namespace: bench, annotations: {external-dns.alpha.kubernetes.io/hostname: svc%d.example.org}}
spec: {type: LoadBalancer, clusterIPs: [10.96.%d.%d]}
status: {loadBalancer: {ingress: [{ip: 192.0.%d.%d}, {ip: "2001:db8::%x"}]}}
`, i, i, i/250, i%250+1, i/250, i%250+1, i+1)
	}
	b.WriteString(`---
apiVersion: v1
kind: Service
metadata: {name: wild, namespace: bench, annotations: {external-dns.alpha.kubernetes.io/hostname: "*.apps.example.org"}}
spec: {type: LoadBalancer, clusterIPs: [10.97.0.1]}
status: {loadBalancer: {ingress: [{ip: 192.0.100.1}, {ip: "2001:db8:100::1"}]}}
`)
	return b.String()
}

// benchZone returns the same records as a zone file for the file plugin.
func benchZone() string {
	var b strings.Builder
	b.WriteString("$ORIGIN example.org.\n@ 60 IN SOA ns1.example.org. hostmaster.example.org. 1 7200 1800 1209600 60\n@ 60 IN NS ns1.example.org.\nns1 60 IN A 127.0.0.1\n")
	for i := 0; i < benchNames; i++ {
		fmt.Fprintf(&b, "svc%d 60 IN A 192.0.%d.%d\nsvc%d 60 IN AAAA 2001:db8::%x\nsvc%d 60 IN TXT \"heritage=external-dns,external-dns/owner=test,external-dns/resource=service/bench/svc%d\"\n",
			i, i/250, i%250+1, i, i+1, i, i)
	}
	b.WriteString("*.apps 60 IN A 192.0.100.1\n*.apps 60 IN AAAA 2001:db8:100::1\n*.apps 60 IN TXT \"heritage=external-dns,external-dns/owner=test,external-dns/resource=service/bench/wild\"\n")
	return b.String()
}

// benchQueries are the query kinds of BenchmarkServeDNS: the name of query
// i, its type, and the expected rcode and number of answers.
var benchQueries = []struct {
	kind    string
	name    func(i int) string
	qtype   uint16
	rcode   int
	answers int
}{
	{"A", func(i int) string { return fmt.Sprintf("svc%d.example.org.", i) }, dns.TypeA, dns.RcodeSuccess, 1},
	{"AAAA", func(i int) string { return fmt.Sprintf("svc%d.example.org.", i) }, dns.TypeAAAA, dns.RcodeSuccess, 1},
	{"TXT", func(i int) string { return fmt.Sprintf("svc%d.example.org.", i) }, dns.TypeTXT, dns.RcodeSuccess, 1},
	{"NODATA", func(i int) string { return fmt.Sprintf("svc%d.example.org.", i) }, dns.TypeMX, dns.RcodeSuccess, 0},
	{"NXDOMAIN", func(i int) string { return fmt.Sprintf("nx%d.example.org.", i) }, dns.TypeA, dns.RcodeNameError, 0},
	{"wildcard", func(i int) string { return fmt.Sprintf("host%d.apps.example.org.", i) }, dns.TypeA, dns.RcodeSuccess, 1},
}

// BenchmarkServeDNS compares ServeDNS in a zone of 10,000 dual-stack names
// (each with its ownership TXT) and a wildcard, with CoreDNS's file plugin
// over an identical zone, for each kind of query: q=A, AAAA, TXT (hits),
// NODATA (MX at an existing name), NXDOMAIN, wildcard (A synthesized from
// *.apps.example.org). Sub-benchmarks are named .../q=KIND/impl=NAME so that
// `benchstat -col /impl` puts the two side by side. Each answer is checked
// once before the timer starts.
func BenchmarkServeDNS(b *testing.B) {
	cz := newTestPlugin(b, benchManifests(), table.External)
	if n := cz.shared.Store().Table().Len(); n != benchNames+1 {
		b.Fatalf("table holds %d names, want %d", n, benchNames+1)
	}
	zone, err := file.Parse(strings.NewReader(benchZone()), "example.org.", "bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	fp := file.File{Zones: file.Zones{Z: map[string]*file.Zone{"example.org.": zone}, Names: []string{"example.org."}}}
	runtime.GC() // the parsing's garbage is not the benchmark's

	for _, q := range benchQueries {
		for _, h := range []struct {
			name    string
			handler interface {
				ServeDNS(context.Context, dns.ResponseWriter, *dns.Msg) (int, error)
			}
		}{{"clusterzone", cz}, {"file", fp}} {
			b.Run("q="+q.kind+"/impl="+h.name, func(b *testing.B) {
				ctx := context.Background()
				w := &test.ResponseWriter{}
				msgs := make([]*dns.Msg, 1024)
				for i := range msgs {
					msgs[i] = new(dns.Msg).SetQuestion(q.name((i*7919)%benchNames), q.qtype)
				}
				for _, m := range msgs[:3] {
					rec := &answerCheck{}
					h.handler.ServeDNS(ctx, rec, m)
					if rec.rcode != q.rcode || rec.answers != q.answers || !rec.aa {
						b.Fatalf("%s %s: rcode %s, %d answers, aa %v; want %s, %d answers, aa",
							h.name, m.Question[0].String(), dns.RcodeToString[rec.rcode], rec.answers, rec.aa, dns.RcodeToString[q.rcode], q.answers)
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					h.handler.ServeDNS(ctx, w, msgs[i%len(msgs)])
				}
			})
		}
	}
}

type answerCheck struct {
	test.ResponseWriter
	rcode   int
	answers int
	aa      bool
}

func (a *answerCheck) WriteMsg(m *dns.Msg) error {
	a.rcode, a.answers, a.aa = m.Rcode, len(m.Answer), m.Authoritative
	return nil
}
