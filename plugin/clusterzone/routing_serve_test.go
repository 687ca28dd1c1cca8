package clusterzone

import (
	"context"
	"testing"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// Services with routing annotations (two at one name under their own set
// identifiers, one with invalid ones) are served as if they had none: the
// served zone answers with this cluster's addresses, the oldest Service's
// at a shared name; the routing is the Route 53 mirror's.
const routingServices = `
apiVersion: v1
kind: Service
metadata:
  name: blue
  namespace: shop
  creationTimestamp: "2024-01-01T00:00:00Z"
  annotations:
    external-dns.alpha.kubernetes.io/hostname: bg.example.org
    external-dns.alpha.kubernetes.io/set-identifier: blue
    external-dns.alpha.kubernetes.io/aws-weight: "90"
spec: {type: LoadBalancer}
status: {loadBalancer: {ingress: [{ip: 192.0.2.20}]}}
---
apiVersion: v1
kind: Service
metadata:
  name: green
  namespace: shop
  creationTimestamp: "2024-01-02T00:00:00Z"
  annotations:
    external-dns.kubernetes.io/hostname: bg.example.org
    external-dns.kubernetes.io/set-identifier: green
    external-dns.kubernetes.io/aws-weight: "10"
spec: {type: LoadBalancer}
status: {loadBalancer: {ingress: [{ip: 192.0.2.21}]}}
---
apiVersion: v1
kind: Service
metadata:
  name: bad
  namespace: shop
  annotations:
    external-dns.alpha.kubernetes.io/hostname: bad.example.org
    external-dns.alpha.kubernetes.io/aws-region: moon-1
spec: {type: LoadBalancer}
status: {loadBalancer: {ingress: [{ip: 192.0.2.22}]}}
`

func TestServeDNSIgnoresRouting(t *testing.T) {
	cz := newTestPlugin(t, routingServices, table.External)
	for _, tc := range []test.Case{
		{Qname: "bg.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("bg.example.org. 60 IN A 192.0.2.20")}},
		{Qname: "bg.example.org.", Qtype: dns.TypeTXT, Answer: []dns.RR{test.TXT(`bg.example.org. 60 IN TXT "heritage=external-dns,external-dns/owner=test,external-dns/resource=service/shop/blue"`)}},
		{Qname: "bad.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("bad.example.org. 60 IN A 192.0.2.22")}},
	} {
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		if _, err := cz.ServeDNS(context.Background(), rec, tc.Msg()); err != nil {
			t.Fatal(err)
		}
		if err := test.SortAndCheck(rec.Msg, tc); err != nil {
			t.Errorf("%s %s: %v", tc.Qname, dns.TypeToString[tc.Qtype], err)
		}
	}
}
