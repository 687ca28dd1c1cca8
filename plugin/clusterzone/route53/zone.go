package route53

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/externaldns"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// rrKey names one record set: a name (lower-case FQDN) and a type.
type rrKey struct{ name, typ string }

// zoneState is the mirror's view of one hosted zone: every simple record set
// the last listing returned, kept current with the changes the mirror made
// since, and which of them this owner owns.
type zoneState struct {
	name string // zone FQDN
	id   string // hosted zone id
	// private is set for a private hosted zone; twin for a private one
	// beside a public hosted zone of the same name (split horizon).
	private, twin bool

	loaded bool
	sets   map[string]map[string]types.ResourceRecordSet // name -> type -> record set (no SetIdentifier)
	routed map[rrKey]bool                                // record sets with a routing policy (SetIdentifier): never touched
	owned  map[rrKey]bool                                // A/AAAA record sets this owner holds

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
	z.routed = map[rrKey]bool{}
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
	if rs.SetIdentifier != nil {
		z.routed[k] = true
		return
	}
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

func (z *zoneState) get(name, typ string) *types.ResourceRecordSet {
	rs, ok := z.sets[name][typ]
	if !ok {
		return nil
	}
	return &rs
}

func (z *zoneState) put(k rrKey, rs types.ResourceRecordSet) {
	m := z.sets[k.name]
	if m == nil {
		m = map[string]types.ResourceRecordSet{}
		z.sets[k.name] = m
	}
	m[k.typ] = rs
}

func (z *zoneState) del(k rrKey) {
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
		z.del(k)
		return
	}
	z.put(k, rs)
}

// contains reports whether name is in the zone.
func (z *zoneState) contains(name string) bool {
	return name == z.name || strings.HasSuffix(name, "."+z.name)
}

// txtValues returns the values of the TXT record set at name.
func (z *zoneState) txtValues(name string) []string {
	rs := z.get(name, string(types.RRTypeTxt))
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
// of the TXT record set at name. present reports whether a TXT record set
// exists there at all.
func (z *zoneState) heritageLabels(name string) (labels externaldns.Labels, present bool) {
	vals := z.txtValues(name)
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
// alias target, or the same TTL and set of values.
func sameRecord(a, b *types.ResourceRecordSet) bool {
	if a == nil || b == nil {
		return a == b
	}
	if isAlias(a) != isAlias(b) {
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
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
