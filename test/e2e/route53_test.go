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
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// r53Client talks to moto directly (not through the plugin), to set up and check zones.
func r53Client(endpoint string) *route53.Client { return harness.Route53Client(endpoint) }

func createHostedZone(t *testing.T, c *route53.Client, name string) string {
	t.Helper()
	return harness.CreateHostedZone(t, c, name)
}

// zoneRecords lists the zone as "name TYPE value" lines (ALIAS as "ALIAS zoneid target").
func zoneRecords(t *testing.T, c *route53.Client, zoneID string) []string {
	t.Helper()
	var out []string
	p := route53.NewListResourceRecordSetsPaginator(c, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, rr := range page.ResourceRecordSets {
			if rr.Type == types.RRTypeSoa || rr.Type == types.RRTypeNs {
				continue
			}
			name := strings.ReplaceAll(aws.ToString(rr.Name), `\052`, "*")
			if rr.AliasTarget != nil {
				out = append(out, fmt.Sprintf("%s %s ALIAS %s %s", name, rr.Type, aws.ToString(rr.AliasTarget.HostedZoneId), strings.TrimSuffix(aws.ToString(rr.AliasTarget.DNSName), ".")))
				continue
			}
			for _, v := range rr.ResourceRecords {
				out = append(out, fmt.Sprintf("%s %s %s", name, rr.Type, aws.ToString(v.Value)))
			}
		}
	}
	sort.Strings(out)
	return out
}

func route53Corefile(port int, kubeconfig, resolver, zoneID, endpoint, extra string) string {
	return fmt.Sprintf(`example.org:%d {
    clusterzone {
        kubeconfig %s
        resolver %s
        owner-id e2e
        route53 {
            zone example.org %s
            endpoint %s
            region us-east-1
            policy sync
            debounce 200ms
            lease kube-system/clusterzone-e2e
%s
        }
    }
}
`, port, kubeconfig, resolver, zoneID, endpoint, extra)
}

func expectZone(t *testing.T, c *route53.Client, zoneID string, timeout time.Duration, want ...string) {
	t.Helper()
	sort.Strings(want)
	harness.Eventually(t, timeout, func() error {
		got := zoneRecords(t, c, zoneID)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			return fmt.Errorf("hosted zone holds\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		return nil
	})
}

func txt(name, ns, svc string) string {
	return fmt.Sprintf(`%s TXT "heritage=external-dns,external-dns/owner=e2e,external-dns/resource=service/%s/%s"`, name, ns, svc)
}

func TestRoute53Mirror(t *testing.T) {
	c := harness.StartCluster(t)
	moto := harness.StartMoto(t)
	nlb := startFakeNLB(t)
	r53 := r53Client(moto.URL)
	zoneID := createHostedZone(t, r53, "example.org")
	ctx := context.Background()
	ns := c.CreateNamespace(t, "shop")
	svcs := c.Admin.CoreV1().Services(ns)

	// Two replicas, each through its own counting proxy: exactly one writes.
	p1, p2 := harness.StartFaultProxy(t, moto.URL), harness.StartFaultProxy(t, moto.URL)
	cd1 := harness.StartCoreDNS(t, route53Corefile(harness.FreePort(t), c.Kubeconfig, nlb.Addr, zoneID, p1.URL, ""), moto.Env...)
	cd2 := harness.StartCoreDNS(t, route53Corefile(harness.FreePort(t), c.Kubeconfig, nlb.Addr, zoneID, p2.URL, ""), moto.Env...)

	web := dualStackService(ns, "web", map[string]string{"external-dns.alpha.kubernetes.io/hostname": "web.example.org"})
	if _, err := svcs.Create(ctx, web, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.SetLoadBalancerIngress(t, ns, "web", []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}, {IP: "2001:db8::10"}})
	expectZone(t, r53, zoneID, 60*time.Second,
		"web.example.org. A 192.0.2.10", "web.example.org. AAAA 2001:db8::10",
		txt("a-web.example.org.", ns, "web"), txt("aaaa-web.example.org.", ns, "web"))

	leader, follower, leaderDNS := p1, p2, cd1
	if p2.Count("ChangeResourceRecordSets") > 0 {
		leader, follower, leaderDNS = p2, p1, cd2
	}
	if leader.Count("ChangeResourceRecordSets") == 0 || follower.Count("ChangeResourceRecordSets") != 0 {
		t.Fatalf("want exactly one writer: replica 1 %v, replica 2 %v", p1.Counts(), p2.Counts())
	}

	t.Run("a change costs one ChangeResourceRecordSets and no listing", func(t *testing.T) {
		before := leader.Counts()
		c.SetLoadBalancerIngress(t, ns, "web", []corev1.LoadBalancerIngress{{IP: "192.0.2.11"}, {IP: "2001:db8::11"}})
		expectZone(t, r53, zoneID, 30*time.Second,
			"web.example.org. A 192.0.2.11", "web.example.org. AAAA 2001:db8::11",
			txt("a-web.example.org.", ns, "web"), txt("aaaa-web.example.org.", ns, "web"))
		after := leader.Counts()
		if d := after["ChangeResourceRecordSets"] - before["ChangeResourceRecordSets"]; d != 1 {
			t.Errorf("%d ChangeResourceRecordSets calls for one change", d)
		}
		if d := after["ListResourceRecordSets"] - before["ListResourceRecordSets"]; d != 0 {
			t.Errorf("%d ListResourceRecordSets calls for one change", d)
		}
		t.Logf("leader requests: before %v, after %v", before, after)
	})

	t.Run("dual-stack NLB becomes ALIAS A and ALIAS AAAA", func(t *testing.T) {
		host := "k8s-shop-nlb-0123456789.elb.us-east-1.amazonaws.com"
		nlb.set(host+".", host+". 5 IN A 198.51.100.7", host+". 5 IN AAAA 2001:db8:51::7")
		svc := dualStackNLBService(ns, "nlb", "nlb.example.org")
		if _, err := svcs.Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		c.SetLoadBalancerIngress(t, ns, "nlb", []corev1.LoadBalancerIngress{{Hostname: host}})
		expectZone(t, r53, zoneID, 30*time.Second,
			"web.example.org. A 192.0.2.11", "web.example.org. AAAA 2001:db8::11",
			txt("a-web.example.org.", ns, "web"), txt("aaaa-web.example.org.", ns, "web"),
			"nlb.example.org. A ALIAS Z26RNL4JYFTOTI "+host, "nlb.example.org. AAAA ALIAS Z26RNL4JYFTOTI "+host,
			// cname-: the name ExternalDNS up to v0.21 reads for an ALIAS A record.
			txt("a-nlb.example.org.", ns, "nlb"), txt("cname-nlb.example.org.", ns, "nlb"), txt("aaaa-nlb.example.org.", ns, "nlb"))
	})

	t.Run("deleted under sync: removed", func(t *testing.T) {
		if err := svcs.Delete(ctx, "nlb", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		expectZone(t, r53, zoneID, 30*time.Second,
			"web.example.org. A 192.0.2.11", "web.example.org. AAAA 2001:db8::11",
			txt("a-web.example.org.", ns, "web"), txt("aaaa-web.example.org.", ns, "web"))
	})

	t.Run("the leader dies: the other replica takes over within the lease duration", func(t *testing.T) {
		leaderDNS.Kill(t) // no graceful release: the lease must expire
		killed := time.Now()
		api := dualStackService(ns, "api", map[string]string{"external-dns.alpha.kubernetes.io/hostname": "api.example.org"})
		if _, err := svcs.Create(ctx, api, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		c.SetLoadBalancerIngress(t, ns, "api", []corev1.LoadBalancerIngress{{IP: "192.0.2.30"}})
		expectZone(t, r53, zoneID, 60*time.Second,
			"web.example.org. A 192.0.2.11", "web.example.org. AAAA 2001:db8::11",
			txt("a-web.example.org.", ns, "web"), txt("aaaa-web.example.org.", ns, "web"),
			"api.example.org. A 192.0.2.30", txt("a-api.example.org.", ns, "api"))
		took := time.Since(killed)
		t.Logf("takeover: the new leader wrote %v after the old one was killed (lease duration 15s)", took)
		if follower.Count("ChangeResourceRecordSets") == 0 {
			t.Errorf("the follower never wrote: %v", follower.Counts())
		}
	})
}

func TestRoute53UpsertOnlyAndDryRun(t *testing.T) {
	c := harness.StartCluster(t)
	moto := harness.StartMoto(t)
	nlb := startFakeNLB(t)
	r53 := r53Client(moto.URL)
	ctx := context.Background()
	ns := c.CreateNamespace(t, "shop")
	svcs := c.Admin.CoreV1().Services(ns)

	upsertZone := createHostedZone(t, r53, "example.org")
	harness.StartCoreDNS(t, route53Corefile(harness.FreePort(t), c.Kubeconfig, nlb.Addr, upsertZone, moto.URL, "            policy upsert-only"), moto.Env...)
	dryZone := createHostedZone(t, r53, "example.org")
	dry := harness.StartCoreDNS(t, strings.Replace(route53Corefile(harness.FreePort(t), c.Kubeconfig, nlb.Addr, dryZone, moto.URL, "            dry-run"), "clusterzone-e2e", "clusterzone-dry", 1), moto.Env...)

	if _, err := svcs.Create(ctx, dualStackService(ns, "web", map[string]string{"external-dns.alpha.kubernetes.io/hostname": "web.example.org"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.SetLoadBalancerIngress(t, ns, "web", []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}})
	want := []string{"web.example.org. A 192.0.2.10", txt("a-web.example.org.", ns, "web")}
	expectZone(t, r53, upsertZone, 60*time.Second, want...)
	if err := svcs.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // debounce is 200ms: a delete would have landed by now
	expectZone(t, r53, upsertZone, time.Second, want...)

	// dry-run: the plan is logged, nothing lands.
	harness.Eventually(t, 30*time.Second, func() error {
		if !strings.Contains(dry.Log(), "dry run, zone example.org.: would") {
			return fmt.Errorf("no dry-run plan logged yet")
		}
		return nil
	})
	expectZone(t, r53, dryZone, time.Second)
}

// ownerTXTRecord is an ExternalDNS ownership TXT record set.
func ownerTXTRecord(name, owner, resource string) types.ResourceRecordSet {
	v := fmt.Sprintf(`"heritage=external-dns,external-dns/owner=%s,external-dns/resource=%s"`, owner, resource)
	return types.ResourceRecordSet{Name: aws.String(name), Type: types.RRTypeTxt, TTL: aws.Int64(300),
		ResourceRecords: []types.ResourceRecord{{Value: aws.String(v)}}}
}

// addressRecord is an A or AAAA record as ExternalDNS writes it for a
// Service without a ttl annotation: TTL 300.
func addressRecord(name string, typ types.RRType, value string) types.ResourceRecordSet {
	return types.ResourceRecordSet{Name: aws.String(name), Type: typ, TTL: aws.Int64(300),
		ResourceRecords: []types.ResourceRecord{{Value: aws.String(value)}}}
}

// TestRoute53AdoptsExternalDNSZone switches a zone from ExternalDNS to the
// plugin: the hosted zone is pre-filled with ExternalDNS-format records of our
// owner id (current and old format), of a foreign owner and of no owner, and
// the built ./coredns mirrors the Services of a real API server into it.
func TestRoute53AdoptsExternalDNSZone(t *testing.T) {
	c := harness.StartCluster(t)
	moto := harness.StartMoto(t)
	r53 := r53Client(moto.URL)
	zoneID := createHostedZone(t, r53, "example.org")
	ctx := context.Background()
	ns := c.CreateNamespace(t, "adopt")
	svcs := c.Admin.CoreV1().Services(ns)
	res := func(name string) string { return "service/" + ns + "/" + name }

	prefilled := []types.ResourceRecordSet{
		// Ours (ExternalDNS wrote them with our owner id), equal to the cluster.
		addressRecord("web.example.org.", types.RRTypeA, "192.0.2.10"),
		addressRecord("web.example.org.", types.RRTypeAaaa, "2001:db8::10"),
		ownerTXTRecord("a-web.example.org.", "e2e", res("web")),
		ownerTXTRecord("aaaa-web.example.org.", "e2e", res("web")),
		// Ours in the old format: the TXT at the name itself.
		addressRecord("old.example.org.", types.RRTypeA, "192.0.2.20"),
		ownerTXTRecord("old.example.org.", "e2e", res("old")),
		// Ours, but its Service is gone: deleted under sync.
		addressRecord("gone.example.org.", types.RRTypeA, "192.0.2.50"),
		ownerTXTRecord("a-gone.example.org.", "e2e", res("gone")),
		// Another owner's, claimed by a Service here: not taken.
		addressRecord("foreign.example.org.", types.RRTypeA, "203.0.113.1"),
		ownerTXTRecord("a-foreign.example.org.", "other-cluster", res("foreign")),
		// No owner at all, claimed by a Service here: not taken.
		addressRecord("manual.example.org.", types.RRTypeA, "203.0.113.2"),
		// Another owner's, not in this cluster: untouched under sync.
		addressRecord("theirs.example.org.", types.RRTypeA, "203.0.113.3"),
		ownerTXTRecord("a-theirs.example.org.", "other-cluster", "service/other/theirs"),
	}
	var changes []types.Change
	existing := map[string]bool{}
	for _, rs := range prefilled {
		changes = append(changes, types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: &rs})
		existing[aws.ToString(rs.Name)+" "+string(rs.Type)] = true
	}
	if _, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zoneID), ChangeBatch: &types.ChangeBatch{Changes: changes},
	}); err != nil {
		t.Fatalf("pre-filling the hosted zone: %v", err)
	}
	before := zoneRecords(t, r53, zoneID)

	for name, ips := range map[string][]string{
		"web": {"192.0.2.10", "2001:db8::10"}, "old": {"192.0.2.20"},
		"foreign": {"192.0.2.30"}, "manual": {"192.0.2.40"},
	} {
		svc := dualStackService(ns, name, map[string]string{"external-dns.alpha.kubernetes.io/hostname": name + ".example.org"})
		if _, err := svcs.Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		setIngressIPs(t, c, ns, name, ips...)
	}

	proxy := harness.StartFaultProxy(t, moto.URL)
	port := harness.FreePort(t)
	cd := harness.StartCoreDNS(t, route53Corefile(port, c.Kubeconfig, "127.0.0.1:9", zoneID, proxy.URL, ""), moto.Env...)
	// The cluster's view is served locally whatever Route 53 holds.
	expect(t, fmt.Sprintf("127.0.0.1:%d", port), "foreign.example.org.", dns.TypeA, "A 192.0.2.30")

	expectZone(t, r53, zoneID, 60*time.Second,
		"web.example.org. A 192.0.2.10", "web.example.org. AAAA 2001:db8::10",
		txt("a-web.example.org.", ns, "web"), txt("aaaa-web.example.org.", ns, "web"),
		"old.example.org. A 192.0.2.20", txt("old.example.org.", ns, "old"), txt("a-old.example.org.", ns, "old"),
		"foreign.example.org. A 203.0.113.1",
		`a-foreign.example.org. TXT "heritage=external-dns,external-dns/owner=other-cluster,external-dns/resource=service/`+ns+`/foreign"`,
		"manual.example.org. A 203.0.113.2",
		"theirs.example.org. A 203.0.113.3",
		`a-theirs.example.org. TXT "heritage=external-dns,external-dns/owner=other-cluster,external-dns/resource=service/other/theirs"`)

	var sent []harness.FaultChange
	for _, r := range proxy.Requests() {
		sent = append(sent, r.Changes...)
	}
	t.Logf("zone before: %d records; changes sent by the plugin: %v; requests: %s", len(before), sent, proxy.Summary())
	for _, ch := range sent {
		name := ch.Name
		if ch.Action == "CREATE" && existing[name+" "+ch.Type] {
			t.Errorf("CREATE of the existing record %s %s: adoption must not recreate", name, ch.Type)
		}
		for _, notOurs := range []string{"web.", "foreign.", "manual.", "theirs."} {
			if strings.HasPrefix(name, notOurs) || strings.HasPrefix(name, "a-"+notOurs) || strings.HasPrefix(name, "aaaa-"+notOurs) {
				t.Errorf("%s: a change to a record that is foreign, unowned or already right", ch)
			}
		}
	}
	if cd.Exited() {
		t.Fatalf("coredns exited:\n%s", cd.Log())
	}
}

// TestRoute53TwoThousandServices mirrors 2,000 dual-stack Services of a real
// API server through a proxy that throttles 20% of the Route 53 requests and
// fails 10% with HTTP 500: the hosted zone converges to exactly the right
// records, no batch is rejected (no duplicate CREATE), and afterwards one
// Service change costs one ChangeResourceRecordSets call and no listing.
func TestRoute53TwoThousandServices(t *testing.T) {
	const n = 2000
	c := harness.StartCluster(t)
	moto := harness.StartMoto(t)
	r53 := r53Client(moto.URL)
	zoneID := createHostedZone(t, r53, "example.org")
	ctx := context.Background()
	ns := c.CreateNamespace(t, "scale")
	svcs := c.Admin.CoreV1().Services(ns)

	v4 := func(i int) string { return fmt.Sprintf("10.20.%d.%d", i/250, i%250+1) }
	v6 := func(i int) string { return fmt.Sprintf("2001:db8:20::%x", i+1) }
	var want []string
	jobs := make(chan int)
	errs := make(chan error, n)
	for range 16 {
		go func() {
			for i := range jobs {
				name := fmt.Sprintf("svc-%04d", i)
				svc := &corev1.Service{
					ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{
						"external-dns.alpha.kubernetes.io/hostname": name + ".example.org"}},
					Spec: corev1.ServiceSpec{
						Ports:       []corev1.ServicePort{{Name: "https", Port: 443}},
						ExternalIPs: []string{v4(i), v6(i)},
					},
				}
				_, err := svcs.Create(ctx, svc, metav1.CreateOptions{})
				errs <- err
			}
		}()
	}
	created := time.Now()
	go func() {
		for i := range n {
			jobs <- i
		}
		close(jobs)
	}()
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("creating Services: %v", err)
		}
	}
	for i := range n {
		name := fmt.Sprintf("svc-%04d", i)
		want = append(want, fmt.Sprintf("%s.example.org. A %s", name, v4(i)), fmt.Sprintf("%s.example.org. AAAA %s", name, v6(i)),
			txt("a-"+name+".example.org.", ns, name), txt("aaaa-"+name+".example.org.", ns, name))
	}
	sort.Strings(want)
	t.Logf("%d Services created in the API server in %s", n, time.Since(created).Round(time.Millisecond))

	proxy := harness.StartFaultProxy(t, moto.URL)
	proxy.SetFaults(0.2, 0.1)
	port := harness.FreePort(t)
	start := time.Now()
	// Batches of 250 changes, so that the faults hit a few dozen requests.
	cd := harness.StartCoreDNS(t, route53Corefile(port, c.Kubeconfig, "127.0.0.1:9", zoneID, proxy.URL, "            batch-size 250"), moto.Env...)
	expect(t, fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("svc-%04d.example.org.", n-1), dns.TypeAAAA, "AAAA "+v6(n-1))
	served := time.Since(start)

	var got []string
	deadline := time.Now().Add(5 * time.Minute)
	for {
		got = zoneRecords(t, r53, zoneID)
		if len(got) == len(want) && strings.Join(got, "\n") == strings.Join(want, "\n") {
			break
		}
		if time.Now().After(deadline) || cd.Exited() {
			t.Fatalf("the hosted zone did not converge: %d records, want %d; proxy: %s", len(got), len(want), proxy.Stats())
		}
		time.Sleep(2 * time.Second)
	}
	synced := time.Since(start)
	var rejected []string
	for _, r := range proxy.Requests() {
		if r.Outcome == harness.OutcomeForwarded && r.Status/100 != 2 {
			rejected = append(rejected, fmt.Sprintf("%s -> HTTP %d", r.Action, r.Status))
		}
	}
	if len(rejected) > 0 {
		t.Errorf("Route 53 (moto) rejected %d forwarded requests (a duplicate CREATE is rejected): %v", len(rejected), rejected)
	}
	t.Logf("initial sync of %d Services (%d record sets with ownership TXT) through 20%% throttling + 10%% HTTP 500: served by DNS after %s, hosted zone exact after %s; requests %s; %s",
		n, len(want), served.Round(time.Millisecond), synced.Round(time.Millisecond), proxy.Summary(), proxy.Stats())

	// One change, no faults: one ChangeResourceRecordSets and no listing.
	proxy.SetFaults(0, 0)
	time.Sleep(time.Second) // let any sync in flight finish
	before := proxy.Counts()
	mark := len(proxy.Requests())
	svc, err := svcs.Get(ctx, "svc-0042", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.ExternalIPs = []string{"10.21.0.42", v6(42)}
	if _, err := svcs.Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 60*time.Second, func() error {
		for _, ch := range proxy.AppliedChanges(mark) {
			if ch.Name == "svc-0042.example.org." && ch.Type == "A" && strings.Join(ch.Values, ",") == "10.21.0.42" {
				return nil
			}
		}
		return fmt.Errorf("the new address of svc-0042 has not reached Route 53")
	})
	time.Sleep(time.Second) // a second call, if any, would come within the debounce
	after := proxy.Counts()
	if d := after["ChangeResourceRecordSets"] - before["ChangeResourceRecordSets"]; d != 1 {
		t.Errorf("one Service change cost %d ChangeResourceRecordSets calls, want 1", d)
	}
	if d := after["ListResourceRecordSets"] - before["ListResourceRecordSets"]; d != 0 {
		t.Errorf("one Service change cost %d ListResourceRecordSets calls, want 0", d)
	}
	t.Logf("one Service change at %d Services: %d ChangeResourceRecordSets, %d ListResourceRecordSets",
		n, after["ChangeResourceRecordSets"]-before["ChangeResourceRecordSets"], after["ListResourceRecordSets"]-before["ListResourceRecordSets"])
}
