package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestExternalDNSRoutingParity runs the real ExternalDNS v0.20 (AWS
// provider, TXT registry, one sync) and clusterzone on the same
// routing-annotated Services, each into its own hosted zone example.org of
// one moto_server behind Route 53's rules, with the same owner id, and
// compares the zones: the same record sets (name, type, set identifier),
// the same weights, regions, failover, geolocation, multivalue answers,
// health checks, geoproximity, values and alias targets, and the same ownership TXT
// records with the same set identifiers and policies, also for two Services
// at one name under their own set identifiers. The one difference
// allowed is clusterzone's second TXT of an ALIAS A record (a-NAME beside
// cname-NAME, for ExternalDNS v0.22+). Geoproximity (by region with a
// bias, and by coordinates) reads back through the rules proxy, which keeps
// what moto drops. clusterzone taking over ExternalDNS's zone adds only that TXT. Then
// ExternalDNS --dry-run plans the same on clusterzone's zone as on
// its own: a hand-back changes nothing.
func TestExternalDNSRoutingParity(t *testing.T) {
	c := harness.StartCluster(t)
	moto := harness.StartMoto(t)
	proxy := harness.StartFaultProxy(t, moto.URL)
	nlb := startFakeNLB(t)
	const nlbHost = "k8s-rt-nlb-0123456789.elb.us-east-1.amazonaws.com"
	nlb.set(nlbHost+".", nlbHost+". 60 IN A 198.51.100.4", nlbHost+". 60 IN AAAA 2001:db8:51::4")
	r53 := r53Client(moto.URL)
	edZone := createHostedZone(t, r53, "example.org")
	czZone := createHostedZone(t, r53, "example.org")
	ns := c.CreateNamespace(t, "rt")
	const hc = "abcdef11-2222-3333-4444-555555fedcba"
	ann := edAnnotations
	lbNLB := dualStackNLBService(ns, "nlb", "nlb.example.org")
	lbNLB.Annotations["external-dns.alpha.kubernetes.io/set-identifier"] = "nlb-eu"
	lbNLB.Annotations["external-dns.alpha.kubernetes.io/aws-weight"] = "7"
	createServices(t, c, []serviceCase{
		{dualStackService(ns, "w1", ann("weighted.example.org", "set-identifier", "w1", "aws-weight", "10")), []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}, {IP: "2001:db8::1"}}},
		{dualStackService(ns, "w2", ann("weighted2.example.org", "set-identifier", "w2", "aws-weight", "0", "ttl", "60")), []corev1.LoadBalancerIngress{{IP: "192.0.2.2"}}},
		{dualStackService(ns, "lat", ann("latency.example.org", "set-identifier", "use1", "aws-region", "us-east-1")), []corev1.LoadBalancerIngress{{IP: "192.0.2.3"}}},
		{dualStackService(ns, "fo", ann("failover.example.org", "set-identifier", "primary", "aws-failover", "PRIMARY", "aws-health-check-id", hc)), []corev1.LoadBalancerIngress{{IP: "192.0.2.4"}}},
		{dualStackService(ns, "geo", ann("geo.example.org", "set-identifier", "eu", "aws-geolocation-continent-code", "EU")), []corev1.LoadBalancerIngress{{IP: "192.0.2.5"}}},
		{dualStackService(ns, "geoc", ann("geoc.example.org", "set-identifier", "us-wa", "aws-geolocation-country-code", "US", "aws-geolocation-subdivision-code", "WA")), []corev1.LoadBalancerIngress{{IP: "192.0.2.6"}}},
		{dualStackService(ns, "gp", ann("gp.example.org", "set-identifier", "use1", "aws-geoproximity-region", "us-east-1", "aws-geoproximity-bias", "10")), []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}}},
		{dualStackService(ns, "gpc", ann("gpc.example.org", "set-identifier", "nyc", "aws-geoproximity-coordinates", "40.71,-74.01")), []corev1.LoadBalancerIngress{{IP: "192.0.2.11"}}},
		{dualStackService(ns, "mv", ann("mv.example.org", "set-identifier", "mv1", "aws-multi-value-answer", "true")), []corev1.LoadBalancerIngress{{IP: "192.0.2.7"}, {IP: "2001:db8::7"}}},
		{lbNLB, []corev1.LoadBalancerIngress{{Hostname: nlbHost}}},
		// Two Services of one cluster at one name, each under its own set identifier.
		{dualStackService(ns, "blue", ann("bg.example.org", "set-identifier", "blue", "aws-weight", "90")), []corev1.LoadBalancerIngress{{IP: "192.0.2.8"}}},
		{dualStackService(ns, "green", ann("bg.example.org", "set-identifier", "green", "aws-weight", "10")), []corev1.LoadBalancerIngress{{IP: "192.0.2.9"}}},
	})

	edns := func(zoneID string, extra ...string) *harness.ExternalDNS {
		return runExternalDNSOnce(t, c, moto, proxy, ns, zoneID, extra...)
	}
	edns(edZone)
	theirs := routedSnapshot(t, r53, edZone)
	logSnapshot(t, "ExternalDNS v0.20's zone", theirs)
	if len(theirs) < 20 {
		t.Fatalf("ExternalDNS wrote %d record sets, want the whole corpus", len(theirs))
	}

	mark := len(proxy.Requests())
	cd := harness.StartCoreDNS(t, route53Corefile(harness.FreePort(t), c.Kubeconfig, nlb.Addr, czZone, proxy.URL, "            interval 3s"), moto.Env...)
	waitFullSyncs(t, cd, 3, 2)
	cd.Stop(t)
	if logRejected(t, "clusterzone", proxy.Requests()[mark:]) > 0 {
		t.Errorf("Route 53's rules rejected clusterzone's batches")
	}
	ours := routedSnapshot(t, r53, czZone)
	logSnapshot(t, "clusterzone's zone", ours)

	for _, k := range sortedKeys(theirs) {
		if ours[k] != theirs[k] {
			t.Errorf("%s: clusterzone %q, ExternalDNS %q", k, ours[k], theirs[k])
		}
	}
	for _, k := range sortedKeys(ours) {
		if _, ok := theirs[k]; !ok && !strings.HasPrefix(k, "a-nlb.example.org. TXT") {
			t.Errorf("%s: only clusterzone writes %q", k, ours[k])
		}
	}
	// The policies did land (the comparison alone would pass on two empty zones).
	for _, k := range []string{
		"weighted.example.org. A w1", "weighted.example.org. AAAA w1", "a-weighted.example.org. TXT w1",
		"latency.example.org. A use1", "failover.example.org. A primary", "geo.example.org. A eu",
		"geoc.example.org. A us-wa", "gp.example.org. A use1", "gpc.example.org. A nyc", "mv.example.org. AAAA mv1", "nlb.example.org. A nlb-eu", "nlb.example.org. AAAA nlb-eu",
		"cname-nlb.example.org. TXT nlb-eu", "aaaa-nlb.example.org. TXT nlb-eu",
		"bg.example.org. A blue", "bg.example.org. A green", "a-bg.example.org. TXT blue", "a-bg.example.org. TXT green",
	} {
		if _, ok := theirs[k]; !ok {
			t.Errorf("ExternalDNS did not write %s", k)
		}
	}

	// Takeover: clusterzone on ExternalDNS's zone reads the ownership of
	// each record set by its set identifier, finds everything as it wants
	// it, and adds only the a- TXT of the ALIAS A record.
	mark = len(proxy.Requests())
	cd = harness.StartCoreDNS(t, route53Corefile(harness.FreePort(t), c.Kubeconfig, nlb.Addr, edZone, proxy.URL, "            interval 3s"), moto.Env...)
	waitFullSyncs(t, cd, 3, 2)
	cd.Stop(t)
	sent := proxy.AppliedChanges(mark)
	logChanges(t, "clusterzone's takeover of ExternalDNS's zone sent", sent)
	if len(sent) != 1 || sent[0].String() != "CREATE a-nlb.example.org. TXT" {
		t.Errorf("the takeover sent %v, want only CREATE a-nlb.example.org. TXT", sent)
	}

	// Hand-back: ExternalDNS plans on clusterzone's zone exactly what it
	// plans on its own. That is not nothing: ExternalDNS v0.20 reads a
	// multivalue record back as aws/multi-value-answer "" and compares it
	// with the annotation's "true", so it UPSERTs those records (and TXTs)
	// on every sync, on its own zone too.
	plans := func(zoneID string) []string {
		var out []string
		for _, c := range edns(zoneID, "--dry-run").DesiredChanges() {
			out = append(out, c.String())
		}
		sort.Strings(out)
		return out
	}
	onOwn, onOurs := plans(edZone), plans(czZone)
	t.Logf("ExternalDNS --dry-run plans on its own zone: %v", onOwn)
	if strings.Join(onOwn, "\n") != strings.Join(onOurs, "\n") {
		t.Errorf("ExternalDNS --dry-run plans on clusterzone's zone\n  %s\nbut on its own\n  %s", strings.Join(onOurs, "\n  "), strings.Join(onOwn, "\n  "))
	}
}

// edAnnotations returns ExternalDNS annotations (alpha prefix): hostname
// host, and the pairs kv after the prefix.
func edAnnotations(host string, kv ...string) map[string]string {
	m := map[string]string{"external-dns.alpha.kubernetes.io/hostname": host}
	for i := 0; i+1 < len(kv); i += 2 {
		m["external-dns.alpha.kubernetes.io/"+kv[i]] = kv[i+1]
	}
	return m
}

// serviceCase is a Service of a corpus and the load-balancer ingress it
// gets (nil: none).
type serviceCase struct {
	svc     *corev1.Service
	ingress []corev1.LoadBalancerIngress
}

// createServices creates each Service and sets its ingress.
func createServices(t *testing.T, c *harness.Cluster, cases []serviceCase) {
	t.Helper()
	for _, s := range cases {
		if _, err := c.Admin.CoreV1().Services(s.svc.Namespace).Create(context.Background(), s.svc, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating Service %s: %v", s.svc.Name, err)
		}
		if s.ingress != nil {
			c.SetLoadBalancerIngress(t, s.svc.Namespace, s.svc.Name, s.ingress)
		}
	}
}

// runExternalDNSOnce runs the real ExternalDNS (AWS provider, TXT registry
// with clusterzone's owner id, policy sync, --once) on the Services of ns
// into hosted zone zoneID through proxy, and fails the test when it fails
// or Route 53's rules rejected a batch of it.
func runExternalDNSOnce(t *testing.T, c *harness.Cluster, moto *harness.Moto, proxy *harness.FaultProxy, ns, zoneID string, extra ...string) *harness.ExternalDNS {
	t.Helper()
	mark := len(proxy.Requests())
	args := append([]string{
		"--kubeconfig=" + c.AdminKubeconfig, "--namespace=" + ns,
		"--source=service", "--provider=aws", "--registry=txt", "--txt-owner-id=" + takeoverOwner,
		"--zone-id-filter=" + zoneID, "--domain-filter=example.org",
		"--policy=sync", "--once", "--log-level=info",
	}, extra...)
	e := harness.StartExternalDNSEnv(t, append(append([]string(nil), moto.Env...), "AWS_ENDPOINT_URL_ROUTE_53="+proxy.URL), args...)
	if err := e.Wait(t, 2*time.Minute); err != nil {
		t.Fatalf("external-dns --once: %v\n%s", err, e.Log())
	}
	if logRejected(t, "ExternalDNS", proxy.Requests()[mark:]) > 0 {
		t.Errorf("Route 53's rules rejected ExternalDNS's batches")
	}
	return e
}

// routedSnapshot returns every record set of the zone but SOA and NS, as
// "name TYPE set-identifier" -> "TTL values [routing]" (or "ALIAS ..."),
// the routing as Route 53 holds it.
func routedSnapshot(t *testing.T, c *route53.Client, zoneID string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, rr := range recordSets(t, c, zoneID) {
		key := recordSetName(rr) + " " + string(rr.Type) + " " + aws.ToString(rr.SetIdentifier)
		v := recordSetValue(rr)
		if rr.Weight != nil {
			v += fmt.Sprintf(" weight=%d", *rr.Weight)
		}
		if rr.Region != "" {
			v += " region=" + string(rr.Region)
		}
		if rr.Failover != "" {
			v += " failover=" + string(rr.Failover)
		}
		if g := rr.GeoLocation; g != nil {
			v += fmt.Sprintf(" geo=%s/%s/%s", aws.ToString(g.ContinentCode), aws.ToString(g.CountryCode), aws.ToString(g.SubdivisionCode))
		}
		if g := rr.GeoProximityLocation; g != nil {
			v += fmt.Sprintf(" geoproximity=%s/%s/%d", aws.ToString(g.AWSRegion), aws.ToString(g.LocalZoneGroup), aws.ToInt32(g.Bias))
			if c := g.Coordinates; c != nil {
				v += fmt.Sprintf("/%s,%s", aws.ToString(c.Latitude), aws.ToString(c.Longitude))
			}
		}
		if rr.MultiValueAnswer != nil {
			v += fmt.Sprintf(" multivalue=%t", *rr.MultiValueAnswer)
		}
		if rr.HealthCheckId != nil {
			v += " healthcheck=" + *rr.HealthCheckId
		}
		out[key] = v
	}
	return out
}
