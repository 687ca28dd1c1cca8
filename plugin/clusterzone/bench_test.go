package clusterzone

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"

	"github.com/coredns/coredns/plugin/file"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// benchNames is the size of the zone in the ServeDNS benchmarks.
const benchNames = 10000

// benchManifests returns benchNames dual-stack LoadBalancer Services, one name each.
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
	return b.String()
}

// BenchmarkServeDNS compares an A lookup in a table of 10,000 names with the
// same lookup through CoreDNS's file plugin over an identical zone.
func BenchmarkServeDNS(b *testing.B) {
	cz := newTestPlugin(b, benchManifests(), table.External)
	if n := cz.shared.Store().Table().Len(); n != benchNames {
		b.Fatalf("table holds %d names, want %d", n, benchNames)
	}
	zone, err := file.Parse(strings.NewReader(benchZone()), "example.org.", "bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	fp := file.File{Zones: file.Zones{Z: map[string]*file.Zone{"example.org.": zone}, Names: []string{"example.org."}}}

	for _, h := range []struct {
		name    string
		handler interface {
			ServeDNS(context.Context, dns.ResponseWriter, *dns.Msg) (int, error)
		}
	}{{"clusterzone", cz}, {"file", fp}} {
		b.Run(h.name, func(b *testing.B) {
			ctx := context.Background()
			w := &test.ResponseWriter{}
			msgs := make([]*dns.Msg, 1024)
			for i := range msgs {
				msgs[i] = new(dns.Msg).SetQuestion(fmt.Sprintf("svc%d.example.org.", (i*7919)%benchNames), dns.TypeA)
			}
			// Check once that the answer is right before timing it.
			rec := &answerCheck{}
			h.handler.ServeDNS(ctx, rec, msgs[0])
			if rec.answers != 1 {
				b.Fatalf("%s: %d answers", h.name, rec.answers)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h.handler.ServeDNS(ctx, w, msgs[i%len(msgs)])
			}
		})
	}
}

type answerCheck struct {
	test.ResponseWriter
	answers int
}

func (a *answerCheck) WriteMsg(m *dns.Msg) error { a.answers = len(m.Answer); return nil }
