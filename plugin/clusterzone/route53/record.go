package route53

import (
	"fmt"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/externaldns"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// Source is the plugin's record table (*table.Table) as the mirror reads
// it.
type Source interface {
	// EntriesUnder returns what the table publishes in view v at domain or
	// below it, for the full reconcile of a hosted zone of that name.
	EntriesUnder(domain string, v table.View) []*table.Entry
	// EntriesAt returns what the table publishes in view v at exactly
	// these names; a name with nothing returns nothing (it was deleted).
	EntriesAt(names []string, v table.View) []*table.Entry
}

// sourced is an entry of the table and the view whose addresses a hosted
// zone gets from it.
type sourced struct {
	e *table.Entry
	v table.View
}

// desired is a record set the table wants in a hosted zone, built once from
// the table's entry.
type desired struct {
	rs types.ResourceRecordSet
	// resource is the ownership TXT's resource label ("service/ns/name").
	resource string
	// withheld says why the record set is not written (invalid routing
	// annotations): the plan leaves what Route 53 holds there alone.
	withheld string
	// others are the record sets of other Services at the same name and
	// type, routed beside this one under their own set identifiers (same
	// policy), in the table's order.
	others []*desired
	// fallback, for a CNAME and an ALIAS to a record of the same hosted
	// zone, is what the name gets when the zone cannot take that form
	// (see planner.settle; nil: nothing, no addresses known).
	fallback []*desired
}

// alias reports whether d is an ALIAS record.
func (d *desired) alias() bool { return d != nil && d.rs.AliasTarget != nil }

// recordBuilder turns the table's entries into the record sets of one
// hosted zone: pure.
type recordBuilder struct {
	// ttl is the TTL of entries without a ttl annotation.
	ttl int64
	// internalOK lets names whose addresses are a ClusterIP Service's
	// ClusterIPs in (a private hosted zone, or publish-internal-services).
	internalOK           bool
	evaluateTargetHealth bool
	// clusterRouting is the routing of Services without routing
	// annotations (cluster-routing); nil: simple routing.
	clusterRouting *table.Routing
	// preferCNAME writes CNAMEs to AWS targets too (prefer-cname).
	preferCNAME bool
	// zone and zoneID are the hosted zone's name and id: no CNAME at its
	// apex; ALIAS records to its own records name it.
	zone, zoneID string
}

// build returns the record sets of entries, and the problems of those
// kept out.
func (b recordBuilder) build(entries []sourced) (want map[rrKey]*desired, problems []problem) {
	want = map[rrKey]*desired{}
	for _, s := range entries {
		set := &s.e.Set
		if set.ClusterIPOnly && s.v == table.External && !b.internalOK {
			for _, t := range []string{"A", "AAAA"} {
				problems = append(problems, problem{rrKey{set.Name, t}, "", fmt.Sprintf(
					"%s: its addresses are the ClusterIPs of a ClusterIP Service; not written to the public hosted zone (publish-internal-services writes them)", set.Name)})
			}
			continue
		}
		resource := externaldns.ServiceResource(s.e.Owner.Key)
		routing := set.Routing
		if routing == nil {
			routing = b.clusterRouting
		}
		var ds []*desired
		if routing != nil && routing.Invalid != "" {
			ds = withheld(set.Name, fmt.Sprintf("%s: invalid routing annotations of Service %s (%s); left as it is in Route 53", set.Name, s.e.Owner.Key, routing.Invalid), resource)
		} else {
			var prob *problem
			if ds, prob = b.hostnameForm(s, routing, resource); prob != nil {
				problems = append(problems, *prob)
			}
		}
		for _, d := range ds {
			putDesired(want, rrKey{set.Name, string(d.rs.Type)}, d)
		}
	}
	return want, problems
}

// putDesired adds d at k. The table gives a name's winner first, then the
// other Services routed beside it under their own set identifiers: those
// join the first as its others when Route 53 can hold them beside it.
func putDesired(want map[rrKey]*desired, k rrKey, d *desired) {
	first := want[k]
	if first == nil {
		want[k] = d
		return
	}
	if first.withheld != "" || d.withheld != "" || first.rs.SetIdentifier == nil || d.rs.SetIdentifier == nil ||
		routingKind(&first.rs) != routingKind(&d.rs) {
		return
	}
	for _, o := range append([]*desired{first}, first.others...) {
		if setID(&o.rs) == setID(&d.rs) {
			return
		}
	}
	first.others = append(first.others, d)
}

// withheld returns the record sets of every type a name may have, withheld
// for why: the plan leaves what Route 53 holds there alone.
func withheld(name, why, resource string) []*desired {
	var out []*desired
	for _, t := range []types.RRType{types.RRTypeA, types.RRTypeAaaa, types.RRTypeCname} {
		out = append(out, &desired{rs: types.ResourceRecordSet{Name: aws.String(name), Type: t}, resource: resource, withheld: why})
	}
	return out
}

// addressSets returns the A and AAAA record sets of the addresses s holds
// in its view (resolved from its hostnames where it has them).
func (b recordBuilder) addressSets(s sourced, routing *table.Routing, resource string) []*desired {
	set := &s.e.Set
	addrs := set.External
	if s.v == table.Internal {
		addrs = set.Internal
	}
	var v4, v6 []types.ResourceRecord
	for _, ip := range addrs {
		rr := types.ResourceRecord{Value: aws.String(ip.String())}
		if ip.Is4() {
			v4 = append(v4, rr)
		} else {
			v6 = append(v6, rr)
		}
	}
	var out []*desired
	for _, r := range []struct {
		typ types.RRType
		rrs []types.ResourceRecord
	}{{types.RRTypeA, v4}, {types.RRTypeAaaa, v6}} {
		if len(r.rrs) > 0 {
			d := &desired{
				rs:       types.ResourceRecordSet{Name: aws.String(set.Name), Type: r.typ, TTL: aws.Int64(b.ttlOf(set)), ResourceRecords: r.rrs},
				resource: resource,
			}
			setRouting(&d.rs, routing)
			out = append(out, d)
		}
	}
	return out
}

// ttlOf is the TTL of set's records that are not ALIAS records.
func (b recordBuilder) ttlOf(set *table.RecordSet) int64 {
	if set.TTLSet {
		return int64(set.TTL)
	}
	return b.ttl
}
