package route53

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/externaldns"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// hostSet is the record set of a name whose addresses were resolved from
// hosts (a load balancer's hostname, a target, an ExternalName).
func hostSet(name string, kind table.Kind, hosts ...string) table.RecordSet {
	return table.RecordSet{Name: name, TTL: 60, Kind: kind, Aliases: hosts, AliasesOnly: true,
		External: []netip.Addr{netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("2001:db8::7")},
		Internal: []netip.Addr{netip.MustParseAddr("10.96.0.7")}}
}

// forms renders the record sets want holds, sorted, with a "|fallback"
// suffix listing what each CNAME or same-zone ALIAS falls back to.
func forms(want map[rrKey]*desired) []string {
	var out []string
	for _, d := range want {
		s := strings.TrimSpace(describe(types.Change{ResourceRecordSet: &d.rs}))
		if d.withheld != "" {
			s = aws.ToString(d.rs.Name) + " " + string(d.rs.Type) + " withheld"
		}
		if d.fallback != nil {
			var fb []string
			for _, f := range d.fallback {
				fb = append(fb, string(f.rs.Type))
			}
			s += " | fallback " + strings.Join(fb, "+")
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// TestHostnameForms: what a name whose addresses come from hostnames is
// written as, by ExternalDNS's AWS provider's rules (CNAME, ALIAS to an
// AWS target, prefer-cname, the alias annotation) and the apex rule.
func TestHostnameForms(t *testing.T) {
	const (
		zone = "example.org."
		nlb  = "k8s-a-b-0123456789.elb.us-east-1.amazonaws.com"
		cdn  = "shop.cdn.example.net"
	)
	aliasTo := func(s table.RecordSet, o table.AliasOptions) table.RecordSet { s.AliasOptions = &o; return s }
	weighted := &table.Routing{SetIdentifier: "eu", Policy: table.RoutingWeighted, Weight: 5}
	multi := &table.Routing{SetIdentifier: "eu", Policy: table.RoutingMultiValue}
	withRouting := func(s table.RecordSet, r *table.Routing) table.RecordSet { s.Routing = r; return s }
	const resolvedA, resolvedAAAA = "A 300 192.0.2.7", "AAAA 300 2001:db8::7"
	for _, tc := range []struct {
		name        string
		set         table.RecordSet
		view        table.View // External unless set
		preferCNAME bool
		want        []string
		note        string // start of the problem's message, "" for none
	}{
		{name: "another cloud's hostname: a CNAME", set: hostSet("web.example.org.", table.KindTarget, cdn),
			want: []string{"web.example.org. CNAME 300 " + cdn + " | fallback A+AAAA"}},
		{name: "an AWS load balancer: ALIAS A and AAAA", set: hostSet("lb.example.org.", table.KindLoadBalancer, nlb),
			want: []string{"lb.example.org. A ALIAS " + nlb + " (Z26RNL4JYFTOTI, evaluate-target-health true)", "lb.example.org. AAAA ALIAS " + nlb + " (Z26RNL4JYFTOTI, evaluate-target-health true)"}},
		{name: "CloudFront is an AWS target too", set: hostSet("cf.example.org.", table.KindTarget, "d111111abcdef8.cloudfront.net"),
			want: []string{"cf.example.org. A ALIAS d111111abcdef8.cloudfront.net (Z2FDTNDATAQYW2, evaluate-target-health true)", "cf.example.org. AAAA ALIAS d111111abcdef8.cloudfront.net (Z2FDTNDATAQYW2, evaluate-target-health true)"}},
		{name: "prefer-cname: a CNAME to the load balancer", set: hostSet("lb.example.org.", table.KindLoadBalancer, nlb), preferCNAME: true,
			want: []string{"lb.example.org. CNAME 300 " + nlb + " | fallback A+AAAA"}},
		{name: "prefer-cname at the apex: ALIAS still", set: hostSet(zone, table.KindLoadBalancer, nlb), preferCNAME: true,
			want: []string{"example.org. A ALIAS " + nlb + " (Z26RNL4JYFTOTI, evaluate-target-health true)", "example.org. AAAA ALIAS " + nlb + " (Z26RNL4JYFTOTI, evaluate-target-health true)"}},
		{name: "prefer-cname, the alias annotation: ALIAS", set: aliasTo(hostSet("lb.example.org.", table.KindLoadBalancer, nlb), table.AliasOptions{Alias: true}), preferCNAME: true,
			want: []string{"lb.example.org. A ALIAS " + nlb + " (Z26RNL4JYFTOTI, evaluate-target-health true)", "lb.example.org. AAAA ALIAS " + nlb + " (Z26RNL4JYFTOTI, evaluate-target-health true)"}},
		{name: "aws-evaluate-target-health false", set: aliasTo(hostSet("lb.example.org.", table.KindLoadBalancer, nlb), table.AliasOptions{EvaluateTargetHealth: table.TargetHealthOff}),
			want: []string{"lb.example.org. A ALIAS " + nlb + " (Z26RNL4JYFTOTI, evaluate-target-health false)", "lb.example.org. AAAA ALIAS " + nlb + " (Z26RNL4JYFTOTI, evaluate-target-health false)"}},
		{name: "apex, a target outside Route 53: the resolved addresses, said so", set: hostSet(zone, table.KindTarget, cdn),
			want: []string{"example.org. " + resolvedA, "example.org. " + resolvedAAAA}, note: "example.org.: a CNAME cannot be at the zone apex"},
		{name: "apex, a target in the zone: ALIAS to it in this hosted zone", set: hostSet(zone, table.KindTarget, "www.example.org"),
			want: []string{"example.org. A ALIAS www.example.org (Z1, evaluate-target-health true) | fallback A+AAAA", "example.org. AAAA ALIAS www.example.org (Z1, evaluate-target-health true) | fallback A+AAAA"}},
		{name: "the alias annotation, a target in the zone: ALIAS, else a CNAME", set: aliasTo(hostSet("api.example.org.", table.KindTarget, "www.example.org."), table.AliasOptions{Alias: true}),
			want: []string{"api.example.org. A ALIAS www.example.org (Z1, evaluate-target-health true) | fallback CNAME", "api.example.org. AAAA ALIAS www.example.org (Z1, evaluate-target-health true) | fallback CNAME"}},
		{name: "the alias annotation, a target outside: a CNAME, said so", set: aliasTo(hostSet("api.example.org.", table.KindTarget, cdn), table.AliasOptions{Alias: true}),
			want: []string{"api.example.org. CNAME 300 " + cdn + " | fallback A+AAAA"}, note: "api.example.org.: the alias annotation asks for an ALIAS record"},
		{name: "two hostnames: a CNAME holds one, the addresses", set: hostSet("two.example.org.", table.KindTarget, cdn, "other.cdn.example.net"),
			want: []string{"two.example.org. " + resolvedA, "two.example.org. " + resolvedAAAA}, note: "two.example.org.: 2 hostname targets"},
		{name: "IPs beside the hostname: the addresses", set: func() table.RecordSet {
			s := hostSet("mix.example.org.", table.KindTarget, cdn)
			s.AliasesOnly = false
			return s
		}(),
			want: []string{"mix.example.org. " + resolvedA, "mix.example.org. " + resolvedAAAA}},
		{name: "an ExternalName served as a CNAME: a CNAME, nothing to fall back to",
			set:  table.RecordSet{Name: "ext.example.org.", TTL: 60, Kind: table.KindExternalName, Refs: &table.Refs{CNAME: "db.example.net."}},
			want: []string{"ext.example.org. CNAME 300 db.example.net"}},
		{name: "weighted CNAME", set: withRouting(hostSet("web.example.org.", table.KindTarget, cdn), weighted),
			want: []string{"web.example.org. CNAME 300 " + cdn + " [set-identifier eu, weight 5] | fallback A+AAAA"}},
		{name: "multivalue: no CNAME, the addresses", set: withRouting(hostSet("web.example.org.", table.KindTarget, cdn), multi),
			want: []string{"web.example.org. " + resolvedA + " [set-identifier eu, multivalue]", "web.example.org. " + resolvedAAAA + " [set-identifier eu, multivalue]"}, note: "web.example.org.: a multivalue answer cannot be a CNAME"},
		{name: "multivalue to a load balancer: withheld", set: withRouting(hostSet("lb.example.org.", table.KindLoadBalancer, nlb), multi),
			want: []string{"lb.example.org. A withheld", "lb.example.org. AAAA withheld", "lb.example.org. CNAME withheld"}},
		{name: "the internal view of a load balancer: its ClusterIPs", set: hostSet("lb.example.org.", table.KindLoadBalancer, cdn), view: table.Internal,
			want: []string{"lb.example.org. A 300 10.96.0.7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newTestTable(zone)
			src.set("default/web", tc.set)
			view := tc.view
			var entries []sourced
			for _, e := range src.EntriesUnder(zone, view) {
				entries = append(entries, sourced{e, view})
			}
			want, problems := recordBuilder{ttl: 300, evaluateTargetHealth: true, preferCNAME: tc.preferCNAME, zone: zone, zoneID: "Z1"}.build(entries)
			if got := forms(want); !slices.Equal(got, tc.want) {
				t.Errorf("record sets\n got %q\nwant %q", got, tc.want)
			}
			switch {
			case tc.note == "" && len(problems) > 0:
				t.Errorf("problems %+v, want none", problems)
			case tc.note != "" && (len(problems) != 1 || !strings.HasPrefix(problems[0].msg, tc.note)):
				t.Errorf("problems %+v, want one starting %q", problems, tc.note)
			}
		})
	}
}

// TestPlanHostnames: the plan of a name that moves between A/AAAA, CNAME
// and ALIAS records, and of a CNAME the zone cannot take.
func TestPlanHostnames(t *testing.T) {
	const (
		zone = "example.org."
		web  = "service/default/web"
		cdn  = "shop.cdn.example.net"
		nlb  = "k8s-a-b-0123456789.elb.us-east-1.amazonaws.com"
	)
	ours := func(name string) types.ResourceRecordSet { return txtRecord(name, testOwner, web) }
	cname := func(name, target string) types.ResourceRecordSet {
		return types.ResourceRecordSet{Name: aws.String(name), Type: types.RRTypeCname, TTL: aws.Int64(300), ResourceRecords: []types.ResourceRecord{{Value: aws.String(target)}}}
	}
	lbAlias := func(name, typ string) types.ResourceRecordSet {
		return types.ResourceRecordSet{Name: aws.String(name), Type: types.RRType(typ),
			AliasTarget: &types.AliasTarget{DNSName: aws.String(nlb), HostedZoneId: aws.String("Z26RNL4JYFTOTI"), EvaluateTargetHealth: true}}
	}
	webA, webAAAA := aRecord("web.example.org.", "A", 300, "192.0.2.7"), aRecord("web.example.org.", "AAAA", 300, "2001:db8::7")
	cdnSet := hostSet("web.example.org.", table.KindTarget, cdn)
	ipSet := func() table.RecordSet { s := cdnSet; s.Aliases, s.AliasesOnly = nil, false; return s }()
	txt := func(string) string { return "TXT 300 " + ownerTXT(web) }
	for _, tc := range []struct {
		name     string
		policy   string
		prefix   string // txt-prefix (the apex needs one: "a-example.org." is outside the zone)
		zone     []types.ResourceRecordSet
		set      table.RecordSet
		changes  []string
		problems []string // starts of the messages
	}{
		{name: "A/AAAA to CNAME: the old records go in the batch that writes the CNAME",
			zone: []types.ResourceRecordSet{webA, webAAAA, ours("a-web.example.org."), ours("aaaa-web.example.org.")}, set: cdnSet,
			changes: []string{"DELETE web.example.org. A 300 192.0.2.7", "DELETE a-web.example.org. " + txt(""), "DELETE web.example.org. AAAA 300 2001:db8::7", "DELETE aaaa-web.example.org. " + txt(""),
				"CREATE web.example.org. CNAME 300 " + cdn, "CREATE cname-web.example.org. " + txt("")}},
		{name: "upsert-only: the same Service's move is an update, allowed", policy: PolicyUpsertOnly,
			zone: []types.ResourceRecordSet{webA, ours("a-web.example.org.")}, set: cdnSet,
			changes: []string{"DELETE web.example.org. A 300 192.0.2.7", "DELETE a-web.example.org. " + txt(""), "CREATE web.example.org. CNAME 300 " + cdn, "CREATE cname-web.example.org. " + txt("")}},
		{name: "create-only: the A record stays, so no CNAME; the addresses", policy: PolicyCreateOnly,
			zone: []types.ResourceRecordSet{webA, ours("a-web.example.org.")}, set: cdnSet,
			changes:  []string{"CREATE web.example.org. AAAA 300 2001:db8::7", "CREATE aaaa-web.example.org. " + txt("")},
			problems: []string{"web.example.org.: no CNAME can be written, Route 53 holds web.example.org. A"}},
		{name: "CNAME to A/AAAA",
			zone: []types.ResourceRecordSet{cname("web.example.org.", cdn), ours("cname-web.example.org.")}, set: ipSet,
			changes: []string{"CREATE web.example.org. A 300 192.0.2.7", "CREATE a-web.example.org. " + txt(""), "CREATE web.example.org. AAAA 300 2001:db8::7", "CREATE aaaa-web.example.org. " + txt(""),
				"DELETE web.example.org. CNAME 300 " + cdn, "DELETE cname-web.example.org. " + txt("")}},
		{name: "ALIAS to CNAME (prefer-cname turned on): cname-web stays, it is both's TXT",
			zone: []types.ResourceRecordSet{lbAlias("web.example.org.", "A"), lbAlias("web.example.org.", "AAAA"), ours("a-web.example.org."), ours("aaaa-web.example.org."), ours("cname-web.example.org.")},
			set:  cdnSet,
			changes: []string{"DELETE web.example.org. A ALIAS " + nlb + " (Z26RNL4JYFTOTI, evaluate-target-health true)", "DELETE a-web.example.org. " + txt(""),
				"DELETE web.example.org. AAAA ALIAS " + nlb + " (Z26RNL4JYFTOTI, evaluate-target-health true)", "DELETE aaaa-web.example.org. " + txt(""),
				"CREATE web.example.org. CNAME 300 " + cdn}},
		{name: "a CNAME that changes target: UPSERT",
			zone: []types.ResourceRecordSet{cname("web.example.org.", "old.cdn.example.net"), ours("cname-web.example.org.")}, set: cdnSet,
			changes: []string{"UPSERT web.example.org. CNAME 300 " + cdn}},
		{name: "a CNAME is what Route 53 holds, with a trailing dot: nothing",
			zone: []types.ResourceRecordSet{cname("web.example.org.", cdn+"."), ours("cname-web.example.org.")}, set: cdnSet},
		{name: "a TXT record of someone's at the name: no CNAME, the addresses",
			zone: []types.ResourceRecordSet{{Name: aws.String("web.example.org."), Type: types.RRTypeTxt, TTL: aws.Int64(300), ResourceRecords: []types.ResourceRecord{{Value: aws.String(`"v=spf1 -all"`)}}}}, set: cdnSet,
			changes:  []string{"CREATE web.example.org. A 300 192.0.2.7", "CREATE a-web.example.org. " + txt(""), "CREATE web.example.org. AAAA 300 2001:db8::7", "CREATE aaaa-web.example.org. " + txt("")},
			problems: []string{"web.example.org.: no CNAME can be written, Route 53 holds a TXT record set at web.example.org."}},
		{name: "another owner's A record: no CNAME, and no taking its A",
			zone: []types.ResourceRecordSet{webA, txtRecord("a-web.example.org.", "other", web)}, set: cdnSet,
			changes:  []string{"CREATE web.example.org. AAAA 300 2001:db8::7", "CREATE aaaa-web.example.org. " + txt("")},
			problems: []string{"web.example.org.: no CNAME can be written", "web.example.org. A: exists in Route 53 and is owned by \"other\""}},
		{name: "apex ALIAS to www, which has an A record only: ALIAS A only", prefix: "%{record_type}.",
			zone: []types.ResourceRecordSet{aRecord("www.example.org.", "A", 300, "192.0.2.9")}, set: hostSet(zone, table.KindTarget, "www.example.org"),
			changes: []string{"CREATE example.org. A ALIAS www.example.org (Z1, evaluate-target-health true)", "CREATE a.example.org. " + txt(""), "CREATE cname.example.org. " + txt("")}},
		{name: "apex ALIAS to www, which has nothing: the addresses", prefix: "%{record_type}.",
			set:      hostSet(zone, table.KindTarget, "www.example.org"),
			changes:  []string{"CREATE example.org. A 300 192.0.2.7", "CREATE a.example.org. " + txt(""), "CREATE example.org. AAAA 300 2001:db8::7", "CREATE aaaa.example.org. " + txt("")},
			problems: []string{"example.org.: an ALIAS needs its target www.example.org. to hold an A or AAAA record set"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := newZoneState(zone, "Z1", false)
			z.load(tc.zone)
			src := newTestTable(zone)
			src.set("default/web", tc.set)
			var entries []sourced
			for _, e := range src.EntriesUnder(zone, table.External) {
				entries = append(entries, sourced{e, table.External})
			}
			want, problems := recordBuilder{ttl: 300, evaluateTargetHealth: true, zone: zone, zoneID: "Z1"}.build(entries)
			policy := tc.policy
			if policy == "" {
				policy = PolicySync
			}
			units, planned := planner{owner: testOwner, policy: policy, naming: externaldns.Naming{Prefix: tc.prefix}}.plan(z, want, everyType([]rrKey{{tc.set.Name, "A"}}))
			var got []string
			for _, u := range units {
				for _, c := range u.changes {
					got = append(got, describe(c))
				}
			}
			if !slices.Equal(got, tc.changes) {
				t.Errorf("changes\n got %q\nwant %q", got, tc.changes)
			}
			problems = append(problems, planned...)
			if len(problems) != len(tc.problems) {
				t.Fatalf("problems %+v, want %q", problems, tc.problems)
			}
			for i, p := range problems {
				if !strings.HasPrefix(p.msg, tc.problems[i]) {
					t.Errorf("problem %q, want it to start with %q", p.msg, tc.problems[i])
				}
			}
		})
	}
}

// TestMirrorHostnames moves one name through every form through the real
// SDK to moto behind Route 53's rules, under upsert-only (the default):
// CNAME, A/AAAA, ALIAS, and CNAME again with prefer-cname; each move is
// one accepted batch, so the name never goes without an answer. At the
// apex a CNAME target in the zone is an ALIAS to it, one outside it the
// resolved addresses.
func TestMirrorHostnames(t *testing.T) {
	const (
		zone = "hn.example.org."
		cdn  = "shop.cdn.example.net"
		nlb  = "k8s-default-lb-0123456789-abcdef0123456789.elb.us-east-1.amazonaws.com"
	)
	moto, direct, id, proxy := newProxiedZone(t, zone)
	src := newTestTable("example.org.")
	web := "web.hn.example.org."
	src.set("default/web", hostSet(web, table.KindTarget, cdn))
	src.set("default/www", lbSet("www.hn.example.org.", 0, "192.0.2.80"))
	src.set("default/apex", hostSet(zone, table.KindTarget, "www.hn.example.org"))
	cfg := testConfig(zone, id, proxy.URL, PolicyUpsertOnly)
	cfg.Naming = externaldns.Naming{Prefix: "%{record_type}."} // the apex's TXT names stay in the zone
	m := New(cfg, src, newTestClient(t, proxy.URL))
	since := time.Now()
	stop := runMirror(t, m)
	harness.WaitFor(t, 30*time.Second, "the first full sync", syncedSince(zone, since))
	txt := func(name, svc string) string { return name + " TXT 300 " + ownerTXT("service/default/"+svc) }
	www := []string{"www.hn.example.org. A 300 192.0.2.80", txt("a.www.hn.example.org.", "www")}
	apex := []string{"hn.example.org. A ALIAS www.hn.example.org (" + id + ", evaluate-target-health true)", txt("a.hn.example.org.", "apex"), txt("cname.hn.example.org.", "apex")}
	checkLines(t, "a CNAME, and the apex an ALIAS A to www (which has no AAAA)", zoneLines(t, direct, id),
		slices.Concat(www, apex, []string{"web.hn.example.org. CNAME 300 " + cdn, txt("cname.web.hn.example.org.", "web")}))

	step := func(what string, set table.RecordSet, want []string) {
		t.Helper()
		proxy.reset()
		since := time.Now()
		src.set("default/web", set)
		m.Changed([]string{web})
		harness.WaitFor(t, 10*time.Second, what, syncedSince(zone, since))
		if b := proxy.sentBatches(); len(b) != 1 {
			t.Errorf("%s: %d batches %v, want one", what, len(b), b)
		}
		checkLines(t, what, zoneLines(t, direct, id), slices.Concat(www, apex, want))
	}
	ips := hostSet(web, table.KindTarget, cdn)
	ips.Aliases, ips.AliasesOnly = nil, false
	step("CNAME to A/AAAA", ips, []string{"web.hn.example.org. A 300 192.0.2.7", txt("a.web.hn.example.org.", "web"), "web.hn.example.org. AAAA 300 2001:db8::7", txt("aaaa.web.hn.example.org.", "web")})
	lb := hostSet(web, table.KindLoadBalancer, nlb)
	lbAlias := func(typ string) string {
		return "web.hn.example.org. " + typ + " ALIAS " + nlb + " (Z26RNL4JYFTOTI, evaluate-target-health true)"
	}
	step("A/AAAA to ALIAS", lb, []string{lbAlias("A"), lbAlias("AAAA"), txt("a.web.hn.example.org.", "web"), txt("aaaa.web.hn.example.org.", "web"), txt("cname.web.hn.example.org.", "web")})
	step("ALIAS to CNAME", hostSet(web, table.KindTarget, cdn), []string{"web.hn.example.org. CNAME 300 " + cdn, txt("cname.web.hn.example.org.", "web")})
	stop()

	// prefer-cname: the load balancer is written as a CNAME, the apex
	// keeps ALIAS records; then the apex's target leaves the zone.
	cfg.PreferCNAME = true
	src.set("default/web", lb)
	src.set("default/apex", hostSet(zone, table.KindTarget, cdn))
	proxy.reset()
	m = New(cfg, src, newTestClient(t, proxy.URL))
	since = time.Now()
	stop = runMirror(t, m)
	harness.WaitFor(t, 30*time.Second, "the prefer-cname full sync", syncedSince(zone, since))
	checkLines(t, "prefer-cname, and an apex whose target is outside Route 53", zoneLines(t, direct, id), slices.Concat(www, []string{
		"hn.example.org. A 300 192.0.2.7", txt("a.hn.example.org.", "apex"), "hn.example.org. AAAA 300 2001:db8::7", txt("aaaa.hn.example.org.", "apex"),
		"web.hn.example.org. CNAME 300 " + nlb, txt("cname.web.hn.example.org.", "web")}))
	stop()
	if r := proxy.rejections(); len(r) > 0 {
		t.Errorf("Route 53 rejected %v", r)
	}
	assertIdempotent(t, cfg, src, moto)
}
