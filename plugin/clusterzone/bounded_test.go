package clusterzone

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// manyIngress is a LoadBalancer Service at big.example.org with n IPv4 and
// n IPv6 ingress addresses.
func manyIngress(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Service\nmetadata: {name: big, namespace: n, annotations: {external-dns.alpha.kubernetes.io/hostname: big.example.org}}\nspec: {type: LoadBalancer, clusterIP: 10.96.0.1}\nstatus:\n  loadBalancer:\n    ingress:\n")
	for i := range n {
		fmt.Fprintf(&b, "    - ip: 10.%d.%d.%d\n    - ip: \"2001:db8::%x\"\n", i>>16&255, i>>8&255, i&255, i)
	}
	return b.String()
}

// TestBoundedAnswers: a name carries at most max-addresses of each family
// (the rest reported); every answer fits: whole over TCP at the limit, TC
// with no partial RRset over UDP, SERVFAIL over TCP for what no message can
// hold.
func TestBoundedAnswers(t *testing.T) {
	svc := manyIngress(5000)
	cz := newTestPluginWith(t, svc, table.External, func(o *translate.Options) { o.MaxAddresses = translate.LimitMaxAddresses })
	for _, tc := range []struct {
		proto   string
		bufsize uint16
		qtype   uint16
		n       int
		tc      bool
	}{
		{"tcp", 0, dns.TypeAAAA, translate.LimitMaxAddresses, false}, // at the limit: whole over TCP
		{"tcp", 0, dns.TypeA, translate.LimitMaxAddresses, false},
		{"udp", 0, dns.TypeAAAA, 0, true},                                // 512 octets: TC, nothing partial
		{"udp", 1232, dns.TypeA, 0, true},                                // bufsize 1232
		{"udp", 65535, dns.TypeAAAA, translate.LimitMaxAddresses, false}, // about 39 kB compressed: fits EDNS 65535
	} {
		m := new(dns.Msg)
		m.SetQuestion("big.example.org.", tc.qtype)
		if tc.bufsize > 0 {
			m.SetEdns0(tc.bufsize, false)
		}
		rec := dnstest.NewRecorder(&test.ResponseWriter{TCP: tc.proto == "tcp"})
		rcode, err := cz.ServeDNS(context.Background(), rec, m)
		if err != nil || rcode != dns.RcodeSuccess || rec.Msg == nil {
			t.Fatalf("%s %s bufsize %d: rcode %d, err %v", tc.proto, dns.TypeToString[tc.qtype], tc.bufsize, rcode, err)
		}
		size := 512
		if tc.proto == "tcp" {
			size = dns.MaxMsgSize
		} else if tc.bufsize > 0 {
			size = int(tc.bufsize)
		}
		if len(rec.Msg.Answer) != tc.n || rec.Msg.Truncated != tc.tc {
			t.Errorf("%s %s bufsize %d: %d records, TC %t; want %d, TC %t", tc.proto, dns.TypeToString[tc.qtype], tc.bufsize, len(rec.Msg.Answer), rec.Msg.Truncated, tc.n, tc.tc)
		}
		if l := rec.Msg.Len(); l > size {
			t.Errorf("%s %s bufsize %d: %d octets, more than %d", tc.proto, dns.TypeToString[tc.qtype], tc.bufsize, l, size)
		}
	}

	// What no DNS message can hold (a table filled past the limit by
	// other means) is a SERVFAIL over TCP, never a part.
	huge := new(dns.Msg)
	huge.SetQuestion("big.example.org.", dns.TypeAAAA)
	for i := range 5000 {
		huge.Answer = append(huge.Answer, test.AAAA(fmt.Sprintf("big.example.org. 60 IN AAAA 2001:db8::%x", i)))
	}
	req := new(dns.Msg)
	req.SetQuestion("big.example.org.", dns.TypeAAAA)
	if fit(request.Request{W: &test.ResponseWriter{TCP: true}, Req: req}, huge) {
		t.Errorf("5,000 AAAA (%d octets) fit over TCP", huge.Len())
	}
}
