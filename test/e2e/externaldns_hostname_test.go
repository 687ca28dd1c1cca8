package e2e

import (
	"strings"
	"testing"

	"github.com/clusterzone/clusterzone/test/harness"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestExternalDNSHostnameParity runs the real ExternalDNS v0.20 and
// clusterzone on the same Services whose addresses are hostnames, each
// into its own hosted zone example.org of one moto_server behind Route
// 53's rules, and compares the zones, first as both write them by default,
// then with --aws-prefer-cname and prefer-cname:
//   - a load balancer of another cloud (ingress hostname), a target
//     annotation and an ExternalName Service, to hostnames outside AWS:
//     CNAME records with cname-NAME ownership TXT records;
//   - the same with a weighted routing policy: a weighted CNAME;
//   - an AWS NLB: ALIAS A and ALIAS AAAA (with prefer-cname: a CNAME);
//   - the alias annotation to a record of the same zone: ALIAS A and AAAA
//     in the zone itself.
//
// The one difference allowed is clusterzone's a-NAME TXT of an ALIAS A
// (beside cname-NAME, for ExternalDNS v0.22+). Then clusterzone takes over
// each of ExternalDNS's zones and sends only those a-NAME TXT records.
func TestExternalDNSHostnameParity(t *testing.T) {
	c := harness.StartCluster(t)
	moto := harness.StartMoto(t)
	proxy := harness.StartFaultProxy(t, moto.URL)
	resolver := startFakeNLB(t)
	const (
		nlbHost   = "k8s-hn-nlb-0123456789.elb.us-east-1.amazonaws.com"
		otherLB   = "a1b2c3.lb.other-cloud.example.net"
		cdn       = "shop.cdn.example.net"
		dbHost    = "db.example.net"
		weightCDN = "eu.cdn.example.net"
	)
	for host, ips := range map[string][2]string{nlbHost: {"198.51.100.4", "2001:db8:51::4"}, otherLB: {"198.51.100.5", "2001:db8:51::5"},
		cdn: {"198.51.100.6", "2001:db8:51::6"}, dbHost: {"198.51.100.7", "2001:db8:51::7"}, weightCDN: {"198.51.100.8", "2001:db8:51::8"}} {
		resolver.set(host+".", host+". 60 IN A "+ips[0], host+". 60 IN AAAA "+ips[1])
	}
	// www.example.org resolves as it does on the Internet, through Route
	// 53 (zz's target: names resolve before they are written).
	resolver.set("www.example.org.", "www.example.org. 60 IN A 192.0.2.80", "www.example.org. 60 IN AAAA 2001:db8::80")
	r53 := r53Client(moto.URL)
	ns := c.CreateNamespace(t, "hn")
	ann := edAnnotations
	clusterIP := func(name string, a map[string]string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: a},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: 443}}}}
	}
	createServices(t, c, []serviceCase{
		{dualStackService(ns, "other", ann("other.example.org")), []corev1.LoadBalancerIngress{{Hostname: otherLB}}},
		{clusterIP("shop", ann("shop.example.org", "target", cdn)), nil},
		{&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns, Annotations: ann("db.example.org")},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: dbHost}}, nil},
		{clusterIP("shop-eu", ann("shop-eu.example.org", "target", weightCDN, "set-identifier", "eu", "aws-weight", "20")), nil},
		{dualStackNLBService(ns, "nlb", "nlb.example.org"), []corev1.LoadBalancerIngress{{Hostname: nlbHost}}},
		{dualStackService(ns, "www", ann("www.example.org")), []corev1.LoadBalancerIngress{{IP: "192.0.2.80"}, {IP: "2001:db8::80"}}},
		// An ALIAS to www in the same hosted zone; named to sort after
		// www, as ExternalDNS writes a batch in name order and Route 53
		// wants an ALIAS's target first.
		{clusterIP("zz", ann("zz.example.org", "target", "www.example.org", "alias", "true")), nil},
	})
	edns := func(zoneID string, extra ...string) { runExternalDNSOnce(t, c, moto, proxy, ns, zoneID, extra...) }
	clusterzone := func(zoneID, extra string) []harness.FaultChange {
		t.Helper()
		mark := len(proxy.Requests())
		cd := harness.StartCoreDNS(t, route53Corefile(harness.FreePort(t), c.Kubeconfig, resolver.Addr, zoneID, proxy.URL, "            interval 3s\n"+extra), moto.Env...)
		waitFullSyncs(t, cd, 3, 2)
		cd.Stop(t)
		if logRejected(t, "clusterzone", proxy.Requests()[mark:]) > 0 {
			t.Errorf("Route 53's rules rejected clusterzone's batches")
		}
		return proxy.AppliedChanges(mark)
	}
	compare := func(what, edZone, czZone string, must []string) {
		t.Helper()
		theirs, ours := routedSnapshot(t, r53, edZone), routedSnapshot(t, r53, czZone)
		logSnapshot(t, what+": ExternalDNS v0.20's zone", theirs)
		logSnapshot(t, what+": clusterzone's zone", ours)
		for _, k := range sortedKeys(theirs) {
			if ours[k] != strings.ReplaceAll(theirs[k], edZone, czZone) {
				t.Errorf("%s: %s: clusterzone %q, ExternalDNS %q", what, k, ours[k], theirs[k])
			}
		}
		for _, k := range sortedKeys(ours) {
			if _, ok := theirs[k]; !ok && !(strings.HasPrefix(k, "a-nlb.example.org. TXT") || strings.HasPrefix(k, "a-zz.example.org. TXT")) {
				t.Errorf("%s: %s: only clusterzone writes %q", what, k, ours[k])
			}
		}
		for _, k := range must { // the comparison alone would pass on two empty zones
			if _, ok := theirs[k]; !ok {
				t.Errorf("%s: ExternalDNS did not write %s", what, k)
			}
		}
	}
	takeover := func(what, edZone, extra string, want ...string) {
		t.Helper()
		sent := clusterzone(edZone, extra)
		logChanges(t, what+": clusterzone's takeover of ExternalDNS's zone sent", sent)
		var got []string
		for _, c := range sent {
			got = append(got, c.String())
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: the takeover sent %v, want %v", what, got, want)
		}
	}
	cnames := []string{"other.example.org. CNAME ", "shop.example.org. CNAME ", "db.example.org. CNAME ", "shop-eu.example.org. CNAME eu",
		"cname-other.example.org. TXT ", "cname-shop.example.org. TXT ", "cname-db.example.org. TXT ", "cname-shop-eu.example.org. TXT eu",
		"zz.example.org. A ", "zz.example.org. AAAA ", "cname-zz.example.org. TXT "}

	edZone, czZone := createHostedZone(t, r53, "example.org"), createHostedZone(t, r53, "example.org")
	edns(edZone)
	clusterzone(czZone, "")
	compare("default", edZone, czZone, append([]string{"nlb.example.org. A ", "nlb.example.org. AAAA ", "cname-nlb.example.org. TXT "}, cnames...))
	takeover("default", edZone, "", "CREATE a-nlb.example.org. TXT", "CREATE a-zz.example.org. TXT")

	edZone, czZone = createHostedZone(t, r53, "example.org"), createHostedZone(t, r53, "example.org")
	edns(edZone, "--aws-prefer-cname")
	clusterzone(czZone, "            prefer-cname")
	compare("prefer-cname", edZone, czZone, append([]string{"nlb.example.org. CNAME ", "cname-nlb.example.org. TXT "}, cnames...))
	takeover("prefer-cname", edZone, "            prefer-cname", "CREATE a-zz.example.org. TXT")
}
