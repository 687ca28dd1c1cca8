package route53

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

func ownerTXT(resource string) string {
	return fmt.Sprintf(`"heritage=external-dns,external-dns/owner=%s,external-dns/resource=%s"`, testOwner, resource)
}

// assertIdempotent runs a fresh mirror over the zone and checks that its
// full sync finds nothing to change.
func assertIdempotent(t *testing.T, cfg Config, src Source, moto string) {
	t.Helper()
	proxy := newFaultProxy(t, moto)
	cfg.Endpoint = proxy.URL
	m := New(cfg, src, newTestClient(t, proxy.URL))
	zone := cfg.Zones[0].Name
	since := time.Now()
	stop := runMirror(t, m)
	harness.WaitFor(t, 30*time.Second, "a second full sync", syncedSince(zone, since))
	stop()
	if seen, _ := proxy.counts(changeCall); seen != 0 {
		t.Errorf("a second full sync sent %d change batches, want none: %v", seen, proxy.sentBatches())
	}
}

func TestMirrorRecords(t *testing.T) {
	const zone = "t1.example.org."
	moto, direct, id, proxy := newProxiedZone(t, zone)

	src := newTestTable("example.org.")
	src.set("default/web", lbSet("web.t1.example.org.", 60, "10.0.0.1", "10.0.0.2", "2001:db8::1"))
	src.set("ingress/router", lbSet("*.apps.t1.example.org.", 30, "10.0.0.9"))
	src.set("default/v6", lbSet("v6only.t1.example.org.", 0, "2001:db8::6"))
	cfg := testConfig(zone, id, proxy.URL, PolicySync)
	m := New(cfg, src, newTestClient(t, proxy.URL))
	since := time.Now()
	stop := runMirror(t, m)
	harness.WaitFor(t, 30*time.Second, "the first full sync", syncedSince(zone, since))

	got := listZone(t, direct, id)
	want := map[rrKey][]string{
		{"web.t1.example.org.", "A"}:           {"10.0.0.1", "10.0.0.2"},
		{"web.t1.example.org.", "AAAA"}:        {"2001:db8::1"},
		{"a-web.t1.example.org.", "TXT"}:       {ownerTXT("service/default/web")},
		{"aaaa-web.t1.example.org.", "TXT"}:    {ownerTXT("service/default/web")},
		{"*.apps.t1.example.org.", "A"}:        {"10.0.0.9"},
		{"a-*.apps.t1.example.org.", "TXT"}:    {ownerTXT("service/ingress/router")},
		{"v6only.t1.example.org.", "AAAA"}:     {"2001:db8::6"},
		{"aaaa-v6only.t1.example.org.", "TXT"}: {ownerTXT("service/default/v6")},
		{"t1.example.org.", "SOA"}:             nil,
		{"t1.example.org.", "NS"}:              nil,
	}
	checkZone(t, got, want)
	if ttl := aws.ToInt64(got[rrKey{"web.t1.example.org.", "A"}].TTL); ttl != 60 {
		t.Errorf("TTL of web A = %d, want 60", ttl)
	}
	if ttl := aws.ToInt64(got[rrKey{"v6only.t1.example.org.", "AAAA"}].TTL); ttl != DefaultTTL {
		t.Errorf("TTL of v6only AAAA = %d, want the mirror's default %d (not the served zone's)", ttl, DefaultTTL)
	}

	// A changed target is an UPSERT of that record only.
	proxy.reset()
	src.set("default/web", lbSet("web.t1.example.org.", 60, "10.0.0.3", "2001:db8::1"))
	m.Changed([]string{"web.t1.example.org."})
	// The zone shows the change before the proxy has logged the batch (it
	// logs it once moto has answered): wait for both.
	harness.WaitFor(t, 10*time.Second, "the new target", func() bool {
		return slices.Equal(values(listZone(t, direct, id)[rrKey{"web.t1.example.org.", "A"}]), []string{"10.0.0.3"}) && len(proxy.sentBatches()) > 0
	})
	if b := proxy.sentBatches(); len(b) != 1 || len(b[0]) != 1 || b[0][0].Action != "UPSERT" || b[0][0].Type != "A" {
		t.Errorf("update sent %v, want one batch with one UPSERT of the A record", b)
	}

	// Deleted from the table: deleted under policy sync, with its TXT.
	src.del("default/web")
	m.Changed([]string{"web.t1.example.org."})
	harness.WaitFor(t, 10*time.Second, "the deletion", func() bool {
		_, ok := listZone(t, direct, id)[rrKey{"web.t1.example.org.", "A"}]
		return !ok
	})
	stop()
	delete(want, rrKey{"web.t1.example.org.", "A"})
	delete(want, rrKey{"web.t1.example.org.", "AAAA"})
	delete(want, rrKey{"a-web.t1.example.org.", "TXT"})
	delete(want, rrKey{"aaaa-web.t1.example.org.", "TXT"})
	checkZone(t, listZone(t, direct, id), want)
	assertIdempotent(t, cfg, src, moto)

	// Under upsert-only a deletion is kept.
	upsertOnly := cfg
	upsertOnly.Policy = PolicyUpsertOnly
	proxy.reset()
	m = New(upsertOnly, src, newTestClient(t, proxy.URL))
	since = time.Now()
	stop = runMirror(t, m)
	harness.WaitFor(t, 30*time.Second, "the upsert-only full sync", syncedSince(zone, since))
	src.del("default/v6")
	since = time.Now()
	m.Changed([]string{"v6only.t1.example.org."})
	harness.WaitFor(t, 10*time.Second, "the upsert-only event sync", syncedSince(zone, since))
	stop()
	if seen, _ := proxy.counts(changeCall); seen != 0 {
		t.Errorf("upsert-only sent %d change batches for a deletion, want none", seen)
	}
	checkZone(t, listZone(t, direct, id), want)

	// Dry run: the plan is computed and logged, nothing changes.
	dry := cfg
	dry.DryRun = true
	proxy.reset()
	before := listZone(t, direct, id)
	src.set("default/new", lbSet("new.t1.example.org.", 0, "10.0.0.7"))
	src.set("ingress/router", lbSet("*.apps.t1.example.org.", 30, "10.0.0.10"))
	m = New(dry, src, newTestClient(t, proxy.URL))
	since = time.Now()
	stop = runMirror(t, m)
	harness.WaitFor(t, 30*time.Second, "the dry-run full sync", syncedSince(zone, since))
	since = time.Now()
	m.Changed([]string{"new.t1.example.org.", "*.apps.t1.example.org.", "v6only.t1.example.org."})
	harness.WaitFor(t, 10*time.Second, "the dry-run event sync", syncedSince(zone, since))
	stop()
	if seen, _ := proxy.counts(changeCall); seen != 0 {
		t.Errorf("dry run sent %d change batches, want none", seen)
	}
	if after := listZone(t, direct, id); !maps.EqualFunc(before, after, func(a, b types.ResourceRecordSet) bool { return slices.Equal(values(a), values(b)) }) {
		t.Errorf("dry run changed the zone:\nbefore %v\nafter  %v", keysOf(before), keysOf(after))
	}
}

func keysOf(m map[rrKey]types.ResourceRecordSet) []rrKey {
	return slices.SortedFunc(maps.Keys(m), func(a, b rrKey) int { return strings.Compare(a.name+a.typ, b.name+b.typ) })
}

// checkZone compares a listing with the expected record sets (values nil:
// any value).
func checkZone(t *testing.T, got map[rrKey]types.ResourceRecordSet, want map[rrKey][]string) {
	t.Helper()
	for k, vals := range want {
		rs, ok := got[k]
		if !ok {
			t.Errorf("missing %s %s", k.name, k.typ)
			continue
		}
		if vals != nil && !slices.Equal(values(rs), vals) {
			t.Errorf("%s %s = %v, want %v", k.name, k.typ, values(rs), vals)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s %s %v", k.name, k.typ, values(got[k]))
		}
	}
}

func TestMirrorAlias(t *testing.T) {
	const zone = "t2.example.org."
	moto, direct, id, proxy := newProxiedZone(t, zone)

	const nlb = "k8s-default-web-0123456789-abcdef0123456789.elb.us-east-1.amazonaws.com"
	const alb = "dualstack.k8s-default-app-0123456789.us-west-2.elb.amazonaws.com"
	src := newTestTable("example.org.")
	src.set("default/web", aliasSet("lb.t2.example.org.", nlb, true))
	src.set("default/app", aliasSet("alb.t2.example.org.", alb, false))
	// Not an AWS load balancer: its addresses, resolved by the table.
	unknown := aliasSet("unknown.t2.example.org.", "lb.example.com", false)
	src.set("default/x", unknown)
	cfg := testConfig(zone, id, proxy.URL, PolicySync)
	m := New(cfg, src, newTestClient(t, proxy.URL))
	since := time.Now()
	stop := runMirror(t, m)
	harness.WaitFor(t, 30*time.Second, "the full sync", syncedSince(zone, since))
	stop()

	got := listZone(t, direct, id)
	checkZone(t, got, map[rrKey][]string{
		{"lb.t2.example.org.", "A"}:     {},
		{"lb.t2.example.org.", "AAAA"}:  {},
		{"a-lb.t2.example.org.", "TXT"}: {ownerTXT("service/default/web")},
		// ExternalDNS up to v0.21 reads an ALIAS A record's owner here.
		{"cname-lb.t2.example.org.", "TXT"}:  {ownerTXT("service/default/web")},
		{"aaaa-lb.t2.example.org.", "TXT"}:   {ownerTXT("service/default/web")},
		{"alb.t2.example.org.", "A"}:         {},
		{"a-alb.t2.example.org.", "TXT"}:     {ownerTXT("service/default/app")},
		{"cname-alb.t2.example.org.", "TXT"}: {ownerTXT("service/default/app")},
		// ALIAS AAAA too, as ExternalDNS writes it for every load balancer.
		{"alb.t2.example.org.", "AAAA"}:      {},
		{"aaaa-alb.t2.example.org.", "TXT"}:  {ownerTXT("service/default/app")},
		{"unknown.t2.example.org.", "A"}:     {"192.0.2.1"},
		{"a-unknown.t2.example.org.", "TXT"}: {ownerTXT("service/default/x")},
		{"t2.example.org.", "SOA"}:           nil,
		{"t2.example.org.", "NS"}:            nil,
	})
	for _, c := range []struct {
		key        rrKey
		target, hz string
	}{
		{rrKey{"lb.t2.example.org.", "A"}, nlb, "Z26RNL4JYFTOTI"},
		{rrKey{"lb.t2.example.org.", "AAAA"}, nlb, "Z26RNL4JYFTOTI"},
		{rrKey{"alb.t2.example.org.", "A"}, alb, "Z1H1FL5HABSF5"},
		{rrKey{"alb.t2.example.org.", "AAAA"}, alb, "Z1H1FL5HABSF5"},
	} {
		rs := got[c.key]
		if rs.AliasTarget == nil {
			t.Errorf("%v is not an ALIAS record: %+v", c.key, rs)
			continue
		}
		if normHost(aws.ToString(rs.AliasTarget.DNSName)) != c.target || aws.ToString(rs.AliasTarget.HostedZoneId) != c.hz || !rs.AliasTarget.EvaluateTargetHealth {
			t.Errorf("%v alias = %s %s %t, want %s %s true", c.key, aws.ToString(rs.AliasTarget.DNSName), aws.ToString(rs.AliasTarget.HostedZoneId), rs.AliasTarget.EvaluateTargetHealth, c.target, c.hz)
		}
		if aws.ToInt64(rs.TTL) != 0 || len(rs.ResourceRecords) != 0 { // moto lists a TTL of 0
			t.Errorf("%v alias has a TTL or values: %+v", c.key, rs)
		}
	}
	if ttl := aws.ToInt64(got[rrKey{"unknown.t2.example.org.", "A"}].TTL); ttl != DefaultTTL {
		t.Errorf("TTL of unknown A = %d, want %d", ttl, DefaultTTL)
	}
	assertIdempotent(t, cfg, src, moto)
}

func TestMirrorAdoptsExternalDNSRecords(t *testing.T) {
	moto := startMoto(t)
	direct := newTestClient(t, moto)
	const zone = "t3.example.org."
	id := createZone(t, direct, zone)
	const nlb = "k8s-default-lb-0123456789.elb.us-east-1.amazonaws.com"
	lbOld := types.ResourceRecordSet{
		Name: aws.String("lbold.t3.example.org."), Type: types.RRTypeA,
		AliasTarget: &types.AliasTarget{DNSName: aws.String(nlb + "."), HostedZoneId: aws.String("Z26RNL4JYFTOTI"), EvaluateTargetHealth: true},
	}
	prefilled := []types.ResourceRecordSet{
		// Ours, current format, equal to the table: nothing to do.
		aRecord("same.t3.example.org.", "A", 300, "10.1.0.1"),
		txtRecord("a-same.t3.example.org.", testOwner, "service/default/same"),
		// Ours, the table has another address: UPSERT.
		aRecord("moved.t3.example.org.", "A", 300, "10.1.0.2"),
		aRecord("moved.t3.example.org.", "AAAA", 300, "2001:db8::2"),
		txtRecord("a-moved.t3.example.org.", testOwner, "service/default/moved"),
		txtRecord("aaaa-moved.t3.example.org.", testOwner, "service/default/moved"),
		// Ours in the old format (TXT at the name itself).
		aRecord("old.t3.example.org.", "A", 300, "10.1.0.3"),
		txtRecord("old.t3.example.org.", testOwner, "service/default/old"),
		// Ours: an ALIAS A with the legacy cname- TXT.
		lbOld,
		txtRecord("cname-lbold.t3.example.org.", testOwner, "service/default/lbold"),
		// Ours, gone from the table: deleted under sync.
		aRecord("gone.t3.example.org.", "A", 300, "10.1.0.4"),
		txtRecord("a-gone.t3.example.org.", testOwner, "service/default/gone"),
		// Someone else's, wanted by the table: untouched.
		aRecord("foreign.t3.example.org.", "A", 300, "10.1.0.5"),
		txtRecord("a-foreign.t3.example.org.", "other-cluster", "service/default/foreign"),
		// Someone else's in the old format, wanted by the table: untouched.
		aRecord("foreignold.t3.example.org.", "A", 300, "10.1.0.6"),
		txtRecord("foreignold.t3.example.org.", "other-cluster", "service/default/foreignold"),
		// No owner, wanted by the table: untouched.
		aRecord("manual.t3.example.org.", "A", 300, "10.1.0.7"),
		// Someone else's, not in the table: untouched under sync.
		aRecord("theirs.t3.example.org.", "A", 300, "10.1.0.8"),
		txtRecord("a-theirs.t3.example.org.", "other-cluster", "service/default/theirs"),
		// A free name whose TXT name someone else claimed: not taken.
		txtRecord("a-claimed.t3.example.org.", "other-cluster", "service/default/claimed"),
		// Ours, but an Ingress's (ExternalDNS still manages Ingresses with
		// the same owner id), not in the table: never deleted.
		aRecord("ing.t3.example.org.", "A", 300, "10.1.0.10"),
		txtRecord("a-ing.t3.example.org.", testOwner, "ingress/default/web"),
		// The same, wanted by a Service too: not taken.
		aRecord("ingwanted.t3.example.org.", "A", 300, "10.1.0.11"),
		txtRecord("a-ingwanted.t3.example.org.", testOwner, "ingress/default/web"),
		// An ownership TXT of an Ingress without its record: kept.
		txtRecord("a-ingorphan.t3.example.org.", testOwner, "ingress/default/web"),
	}
	prefill(t, direct, id, prefilled...)
	existing := map[rrKey]bool{}
	for k := range listZone(t, direct, id) {
		existing[k] = true
	}

	// No ttl annotations: the mirror's default, ExternalDNS's 300, so
	// nothing is updated for its TTL.
	src := newTestTable("example.org.")
	src.set("default/same", lbSet("same.t3.example.org.", 0, "10.1.0.1"))
	src.set("default/moved", lbSet("moved.t3.example.org.", 0, "10.1.0.22", "2001:db8::2"))
	src.set("default/old", lbSet("old.t3.example.org.", 0, "10.1.0.3"))
	src.set("default/lbold", aliasSet("lbold.t3.example.org.", nlb, false))
	src.set("default/foreign", lbSet("foreign.t3.example.org.", 0, "10.9.9.1"))
	src.set("default/foreignold", lbSet("foreignold.t3.example.org.", 0, "10.9.9.2"))
	src.set("default/manual", lbSet("manual.t3.example.org.", 0, "10.9.9.3"))
	src.set("default/claimed", lbSet("claimed.t3.example.org.", 0, "10.9.9.4"))
	src.set("default/fresh", lbSet("fresh.t3.example.org.", 0, "10.1.0.9"))
	src.set("default/ingwanted", lbSet("ingwanted.t3.example.org.", 0, "10.9.9.5"))
	proxy := newFaultProxy(t, moto)
	cfg := testConfig(zone, id, proxy.URL, PolicySync)
	m := New(cfg, src, newTestClient(t, proxy.URL))
	conflicts := metricValue(errorsCount.WithLabelValues("conflict"))
	since := time.Now()
	stop := runMirror(t, m)
	harness.WaitFor(t, 30*time.Second, "the full sync", syncedSince(zone, since))

	// Adoption: no CREATE of anything that existed, in any batch sent.
	creates := 0
	for _, b := range proxy.sentBatches() {
		for _, c := range b {
			k := rrKey{c.Name, c.Type}
			if c.Action == "CREATE" {
				creates++
				if existing[k] {
					t.Errorf("CREATE of the existing %s %s", k.name, k.typ)
				}
			}
			if strings.Contains(k.name, "foreign") || strings.Contains(k.name, "manual") || strings.Contains(k.name, "theirs") || strings.Contains(k.name, "claimed") || strings.Contains(k.name, "ing") {
				t.Errorf("%s of %s %s, which is not ours", c.Action, k.name, k.typ)
			}
		}
	}
	if creates != 6 {
		t.Errorf("%d CREATEs, want 6 (a-old, a-lbold, lbold AAAA, aaaa-lbold, fresh and a-fresh)", creates)
	}
	t.Logf("adoption full sync: %s", proxy.summary())

	// Changes for names owned by others cost nothing.
	proxy.reset()
	since = time.Now()
	m.Changed([]string{"foreign.t3.example.org.", "manual.t3.example.org.", "same.t3.example.org."})
	harness.WaitFor(t, 10*time.Second, "the event sync", syncedSince(zone, since))
	stop()
	if seen, _ := proxy.counts(changeCall); seen != 0 {
		t.Errorf("an event for foreign, unowned and unchanged names sent %d change batches, want none", seen)
	}
	if d := metricValue(errorsCount.WithLabelValues("conflict")) - conflicts; d != 5 {
		t.Errorf("conflict errors grew by %v, want 5 (foreign, foreignold, manual, claimed, ingwanted)", d)
	}

	got := listZone(t, direct, id)
	checkZone(t, got, map[rrKey][]string{
		{"same.t3.example.org.", "A"}:          {"10.1.0.1"},
		{"a-same.t3.example.org.", "TXT"}:      {ownerTXT("service/default/same")},
		{"moved.t3.example.org.", "A"}:         {"10.1.0.22"},
		{"moved.t3.example.org.", "AAAA"}:      {"2001:db8::2"},
		{"a-moved.t3.example.org.", "TXT"}:     {ownerTXT("service/default/moved")},
		{"aaaa-moved.t3.example.org.", "TXT"}:  {ownerTXT("service/default/moved")},
		{"old.t3.example.org.", "A"}:           {"10.1.0.3"},
		{"old.t3.example.org.", "TXT"}:         {ownerTXT("service/default/old")},
		{"a-old.t3.example.org.", "TXT"}:       {ownerTXT("service/default/old")},
		{"lbold.t3.example.org.", "A"}:         {},
		{"cname-lbold.t3.example.org.", "TXT"}: {ownerTXT("service/default/lbold")},
		{"a-lbold.t3.example.org.", "TXT"}:     {ownerTXT("service/default/lbold")},
		{"lbold.t3.example.org.", "AAAA"}:      {},
		{"aaaa-lbold.t3.example.org.", "TXT"}:  {ownerTXT("service/default/lbold")},
		{"foreign.t3.example.org.", "A"}:       {"10.1.0.5"},
		{"a-foreign.t3.example.org.", "TXT"}:   nil,
		{"foreignold.t3.example.org.", "A"}:    {"10.1.0.6"},
		{"foreignold.t3.example.org.", "TXT"}:  nil,
		{"manual.t3.example.org.", "A"}:        {"10.1.0.7"},
		{"theirs.t3.example.org.", "A"}:        {"10.1.0.8"},
		{"a-theirs.t3.example.org.", "TXT"}:    nil,
		{"a-claimed.t3.example.org.", "TXT"}:   nil,
		{"ing.t3.example.org.", "A"}:           {"10.1.0.10"},
		{"a-ing.t3.example.org.", "TXT"}:       {ownerTXT("ingress/default/web")},
		{"ingwanted.t3.example.org.", "A"}:     {"10.1.0.11"},
		{"a-ingwanted.t3.example.org.", "TXT"}: {ownerTXT("ingress/default/web")},
		{"a-ingorphan.t3.example.org.", "TXT"}: {ownerTXT("ingress/default/web")},
		{"fresh.t3.example.org.", "A"}:         {"10.1.0.9"},
		{"a-fresh.t3.example.org.", "TXT"}:     {ownerTXT("service/default/fresh")},
		{"t3.example.org.", "SOA"}:             nil,
		{"t3.example.org.", "NS"}:              nil,
	})
	assertIdempotent(t, cfg, src, moto)
}
