package route53

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/externaldns"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// hostTargets returns the hostnames the addresses of set in view v come
// from: its served CNAME's target, or the hostnames its external addresses
// were resolved from where v shows those; nil when its addresses are IPs.
func hostTargets(set *table.RecordSet, v table.View) []string {
	if c := set.CNAME(); c != "" {
		return []string{c}
	}
	if len(set.Aliases) == 0 || v == table.Internal && !slices.Equal(set.Internal, set.External) {
		return nil
	}
	return set.Aliases
}

// hostnameForm returns the record sets a name gets in its view, by
// ExternalDNS's AWS provider's rules and the apex rule Route 53 adds:
//   - a hostname of an AWS target (a load balancer, CloudFront, ...):
//     ALIAS A and ALIAS AAAA, unless prefer-cname asks for a CNAME (not at
//     the apex);
//   - any other single hostname (a target annotation, a load balancer of
//     another cloud, an ExternalName): a CNAME; with the alias annotation,
//     or at the zone apex where no CNAME may be, ALIAS records to it when
//     it is a record of this hosted zone;
//   - else (IPs, several hostnames, an apex whose target is nowhere in
//     Route 53): the addresses as A and AAAA record sets.
//
// A CNAME or same-zone ALIAS carries the form written in its place when
// the hosted zone cannot take it (plan settles that). The problem says
// why a name gets its addresses, or a CNAME, where more was asked.
func (b recordBuilder) hostnameForm(s sourced, routing *table.Routing, resource string) ([]*desired, *problem) {
	set := &s.e.Set
	hosts := hostTargets(set, s.v)
	if len(hosts) == 0 {
		return b.addressSets(s, routing, resource), nil
	}
	opts := table.AliasOptions{}
	if set.AliasOptions != nil {
		opts = *set.AliasOptions
	}
	apex := set.Name == b.zone
	only := set.AliasesOnly || set.CNAME() != ""
	note := func(format string, args ...any) *problem {
		return &problem{rrKey{set.Name, "CNAME"}, "", fmt.Sprintf("%s: "+format, append([]any{set.Name}, args...)...)}
	}
	multivalue := routing != nil && routing.Policy == table.RoutingMultiValue
	if host, zoneID := awsTarget(hosts); host != "" && (!b.preferCNAME || apex || opts.Alias || !only || len(hosts) > 1) {
		if multivalue {
			return withheld(set.Name, fmt.Sprintf("%s: invalid routing annotations of Service %s (a multivalue answer cannot be an ALIAS record (Route 53)); left as it is in Route 53", set.Name, s.e.Owner.Key), resource), nil
		}
		return b.aliasSets(set, host, zoneID, opts, routing, resource, nil), nil
	}
	resolved := b.addressSets(s, routing, resource) // the form of last resort
	switch {
	case !only:
		return resolved, nil // IPs of its own beside the hostnames
	case len(hosts) > 1:
		return resolved, note("%d hostname targets (%s): a CNAME holds one; written as the A/AAAA records they resolve to", len(hosts), strings.Join(hosts, ", "))
	}
	host := normHost(hosts[0])
	if multivalue && !apex {
		return resolved, note("a multivalue answer cannot be a CNAME (Route 53); written as the A/AAAA records %s resolves to", host)
	}
	cname := &desired{
		rs: types.ResourceRecordSet{Name: aws.String(set.Name), Type: types.RRTypeCname, TTL: aws.Int64(b.ttlOf(set)),
			ResourceRecords: []types.ResourceRecord{{Value: aws.String(host)}}},
		resource: resource,
		fallback: resolved,
	}
	setRouting(&cname.rs, routing)
	if !apex && !opts.Alias {
		return []*desired{cname}, nil
	}
	inZone := normName(host) != set.Name && (normName(host) == b.zone || strings.HasSuffix(normName(host), "."+b.zone))
	switch {
	case inZone && apex:
		return b.aliasSets(set, host, b.zoneID, opts, routing, resource, resolved), nil
	case inZone:
		return b.aliasSets(set, host, b.zoneID, opts, routing, resource, []*desired{cname}), nil
	case apex:
		return resolved, note("a CNAME cannot be at the zone apex, and %s is neither a record of this hosted zone nor an AWS target: written as the A/AAAA records it resolves to (rewritten when they change)", host)
	}
	return []*desired{cname}, note("the alias annotation asks for an ALIAS record, but %s is neither a record of this hosted zone nor an AWS target: written as a CNAME", host)
}

// aliasSets returns ALIAS A and ALIAS AAAA record sets to host in hosted
// zone zoneID, as ExternalDNS's AWS provider writes them (both types, for
// every target). fallback is written in their place if the hosted zone
// cannot take them (a same-zone ALIAS whose target has neither type).
func (b recordBuilder) aliasSets(set *table.RecordSet, host, zoneID string, opts table.AliasOptions, routing *table.Routing, resource string, fallback []*desired) []*desired {
	health := b.evaluateTargetHealth
	switch opts.EvaluateTargetHealth {
	case table.TargetHealthOn:
		health = true
	case table.TargetHealthOff:
		health = false
	}
	target := &types.AliasTarget{DNSName: aws.String(host), HostedZoneId: aws.String(zoneID), EvaluateTargetHealth: health}
	var out []*desired
	for _, t := range []types.RRType{types.RRTypeA, types.RRTypeAaaa} {
		d := &desired{rs: types.ResourceRecordSet{Name: aws.String(set.Name), Type: t, AliasTarget: target}, resource: resource, fallback: fallback}
		setRouting(&d.rs, routing)
		out = append(out, d)
	}
	return out
}

// sameZone reports whether d is an ALIAS to a record of zone z.
func (d *desired) sameZone(z *zoneState) bool {
	return d.alias() && aws.ToString(d.rs.AliasTarget.HostedZoneId) == z.id
}

// settle returns want with the forms the hosted zone cannot take as it is
// replaced by their fallbacks, and why: an ALIAS to a record of this zone
// is written for the types its target has here (neither: its fallback), a
// CNAME only at a name that holds nothing this owner may not replace
// (else: the A/AAAA records its target resolves to). Pure: want is not
// changed; the result is want itself or a copy.
func (p planner) settle(z *zoneState, want map[rrKey]*desired) (map[rrKey]*desired, []problem) {
	seen := map[string]bool{}
	for k, d := range want {
		if d.withheld == "" && (k.typ == "CNAME" || d.sameZone(z)) {
			seen[k.name] = true
		}
	}
	if len(seen) == 0 {
		return want, nil
	}
	names := slices.Sorted(maps.Keys(seen))
	out := make(map[rrKey]*desired, len(want))
	for k, d := range want {
		out[k] = d
	}
	var problems []problem
	has := func(name, typ string) bool {
		d := out[rrKey{name, typ}]
		return len(z.at(name, typ)) > 0 || d != nil && d.withheld == ""
	}
	for _, n := range names {
		for _, typ := range []string{"A", "AAAA"} {
			d := out[rrKey{n, typ}]
			if d == nil || !d.sameZone(z) {
				continue
			}
			target := normName(aws.ToString(d.rs.AliasTarget.DNSName))
			other := map[string]string{"A": "AAAA", "AAAA": "A"}[typ]
			if has(target, typ) {
				continue
			}
			if o := out[rrKey{n, other}]; o != nil && o.sameZone(z) && has(target, other) {
				delete(out, rrKey{n, typ}) // the target has the other type only
				continue
			}
			problems = append(problems, problem{rrKey{n, "CNAME"}, "", fmt.Sprintf("%s: an ALIAS needs its target %s to hold an A or AAAA record set in this hosted zone, and it holds neither: %s",
				n, target, describeForm(d.fallback))})
			replaceForm(out, n, d.fallback)
			break
		}
		c := out[rrKey{n, "CNAME"}]
		if c == nil {
			continue
		}
		if why := p.cnameBlocked(z, n, c, out); why != "" {
			problems = append(problems, problem{rrKey{n, "CNAME"}, "", fmt.Sprintf("%s: no CNAME can be written, %s: %s", n, why, describeForm(c.fallback))})
			replaceForm(out, n, c.fallback)
		}
	}
	return out, problems
}

// describeForm says what a fallback writes, for messages.
func describeForm(ds []*desired) string {
	switch {
	case len(ds) == 0:
		return "nothing written (no addresses)"
	case ds[0].rs.Type == types.RRTypeCname:
		return "written as a CNAME"
	}
	return "written as the A/AAAA records it resolves to"
}

// replaceForm puts ds at name in place of what want holds there.
func replaceForm(want map[rrKey]*desired, name string, ds []*desired) {
	for _, t := range []string{"A", "AAAA", "CNAME"} {
		delete(want, rrKey{name, t})
	}
	for _, d := range ds {
		putDesired(want, rrKey{name, string(d.rs.Type)}, d)
	}
}

// cnameBlocked says why the CNAME c cannot be written at name: Route 53
// holds a record set there that this owner may not replace (another
// owner's, one kept by the policy, a TXT, ...), or another Service's
// records are wanted there. "" when it can be.
func (p planner) cnameBlocked(z *zoneState, name string, c *desired, want map[rrKey]*desired) string {
	for _, t := range z.typesAt(name) {
		switch t {
		case "CNAME":
			continue // the plan of the CNAME itself decides
		case "A", "AAAA":
			for _, rs := range z.at(name, t) {
				if !p.replaceable(z, rrKey{name, t}, rs, c.resource) {
					return fmt.Sprintf("Route 53 holds %s %s%s there, which this owner may not replace", name, t, routingSummary(rs))
				}
			}
		default:
			return fmt.Sprintf("Route 53 holds a %s record set at %s", t, name)
		}
	}
	for _, t := range []string{"A", "AAAA"} {
		if d := want[rrKey{name, t}]; d != nil && d.resource != c.resource {
			return fmt.Sprintf("%s publishes %s records there too", strings.TrimPrefix(d.resource, externaldns.ResourceService+"/"), t)
		}
	}
	return ""
}

// replaceable reports whether rs, at k, may be replaced by a record set of
// another type for resource in one batch: it is this owner's, of a
// Service, and the policy lets it go (sync; upsert-only when it is the
// same Service's, as a move between types is an update).
func (p planner) replaceable(z *zoneState, k rrKey, rs *types.ResourceRecordSet, resource string) bool {
	o := p.ownerOf(z, k, isAlias(rs), setID(rs))
	if o.labels.Owner() != p.owner || o.foreign {
		return false
	}
	switch p.policy {
	case PolicySync:
		return true
	case PolicyUpsertOnly:
		return o.labels[externaldns.LabelResource] == resource
	}
	return false
}

// replacedBy returns the record set wanted at k's name under another type
// for the resource that owns o there: a record of one Service moving
// between A/AAAA and CNAME. nil when there is none.
func replacedBy(k rrKey, o ownership, want map[rrKey]*desired) *desired {
	others := []string{"CNAME"}
	if k.typ == "CNAME" {
		others = []string{"A", "AAAA"}
	}
	for _, t := range others {
		if d := want[rrKey{k.name, t}]; d != nil && d.withheld == "" && d.resource == o.labels[externaldns.LabelResource] {
			return d
		}
	}
	return nil
}
