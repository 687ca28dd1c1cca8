package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestServiceKinds publishes every kind of Service the way ExternalDNS does,
// from a real kube-apiserver and the real EndpointSlice controller
// (kube-controller-manager), through the built ./coredns: headless Services
// from EndpointSlices (per-pod names, readiness, endpoints-type), NodePort
// with both traffic policies and SRV, ExternalName, ExternalDNS's precedence
// rules and k8s_gateway's annotation.
func TestServiceKinds(t *testing.T) {
	c := harness.StartCluster(t)
	c.StartControllerManager(t)
	resolver := startFakeNLB(t)
	ctx := context.Background()
	ns := c.CreateNamespace(t, "kinds")
	svcs := c.Admin.CoreV1().Services(ns)

	// Three nodes: n1 dual-stack with ExternalIPs, n2 with an IPv4
	// ExternalIP, n3 with an InternalIP only.
	c.CreateNode(t, "n1",
		corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "fd00::1"},
		corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "203.0.113.1"}, corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "2001:db8:ff::1"})
	c.CreateNode(t, "n2",
		corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.2"}, corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "203.0.113.2"})
	c.CreateNode(t, "n3", corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.3"})

	port := harness.FreePort(t)
	cd := harness.StartCoreDNS(t, clusterCorefile(port, c.Kubeconfig, resolver.Addr, "        compat k8s_gateway"))
	cnamePort := harness.FreePort(t)
	cdCNAME := harness.StartCoreDNS(t, clusterCorefile(cnamePort, c.Kubeconfig, resolver.Addr, "        externalname cname"))
	create := func(svc *corev1.Service) *corev1.Service {
		t.Helper()
		out, err := svcs.Create(ctx, svc, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	pod := func(name, app, node, hostname string, ipv4, ipv6 string) {
		t.Helper()
		spec := harness.PodSpec{Name: name, Labels: map[string]string{"app": app}, NodeName: node, IPs: []string{ipv4, ipv6}, Ready: true}
		if hostname != "" {
			spec.Hostname, spec.Subdomain = hostname, app
		}
		c.CreatePod(t, ns, spec)
	}
	dig := func(port int, name, qtype string) string {
		t.Helper()
		return harness.Dig(t, "@127.0.0.1", "-p", fmt.Sprint(port), name, qtype, "+norec", "+short")
	}
	digEventually := func(port int, name, qtype, want string) {
		t.Helper()
		harness.Eventually(t, 20*time.Second, func() error {
			if got := strings.TrimSpace(dig(port, name, qtype)); got != want {
				return fmt.Errorf("dig %s %s: %q, want %q", name, qtype, got, want)
			}
			return nil
		})
	}

	t.Run("StatefulSet-shaped dual-stack headless Service", func(t *testing.T) {
		dual := corev1.IPFamilyPolicyRequireDualStack
		create(&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "db", Annotations: map[string]string{"external-dns.kubernetes.io/hostname": "db.example.org"}},
			Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, IPFamilyPolicy: &dual, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
				Selector: map[string]string{"app": "db"}, Ports: []corev1.ServicePort{{Port: 5432}}},
		})
		pod("db-0", "db", "n1", "db-0", "10.244.0.10", "fd00:10:244::10")
		pod("db-1", "db", "n2", "db-1", "10.244.0.11", "fd00:10:244::11")
		pod("db-2", "db", "n2", "db-2", "10.244.0.12", "fd00:10:244::12")
		expect(t, cd.Addr, "db.example.org.", dns.TypeA, "A 10.244.0.10", "A 10.244.0.11", "A 10.244.0.12")
		expect(t, cd.Addr, "db.example.org.", dns.TypeAAAA, "AAAA fd00:10:244::10", "AAAA fd00:10:244::11", "AAAA fd00:10:244::12")
		expect(t, cd.Addr, "db-1.db.example.org.", dns.TypeA, "A 10.244.0.11")
		digEventually(port, "db-2.db.example.org", "AAAA", "fd00:10:244::12")
		expect(t, cd.Addr, "db-0.db.example.org.", dns.TypeTXT, "TXT heritage=external-dns,external-dns/owner=e2e,external-dns/resource=service/"+ns+"/db")

		// A pod that turns unready leaves DNS as its EndpointSlices change.
		c.SetPodReady(t, ns, "db-2", false)
		expect(t, cd.Addr, "db.example.org.", dns.TypeA, "A 10.244.0.10", "A 10.244.0.11")
		expectNX(t, cd.Addr, "db-2.db.example.org.")
		// Ready again, then gone.
		c.SetPodReady(t, ns, "db-2", true)
		expect(t, cd.Addr, "db-2.db.example.org.", dns.TypeA, "A 10.244.0.12")
		c.DeletePod(t, ns, "db-1")
		expect(t, cd.Addr, "db.example.org.", dns.TypeAAAA, "AAAA fd00:10:244::10", "AAAA fd00:10:244::12")
		expectNX(t, cd.Addr, "db-1.db.example.org.")
	})

	t.Run("headless endpoints-type HostIP and NodeExternalIP", func(t *testing.T) {
		pod("hp-0", "hp", "n1", "", "10.244.1.10", "fd00:10:244:1::10")
		pod("hp-1", "hp", "n2", "", "10.244.1.11", "fd00:10:244:1::11")
		for name, typ := range map[string]string{"hostip": "HostIP", "nodeext": "NodeExternalIP"} {
			create(&corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{
					"external-dns.kubernetes.io/hostname": name + ".example.org", "external-dns.kubernetes.io/endpoints-type": typ}},
				Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "hp"}, Ports: []corev1.ServicePort{{Port: 80}}},
			})
		}
		expect(t, cd.Addr, "hostip.example.org.", dns.TypeA, "A 10.0.0.1", "A 10.0.0.2")
		digEventually(port, "nodeext.example.org", "A", "203.0.113.1\n203.0.113.2")
	})

	t.Run("NodePort with Cluster and Local traffic policy, and SRV", func(t *testing.T) {
		pod("np-0", "np", "n2", "", "10.244.2.10", "fd00:10:244:2::10")
		pod("np-1", "np", "n3", "", "10.244.2.11", "fd00:10:244:2::11")
		cluster := create(&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "np", Annotations: map[string]string{"external-dns.kubernetes.io/hostname": "np.example.org"}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "np"},
				Ports: []corev1.ServicePort{{Name: "http", Port: 80}, {Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}}},
		})
		// Every node's ExternalIP (n3 has none: ExternalIPs win when any node has one).
		expect(t, cd.Addr, "np.example.org.", dns.TypeA, "A 203.0.113.1", "A 203.0.113.2")
		expect(t, cd.Addr, "np.example.org.", dns.TypeAAAA, "AAAA 2001:db8:ff::1")
		var tcp, udp int32
		for _, p := range cluster.Spec.Ports {
			if p.Protocol == corev1.ProtocolUDP {
				udp = p.NodePort
			} else {
				tcp = p.NodePort
			}
		}
		digEventually(port, "_np._tcp.np.example.org", "SRV", fmt.Sprintf("0 50 %d np.example.org.", tcp))
		digEventually(port, "_np._udp.np.example.org", "SRV", fmt.Sprintf("0 50 %d np.example.org.", udp))

		create(&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "npl", Annotations: map[string]string{"external-dns.kubernetes.io/hostname": "npl.example.org"}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
				Selector: map[string]string{"app": "np"}, Ports: []corev1.ServicePort{{Port: 80}}},
		})
		// Only the nodes running a ready endpoint: n2 and n3; n2's ExternalIP.
		expect(t, cd.Addr, "npl.example.org.", dns.TypeA, "A 203.0.113.2")
		// n2's pod unready: only n3 remains, which has no ExternalIP: its InternalIP.
		c.SetPodReady(t, ns, "np-0", false)
		expect(t, cd.Addr, "npl.example.org.", dns.TypeA, "A 10.0.0.3")
	})

	t.Run("ExternalName with a hostname and with an IP", func(t *testing.T) {
		resolver.set("backend.example.net.", "backend.example.net. 5 IN A 198.51.100.60", "backend.example.net. 5 IN AAAA 2001:db8:60::1")
		create(&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "backend", Annotations: map[string]string{"external-dns.kubernetes.io/hostname": "backend.example.org"}},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "backend.example.net"},
		})
		create(&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "legacy", Annotations: map[string]string{"external-dns.kubernetes.io/hostname": "legacy.example.org"}},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "192.0.2.60"},
		})
		expect(t, cd.Addr, "backend.example.org.", dns.TypeA, "A 198.51.100.60")
		expect(t, cd.Addr, "backend.example.org.", dns.TypeAAAA, "AAAA 2001:db8:60::1")
		expect(t, cd.Addr, "legacy.example.org.", dns.TypeA, "A 192.0.2.60")
		// ExternalDNS's shape with `externalname cname`.
		digEventually(cnamePort, "backend.example.org", "CNAME", "backend.example.net.")
		expect(t, cdCNAME.Addr, "legacy.example.org.", dns.TypeA, "A 192.0.2.60")
	})

	t.Run("ExternalDNS's precedence rules", func(t *testing.T) {
		// externalIPs replace the load balancer's ingress.
		withExt := dualStackService(ns, "extips", map[string]string{"external-dns.kubernetes.io/hostname": "extips.example.org"})
		withExt.Spec.ExternalIPs = []string{"198.51.100.70"}
		create(withExt)
		c.SetLoadBalancerIngress(t, ns, "extips", []corev1.LoadBalancerIngress{{IP: "192.0.2.70"}, {IP: "2001:db8::70"}})
		expect(t, cd.Addr, "extips.example.org.", dns.TypeA, "A 198.51.100.70")
		expect(t, cd.Addr, "extips.example.org.", dns.TypeAAAA)

		// The GA prefix wins over the alpha one; a fractional ttl is truncated.
		create(dualStackService(ns, "prefixes", map[string]string{
			"external-dns.alpha.kubernetes.io/hostname": "alpha.example.org", "external-dns.kubernetes.io/hostname": "ga.example.org",
			"external-dns.kubernetes.io/ttl": "20.5s"}))
		c.SetLoadBalancerIngress(t, ns, "prefixes", []corev1.LoadBalancerIngress{{IP: "192.0.2.71"}})
		expect(t, cd.Addr, "ga.example.org.", dns.TypeA, "A 192.0.2.71")
		expectNX(t, cd.Addr, "alpha.example.org.")
		if ttl := harness.Query(t, cd.Addr, "ga.example.org.", dns.TypeA, "udp").Answer[0].Header().Ttl; ttl != 20 {
			t.Errorf("ttl %d, want 20 (20.5s truncated)", ttl)
		}

		// No address yet: nothing is published (NXDOMAIN, not NODATA),
		// and the older Service keeps the name against a newer one.
		create(dualStackService(ns, "pending", map[string]string{"external-dns.kubernetes.io/hostname": "pending.example.org"}))
		time.Sleep(1100 * time.Millisecond) // a later creation second: "late" is newer
		create(dualStackService(ns, "late", map[string]string{"external-dns.kubernetes.io/hostname": "pending.example.org"}))
		c.SetLoadBalancerIngress(t, ns, "late", []corev1.LoadBalancerIngress{{IP: "192.0.2.73"}})
		expectNX(t, cd.Addr, "pending.example.org.")
		if m := harness.Query(t, cd.Addr, "pending.example.org.", dns.TypeTXT, "udp"); m.Rcode != dns.RcodeNameError {
			t.Errorf("TXT of a name without addresses: %s %v, want NXDOMAIN", dns.RcodeToString[m.Rcode], answers(m))
		}
		c.SetLoadBalancerIngress(t, ns, "pending", []corev1.LoadBalancerIngress{{IP: "192.0.2.72"}})
		expect(t, cd.Addr, "pending.example.org.", dns.TypeA, "A 192.0.2.72")
	})

	t.Run("k8s_gateway's coredns.io/hostname annotation", func(t *testing.T) {
		create(dualStackService(ns, "gw", map[string]string{"coredns.io/hostname": "gw"}))
		c.SetLoadBalancerIngress(t, ns, "gw", []corev1.LoadBalancerIngress{{IP: "192.0.2.80"}})
		digEventually(port, "gw.example.org", "A", "192.0.2.80")
		// Only with `compat k8s_gateway`.
		if m := harness.Query(t, cdCNAME.Addr, "gw.example.org.", dns.TypeA, "udp"); m.Rcode != dns.RcodeNameError {
			t.Errorf("without compat: %s %v, want NXDOMAIN", dns.RcodeToString[m.Rcode], answers(m))
		}
	})

	t.Run("bad input: reported on the Service, every other record stays", func(t *testing.T) {
		event := func(svc, contains string) {
			t.Helper()
			harness.Eventually(t, 20*time.Second, func() error {
				evs, err := c.Admin.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + svc})
				if err != nil {
					return err
				}
				for _, e := range evs.Items {
					if e.Reason == "InvalidDNSAnnotation" && strings.Contains(e.Message, contains) {
						return nil
					}
				}
				return fmt.Errorf("no InvalidDNSAnnotation event on %s mentioning %q (%d events)", svc, contains, len(evs.Items))
			})
		}
		// A Node without addresses: NodePort Services report it, keep the others.
		c.CreateNode(t, "n-empty")
		event("np", `node "n-empty" has no InternalIP or ExternalIP address`)
		expect(t, cd.Addr, "np.example.org.", dns.TypeA, "A 203.0.113.1", "A 203.0.113.2")

		// An EndpointSlice of address type FQDN (written by hand: the
		// controller never makes one) is reported; the IPv4 slice is published.
		create(&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "fq", Annotations: map[string]string{"external-dns.kubernetes.io/hostname": "fq.example.org"}},
			Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Port: 80}}},
		})
		ready := true
		for name, es := range map[string]*discoveryv1.EndpointSlice{
			"fq-fqdn": {AddressType: discoveryv1.AddressTypeFQDN, Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"db.example.com"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}},
			"fq-ipv4": {AddressType: discoveryv1.AddressTypeIPv4, Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.9.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}},
		} {
			es.ObjectMeta = metav1.ObjectMeta{Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: "fq"}}
			if _, err := c.Admin.DiscoveryV1().EndpointSlices(ns).Create(ctx, es, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		expect(t, cd.Addr, "fq.example.org.", dns.TypeA, "A 10.244.9.1")
		event("fq", `address type "FQDN"`)

		// A NodePort Service with 100 ports: 100 SRV records at one name (over TCP).
		var ports []corev1.ServicePort
		for i := 0; i < 100; i++ {
			ports = append(ports, corev1.ServicePort{Name: fmt.Sprintf("p%d", i), Port: int32(8000 + i)})
		}
		create(&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "many", Annotations: map[string]string{"external-dns.kubernetes.io/hostname": "many.example.org"}},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: ports},
		})
		harness.Eventually(t, 20*time.Second, func() error {
			m := harness.Query(t, cd.Addr, "_many._tcp.many.example.org.", dns.TypeSRV, "tcp")
			if len(m.Answer) != 100 {
				return fmt.Errorf("%d SRV records, want 100", len(m.Answer))
			}
			return nil
		})
		expect(t, cd.Addr, "db.example.org.", dns.TypeA, "A 10.244.0.10", "A 10.244.0.12")
	})
}
