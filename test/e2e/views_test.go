package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Clients of the split-horizon test: the internal view matches 127.0.0.2
// (standing in for the cluster's 10.0.0.0/8), everybody else is external.
const (
	internalClient = "127.0.0.2"
	externalClient = "127.0.0.1"
)

// viewsCorefile is split horizon as in the plugin README, for two zones:
// for each zone, two server blocks on the same port, the one with the view
// first. CoreDNS sets a plugin up once per server block (not per key), so
// these are four clusterzone instances with different zones; they have the
// same source options, so they must share one watcher and one record table.
func viewsCorefile(port int, kubeconfig string) string {
	var b strings.Builder
	for _, zone := range []string{"example.org", "example.net"} {
		fmt.Fprintf(&b, `%[1]s:%[2]d {
    view internal {
        expr incidr(client_ip(), '10.0.0.0/8') || incidr(client_ip(), '%[4]s/32')
    }
    clusterzone {
        kubeconfig %[3]s
        owner-id e2e
        addresses internal
    }
}
%[1]s:%[2]d {
    clusterzone {
        kubeconfig %[3]s
        owner-id e2e
        addresses external
    }
}
`, zone, port, kubeconfig, internalClient)
	}
	return b.String()
}

// queryFrom sends one query to addr from the local address src (as
// `dig -b SRC`), over proto.
func queryFrom(t *testing.T, src, addr, name string, qtype uint16, proto string) *dns.Msg {
	t.Helper()
	var local net.Addr = &net.UDPAddr{IP: net.ParseIP(src)}
	if proto == "tcp" {
		local = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	c := &dns.Client{Net: proto, Timeout: 5 * time.Second, Dialer: &net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = false
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s %s to %s from %s over %s: %v", name, dns.TypeToString[qtype], addr, src, proto, err)
	}
	return r
}

// sortedAnswers is answers(m), sorted.
func sortedAnswers(m *dns.Msg) string {
	a := answers(m)
	sort.Strings(a)
	return strings.Join(a, ",")
}

// expectFrom waits until name/qtype, asked from src, is answered
// authoritatively with exactly want (in any order).
func expectFrom(t *testing.T, src, addr, name string, qtype uint16, want ...string) {
	t.Helper()
	w := append([]string(nil), want...)
	sort.Strings(w)
	harness.Eventually(t, 15*time.Second, func() error {
		m := queryFrom(t, src, addr, name, qtype, "udp")
		if got := sortedAnswers(m); m.Rcode != dns.RcodeSuccess || !m.Authoritative || got != strings.Join(w, ",") {
			return fmt.Errorf("from %s: %s %s: rcode %s aa=%v answers [%s], want NOERROR aa [%s]",
				src, name, dns.TypeToString[qtype], dns.RcodeToString[m.Rcode], m.Authoritative, got, strings.Join(w, ","))
		}
		return nil
	})
}

// digShort runs `dig -b SRC @127.0.0.1 -p PORT NAME TYPE +short +norec` and
// returns the answers, sorted.
func digShort(t *testing.T, src string, port int, name, qtype string) string {
	t.Helper()
	out := harness.Dig(t, "-b", src, "@127.0.0.1", "-p", strconv.Itoa(port), name, qtype, "+short", "+norec", "+time=5", "+tries=1")
	lines := strings.Fields(out)
	sort.Strings(lines)
	return strings.Join(lines, " ")
}

// clusterIPs returns a Service's IPv4 and IPv6 ClusterIPs, checking they
// come from the test cluster's dual-stack service ranges.
func clusterIPs(t *testing.T, svc *corev1.Service) (v4, v6 string) {
	t.Helper()
	p4, p6 := netip.MustParsePrefix(harness.ServiceCIDRv4), netip.MustParsePrefix(harness.ServiceCIDRv6)
	for _, s := range svc.Spec.ClusterIPs {
		ip, err := netip.ParseAddr(s)
		switch {
		case err != nil:
			t.Fatalf("Service %s/%s: ClusterIP %q: %v", svc.Namespace, svc.Name, s, err)
		case ip.Is4() && p4.Contains(ip):
			v4 = ip.String()
		case ip.Is6() && p6.Contains(ip):
			v6 = ip.String()
		}
	}
	if v4 == "" || v6 == "" {
		t.Fatalf("Service %s/%s: ClusterIPs %v, want one from %s and one from %s", svc.Namespace, svc.Name,
			svc.Spec.ClusterIPs, harness.ServiceCIDRv4, harness.ServiceCIDRv6)
	}
	return v4, v6
}

// TestSplitHorizonViews runs one CoreDNS with two views (internal by client
// address, external for everybody else) over two zones, against a real API
// server: the internal view answers a dual-stack LoadBalancer Service's
// names with its ClusterIPs, the external view with its load-balancer
// addresses, and the API server sees exactly one watch on Services from the
// process (four clusterzone instances: two views times two zones).
func TestSplitHorizonViews(t *testing.T) {
	c := harness.StartCluster(t)
	ctx := context.Background()
	ns := c.CreateNamespace(t, "shop")
	svcs := c.Admin.CoreV1().Services(ns)

	// A Service that exists before CoreDNS starts (it arrives by the
	// initial list) ...
	web, err := svcs.Create(ctx, dualStackService(ns, "web", map[string]string{
		"external-dns.alpha.kubernetes.io/hostname":          "web.example.org",
		"external-dns.alpha.kubernetes.io/internal-hostname": "web.internal.example.org",
	}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.SetLoadBalancerIngress(t, ns, "web", []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}, {IP: "2001:db8::10"}})
	webV4, webV6 := clusterIPs(t, web)

	kinds := []string{"services", "endpointslices", "nodes"}
	baselines := map[string]int{}
	for _, k := range kinds {
		baselines[k] = c.WatchCount(t, k)
	}
	baseline := baselines["services"]
	port := harness.FreePort(t)
	start := time.Now()
	cd := harness.StartCoreDNS(t, viewsCorefile(port, c.Kubeconfig))
	expectFrom(t, externalClient, cd.Addr, "web.example.org.", dns.TypeA, "A 192.0.2.10")
	t.Logf("CoreDNS up and synced in %v; Service watches on the API server before it: %d", time.Since(start), baseline)

	// ... and one created afterwards (it arrives by the watch), in the other zone.
	api, err := svcs.Create(ctx, dualStackService(ns, "api", map[string]string{
		"external-dns.alpha.kubernetes.io/hostname": "api.example.net",
	}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.SetLoadBalancerIngress(t, ns, "api", []corev1.LoadBalancerIngress{{IP: "198.51.100.20"}, {IP: "2001:db8:51::20"}})
	apiV4, apiV6 := clusterIPs(t, api)

	t.Run("internal view answers ClusterIPs, external view load-balancer addresses", func(t *testing.T) {
		for _, tc := range []struct {
			name               string
			internal, external [2]string // A, AAAA
		}{
			{"web.example.org.", [2]string{webV4, webV6}, [2]string{"192.0.2.10", "2001:db8::10"}},
			{"api.example.net.", [2]string{apiV4, apiV6}, [2]string{"198.51.100.20", "2001:db8:51::20"}},
			// internal-hostname carries the ClusterIPs in every view.
			{"web.internal.example.org.", [2]string{webV4, webV6}, [2]string{webV4, webV6}},
		} {
			expectFrom(t, internalClient, cd.Addr, tc.name, dns.TypeA, "A "+tc.internal[0])
			expectFrom(t, internalClient, cd.Addr, tc.name, dns.TypeAAAA, "AAAA "+tc.internal[1])
			expectFrom(t, externalClient, cd.Addr, tc.name, dns.TypeA, "A "+tc.external[0])
			expectFrom(t, externalClient, cd.Addr, tc.name, dns.TypeAAAA, "AAAA "+tc.external[1])
		}
		// The same with dig -b, A and AAAA together.
		if got, want := digShort(t, internalClient, port, "web.example.org", "A")+" "+digShort(t, internalClient, port, "web.example.org", "AAAA"), webV4+" "+webV6; got != want {
			t.Errorf("dig -b %s web.example.org A, AAAA: %q, want the ClusterIPs %q", internalClient, got, want)
		}
		if got, want := digShort(t, externalClient, port, "web.example.org", "A")+" "+digShort(t, externalClient, port, "web.example.org", "AAAA"), "192.0.2.10 2001:db8::10"; got != want {
			t.Errorf("dig -b %s web.example.org A, AAAA: %q, want the load-balancer addresses %q", externalClient, got, want)
		}
		// Views select by client address over TCP too.
		if got := sortedAnswers(queryFrom(t, internalClient, cd.Addr, "api.example.net.", dns.TypeAAAA, "tcp")); got != "AAAA "+apiV6 {
			t.Errorf("TCP from %s: api.example.net AAAA [%s], want AAAA %s", internalClient, got, apiV6)
		}
		if got := sortedAnswers(queryFrom(t, externalClient, cd.Addr, "api.example.net.", dns.TypeAAAA, "tcp")); got != "AAAA 2001:db8:51::20" {
			t.Errorf("TCP from %s: api.example.net AAAA [%s], want AAAA 2001:db8:51::20", externalClient, got)
		}
	})

	t.Run("both views share the ownership TXT, the SOA serial and the negative answers", func(t *testing.T) {
		txt := "TXT heritage=external-dns,external-dns/owner=e2e,external-dns/resource=service/" + ns + "/web"
		for _, src := range []string{internalClient, externalClient} {
			expectFrom(t, src, cd.Addr, "web.example.org.", dns.TypeTXT, txt)
			for _, name := range []string{"nope.example.org.", "nope.example.net."} {
				m := queryFrom(t, src, cd.Addr, name, dns.TypeA, "udp")
				if m.Rcode != dns.RcodeNameError || !m.Authoritative || len(m.Ns) != 1 || m.Ns[0].Header().Rrtype != dns.TypeSOA {
					t.Errorf("from %s: %s A: %s authority %v, want NXDOMAIN aa with the SOA", src, name, describe(m), m.Ns)
				}
			}
		}
		for _, zone := range []string{"example.org.", "example.net."} {
			a := queryFrom(t, internalClient, cd.Addr, zone, dns.TypeSOA, "udp")
			b := queryFrom(t, externalClient, cd.Addr, zone, dns.TypeSOA, "udp")
			if len(a.Answer) != 1 || len(b.Answer) != 1 || a.Answer[0].String() != b.Answer[0].String() {
				t.Errorf("%s SOA: internal view %v, external view %v: want the same SOA", zone, a.Answer, b.Answer)
			}
		}
	})

	t.Run("one watch per kind (Services, EndpointSlices, Nodes) from the process", func(t *testing.T) {
		// Four clusterzone instances (two views times two zones) with one
		// source configuration: one informer per kind, one watch each.
		for _, k := range kinds {
			harness.Eventually(t, 10*time.Second, func() error {
				if n := c.WatchCount(t, k); n != baselines[k]+1 {
					return fmt.Errorf("%d %s watches on the API server, %d before CoreDNS started: want exactly one more", n, k, baselines[k])
				}
				return nil
			})
		}
		// And it stays one (a second informer would show up as +2 for good).
		for i := 0; i < 5; i++ {
			for _, k := range kinds {
				if n := c.WatchCount(t, k); n > baselines[k]+1 {
					t.Fatalf("%d %s watches on the API server, %d before CoreDNS started: more than one from the process", n, k, baselines[k])
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("watches on the API server before CoreDNS: %v; with it one more of each (4 clusterzone instances)", baselines)
	})

	t.Run("a change through the shared watcher reaches both views", func(t *testing.T) {
		// New load-balancer addresses: the external view follows, the
		// internal one keeps the ClusterIPs.
		c.SetLoadBalancerIngress(t, ns, "web", []corev1.LoadBalancerIngress{{IP: "192.0.2.11"}, {IP: "2001:db8::11"}})
		expectFrom(t, externalClient, cd.Addr, "web.example.org.", dns.TypeA, "A 192.0.2.11")
		expectFrom(t, externalClient, cd.Addr, "web.example.org.", dns.TypeAAAA, "AAAA 2001:db8::11")
		expectFrom(t, internalClient, cd.Addr, "web.example.org.", dns.TypeA, "A "+webV4)
		expectFrom(t, internalClient, cd.Addr, "web.example.org.", dns.TypeAAAA, "AAAA "+webV6)
		// A deleted Service is gone from both.
		if err := svcs.Delete(ctx, "api", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, src := range []string{internalClient, externalClient} {
			harness.Eventually(t, 15*time.Second, func() error {
				if m := queryFrom(t, src, cd.Addr, "api.example.net.", dns.TypeAAAA, "udp"); m.Rcode != dns.RcodeNameError {
					return fmt.Errorf("from %s: api.example.net AAAA after the delete: %s", src, describe(m))
				}
				return nil
			})
		}
		if n := c.WatchCount(t, "services"); n > baseline+1 {
			t.Errorf("%d Service watches after the changes, %d before CoreDNS started", n, baseline)
		}
	})
}
