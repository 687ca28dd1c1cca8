package route53

import (
	"reflect"
	"strings"
	"testing"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// TestPlan checks the planner alone: a view of the zone, the desired
// record sets and a policy in; changes and problems out.
func TestPlan(t *testing.T) {
	const nlb = "k8s-a-b-0123456789.elb.us-east-1.amazonaws.com"
	alias := func(name, typ string) types.ResourceRecordSet {
		return types.ResourceRecordSet{Name: aws.String(name), Type: types.RRType(typ),
			AliasTarget: &types.AliasTarget{DNSName: aws.String(nlb), HostedZoneId: aws.String("Z26RNL4JYFTOTI"), EvaluateTargetHealth: true}}
	}
	a := func(name string, ttl int64, v ...string) types.ResourceRecordSet {
		return aRecord(name, "A", ttl, v...)
	}
	want := func(rs types.ResourceRecordSet, resource string) *desired {
		return &desired{rs: rs, resource: resource}
	}
	ours := func(name, resource string) types.ResourceRecordSet { return txtRecord(name, testOwner, resource) }
	const web = "service/default/web"
	// Routing: a record set, or an ownership TXT, with a set identifier and policy.
	routed := func(rs types.ResourceRecordSet, r *table.Routing) types.ResourceRecordSet {
		setRouting(&rs, r)
		return rs
	}
	oursAt := func(name, resource string, r *table.Routing) types.ResourceRecordSet {
		return routed(ours(name, resource), r)
	}
	theirs := func(name string, r *table.Routing) types.ResourceRecordSet {
		return routed(txtRecord(name, "other", "service/default/web"), r)
	}
	w20 := &table.Routing{SetIdentifier: "eu", Policy: table.RoutingWeighted, Weight: 20}
	w30 := &table.Routing{SetIdentifier: "eu", Policy: table.RoutingWeighted, Weight: 30}
	wUS := &table.Routing{SetIdentifier: "us", Policy: table.RoutingWeighted, Weight: 20}
	lat := &table.Routing{SetIdentifier: "eu", Policy: table.RoutingLatency, Region: "eu-west-1"}
	c2 := &table.Routing{SetIdentifier: "c2", Policy: table.RoutingWeighted, Weight: 10}
	c2lat := &table.Routing{SetIdentifier: "c2", Policy: table.RoutingLatency, Region: "us-east-1"}
	const eu20, eu30, us20, euLat = " [set-identifier eu, weight 20]", " [set-identifier eu, weight 30]", " [set-identifier us, weight 20]", " [set-identifier eu, region eu-west-1]"
	webA := a("web.example.org.", 300, "192.0.2.1")

	for _, tc := range []struct {
		name     string
		policy   string
		zone     []types.ResourceRecordSet
		want     map[rrKey]*desired
		keys     []rrKey
		changes  []string // describe() of each change, in order
		problems []string // kind: first words of the message
	}{
		{
			name:    "create: the record and its TXT",
			want:    map[rrKey]*desired{{"web.example.org.", "A"}: want(a("web.example.org.", 300, "192.0.2.1"), web)},
			changes: []string{"CREATE web.example.org. A 300 192.0.2.1", `CREATE a-web.example.org. TXT 300 ` + ownerTXT(web)},
		},
		{
			name:    "create an ALIAS A: both TXT names, a- (v0.22+) and cname- (v0.20)",
			want:    map[rrKey]*desired{{"lb.example.org.", "A"}: want(alias("lb.example.org.", "A"), web)},
			changes: []string{"CREATE lb.example.org. A ALIAS " + nlb + " (Z26RNL4JYFTOTI, evaluate-target-health true)", "CREATE a-lb.example.org. TXT 300 " + ownerTXT(web), "CREATE cname-lb.example.org. TXT 300 " + ownerTXT(web)},
		},
		{
			name:    "take over an ALIAS A ExternalDNS v0.20 wrote: only the a- TXT is added",
			zone:    []types.ResourceRecordSet{alias("lb.example.org.", "A"), ours("cname-lb.example.org.", web)},
			want:    map[rrKey]*desired{{"lb.example.org.", "A"}: want(alias("lb.example.org.", "A"), web)},
			changes: []string{"CREATE a-lb.example.org. TXT 300 " + ownerTXT(web)},
		},
		{
			name: "same record, same TTL: nothing",
			zone: []types.ResourceRecordSet{a("web.example.org.", 300, "192.0.2.1"), ours("a-web.example.org.", web)},
			want: map[rrKey]*desired{{"web.example.org.", "A"}: want(a("web.example.org.", 300, "192.0.2.1"), web)},
		},
		{
			name:    "changed address: UPSERT of the record only",
			zone:    []types.ResourceRecordSet{a("web.example.org.", 300, "192.0.2.1"), ours("a-web.example.org.", web)},
			want:    map[rrKey]*desired{{"web.example.org.", "A"}: want(a("web.example.org.", 300, "192.0.2.2"), web)},
			changes: []string{"UPSERT web.example.org. A 300 192.0.2.2"},
		},
		{
			name:     "changed address under create-only: kept, said once",
			policy:   PolicyCreateOnly,
			zone:     []types.ResourceRecordSet{a("web.example.org.", 300, "192.0.2.1"), ours("a-web.example.org.", web)},
			want:     map[rrKey]*desired{{"web.example.org.", "A"}: want(a("web.example.org.", 300, "192.0.2.2"), web)},
			problems: []string{": web.example.org. A differs"},
		},
		{
			name:    "plain to ALIAS: DELETE and CREATE in one unit, TXT names completed",
			zone:    []types.ResourceRecordSet{a("web.example.org.", 300, "192.0.2.1"), ours("a-web.example.org.", web)},
			want:    map[rrKey]*desired{{"web.example.org.", "A"}: want(alias("web.example.org.", "A"), web)},
			changes: []string{"DELETE web.example.org. A 300 192.0.2.1", "CREATE web.example.org. A ALIAS " + nlb + " (Z26RNL4JYFTOTI, evaluate-target-health true)", "CREATE cname-web.example.org. TXT 300 " + ownerTXT(web)},
		},
		{
			name:    "gone from the table under sync: the record and every TXT of ours",
			zone:    []types.ResourceRecordSet{alias("lb.example.org.", "A"), ours("a-lb.example.org.", web), ours("cname-lb.example.org.", web)},
			keys:    []rrKey{{"lb.example.org.", "A"}},
			changes: []string{"DELETE lb.example.org. A ALIAS " + nlb + " (Z26RNL4JYFTOTI, evaluate-target-health true)", "DELETE a-lb.example.org. TXT 300 " + ownerTXT(web), "DELETE cname-lb.example.org. TXT 300 " + ownerTXT(web)},
		},
		{
			name:     "gone from the table under upsert-only: kept, said",
			policy:   PolicyUpsertOnly,
			zone:     []types.ResourceRecordSet{a("web.example.org.", 300, "192.0.2.1"), ours("a-web.example.org.", web)},
			keys:     []rrKey{{"web.example.org.", "A"}},
			problems: []string{": web.example.org. A is no longer in the table"},
		},
		{
			name:    "an orphaned TXT of ours: removed",
			zone:    []types.ResourceRecordSet{ours("a-web.example.org.", web)},
			keys:    []rrKey{{"web.example.org.", "A"}},
			changes: []string{"DELETE a-web.example.org. TXT 300 " + ownerTXT(web)},
		},
		{
			name:     "an Ingress's record with our owner id, not in the table: never deleted",
			zone:     []types.ResourceRecordSet{a("ing.example.org.", 300, "192.0.2.9"), ours("a-ing.example.org.", "ingress/default/web")},
			keys:     []rrKey{{"ing.example.org.", "A"}},
			problems: []string{": ing.example.org. A is owned by ingress/default/web"},
		},
		{
			name: "an Ingress's orphaned TXT: kept",
			zone: []types.ResourceRecordSet{ours("a-ing.example.org.", "ingress/default/web")},
			keys: []rrKey{{"ing.example.org.", "A"}},
		},
		{
			name:     "an Ingress's record wanted by a Service: not updated",
			zone:     []types.ResourceRecordSet{a("ing.example.org.", 300, "192.0.2.9"), ours("a-ing.example.org.", "ingress/default/web")},
			want:     map[rrKey]*desired{{"ing.example.org.", "A"}: want(a("ing.example.org.", 300, "192.0.2.1"), web)},
			problems: []string{"conflict: ing.example.org. A: exists in Route 53 and is owned by ingress/default/web"},
		},
		{
			name:     "another owner's record: conflict",
			zone:     []types.ResourceRecordSet{a("web.example.org.", 300, "192.0.2.1"), txtRecord("a-web.example.org.", "other", web)},
			want:     map[rrKey]*desired{{"web.example.org.", "A"}: want(a("web.example.org.", 300, "192.0.2.2"), web)},
			problems: []string{`conflict: web.example.org. A: exists in Route 53 and is owned by "other"`},
		},
		{
			name:     "no ownership TXT: conflict",
			zone:     []types.ResourceRecordSet{a("web.example.org.", 300, "192.0.2.1")},
			want:     map[rrKey]*desired{{"web.example.org.", "A"}: want(a("web.example.org.", 300, "192.0.2.2"), web)},
			problems: []string{"conflict: web.example.org. A: exists in Route 53 and is owned by no one"},
		},
		{
			name:    "old-format TXT at the name: read, the new one added, the old one kept",
			zone:    []types.ResourceRecordSet{a("old.example.org.", 300, "192.0.2.1"), ours("old.example.org.", web)},
			want:    map[rrKey]*desired{{"old.example.org.", "A"}: want(a("old.example.org.", 300, "192.0.2.1"), web)},
			changes: []string{"CREATE a-old.example.org. TXT 300 " + ownerTXT(web)},
		},
		{
			name:     "the CNAME of a name: not taken",
			zone:     []types.ResourceRecordSet{aRecord("c.example.org.", "CNAME", 300, "x.example.net.")},
			want:     map[rrKey]*desired{{"c.example.org.", "A"}: want(a("c.example.org.", 300, "192.0.2.1"), web)},
			problems: []string{"conflict: c.example.org. A: a CNAME exists"},
		},
		{
			name:    "create-only: a TXT to take over is not upserted",
			policy:  PolicyCreateOnly,
			zone:    []types.ResourceRecordSet{ours("a-web.example.org.", "service/default/old")},
			want:    map[rrKey]*desired{{"web.example.org.", "A"}: want(a("web.example.org.", 300, "192.0.2.1"), web)},
			changes: []string{"CREATE web.example.org. A 300 192.0.2.1"},
		},
		{
			name:    "routing: create a weighted record and its TXT with the same set identifier and weight",
			want:    map[rrKey]*desired{{"web.example.org.", "A"}: want(routed(webA, w20), web)},
			changes: []string{"CREATE web.example.org. A 300 192.0.2.1" + eu20, "CREATE a-web.example.org. TXT 300 " + ownerTXT(web) + eu20},
		},
		{
			name: "routing: same weighted record: nothing",
			zone: []types.ResourceRecordSet{routed(webA, w20), oursAt("a-web.example.org.", web, w20)},
			want: map[rrKey]*desired{{"web.example.org.", "A"}: want(routed(webA, w20), web)},
		},
		{
			name:    "routing: a weight change is an UPSERT of the record and its TXT",
			zone:    []types.ResourceRecordSet{routed(webA, w20), oursAt("a-web.example.org.", web, w20)},
			want:    map[rrKey]*desired{{"web.example.org.", "A"}: want(routed(webA, w30), web)},
			changes: []string{"UPSERT web.example.org. A 300 192.0.2.1" + eu30, "UPSERT a-web.example.org. TXT 300 " + ownerTXT(web) + eu30},
		},
		{
			name:   "routing: simple to weighted is one unit, DELETE + CREATE (upsert-only too)",
			policy: PolicyUpsertOnly,
			zone:   []types.ResourceRecordSet{webA, ours("a-web.example.org.", web)},
			want:   map[rrKey]*desired{{"web.example.org.", "A"}: want(routed(webA, w20), web)},
			changes: []string{"DELETE web.example.org. A 300 192.0.2.1", "DELETE a-web.example.org. TXT 300 " + ownerTXT(web),
				"CREATE web.example.org. A 300 192.0.2.1" + eu20, "CREATE a-web.example.org. TXT 300 " + ownerTXT(web) + eu20},
		},
		{
			name: "routing: weighted to simple is one unit, DELETE + CREATE",
			zone: []types.ResourceRecordSet{routed(webA, w20), oursAt("a-web.example.org.", web, w20)},
			want: map[rrKey]*desired{{"web.example.org.", "A"}: want(webA, web)},
			changes: []string{"DELETE web.example.org. A 300 192.0.2.1" + eu20, "DELETE a-web.example.org. TXT 300 " + ownerTXT(web) + eu20,
				"CREATE web.example.org. A 300 192.0.2.1", "CREATE a-web.example.org. TXT 300 " + ownerTXT(web)},
		},
		{
			name: "routing: weighted to latency, same set identifier: DELETE + CREATE of the record and its TXT",
			zone: []types.ResourceRecordSet{routed(webA, w20), oursAt("a-web.example.org.", web, w20)},
			want: map[rrKey]*desired{{"web.example.org.", "A"}: want(routed(webA, lat), web)},
			changes: []string{"DELETE web.example.org. A 300 192.0.2.1" + eu20, "CREATE web.example.org. A 300 192.0.2.1" + euLat,
				"DELETE a-web.example.org. TXT 300 " + ownerTXT(web) + eu20, "CREATE a-web.example.org. TXT 300 " + ownerTXT(web) + euLat},
		},
		{
			name: "routing: a new set identifier: the old record set and its TXT deleted, the new ones created, one unit",
			zone: []types.ResourceRecordSet{routed(webA, w20), oursAt("a-web.example.org.", web, w20)},
			want: map[rrKey]*desired{{"web.example.org.", "A"}: want(routed(webA, wUS), web)},
			changes: []string{"DELETE web.example.org. A 300 192.0.2.1" + eu20, "DELETE a-web.example.org. TXT 300 " + ownerTXT(web) + eu20,
				"CREATE web.example.org. A 300 192.0.2.1" + us20, "CREATE a-web.example.org. TXT 300 " + ownerTXT(web) + us20},
		},
		{
			name:    "routing: another owner's weighted record set at the name: ours joins it",
			zone:    []types.ResourceRecordSet{routed(a("web.example.org.", 300, "198.51.100.1"), c2), theirs("a-web.example.org.", c2)},
			want:    map[rrKey]*desired{{"web.example.org.", "A"}: want(routed(webA, w20), web)},
			changes: []string{"CREATE web.example.org. A 300 192.0.2.1" + eu20, "CREATE a-web.example.org. TXT 300 " + ownerTXT(web) + eu20},
		},
		{
			name:     "routing: another owner's latency record set at the name: weighted would mix, conflict",
			zone:     []types.ResourceRecordSet{routed(a("web.example.org.", 300, "198.51.100.1"), c2lat), theirs("a-web.example.org.", c2lat)},
			want:     map[rrKey]*desired{{"web.example.org.", "A"}: want(routed(webA, w20), web)},
			problems: []string{"conflict: web.example.org. A: web.example.org. holds a record set with latency routing"},
		},
		{
			name:     "routing: another owner's simple record set at the name: conflict",
			zone:     []types.ResourceRecordSet{a("web.example.org.", 300, "198.51.100.1"), txtRecord("a-web.example.org.", "other", web)},
			want:     map[rrKey]*desired{{"web.example.org.", "A"}: want(routed(webA, w20), web)},
			problems: []string{"conflict: web.example.org. A: web.example.org. holds a record set with simple routing"},
		},
		{
			name:     "routing: another owner's TXT at our set identifier: conflict",
			zone:     []types.ResourceRecordSet{theirs("a-web.example.org.", w20)},
			want:     map[rrKey]*desired{{"web.example.org.", "A"}: want(routed(webA, w20), web)},
			problems: []string{`conflict: web.example.org. A: the name is owned by "other"`},
		},
		{
			name:    "routing: gone from the table: only our set identifier's record and TXT deleted",
			zone:    []types.ResourceRecordSet{routed(webA, w20), oursAt("a-web.example.org.", web, w20), routed(a("web.example.org.", 300, "198.51.100.1"), c2), theirs("a-web.example.org.", c2)},
			keys:    []rrKey{{"web.example.org.", "A"}},
			changes: []string{"DELETE web.example.org. A 300 192.0.2.1" + eu20, "DELETE a-web.example.org. TXT 300 " + ownerTXT(web) + eu20},
		},
		{
			name:    "routing: our TXT at a set identifier without its record: deleted",
			zone:    []types.ResourceRecordSet{oursAt("a-web.example.org.", web, w20)},
			keys:    []rrKey{{"web.example.org.", "A"}},
			changes: []string{"DELETE a-web.example.org. TXT 300 " + ownerTXT(web) + eu20},
		},
		{
			name: "routing: a weighted ALIAS A: both TXT names with the set identifier",
			want: map[rrKey]*desired{{"lb.example.org.", "A"}: want(routed(alias("lb.example.org.", "A"), w20), web)},
			changes: []string{"CREATE lb.example.org. A ALIAS " + nlb + " (Z26RNL4JYFTOTI, evaluate-target-health true)" + eu20,
				"CREATE a-lb.example.org. TXT 300 " + ownerTXT(web) + eu20, "CREATE cname-lb.example.org. TXT 300 " + ownerTXT(web) + eu20},
		},
		{
			name: "routing: two Services of one cluster at one name under their own set identifiers: both created",
			want: map[rrKey]*desired{{"web.example.org.", "A"}: {rs: routed(webA, w20), resource: web,
				others: []*desired{want(routed(a("web.example.org.", 300, "192.0.2.9"), c2), "service/default/web2")}}},
			changes: []string{"CREATE web.example.org. A 300 192.0.2.1" + eu20, "CREATE a-web.example.org. TXT 300 " + ownerTXT(web) + eu20,
				"CREATE web.example.org. A 300 192.0.2.9 [set-identifier c2, weight 10]", "CREATE a-web.example.org. TXT 300 " + ownerTXT("service/default/web2") + " [set-identifier c2, weight 10]"},
		},
		{
			name: "routing: one of two Services of one cluster at one name goes: its record set and TXT deleted",
			zone: []types.ResourceRecordSet{routed(webA, w20), oursAt("a-web.example.org.", web, w20),
				routed(a("web.example.org.", 300, "192.0.2.9"), c2), oursAt("a-web.example.org.", "service/default/web2", c2)},
			want:    map[rrKey]*desired{{"web.example.org.", "A"}: want(routed(webA, w20), web)},
			changes: []string{"DELETE web.example.org. A 300 192.0.2.9 [set-identifier c2, weight 10]", "DELETE a-web.example.org. TXT 300 " + ownerTXT("service/default/web2") + " [set-identifier c2, weight 10]"},
		},
		{
			name: "routing: geoproximity (a region, coordinates): the bias always written, 0 when not set (as ExternalDNS)",
			want: map[rrKey]*desired{
				{"gp.example.org.", "A"}:  want(routed(a("gp.example.org.", 300, "192.0.2.1"), &table.Routing{SetIdentifier: "r", Policy: table.RoutingGeoproximity, ProximityRegion: "eu-west-1", Bias: 10}), web),
				{"gpc.example.org.", "A"}: want(routed(a("gpc.example.org.", 300, "192.0.2.2"), &table.Routing{SetIdentifier: "c", Policy: table.RoutingGeoproximity, Latitude: "49.22", Longitude: "-74.01"}), web),
			},
			changes: []string{"CREATE gp.example.org. A 300 192.0.2.1 [set-identifier r, geoproximity eu-west-1 bias 10]", "CREATE a-gp.example.org. TXT 300 " + ownerTXT(web) + " [set-identifier r, geoproximity eu-west-1 bias 10]",
				"CREATE gpc.example.org. A 300 192.0.2.2 [set-identifier c, geoproximity 49.22,-74.01 bias 0]", "CREATE a-gpc.example.org. TXT 300 " + ownerTXT(web) + " [set-identifier c, geoproximity 49.22,-74.01 bias 0]"},
		},
		{
			name:   "routing: upsert-only: a gone Service's record set beside a wanted one is kept",
			policy: PolicyUpsertOnly,
			zone: []types.ResourceRecordSet{routed(webA, w20), oursAt("a-web.example.org.", web, w20),
				routed(a("web.example.org.", 300, "192.0.2.9"), c2), oursAt("a-web.example.org.", "service/default/web2", c2)},
			want:     map[rrKey]*desired{{"web.example.org.", "A"}: want(routed(webA, w20), web)},
			problems: []string{": web.example.org. A [set-identifier c2, weight 10] of service/default/web2 is no longer in the table; kept because policy is upsert-only"},
		},
		{
			name:     "routing: upsert-only: a gone Service's record set of another policy blocks a new one (Route 53 would not mix them)",
			policy:   PolicyUpsertOnly,
			zone:     []types.ResourceRecordSet{routed(a("web.example.org.", 300, "192.0.2.9"), c2lat), oursAt("a-web.example.org.", "service/default/web2", c2lat)},
			want:     map[rrKey]*desired{{"web.example.org.", "A"}: want(routed(webA, w20), web)},
			problems: []string{"conflict: web.example.org. A: web.example.org. holds a record set with latency routing"},
		},
		{
			name:     "routing: withheld (invalid annotations): what Route 53 holds is left alone",
			zone:     []types.ResourceRecordSet{webA, ours("a-web.example.org.", web)},
			want:     map[rrKey]*desired{{"web.example.org.", "A"}: {rs: types.ResourceRecordSet{Name: aws.String("web.example.org."), Type: types.RRTypeA}, resource: web, withheld: "web.example.org.: invalid routing"}},
			problems: []string{": web.example.org.: invalid routing"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := newZoneState("example.org.", "Z1", false)
			z.load(tc.zone)
			policy := tc.policy
			if policy == "" {
				policy = PolicySync
			}
			p := planner{owner: testOwner, policy: policy}
			keys := tc.keys
			for k := range tc.want {
				keys = append(keys, k)
			}
			before := len(z.sets)
			units, problems := p.plan(z, tc.want, keys)
			if len(z.sets) != before {
				t.Errorf("plan changed the view")
			}
			var got []string
			for _, u := range units {
				for _, c := range u.changes {
					got = append(got, describe(c))
				}
			}
			if !reflect.DeepEqual(got, tc.changes) {
				t.Errorf("changes\n got %q\nwant %q", got, tc.changes)
			}
			if len(problems) != len(tc.problems) {
				t.Fatalf("problems %+v, want %q", problems, tc.problems)
			}
			for i, pr := range problems {
				if s := pr.kind + ": " + pr.msg; !strings.HasPrefix(s, tc.problems[i]) {
					t.Errorf("problem %q, want it to start with %q", s, tc.problems[i])
				}
			}
		})
	}
}
