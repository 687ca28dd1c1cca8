package route53

import (
	"reflect"
	"strings"
	"testing"

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
