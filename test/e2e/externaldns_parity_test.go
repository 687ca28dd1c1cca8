package e2e

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestExternalDNSParity runs the real ExternalDNS v0.20 (inmemory provider,
// one sync) and clusterzone against the same cluster, with the real
// EndpointSlice controller, and compares what each publishes for every kind
// of Service: headless (per-pod names, an unready pod, endpoints-type
// NodeExternalIP), NodePort (Cluster and Local policy, SRV), a load balancer
// with external IPs, a fractional ttl, ExternalName (an IP, and a hostname
// as a CNAME with `externalname cname`). Same names, types, TTLs and targets.
func TestExternalDNSParity(t *testing.T) {
	c := harness.StartCluster(t)
	c.StartControllerManager(t)
	ctx := context.Background()
	ns := c.CreateNamespace(t, "parity")
	svcs := c.Admin.CoreV1().Services(ns)
	ann := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m["external-dns.alpha.kubernetes.io/"+kv[i]] = kv[i+1]
		}
		return m
	}
	create := func(svc *corev1.Service) *corev1.Service {
		t.Helper()
		out, err := svcs.Create(ctx, svc, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	pod := func(name, app, node, hostname string, ready bool, ips ...string) {
		t.Helper()
		spec := harness.PodSpec{Name: name, Labels: map[string]string{"app": app}, NodeName: node, IPs: ips, Ready: ready}
		if hostname != "" {
			spec.Hostname, spec.Subdomain = hostname, app
		}
		c.CreatePod(t, ns, spec)
	}

	c.CreateNode(t, "n1",
		corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.1"},
		corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "203.0.113.1"}, corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "2001:db8:ff::1"})
	c.CreateNode(t, "n2",
		corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.2"}, corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "203.0.113.2"})
	c.CreateNode(t, "n3", corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.3"})

	dual := corev1.IPFamilyPolicyRequireDualStack
	create(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Annotations: ann("hostname", "db.example.org")},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, IPFamilyPolicy: &dual, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
			Selector: map[string]string{"app": "db"}, Ports: []corev1.ServicePort{{Port: 5432}}},
	})
	pod("db-0", "db", "n1", "db-0", true, "10.244.0.10", "fd00:10:244::10")
	pod("db-1", "db", "n2", "db-1", true, "10.244.0.11", "fd00:10:244::11")
	pod("db-2", "db", "n2", "db-2", false, "10.244.0.12", "fd00:10:244::12")

	create(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "nodeext", Annotations: ann("hostname", "nodeext.example.org", "endpoints-type", "NodeExternalIP")},
		Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "hp"}, Ports: []corev1.ServicePort{{Port: 80}}},
	})
	pod("hp-0", "hp", "n1", "", true, "10.244.1.10")
	pod("hp-1", "hp", "n2", "", true, "10.244.1.11")

	np := create(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "np", Annotations: ann("hostname", "np.example.org")},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "np"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80}, {Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}}},
	})
	create(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "npl", Annotations: ann("hostname", "npl.example.org")},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
			Selector: map[string]string{"app": "np"}, Ports: []corev1.ServicePort{{Port: 80}}},
	})
	pod("np-0", "np", "n2", "", true, "10.244.2.10")
	pod("np-1", "np", "n3", "", true, "10.244.2.11")

	lb := dualStackService(ns, "lb", ann("hostname", "lb.example.org", "ttl", "20.5s"))
	lb.Spec.ExternalIPs = []string{"198.51.100.70"}
	create(lb)
	c.SetLoadBalancerIngress(t, ns, "lb", []corev1.LoadBalancerIngress{{IP: "192.0.2.70"}, {IP: "2001:db8::70"}})
	create(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy", Annotations: ann("hostname", "legacy.example.org")},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "192.0.2.60"},
	})
	create(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "backend", Annotations: ann("hostname", "backend.example.org")},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "backend.example.net"},
	})

	// Wait for the controller's slices: 2 ready of 3 db pods in both
	// families, both hp pods, both np pods.
	readyIn := func(svc string, want int) func() error {
		return func() error {
			n := 0
			for _, s := range c.EndpointSlices(t, ns, svc) {
				for _, e := range s.Endpoints {
					if e.Conditions.Ready != nil && *e.Conditions.Ready {
						n++
					}
				}
			}
			if n != want {
				return fmt.Errorf("%s: %d ready endpoints, want %d", svc, n, want)
			}
			return nil
		}
	}
	harness.Eventually(t, 30*time.Second, readyIn("db", 4))
	harness.Eventually(t, 30*time.Second, readyIn("nodeext", 2))
	harness.Eventually(t, 30*time.Second, readyIn("np", 2))
	harness.Eventually(t, 30*time.Second, readyIn("npl", 2))

	// ExternalDNS: one sync, what it would create.
	ed := harness.StartExternalDNS(t,
		"--kubeconfig="+c.AdminKubeconfig, "--namespace="+ns,
		"--source=service", "--provider=inmemory", "--inmemory-zone=example.org", "--domain-filter=example.org",
		"--registry=noop", "--once", "--log-level=info",
		// ExternalDNS manages A, AAAA and CNAME unless told: SRV too.
		"--managed-record-types=A", "--managed-record-types=AAAA", "--managed-record-types=CNAME", "--managed-record-types=SRV")
	if err := ed.Wait(t, 60*time.Second); err != nil {
		t.Fatalf("external-dns --once: %v\n%s", err, ed.Log())
	}
	theirs := externalDNSCreates(ed.Log())
	if len(theirs) == 0 {
		t.Fatalf("external-dns created nothing:\n%s", ed.Log())
	}

	// clusterzone, with ExternalDNS's shape for ExternalName hostnames.
	port := harness.FreePort(t)
	cd := harness.StartCoreDNS(t, clusterCorefile(port, c.Kubeconfig, "127.0.0.1:1", "        externalname cname"))
	ours := map[string]string{}
	harness.Eventually(t, 20*time.Second, func() error {
		for key := range theirs {
			name, typ, _ := strings.Cut(key, " ")
			got, err := served(t, cd.Addr, name, dns.StringToType[typ])
			if err != nil {
				return err
			}
			ours[key] = got
			if got != theirs[key] {
				return fmt.Errorf("%s: clusterzone %q, ExternalDNS %q", key, got, theirs[key])
			}
		}
		return nil
	})

	// Nothing more on clusterzone's side for these names and types either
	// (the unready pod, the AAAA ExternalDNS did not make).
	for _, q := range []struct {
		name string
		typ  uint16
	}{{"db-2.db.example.org.", dns.TypeA}, {"lb.example.org.", dns.TypeAAAA}, {"npl.example.org.", dns.TypeAAAA}, {"db-2.db.example.org.", dns.TypeAAAA}} {
		key := strings.TrimSuffix(q.name, ".") + " " + dns.TypeToString[q.typ]
		if _, ok := theirs[key]; ok {
			continue
		}
		if got, _ := served(t, cd.Addr, q.name, q.typ); got != "" {
			t.Errorf("%s: clusterzone serves %q, ExternalDNS publishes nothing", key, got)
		}
	}
	keys := make([]string, 0, len(theirs))
	for k := range theirs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("same: %-32s %s", k, theirs[k])
	}
	if !slices.Contains(keys, "_np._tcp.np.example.org SRV") || !slices.Contains(keys, "_np._udp.np.example.org SRV") || np.Spec.Ports[0].NodePort == 0 {
		t.Errorf("ExternalDNS made no SRV record for the NodePort: %v", keys)
	}
}

var createLine = regexp.MustCompile(`msg="CREATE: (\S+) (\d+) IN (\S+) \S* ?(.*) (\[\]|map\[.*\])"`)

// externalDNSCreates parses the inmemory provider's CREATE lines into
// "name TYPE" -> "ttl target;target" (targets sorted, TTL 0 when unset).
func externalDNSCreates(log string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(log, "\n") {
		m := createLine.FindStringSubmatch(line)
		if m == nil || m[3] == "TXT" {
			continue
		}
		targets := strings.Split(strings.TrimSpace(m[4]), ";")
		for i, tg := range targets {
			targets[i] = strings.TrimSuffix(tg, ".")
		}
		sort.Strings(targets)
		out[m[1]+" "+m[3]] = m[2] + " " + strings.Join(targets, ";")
	}
	return out
}

// served returns clusterzone's answer for name and qtype in the same form:
// "ttl target;target", with ExternalDNS's TTL 0 (not configured) for the
// plugin's default TTL; "" when there is none.
func served(t *testing.T, addr, name string, qtype uint16) (string, error) {
	m := harness.Query(t, addr, dns.Fqdn(name), qtype, "tcp")
	if m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError {
		return "", fmt.Errorf("%s %s: rcode %s", name, dns.TypeToString[qtype], dns.RcodeToString[m.Rcode])
	}
	var targets []string
	ttl := uint32(0)
	for _, rr := range m.Answer {
		if rr.Header().Rrtype != qtype {
			continue
		}
		ttl = rr.Header().Ttl
		switch v := rr.(type) {
		case *dns.A:
			targets = append(targets, v.A.String())
		case *dns.AAAA:
			targets = append(targets, v.AAAA.String())
		case *dns.CNAME:
			targets = append(targets, strings.TrimSuffix(v.Target, "."))
		case *dns.SRV:
			targets = append(targets, fmt.Sprintf("%d %d %d %s", v.Priority, v.Weight, v.Port, strings.TrimSuffix(v.Target, ".")))
		}
	}
	if len(targets) == 0 {
		return "", nil
	}
	if ttl == 60 { // the plugin's default: ExternalDNS shows an unset TTL as 0
		ttl = 0
	}
	sort.Strings(targets)
	return fmt.Sprintf("%d %s", ttl, strings.Join(targets, ";")), nil
}
