package route53

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// createPrivateZone creates a private hosted zone (associated with a VPC)
// and returns its id.
func createPrivateZone(t *testing.T, c *route53.Client, name string) string {
	t.Helper()
	out, err := c.CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{
		Name:             aws.String(name),
		CallerReference:  aws.String(fmt.Sprintf("%s-private-%d", name, time.Now().UnixNano())),
		HostedZoneConfig: &types.HostedZoneConfig{PrivateZone: true},
		VPC:              &types.VPC{VPCId: aws.String("vpc-0123456789abcdef0"), VPCRegion: types.VPCRegionUsEast1},
	})
	if err != nil {
		t.Fatalf("creating private zone %s: %v", name, err)
	}
	return strings.TrimPrefix(aws.ToString(out.HostedZone.Id), "/hostedzone/")
}

// TestMirrorChildZone: a hosted zone below the served zone gets the names
// below it, from the full reconcile and the event-driven sync alike, keeps
// them through many full reconciles under policy sync, and the parent's
// hosted zone never gets them.
func TestMirrorChildZone(t *testing.T) {
	moto := startMoto(t)
	direct := newTestClient(t, moto)
	const parent, child = "t7.example.org.", "sub.t7.example.org."
	parentID, childID := createZone(t, direct, parent), createZone(t, direct, child)
	proxy := newFaultProxy(t, moto)

	src := newTestTable(parent) // the plugin serves the parent only
	src.set("default/web", lbSet("web.t7.example.org.", 0, "192.0.2.1"))
	src.set("default/api", lbSet("api.sub.t7.example.org.", 0, "192.0.2.2", "2001:db8::2"))
	src.set("default/wild", lbSet("*.apps.sub.t7.example.org.", 0, "192.0.2.3"))

	cfg := testConfig(parent, parentID, proxy.URL, PolicySync)
	cfg.Zones = append(cfg.Zones, Zone{Name: child, ID: childID})
	cfg.Interval = 300 * time.Millisecond
	m := New(cfg, src, newTestClient(t, proxy.URL))
	since := time.Now()
	runMirror(t, m)
	harness.WaitFor(t, 30*time.Second, "the first full sync of both zones", func() bool {
		return syncedSince(parent, since)() && syncedSince(child, since)()
	})

	wantChild := map[rrKey][]string{
		{child, "SOA"}: nil, {child, "NS"}: nil,
		{"api.sub.t7.example.org.", "A"}:        {"192.0.2.2"},
		{"api.sub.t7.example.org.", "AAAA"}:     {"2001:db8::2"},
		{"a-api.sub.t7.example.org.", "TXT"}:    {ownerTXT("service/default/api")},
		{"aaaa-api.sub.t7.example.org.", "TXT"}: {ownerTXT("service/default/api")},
		{"*.apps.sub.t7.example.org.", "A"}:     {"192.0.2.3"},
		{"a-*.apps.sub.t7.example.org.", "TXT"}: {ownerTXT("service/default/wild")},
	}
	wantParent := map[rrKey][]string{
		{parent, "SOA"}: nil, {parent, "NS"}: nil,
		{"web.t7.example.org.", "A"}:     {"192.0.2.1"},
		{"a-web.t7.example.org.", "TXT"}: {ownerTXT("service/default/web")},
	}
	checkZone(t, listZone(t, direct, childID), wantChild)
	checkZone(t, listZone(t, direct, parentID), wantParent)

	// A change below the child zone, by the event-driven path, lands there
	// and stays through many full reconciles.
	src.set("default/new", lbSet("new.sub.t7.example.org.", 0, "192.0.2.4"))
	m.Changed([]string{"new.sub.t7.example.org."})
	wantChild[rrKey{"new.sub.t7.example.org.", "A"}] = []string{"192.0.2.4"}
	wantChild[rrKey{"a-new.sub.t7.example.org.", "TXT"}] = []string{ownerTXT("service/default/new")}
	harness.WaitFor(t, 10*time.Second, "the new name in the child zone", func() bool {
		_, ok := listZone(t, direct, childID)[rrKey{"new.sub.t7.example.org.", "A"}]
		return ok
	})
	// The proxy logs a request when its answer is back, which may be after
	// moto lists the new record: wait for it, or the reset below misses it
	// and counts it as sent by a later full sync.
	harness.WaitFor(t, 10*time.Second, "the proxy to log the batch", func() bool {
		for _, b := range proxy.sentBatches() {
			for _, c := range b {
				if c.Name == "new.sub.t7.example.org." {
					return true
				}
			}
		}
		return false
	})
	proxy.reset()
	harness.WaitFor(t, 60*time.Second, "ten more full syncs", func() bool {
		_, lists := proxy.counts(listCall)
		return lists >= 20
	})
	for _, b := range proxy.sentBatches() {
		t.Errorf("a full reconcile with nothing changed sent %v", b)
	}
	checkZone(t, listZone(t, direct, childID), wantChild)
	checkZone(t, listZone(t, direct, parentID), wantParent)
}

// TestMirrorTwins: a public and a private hosted zone of one name, found by
// name and type, from one mirror and one table: external addresses to the
// public one, internal ones (ClusterIPs) to the private one, and no
// ClusterIP ever in the public one.
func TestMirrorTwins(t *testing.T) {
	moto := startMoto(t)
	direct := newTestClient(t, moto)
	const zone = "t8.example.org."
	publicID, privateID := createZone(t, direct, zone), createPrivateZone(t, direct, zone)
	proxy := newFaultProxy(t, moto)

	zones, err := DiscoverZones(context.Background(), newTestClient(t, proxy.URL), []Zone{{Name: zone, Type: ZonePublic}, {Name: zone, Type: ZonePrivate}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Zone{{zone, publicID, ZonePublic}, {zone, privateID, ZonePrivate}}; fmt.Sprint(zones) != fmt.Sprint(want) {
		t.Fatalf("DiscoverZones = %v, want %v", zones, want)
	}

	ip := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	src := newTestTable(zone)
	// A load balancer: its ingress outside, its ClusterIPs inside.
	src.set("default/lb", table.RecordSet{Name: "lb.t8.example.org.", TTL: 60, Kind: table.KindLoadBalancer, External: ip("192.0.2.1", "2001:db8::1"), Internal: ip("10.96.0.1", "fd00::1")})
	// hostname on a ClusterIP Service: served, but its addresses are ClusterIPs.
	src.set("default/cip", table.RecordSet{Name: "cip.t8.example.org.", TTL: 60, Kind: table.KindClusterIP, ClusterIPOnly: true, External: ip("10.96.0.2"), Internal: ip("10.96.0.2")})
	// Only external addresses (an ExternalName): in both, so that the
	// private zone does not hide it inside the VPC.
	src.set("default/ext", table.RecordSet{Name: "ext.t8.example.org.", TTL: 60, Kind: table.KindExternalName, External: ip("192.0.2.3")})

	cfg := testConfig(zone, "", proxy.URL, PolicySync)
	cfg.Zones = zones
	m := New(cfg, src, newTestClient(t, proxy.URL))
	since := time.Now()
	runMirror(t, m)
	harness.WaitFor(t, 30*time.Second, "the first full sync of both zones", func() bool {
		return syncedSince(zone, since)() && syncedSince(zone+" private", since)()
	})
	o := func(key string) []string { return []string{ownerTXT("service/" + key)} }
	checkZone(t, listZone(t, direct, publicID), map[rrKey][]string{
		{zone, "SOA"}: nil, {zone, "NS"}: nil,
		{"lb.t8.example.org.", "A"}: {"192.0.2.1"}, {"lb.t8.example.org.", "AAAA"}: {"2001:db8::1"},
		{"a-lb.t8.example.org.", "TXT"}: o("default/lb"), {"aaaa-lb.t8.example.org.", "TXT"}: o("default/lb"),
		{"ext.t8.example.org.", "A"}: {"192.0.2.3"}, {"a-ext.t8.example.org.", "TXT"}: o("default/ext"),
	})
	checkZone(t, listZone(t, direct, privateID), map[rrKey][]string{
		{zone, "SOA"}: nil, {zone, "NS"}: nil,
		{"lb.t8.example.org.", "A"}: {"10.96.0.1"}, {"lb.t8.example.org.", "AAAA"}: {"fd00::1"},
		{"a-lb.t8.example.org.", "TXT"}: o("default/lb"), {"aaaa-lb.t8.example.org.", "TXT"}: o("default/lb"),
		{"cip.t8.example.org.", "A"}: {"10.96.0.2"}, {"a-cip.t8.example.org.", "TXT"}: o("default/cip"),
		{"ext.t8.example.org.", "A"}: {"192.0.2.3"}, {"a-ext.t8.example.org.", "TXT"}: o("default/ext"),
	})

	// A change reaches both zones, each with its own view, in one sync.
	proxy.reset()
	src.set("default/lb", table.RecordSet{Name: "lb.t8.example.org.", TTL: 60, Kind: table.KindLoadBalancer, External: ip("192.0.2.9", "2001:db8::1"), Internal: ip("10.96.0.9", "fd00::1")})
	m.Changed([]string{"lb.t8.example.org."})
	harness.WaitFor(t, 10*time.Second, "the change in both zones", func() bool {
		pub := listZone(t, direct, publicID)[rrKey{"lb.t8.example.org.", "A"}]
		priv := listZone(t, direct, privateID)[rrKey{"lb.t8.example.org.", "A"}]
		return fmt.Sprint(values(pub)) == "[192.0.2.9]" && fmt.Sprint(values(priv)) == "[10.96.0.9]"
	})
	if b := proxy.sentBatches(); len(b) != 2 {
		t.Errorf("the change sent %d batches, want 2 (one per zone): %v", len(b), b)
	}

	// With publish-internal-services, the public zone takes ClusterIPs too.
	cfg.PublishInternal = true
	cfg.Zones = zones[:1]
	m2 := New(cfg, src, newTestClient(t, proxy.URL))
	since = time.Now()
	runMirror(t, m2)
	harness.WaitFor(t, 30*time.Second, "a full sync with publish-internal-services", syncedSince(zone, since))
	if got := values(listZone(t, direct, publicID)[rrKey{"cip.t8.example.org.", "A"}]); fmt.Sprint(got) != "[10.96.0.2]" {
		t.Errorf("with publish-internal-services, cip A = %v, want [10.96.0.2]", got)
	}
}

// TestDiscoverZones: zones found by name and type; a missing, ambiguous or
// mismatched zone is an error naming the candidates.
func TestDiscoverZones(t *testing.T) {
	moto := startMoto(t)
	c := newTestClient(t, moto)
	pub := createZone(t, c, "t9.example.org.")
	priv := createPrivateZone(t, c, "t9.example.org.")
	dup1, dup2 := createZone(t, c, "dup.example.org."), createZone(t, c, "dup.example.org.")
	ctx := context.Background()

	got, err := DiscoverZones(ctx, c, []Zone{{Name: "t9.example.org.", Type: ZonePrivate}, {Name: "dup.example.org.", ID: dup2}, {Name: "t9.example.org.", ID: pub}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Zone{{"t9.example.org.", priv, ZonePrivate}, {"dup.example.org.", dup2, ZonePublic}, {"t9.example.org.", pub, ZonePublic}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("DiscoverZones = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		zones []Zone
		want  []string
	}{
		{[]Zone{{Name: "t9.example.org."}}, []string{"ambiguous", pub + " (public)", priv + " (private)", "public|private"}},
		{[]Zone{{Name: "dup.example.org.", Type: ZonePublic}}, []string{"ambiguous", dup1, dup2}},
		{[]Zone{{Name: "none.example.org."}}, []string{"no hosted zone of that name"}},
		{[]Zone{{Name: "dup.example.org.", Type: ZonePrivate}}, []string{"no private hosted zone", dup1}},
		{[]Zone{{Name: "other.example.org.", ID: pub}}, []string{"is t9.example.org., not other.example.org."}},
		{[]Zone{{Name: "t9.example.org.", ID: pub, Type: ZonePrivate}}, []string{"is public, not private"}},
		{[]Zone{{Name: "t9.example.org.", ID: "ZNOSUCHZONE"}}, []string{"does not exist"}},
	} {
		_, err := DiscoverZones(ctx, c, tc.zones)
		if err == nil {
			t.Errorf("%v: no error, want %q", tc.zones, tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q does not say %q", tc.zones, err, w)
			}
		}
	}
}
