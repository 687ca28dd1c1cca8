package route53

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// zoneLines returns every record set of the zone but SOA and NS, straight
// from moto (through Route 53's rules), as describe renders them without
// the action, sorted.
func zoneLines(t *testing.T, c *route53.Client, zoneID string) []string {
	t.Helper()
	var out []string
	p := route53.NewListResourceRecordSetsPaginator(c, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("listing zone: %v", err)
		}
		for _, rs := range page.ResourceRecordSets {
			if rs.Type == types.RRTypeSoa || rs.Type == types.RRTypeNs {
				continue
			}
			rs.Name = aws.String(unescapeName(aws.ToString(rs.Name)))
			out = append(out, strings.TrimPrefix(describe(types.Change{ResourceRecordSet: &rs}), " "))
		}
	}
	slices.Sort(out)
	return out
}

func checkLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

// withRouting returns s with routing r.
func withRouting(s table.RecordSet, r *table.Routing) table.RecordSet {
	s.Routing = r
	return s
}

// TestMirrorRouting writes each routing policy through the real SDK to moto
// behind Route 53's rules, record and ownership TXT with the same set
// identifier and policy (as ExternalDNS's registry does), then moves a
// Service between routing policies: each move is one batch.
func TestMirrorRouting(t *testing.T) {
	const zone = "rt1.example.org."
	moto, direct, id, proxy := newProxiedZone(t, zone)
	const nlb = "k8s-default-lb-0123456789-abcdef0123456789.elb.us-east-1.amazonaws.com"
	const hc = "abcdef11-2222-3333-4444-555555fedcba"

	src := newTestTable("example.org.")
	src.set("default/w", withRouting(lbSet("w.rt1.example.org.", 60, "10.0.0.1", "2001:db8::1"), &table.Routing{SetIdentifier: "eu", Policy: table.RoutingWeighted, Weight: 20}))
	src.set("default/lat", withRouting(lbSet("lat.rt1.example.org.", 60, "10.0.0.2"), &table.Routing{SetIdentifier: "use1", Policy: table.RoutingLatency, Region: "us-east-1"}))
	src.set("default/fo", withRouting(lbSet("fo.rt1.example.org.", 60, "10.0.0.3"), &table.Routing{SetIdentifier: "p", Policy: table.RoutingFailover, Failover: "PRIMARY", HealthCheckID: hc}))
	src.set("default/geo", withRouting(lbSet("geo.rt1.example.org.", 60, "10.0.0.4"), &table.Routing{SetIdentifier: "eu", Policy: table.RoutingGeolocation, Continent: "EU"}))
	src.set("default/geoc", withRouting(lbSet("geoc.rt1.example.org.", 60, "10.0.0.5"), &table.Routing{SetIdentifier: "wa", Policy: table.RoutingGeolocation, Country: "US", Subdivision: "WA"}))
	src.set("default/mv", withRouting(lbSet("mv.rt1.example.org.", 60, "10.0.0.6"), &table.Routing{SetIdentifier: "m1", Policy: table.RoutingMultiValue}))
	src.set("default/lb", withRouting(aliasSet("lb.rt1.example.org.", nlb, true), &table.Routing{SetIdentifier: "eu", Policy: table.RoutingWeighted, Weight: 5}))
	src.set("default/bad", withRouting(lbSet("bad.rt1.example.org.", 60, "10.0.0.7"), &table.Routing{SetIdentifier: "x", Invalid: "aws-weight \"256\" is not an integer 0..255"}))
	cfg := testConfig(zone, id, proxy.URL, PolicySync)
	m := New(cfg, src, newTestClient(t, proxy.URL))
	since := time.Now()
	stop := runMirror(t, m)
	harness.WaitFor(t, 30*time.Second, "the first full sync", syncedSince(zone, since))

	txt := func(name, svc, routing string) string {
		return name + " TXT 300 " + ownerTXT("service/default/"+svc) + routing
	}
	const (
		w20  = " [set-identifier eu, weight 20]"
		lat  = " [set-identifier use1, region us-east-1]"
		fo   = " [set-identifier p, failover PRIMARY, health check " + hc + "]"
		geo  = " [set-identifier eu, geolocation EU//]"
		geoc = " [set-identifier wa, geolocation /US/WA]"
		mv   = " [set-identifier m1, multivalue]"
		lb5  = " [set-identifier eu, weight 5]"
	)
	lbAlias := "ALIAS " + nlb + " (Z26RNL4JYFTOTI, evaluate-target-health true)"
	want := []string{
		"w.rt1.example.org. A 60 10.0.0.1" + w20, txt("a-w.rt1.example.org.", "w", w20),
		"w.rt1.example.org. AAAA 60 2001:db8::1" + w20, txt("aaaa-w.rt1.example.org.", "w", w20),
		"lat.rt1.example.org. A 60 10.0.0.2" + lat, txt("a-lat.rt1.example.org.", "lat", lat),
		"fo.rt1.example.org. A 60 10.0.0.3" + fo, txt("a-fo.rt1.example.org.", "fo", fo),
		"geo.rt1.example.org. A 60 10.0.0.4" + geo, txt("a-geo.rt1.example.org.", "geo", geo),
		"geoc.rt1.example.org. A 60 10.0.0.5" + geoc, txt("a-geoc.rt1.example.org.", "geoc", geoc),
		"mv.rt1.example.org. A 60 10.0.0.6" + mv, txt("a-mv.rt1.example.org.", "mv", mv),
		"lb.rt1.example.org. A " + lbAlias + lb5, txt("a-lb.rt1.example.org.", "lb", lb5), txt("cname-lb.rt1.example.org.", "lb", lb5),
		"lb.rt1.example.org. AAAA " + lbAlias + lb5, txt("aaaa-lb.rt1.example.org.", "lb", lb5),
	}
	checkLines(t, "the zone after the first sync", zoneLines(t, direct, id), want)
	if r := proxy.rejections(); len(r) > 0 {
		t.Errorf("Route 53 rejected %v", r)
	}
	stop()
	assertIdempotent(t, cfg, src, moto)

	m = New(cfg, src, newTestClient(t, proxy.URL))
	since = time.Now()
	stop = runMirror(t, m)
	harness.WaitFor(t, 30*time.Second, "the full sync", syncedSince(zone, since))
	move := func(what string, rs table.RecordSet, lines ...string) {
		t.Helper()
		proxy.reset()
		src.set("default/w", rs)
		since := time.Now()
		m.Changed([]string{"w.rt1.example.org."})
		harness.WaitFor(t, 10*time.Second, what, syncedSince(zone, since))
		var got []string
		for _, l := range zoneLines(t, direct, id) {
			if strings.HasPrefix(l, "w.") || strings.Contains(l, "-w.") {
				got = append(got, l)
			}
		}
		checkLines(t, what, got, lines)
		b := proxy.sentBatches()
		if len(b) != 1 || len(proxy.rejections()) > 0 {
			t.Errorf("%s: sent %v (rejected %v), want one batch Route 53 accepts", what, b, proxy.rejections())
		}
	}
	w30 := " [set-identifier eu, weight 30]"
	move("a weight change", withRouting(lbSet("w.rt1.example.org.", 60, "10.0.0.1"), &table.Routing{SetIdentifier: "eu", Policy: table.RoutingWeighted, Weight: 30}),
		"w.rt1.example.org. A 60 10.0.0.1"+w30, txt("a-w.rt1.example.org.", "w", w30))
	if b := proxy.sentBatches(); len(b) == 1 && !slices.ContainsFunc(b[0], func(c harness.FaultChange) bool { return c.Action == "UPSERT" && c.Type == "A" }) {
		t.Errorf("a weight change sent %v, want an UPSERT of the A record", b)
	}
	euLat := " [set-identifier eu, region eu-west-1]"
	move("weighted to latency", withRouting(lbSet("w.rt1.example.org.", 60, "10.0.0.1"), &table.Routing{SetIdentifier: "eu", Policy: table.RoutingLatency, Region: "eu-west-1"}),
		"w.rt1.example.org. A 60 10.0.0.1"+euLat, txt("a-w.rt1.example.org.", "w", euLat))
	move("latency to simple", lbSet("w.rt1.example.org.", 60, "10.0.0.1"),
		"w.rt1.example.org. A 60 10.0.0.1", txt("a-w.rt1.example.org.", "w", ""))
	usFo := " [set-identifier us, failover SECONDARY]"
	move("simple to failover", withRouting(lbSet("w.rt1.example.org.", 60, "10.0.0.1", "2001:db8::1"), &table.Routing{SetIdentifier: "us", Policy: table.RoutingFailover, Failover: "SECONDARY"}),
		"w.rt1.example.org. A 60 10.0.0.1"+usFo, txt("a-w.rt1.example.org.", "w", usFo),
		"w.rt1.example.org. AAAA 60 2001:db8::1"+usFo, txt("aaaa-w.rt1.example.org.", "w", usFo))
	euGeo := " [set-identifier eu2, geolocation EU//]"
	move("failover to geolocation under a new set identifier", withRouting(lbSet("w.rt1.example.org.", 60, "10.0.0.1", "2001:db8::1"), &table.Routing{SetIdentifier: "eu2", Policy: table.RoutingGeolocation, Continent: "EU"}),
		"w.rt1.example.org. A 60 10.0.0.1"+euGeo, txt("a-w.rt1.example.org.", "w", euGeo),
		"w.rt1.example.org. AAAA 60 2001:db8::1"+euGeo, txt("aaaa-w.rt1.example.org.", "w", euGeo))
	stop()
	assertIdempotent(t, cfg, src, moto)
}

// TestMirrorRoutingOwners: two clusters (owner ids) publish one name, each
// under its own set identifier: both record sets, each with its own
// ownership TXT, live side by side, and each cluster changes only its own.
func TestMirrorRoutingOwners(t *testing.T) {
	const zone = "rt2.example.org."
	moto, direct, id, proxy := newProxiedZone(t, zone)
	srcA, srcB := newTestTable("example.org."), newTestTable("example.org.")
	srcA.set("default/web", withRouting(lbSet("web.rt2.example.org.", 60, "10.0.0.1"), &table.Routing{SetIdentifier: "cluster-a", Policy: table.RoutingWeighted, Weight: 1}))
	srcB.set("default/web", withRouting(lbSet("web.rt2.example.org.", 60, "10.0.1.1"), &table.Routing{SetIdentifier: "cluster-b", Policy: table.RoutingWeighted, Weight: 3}))
	cfgA, cfgB := testConfig(zone, id, proxy.URL, PolicySync), testConfig(zone, id, proxy.URL, PolicySync)
	cfgA.OwnerID, cfgB.OwnerID = "cluster-a", "cluster-b"
	mA, mB := New(cfgA, srcA, newTestClient(t, proxy.URL)), New(cfgB, srcB, newTestClient(t, proxy.URL))
	since := time.Now()
	stopA := runMirror(t, mA)
	harness.WaitFor(t, 30*time.Second, "cluster a's full sync", syncedSince(zone, since))
	since = time.Now()
	stopB := runMirror(t, mB)
	harness.WaitFor(t, 30*time.Second, "cluster b's full sync", syncedSince(zone, since))
	owner := func(o, routing string) string {
		return `"heritage=external-dns,external-dns/owner=` + o + `,external-dns/resource=service/default/web"` + routing
	}
	const a1, b3 = " [set-identifier cluster-a, weight 1]", " [set-identifier cluster-b, weight 3]"
	want := []string{
		"web.rt2.example.org. A 60 10.0.0.1" + a1, "a-web.rt2.example.org. TXT 300 " + owner("cluster-a", a1),
		"web.rt2.example.org. A 60 10.0.1.1" + b3, "a-web.rt2.example.org. TXT 300 " + owner("cluster-b", b3),
	}
	checkLines(t, "both clusters' record sets", zoneLines(t, direct, id), want)

	// Cluster a's Service goes: cluster b's record set stays.
	srcA.del("default/web")
	since = time.Now()
	mA.Changed([]string{"web.rt2.example.org."})
	harness.WaitFor(t, 10*time.Second, "cluster a's deletion", syncedSince(zone, since))
	checkLines(t, "after cluster a's Service went", zoneLines(t, direct, id), []string{
		"web.rt2.example.org. A 60 10.0.1.1" + b3, "a-web.rt2.example.org. TXT 300 " + owner("cluster-b", b3),
	})
	stopA()
	stopB()
	if r := proxy.rejections(); len(r) > 0 {
		t.Errorf("Route 53 rejected %v", r)
	}
	assertIdempotent(t, cfgB, srcB, moto)
}

// TestMirrorRoutingServices: two Services of one cluster publish one name,
// each under its own set identifier: both record sets are written, and one
// Service going deletes only its own.
func TestMirrorRoutingServices(t *testing.T) {
	const zone = "rt3.example.org."
	moto, direct, id, proxy := newProxiedZone(t, zone)
	src := newTestTable("example.org.")
	src.set("default/blue", withRouting(lbSet("web.rt3.example.org.", 60, "10.0.0.1"), &table.Routing{SetIdentifier: "blue", Policy: table.RoutingWeighted, Weight: 90}))
	src.set("default/green", withRouting(lbSet("web.rt3.example.org.", 60, "10.0.0.2"), &table.Routing{SetIdentifier: "green", Policy: table.RoutingWeighted, Weight: 10}))
	cfg := testConfig(zone, id, proxy.URL, PolicySync)
	m := New(cfg, src, newTestClient(t, proxy.URL))
	since := time.Now()
	stop := runMirror(t, m)
	harness.WaitFor(t, 30*time.Second, "the first full sync", syncedSince(zone, since))
	const blue, green, green50 = " [set-identifier blue, weight 90]", " [set-identifier green, weight 10]", " [set-identifier green, weight 50]"
	txt := func(svc, routing string) string {
		return "a-web.rt3.example.org. TXT 300 " + ownerTXT("service/default/"+svc) + routing
	}
	checkLines(t, "both Services' record sets", zoneLines(t, direct, id), []string{
		"web.rt3.example.org. A 60 10.0.0.1" + blue, txt("blue", blue),
		"web.rt3.example.org. A 60 10.0.0.2" + green, txt("green", green),
	})

	// The second Service's weight changes: an event-driven sync (the
	// table reports it though the served zone does not change).
	proxy.reset()
	since = time.Now()
	src.set("default/green", withRouting(lbSet("web.rt3.example.org.", 60, "10.0.0.2"), &table.Routing{SetIdentifier: "green", Policy: table.RoutingWeighted, Weight: 50}))
	m.Changed([]string{"web.rt3.example.org."})
	harness.WaitFor(t, 10*time.Second, "the weight change", syncedSince(zone, since))
	checkLines(t, "after green's weight change", zoneLines(t, direct, id), []string{
		"web.rt3.example.org. A 60 10.0.0.1" + blue, txt("blue", blue),
		"web.rt3.example.org. A 60 10.0.0.2" + green50, txt("green", green50),
	})

	// The winner goes: the other Service's record set stays.
	since = time.Now()
	src.del("default/blue")
	m.Changed([]string{"web.rt3.example.org."})
	harness.WaitFor(t, 10*time.Second, "blue's deletion", syncedSince(zone, since))
	checkLines(t, "after blue went", zoneLines(t, direct, id), []string{
		"web.rt3.example.org. A 60 10.0.0.2" + green50, txt("green", green50),
	})
	stop()
	if r := proxy.rejections(); len(r) > 0 {
		t.Errorf("Route 53 rejected %v", r)
	}
	assertIdempotent(t, cfg, src, moto)
}

// TestMirrorClusterRouting: two clusters (two owner ids) with
// cluster-routing weighted publish one name from Services without routing
// annotations. Cluster a first wrote it with simple routing: turning
// cluster-routing on moves its record set in one batch. Then both parts
// are there, each cluster's changes touch only its own record sets, and
// cluster a's Service going leaves cluster b's part.
func TestMirrorClusterRouting(t *testing.T) {
	const zone = "rt5.example.org."
	moto, direct, id, proxy := newProxiedZone(t, zone)
	srcA, srcB := newTestTable("example.org."), newTestTable("example.org.")
	srcA.set("default/web", lbSet("web.rt5.example.org.", 60, "10.0.0.1"))
	srcB.set("default/web", lbSet("web.rt5.example.org.", 60, "10.0.1.1"))
	cfgA := testConfig(zone, id, proxy.URL, PolicySync)
	cfgA.OwnerID = "cluster-a"
	since := time.Now()
	stop := runMirror(t, New(cfgA, srcA, newTestClient(t, proxy.URL)))
	harness.WaitFor(t, 30*time.Second, "cluster a's first full sync", syncedSince(zone, since))
	stop()
	owner := func(o, routing string) string {
		return `"heritage=external-dns,external-dns/owner=` + o + `,external-dns/resource=service/default/web"` + routing
	}
	checkLines(t, "cluster a, simple routing", zoneLines(t, direct, id), []string{
		"web.rt5.example.org. A 60 10.0.0.1", "a-web.rt5.example.org. TXT 300 " + owner("cluster-a", ""),
	})

	// Cluster a turns cluster-routing on: one batch replaces its record set
	// and its TXT (Route 53 does not mix simple and weighted record sets).
	cfgA.ClusterRouting = &table.Routing{Policy: table.RoutingWeighted, Weight: 1}
	cfgB := testConfig(zone, id, proxy.URL, PolicySync)
	cfgB.OwnerID = "cluster-b"
	cfgB.ClusterRouting = &table.Routing{Policy: table.RoutingWeighted, SetIdentifier: "eu", Weight: 3}
	proxy.reset()
	mA, mB := New(cfgA, srcA, newTestClient(t, proxy.URL)), New(cfgB, srcB, newTestClient(t, proxy.URL))
	since = time.Now()
	stopA := runMirror(t, mA)
	harness.WaitFor(t, 30*time.Second, "cluster a's move", syncedSince(zone, since))
	if b := proxy.sentBatches(); len(b) != 1 || len(b[0]) != 4 {
		t.Errorf("cluster a's move: batches %v, want one of DELETE+CREATE of the record set and of its TXT", b)
	}
	since = time.Now()
	stopB := runMirror(t, mB)
	harness.WaitFor(t, 30*time.Second, "cluster b's full sync", syncedSince(zone, since))
	const a1, b3 = " [set-identifier cluster-a, weight 1]", " [set-identifier eu, weight 3]"
	both := []string{
		"web.rt5.example.org. A 60 10.0.0.1" + a1, "a-web.rt5.example.org. TXT 300 " + owner("cluster-a", a1),
		"web.rt5.example.org. A 60 10.0.1.1" + b3, "a-web.rt5.example.org. TXT 300 " + owner("cluster-b", b3),
	}
	checkLines(t, "both clusters' record sets", zoneLines(t, direct, id), both)

	// Cluster b's address changes: one UPSERT of its own record set.
	proxy.reset()
	srcB.set("default/web", lbSet("web.rt5.example.org.", 60, "10.0.1.2"))
	since = time.Now()
	mB.Changed([]string{"web.rt5.example.org."})
	harness.WaitFor(t, 10*time.Second, "cluster b's change", syncedSince(zone, since))
	if b := proxy.sentBatches(); len(b) != 1 || len(b[0]) != 1 || b[0][0].String() != "UPSERT web.rt5.example.org. A" {
		t.Errorf("cluster b's change: batches %v, want one UPSERT of its record set", b)
	}

	// Cluster a's Service goes: cluster b's part stays.
	srcA.del("default/web")
	since = time.Now()
	mA.Changed([]string{"web.rt5.example.org."})
	harness.WaitFor(t, 10*time.Second, "cluster a's deletion", syncedSince(zone, since))
	checkLines(t, "after cluster a's Service went", zoneLines(t, direct, id), []string{
		"web.rt5.example.org. A 60 10.0.1.2" + b3, "a-web.rt5.example.org. TXT 300 " + owner("cluster-b", b3),
	})
	stopA()
	stopB()
	if r := proxy.rejections(); len(r) > 0 {
		t.Errorf("Route 53 rejected %v", r)
	}
	assertIdempotent(t, cfgB, srcB, moto)
}
