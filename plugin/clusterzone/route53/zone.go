package route53

import (
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/externaldns"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// rrKey names one record set: a name (lower-case FQDN) and a type.
type rrKey struct{ name, typ string }

// zoneState is the mirror's view of one hosted zone: every record set the
// last listing returned (simple ones and those with a routing policy, told
// apart by their SetIdentifier), kept current with the changes the mirror made
// since, and which of them this owner owns.
type zoneState struct {
	name string // zone FQDN
	id   string // hosted zone id
	// private is set for a private hosted zone; twin for a private one
	// beside a public hosted zone of the same name (split horizon).
	private, twin bool

	loaded bool
	sets   map[string]map[string]types.ResourceRecordSet // name -> type -> record set (no SetIdentifier)
	routed map[rrKey]map[string]types.ResourceRecordSet  // record sets with a routing policy, by SetIdentifier
	owned  map[rrKey]bool                                // names and types where this owner holds an A, AAAA or CNAME record set

	// reported is the last problem logged per record, so each one is logged
	// (and counted) once, not on every sync.
	reported map[rrKey]string
	// rejected holds the changes Route 53 rejected per record, so they are
	// not sent again until they change or the next full sync.
	rejected map[rrKey]string
}

func newZoneState(name, id string, private bool) *zoneState {
	return &zoneState{name: name, id: id, private: private, reported: map[rrKey]string{}, rejected: map[rrKey]string{}}
}

// label names the zone in metrics and logs: its name, and "private" for
// the private one of twins.
func (z *zoneState) label() string {
	if z.twin {
		return z.name + " private"
	}
	return z.name
}

// reset drops the view; the next sync starts with a full listing.
func (z *zoneState) reset() {
	z.loaded = false
	z.sets, z.routed, z.owned = nil, nil, nil
	z.reported = map[rrKey]string{}
	z.rejected = map[rrKey]string{}
}

// load replaces the view with a listing.
func (z *zoneState) load(sets []types.ResourceRecordSet) {
	z.sets = map[string]map[string]types.ResourceRecordSet{}
	z.routed = map[rrKey]map[string]types.ResourceRecordSet{}
	z.owned = map[rrKey]bool{}
	z.rejected = map[rrKey]string{}
	for _, rs := range sets {
		z.add(rs)
	}
	z.loaded = true
}

// add records rs as listed.
func (z *zoneState) add(rs types.ResourceRecordSet) {
	k := rrKey{unescapeName(aws.ToString(rs.Name)), string(rs.Type)}
	z.put(k, rs)
}

// replaceName drops everything the view holds at name and adds sets.
func (z *zoneState) replaceName(name string, sets []types.ResourceRecordSet) {
	delete(z.sets, name)
	for k := range z.routed {
		if k.name == name {
			delete(z.routed, k)
		}
	}
	for _, rs := range sets {
		z.add(rs)
	}
}

// get returns the simple record set (no SetIdentifier) at name and type.
func (z *zoneState) get(name, typ string) *types.ResourceRecordSet {
	rs, ok := z.sets[name][typ]
	if !ok {
		return nil
	}
	return &rs
}

// getSet returns the record set at name and type with set identifier id
// ("": the simple one).
func (z *zoneState) getSet(name, typ, id string) *types.ResourceRecordSet {
	if id == "" {
		return z.get(name, typ)
	}
	rs, ok := z.routed[rrKey{name, typ}][id]
	if !ok {
		return nil
	}
	return &rs
}

// at returns every record set at name and type: the simple one, then
// those with a set identifier in its order.
func (z *zoneState) at(name, typ string) []*types.ResourceRecordSet {
	var out []*types.ResourceRecordSet
	if rs := z.get(name, typ); rs != nil {
		out = append(out, rs)
	}
	byID := z.routed[rrKey{name, typ}]
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		rs := byID[id]
		out = append(out, &rs)
	}
	return out
}

// typesAt returns the types of the record sets at name, sorted.
func (z *zoneState) typesAt(name string) []string {
	out := slices.Collect(maps.Keys(z.sets[name]))
	for _, t := range types.RRType("").Values() {
		if len(z.routed[rrKey{name, string(t)}]) > 0 && !slices.Contains(out, string(t)) {
			out = append(out, string(t))
		}
	}
	slices.Sort(out)
	return out
}

// put records rs at k (by its set identifier).
func (z *zoneState) put(k rrKey, rs types.ResourceRecordSet) {
	if id := aws.ToString(rs.SetIdentifier); id != "" {
		m := z.routed[k]
		if m == nil {
			m = map[string]types.ResourceRecordSet{}
			z.routed[k] = m
		}
		m[id] = rs
		return
	}
	m := z.sets[k.name]
	if m == nil {
		m = map[string]types.ResourceRecordSet{}
		z.sets[k.name] = m
	}
	m[k.typ] = rs
}

// del drops the record set at k with set identifier id.
func (z *zoneState) del(k rrKey, id string) {
	if id != "" {
		delete(z.routed[k], id)
		if len(z.routed[k]) == 0 {
			delete(z.routed, k)
		}
		return
	}
	m := z.sets[k.name]
	delete(m, k.typ)
	if len(m) == 0 {
		delete(z.sets, k.name)
	}
}

// applyChange records a change Route 53 accepted.
func (z *zoneState) applyChange(c types.Change) {
	rs := *c.ResourceRecordSet
	k := rrKey{unescapeName(aws.ToString(rs.Name)), string(rs.Type)}
	if c.Action == types.ChangeActionDelete {
		z.del(k, aws.ToString(rs.SetIdentifier))
		return
	}
	z.put(k, rs)
}

// contains reports whether name is in the zone.
func (z *zoneState) contains(name string) bool {
	return name == z.name || strings.HasSuffix(name, "."+z.name)
}

// txtValues returns the values of the TXT record set at name with set
// identifier id.
func (z *zoneState) txtValues(name, id string) []string {
	rs := z.getSet(name, string(types.RRTypeTxt), id)
	if rs == nil {
		return nil
	}
	out := make([]string, 0, len(rs.ResourceRecords))
	for _, rr := range rs.ResourceRecords {
		out = append(out, aws.ToString(rr.Value))
	}
	return out
}

// heritageLabels returns the labels of the first ExternalDNS registry value
// of the simple TXT record set at name. present reports whether a TXT record
// set exists there at all.
func (z *zoneState) heritageLabels(name string) (labels externaldns.Labels, present bool) {
	return z.heritageLabelsAt(name, "")
}

// heritageLabelsAt is heritageLabels for the TXT record set with set
// identifier id: ExternalDNS's registry writes the ownership TXT of a
// record with a routing policy with the record's set identifier and policy.
func (z *zoneState) heritageLabelsAt(name, id string) (labels externaldns.Labels, present bool) {
	vals := z.txtValues(name, id)
	for _, v := range vals {
		if l, ok := externaldns.ParseLabels(txtText(v)); ok {
			return l, true
		}
	}
	return nil, len(vals) > 0
}

// isAlias reports whether rs is an ALIAS record.
func isAlias(rs *types.ResourceRecordSet) bool { return rs != nil && rs.AliasTarget != nil }

// sameRecord reports whether two record sets have the same data: the same
// routing, and the same alias target, or the same TTL and set of values.
func sameRecord(a, b *types.ResourceRecordSet) bool {
	if a == nil || b == nil {
		return a == b
	}
	if !sameRouting(a, b) || isAlias(a) != isAlias(b) {
		return false
	}
	if isAlias(a) {
		return normHost(aws.ToString(a.AliasTarget.DNSName)) == normHost(aws.ToString(b.AliasTarget.DNSName)) &&
			aws.ToString(a.AliasTarget.HostedZoneId) == aws.ToString(b.AliasTarget.HostedZoneId) &&
			a.AliasTarget.EvaluateTargetHealth == b.AliasTarget.EvaluateTargetHealth
	}
	return aws.ToInt64(a.TTL) == aws.ToInt64(b.TTL) && slices.Equal(canonValues(a), canonValues(b))
}

func normHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// canonValues returns the values of rs, IP addresses in canonical form,
// sorted.
func canonValues(rs *types.ResourceRecordSet) []string {
	out := make([]string, 0, len(rs.ResourceRecords))
	for _, rr := range rs.ResourceRecords {
		v := aws.ToString(rr.Value)
		if ip, err := netip.ParseAddr(v); err == nil {
			v = ip.String()
		} else if rs.Type == types.RRTypeCname {
			v = normHost(v) // a hostname, with or without its trailing dot
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
