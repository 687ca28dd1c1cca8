package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeNLB is a DNS server on loopback that answers for load-balancer
// hostnames, standing in for the AWS resolver.
type fakeNLB struct {
	Addr string
	mu   sync.Mutex
	recs map[string][]dns.RR
}

func startFakeNLB(t *testing.T) *fakeNLB {
	t.Helper()
	f := &fakeNLB{recs: map[string][]dns.RR{}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.Addr = pc.LocalAddr().String()
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		f.mu.Lock()
		for _, rr := range f.recs[strings.ToLower(r.Question[0].Name)] {
			if rr.Header().Rrtype == r.Question[0].Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
		if _, ok := f.recs[strings.ToLower(r.Question[0].Name)]; !ok {
			m.Rcode = dns.RcodeNameError
		}
		f.mu.Unlock()
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return f
}

func (f *fakeNLB) set(name string, rrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recs[name] = nil
	for _, s := range rrs {
		rr, err := dns.NewRR(s)
		if err != nil {
			panic(err)
		}
		f.recs[name] = append(f.recs[name], rr)
	}
}

// dualStackService is a RequireDualStack LoadBalancer Service with annotations.
func dualStackService(ns, name string, ann map[string]string) *corev1.Service {
	pol := corev1.IPFamilyPolicyRequireDualStack
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: ann},
		Spec: corev1.ServiceSpec{
			Type:           corev1.ServiceTypeLoadBalancer,
			IPFamilyPolicy: &pol,
			IPFamilies:     []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
			Ports:          []corev1.ServicePort{{Name: "https", Port: 443}},
		},
	}
}

// dualStackNLBService is the dual-stack AWS NLB case: a dual-stack
// LoadBalancer Service with the NLB annotations, publishing hostname.
func dualStackNLBService(ns, name, hostname string) *corev1.Service {
	return dualStackService(ns, name, map[string]string{
		"external-dns.alpha.kubernetes.io/hostname":                    hostname,
		"service.beta.kubernetes.io/aws-load-balancer-type":            "external",
		"service.beta.kubernetes.io/aws-load-balancer-ip-address-type": "dualstack",
	})
}

// setIngressIPs sets a Service's load-balancer ingress to these IPs.
func setIngressIPs(t *testing.T, c *harness.Cluster, ns, name string, ips ...string) {
	t.Helper()
	var ing []corev1.LoadBalancerIngress
	for _, ip := range ips {
		ing = append(ing, corev1.LoadBalancerIngress{IP: ip})
	}
	c.SetLoadBalancerIngress(t, ns, name, ing)
}

func clusterCorefile(port int, kubeconfig, resolver string, extra string) string {
	return fmt.Sprintf(`example.org:%d {
    clusterzone {
        kubeconfig %s
        resolver %s
        owner-id e2e
%s
    }
}
`, port, kubeconfig, resolver, extra)
}

func expect(t *testing.T, addr, name string, qtype uint16, want ...string) {
	t.Helper()
	harness.Eventually(t, 15*time.Second, func() error {
		m := harness.Query(t, addr, name, qtype, "udp")
		got := answers(m)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			return fmt.Errorf("%s %s: rcode %s answers %v, want %v", name, dns.TypeToString[qtype], dns.RcodeToString[m.Rcode], got, want)
		}
		return nil
	})
}

func expectNX(t *testing.T, addr, name string) {
	t.Helper()
	harness.Eventually(t, 15*time.Second, func() error {
		if m := harness.Query(t, addr, name, dns.TypeA, "udp"); m.Rcode != dns.RcodeNameError {
			return fmt.Errorf("%s: rcode %s answers %v, want NXDOMAIN", name, dns.RcodeToString[m.Rcode], answers(m))
		}
		return nil
	})
}

func TestCluster(t *testing.T) {
	c := harness.StartCluster(t)
	nlb := startFakeNLB(t)
	ctx := context.Background()
	ns := c.CreateNamespace(t, "shop")
	svcs := c.Admin.CoreV1().Services(ns)

	port := harness.FreePort(t)
	cd := harness.StartCoreDNS(t, clusterCorefile(port, c.Kubeconfig, nlb.Addr, ""))

	t.Run("dual-stack load balancer IPs answer A, AAAA and the ownership TXT", func(t *testing.T) {
		if _, err := svcs.Create(ctx, dualStackService(ns, "web", map[string]string{"external-dns.alpha.kubernetes.io/hostname": "web.example.org"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		c.SetLoadBalancerIngress(t, ns, "web", []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}, {IP: "2001:db8::10"}})
		expect(t, cd.Addr, "web.example.org.", dns.TypeA, "A 192.0.2.10")
		expect(t, cd.Addr, "web.example.org.", dns.TypeAAAA, "AAAA 2001:db8::10")
		expect(t, cd.Addr, "web.example.org.", dns.TypeTXT, "TXT heritage=external-dns,external-dns/owner=e2e,external-dns/resource=service/"+ns+"/web")
	})

	t.Run("dual-stack NLB hostname answers A and AAAA", func(t *testing.T) {
		host := "k8s-shop-nlb-0123456789.elb.us-east-1.amazonaws.com."
		nlb.set(host, host+" 5 IN A 198.51.100.7", host+" 5 IN AAAA 2001:db8:51::7")
		svc := dualStackNLBService(ns, "nlb", "nlb.example.org")
		if _, err := svcs.Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		c.SetLoadBalancerIngress(t, ns, "nlb", []corev1.LoadBalancerIngress{{Hostname: strings.TrimSuffix(host, ".")}})
		expect(t, cd.Addr, "nlb.example.org.", dns.TypeA, "A 198.51.100.7")
		expect(t, cd.Addr, "nlb.example.org.", dns.TypeAAAA, "AAAA 2001:db8:51::7")
		// The load balancer's addresses change: the resolver follows them by their TTL.
		nlb.set(host, host+" 5 IN A 198.51.100.8", host+" 5 IN AAAA 2001:db8:51::8")
		harness.Eventually(t, 60*time.Second, func() error {
			if got := answers(harness.Query(t, cd.Addr, "nlb.example.org.", dns.TypeAAAA, "udp")); strings.Join(got, ",") != "AAAA 2001:db8:51::8" {
				return fmt.Errorf("AAAA %v", got)
			}
			return nil
		})
	})

	t.Run("internal-hostname answers both ClusterIPs", func(t *testing.T) {
		created, err := svcs.Create(ctx, dualStackService(ns, "internal", map[string]string{"external-dns.alpha.kubernetes.io/internal-hostname": "internal.example.org"}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(created.Spec.ClusterIPs) != 2 {
			t.Fatalf("ClusterIPs %v", created.Spec.ClusterIPs)
		}
		expect(t, cd.Addr, "internal.example.org.", dns.TypeA, "A "+created.Spec.ClusterIPs[0])
		expect(t, cd.Addr, "internal.example.org.", dns.TypeAAAA, "AAAA "+created.Spec.ClusterIPs[1])
	})

	t.Run("hostname change moves the records, delete removes them, serial increases", func(t *testing.T) {
		s0 := soaSerial(t, cd.Addr)
		svc, err := svcs.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		svc.Annotations["external-dns.alpha.kubernetes.io/hostname"] = "moved.example.org"
		if _, err := svcs.Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		expect(t, cd.Addr, "moved.example.org.", dns.TypeA, "A 192.0.2.10")
		expectNX(t, cd.Addr, "web.example.org.")
		s1 := serialAbove(t, cd.Addr, s0) // after the move
		if err := svcs.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		expectNX(t, cd.Addr, "moved.example.org.")
		serialAbove(t, cd.Addr, s1) // after the delete
	})

	t.Run("two Services claim one name: the older keeps it, the newer gets an Event", func(t *testing.T) {
		ann := map[string]string{"external-dns.alpha.kubernetes.io/hostname": "shared.example.org"}
		if _, err := svcs.Create(ctx, dualStackService(ns, "first", ann), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		c.SetLoadBalancerIngress(t, ns, "first", []corev1.LoadBalancerIngress{{IP: "192.0.2.21"}})
		expect(t, cd.Addr, "shared.example.org.", dns.TypeA, "A 192.0.2.21")
		time.Sleep(1100 * time.Millisecond) // creationTimestamp has one-second resolution
		if _, err := svcs.Create(ctx, dualStackService(ns, "second", ann), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		c.SetLoadBalancerIngress(t, ns, "second", []corev1.LoadBalancerIngress{{IP: "192.0.2.22"}})
		harness.Eventually(t, 20*time.Second, func() error {
			evs, err := c.Admin.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=second"})
			if err != nil {
				return err
			}
			for _, e := range evs.Items {
				if e.Reason == "DNSNameConflict" && strings.Contains(e.Message, "shared.example.org") {
					return nil
				}
			}
			return fmt.Errorf("no DNSNameConflict event on the newer Service (%d events)", len(evs.Items))
		})
		expect(t, cd.Addr, "shared.example.org.", dns.TypeA, "A 192.0.2.21")
		// The older one goes away: the newer takes the name over.
		if err := svcs.Delete(ctx, "first", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		expect(t, cd.Addr, "shared.example.org.", dns.TypeA, "A 192.0.2.22")
	})

	t.Run("an invalid annotation skips only that name and records an Event", func(t *testing.T) {
		if _, err := svcs.Create(ctx, dualStackService(ns, "bad", map[string]string{"external-dns.alpha.kubernetes.io/hostname": "ok.example.org,bad..example.org,elsewhere.example.com"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		c.SetLoadBalancerIngress(t, ns, "bad", []corev1.LoadBalancerIngress{{IP: "192.0.2.30"}})
		expect(t, cd.Addr, "ok.example.org.", dns.TypeA, "A 192.0.2.30")
		harness.Eventually(t, 20*time.Second, func() error {
			evs, err := c.Admin.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=bad"})
			if err != nil {
				return err
			}
			for _, e := range evs.Items {
				if e.Reason == "InvalidDNSAnnotation" {
					return nil
				}
			}
			return fmt.Errorf("no InvalidDNSAnnotation event")
		})
		// Every other record stays.
		expect(t, cd.Addr, "shared.example.org.", dns.TypeA, "A 192.0.2.22")
		expect(t, cd.Addr, "nlb.example.org.", dns.TypeA, "A 198.51.100.8")
	})

	t.Run("tenancy: a namespace cannot take names under another tenant's suffix", func(t *testing.T) {
		teamA, teamB := c.CreateNamespace(t, "team-a"), c.CreateNamespace(t, "team-b")
		tc := harness.StartCoreDNS(t, clusterCorefile(harness.FreePort(t), c.Kubeconfig, nlb.Addr, "        allow team-a.example.org team-a"))
		ann := map[string]string{"external-dns.alpha.kubernetes.io/hostname": "app.team-a.example.org"}
		if _, err := c.Admin.CoreV1().Services(teamB).Create(ctx, dualStackService(teamB, "thief", ann), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		c.SetLoadBalancerIngress(t, teamB, "thief", []corev1.LoadBalancerIngress{{IP: "203.0.113.66"}})
		harness.Eventually(t, 20*time.Second, func() error {
			evs, err := c.Admin.CoreV1().Events(teamB).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=thief"})
			if err != nil {
				return err
			}
			for _, e := range evs.Items {
				if e.Reason == "InvalidDNSAnnotation" && strings.Contains(e.Message, "team-a.example.org") {
					return nil
				}
			}
			return fmt.Errorf("no InvalidDNSAnnotation event for the thief")
		})
		expectNX(t, tc.Addr, "app.team-a.example.org.")
		if _, err := c.Admin.CoreV1().Services(teamA).Create(ctx, dualStackService(teamA, "app", ann), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		c.SetLoadBalancerIngress(t, teamA, "app", []corev1.LoadBalancerIngress{{IP: "203.0.113.10"}})
		expect(t, tc.Addr, "app.team-a.example.org.", dns.TypeA, "A 203.0.113.10")
	})

	t.Run("API server outage: answers continue, a change after the restart appears", func(t *testing.T) {
		c.StopAPIServer(t)
		// A CoreDNS that starts while the API server is away has no data:
		// it answers SERVFAIL, never a false NXDOMAIN, until the first sync.
		readyPort := harness.FreePort(t)
		lateCorefile := strings.TrimSuffix(clusterCorefile(harness.FreePort(t), c.Kubeconfig, nlb.Addr, ""), "}\n") +
			fmt.Sprintf("    ready 127.0.0.1:%d\n}\n", readyPort)
		late := harness.StartCoreDNS(t, lateCorefile)
		readyURL := fmt.Sprintf("http://127.0.0.1:%d/ready", readyPort)
		if code := httpStatus(t, readyURL); code != http.StatusServiceUnavailable {
			t.Errorf("ready endpoint before the first sync: %d, want 503", code)
		}
		if m := harness.Query(t, late.Addr, "shared.example.org.", dns.TypeA, "udp"); m.Rcode != dns.RcodeServerFailure {
			t.Errorf("before the first sync: rcode %s, want SERVFAIL", dns.RcodeToString[m.Rcode])
		}
		if m := harness.Query(t, late.Addr, "nope.example.org.", dns.TypeA, "udp"); m.Rcode != dns.RcodeServerFailure {
			t.Errorf("before the first sync, an unknown name: rcode %s, want SERVFAIL", dns.RcodeToString[m.Rcode])
		}
		for i := 0; i < 10; i++ {
			expect(t, cd.Addr, "shared.example.org.", dns.TypeA, "A 192.0.2.22")
			time.Sleep(200 * time.Millisecond)
		}
		c.StartAPIServer(t)
		if _, err := svcs.Create(ctx, dualStackService(ns, "after", map[string]string{"external-dns.alpha.kubernetes.io/hostname": "after.example.org"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		c.SetLoadBalancerIngress(t, ns, "after", []corev1.LoadBalancerIngress{{IP: "192.0.2.40"}, {IP: "2001:db8::40"}})
		harness.Eventually(t, 60*time.Second, func() error {
			if got := answers(harness.Query(t, cd.Addr, "after.example.org.", dns.TypeAAAA, "udp")); strings.Join(got, ",") != "AAAA 2001:db8::40" {
				return fmt.Errorf("after.example.org AAAA %v", got)
			}
			return nil
		})
		expect(t, cd.Addr, "shared.example.org.", dns.TypeA, "A 192.0.2.22")
		expect(t, late.Addr, "after.example.org.", dns.TypeA, "A 192.0.2.40")
		harness.Eventually(t, 30*time.Second, func() error {
			if code := httpStatus(t, readyURL); code != http.StatusOK {
				return fmt.Errorf("ready endpoint: %d", code)
			}
			return nil
		})
	})
}

// httpStatus returns the status code of a GET, 0 when it cannot connect.
func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
