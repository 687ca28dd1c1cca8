package route53

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

const (
	// defaultTTL is used for endpoints without a TTL, as ExternalDNS does.
	defaultTTL = 300
	// maxRecords and maxValueChars are Route 53's limits per
	// ChangeResourceRecordSets call (UPSERT counts twice).
	maxRecords    = 1000
	maxValueChars = 32000
)

// desired is a record set the source wants.
type desired struct {
	rs       types.ResourceRecordSet
	resource string
}

// unit is the changes for one record and its ownership TXT: they always
// travel in the same ChangeResourceRecordSets call, so a record is never
// written without its owner, or its owner removed without the record.
type unit struct {
	key     rrKey
	want    *desired
	changes []types.Change
}

// size returns the changes, ResourceRecord elements and value characters the
// unit counts against Route 53's batch limits.
func (u *unit) size() (changes, records, chars int) {
	for _, c := range u.changes {
		n, l := 0, 0
		rs := c.ResourceRecordSet
		for _, rr := range rs.ResourceRecords {
			n++
			l += len(aws.ToString(rr.Value))
		}
		if rs.AliasTarget != nil {
			n++
			l += len(aws.ToString(rs.AliasTarget.DNSName))
		}
		if c.Action == types.ChangeActionUpsert {
			n, l = 2*n, 2*l
		}
		records += n
		chars += l
	}
	return len(u.changes), records, chars
}

// names returns the record set names the unit touches.
func (u *unit) names() []string {
	out := []string{u.key.name}
	for _, c := range u.changes {
		n := unescapeName(aws.ToString(c.ResourceRecordSet.Name))
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// fingerprint identifies the unit's changes, for the log and to recognise a
// unit Route 53 rejected before.
func (u *unit) fingerprint() string {
	descs := make([]string, 0, len(u.changes))
	for _, c := range u.changes {
		descs = append(descs, describe(c))
	}
	return strings.Join(descs, "; ")
}

// batches packs units into batches within Route 53's limits and the
// configured batch size, keeping each unit whole.
func batches(units []*unit, batchSize int) [][]*unit {
	var out [][]*unit
	var cur []*unit
	nc, nr, nv := 0, 0, 0
	for _, u := range units {
		c, r, v := u.size()
		if len(cur) > 0 && (nc+c > batchSize || nr+r > maxRecords || nv+v > maxValueChars) {
			out = append(out, cur)
			cur, nc, nr, nv = nil, 0, 0, 0
		}
		cur = append(cur, u)
		nc, nr, nv = nc+c, nr+r, nv+v
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// toDesired turns endpoints into the record sets they ask for. Endpoints that
// cannot be written are reported and their keys returned in skip, so that the
// record already in Route 53 (if any) is left alone rather than deleted.
func (m *Mirror) toDesired(z *zoneState, eps []Endpoint) (want map[rrKey]*desired, skip map[rrKey]bool) {
	want = map[rrKey]*desired{}
	skip = map[rrKey]bool{}
	for _, ep := range eps {
		name := normName(ep.Name)
		if m.zoneFor(name) != z {
			continue
		}
		k := rrKey{name, strings.ToUpper(ep.Type)}
		if k.typ != "A" && k.typ != "AAAA" {
			m.report(z, k, "invalid_endpoint", fmt.Sprintf("record type %q is not mirrored (only A and AAAA)", ep.Type))
			continue
		}
		d, err := m.endpointRecord(k, ep)
		if err != nil {
			m.report(z, k, errKind(err), err.Error())
			skip[k] = true
			continue
		}
		if prev, ok := want[k]; ok {
			// Two endpoints for one record set: merge their addresses.
			if isAlias(&prev.rs) || isAlias(&d.rs) {
				continue
			}
			prev.rs.ResourceRecords = mergeRecords(prev.rs.ResourceRecords, d.rs.ResourceRecords)
			continue
		}
		want[k] = d
	}
	for k := range skip {
		delete(want, k)
	}
	return want, skip
}

// endpointError is an endpoint that cannot be written, with its error kind.
type endpointError struct{ kind, msg string }

func (e endpointError) Error() string { return e.msg }

func errKind(err error) string {
	if e, ok := err.(endpointError); ok {
		return e.kind
	}
	return "invalid_endpoint"
}

// endpointRecord builds the record set for ep.
func (m *Mirror) endpointRecord(k rrKey, ep Endpoint) (*desired, error) {
	rs := types.ResourceRecordSet{Name: aws.String(k.name), Type: types.RRType(k.typ)}
	if ep.Alias != "" {
		target := normHost(ep.Alias)
		hz := canonicalZone(target)
		if hz == "" {
			return nil, endpointError{"alias_zone", fmt.Sprintf("%s %s: %q is not an AWS load balancer name with a known canonical hosted zone", k.name, k.typ, ep.Alias)}
		}
		rs.AliasTarget = &types.AliasTarget{DNSName: aws.String(target), HostedZoneId: aws.String(hz), EvaluateTargetHealth: m.cfg.EvaluateTargetHealth}
		return &desired{rs: rs, resource: ep.Resource}, nil
	}
	var vals []string
	for _, t := range ep.Targets {
		ip, err := netip.ParseAddr(t)
		if err != nil || ip.Zone() != "" || (k.typ == "A") != ip.Is4() {
			return nil, endpointError{"invalid_endpoint", fmt.Sprintf("%s %s: target %q is not an IPv%s address", k.name, k.typ, t, map[bool]string{true: "4", false: "6"}[k.typ == "A"])}
		}
		vals = append(vals, ip.String())
	}
	if len(vals) == 0 {
		return nil, endpointError{"invalid_endpoint", fmt.Sprintf("%s %s: no targets", k.name, k.typ)}
	}
	slices.Sort(vals)
	vals = slices.Compact(vals)
	ttl := ep.TTL
	if ttl <= 0 {
		ttl = defaultTTL
	}
	rs.TTL = aws.Int64(ttl)
	for _, v := range vals {
		rs.ResourceRecords = append(rs.ResourceRecords, types.ResourceRecord{Value: aws.String(v)})
	}
	return &desired{rs: rs, resource: ep.Resource}, nil
}

func mergeRecords(a, b []types.ResourceRecord) []types.ResourceRecord {
	var vals []string
	for _, rr := range append(slices.Clone(a), b...) {
		vals = append(vals, aws.ToString(rr.Value))
	}
	slices.Sort(vals)
	vals = slices.Compact(vals)
	out := make([]types.ResourceRecord, 0, len(vals))
	for _, v := range vals {
		out = append(out, types.ResourceRecord{Value: aws.String(v)})
	}
	return out
}

// ownership is who owns a record set, from its ownership TXT records.
type ownership struct {
	owner   string   // owner id; "" when no registry TXT names one
	claimed bool     // a registry TXT exists for the record
	ours    []string // names of the registry TXT record sets that say this owner owns it
}

// ownerOf reads the ownership of k the way ExternalDNS's TXT registry does:
// the type-prefixed TXT first; for an ALIAS A record, the legacy "cname-"
// TXT; then (but not for AAAA) an old-format TXT at the record's own name.
func (m *Mirror) ownerOf(z *zoneState, k rrKey) ownership {
	type candidate struct {
		name      string
		deletable bool // removed together with the record
	}
	cands := []candidate{{m.reg.txtName(k.name, k.typ), true}}
	if k.typ == "A" && isAlias(z.get(k.name, "A")) {
		cands = append(cands, candidate{m.reg.txtName(k.name, "CNAME"), true})
	}
	if k.typ != "AAAA" {
		// An old-format TXT may also describe records of other types
		// (ExternalDNS manages more than A and AAAA): read it, never
		// delete it.
		cands = append(cands, candidate{k.name, false})
	}
	var o ownership
	for _, c := range cands {
		labels, _ := z.heritageLabels(c.name)
		if labels == nil {
			continue
		}
		if !o.claimed {
			o.claimed, o.owner = true, labels[ownerLabel]
		}
		if c.deletable && labels[ownerLabel] == m.reg.owner {
			o.ours = append(o.ours, c.name)
		}
	}
	return o
}

// owns reports whether this owner owns the record set at k (which exists).
func (m *Mirror) owns(z *zoneState, k rrKey) bool {
	return z.get(k.name, k.typ) != nil && m.ownerOf(z, k).owner == m.reg.owner
}

// txtShared reports whether the ownership TXT name of k also belongs to
// another record (a wildcard and the label replacing its '*') that exists or
// is wanted: that TXT is not an orphan.
func (m *Mirror) txtShared(z *zoneState, k rrKey, want map[rrKey]*desired) bool {
	for _, rk := range m.reg.recordsOf(m.reg.txtName(k.name, k.typ), k.typ) {
		if rk != k && (z.get(rk.name, rk.typ) != nil || want[rk] != nil) {
			return true
		}
	}
	return false
}

// planKey returns the changes that take the record set k from what the view
// holds to want (nil: the source holds nothing there), under the policy and
// the ownership rules, or nil when nothing is to be done.
func (m *Mirror) planKey(z *zoneState, k rrKey, want *desired) *unit {
	cur := z.get(k.name, k.typ)
	txt := m.reg.txtName(k.name, k.typ)
	own := m.ownerOf(z, k)
	ours := own.owner == m.reg.owner
	u := &unit{key: k, want: want}

	if want == nil {
		switch {
		case cur != nil && ours:
			if m.cfg.Policy != PolicySync {
				m.report(z, k, "", fmt.Sprintf("%s %s is no longer in the table; kept because policy is %s", k.name, k.typ, m.cfg.Policy))
				return nil
			}
			u.changes = append(u.changes, types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: cur})
			for _, n := range own.ours {
				if rs := z.get(n, "TXT"); rs != nil {
					u.changes = append(u.changes, types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: rs})
				}
			}
		case cur == nil && m.cfg.Policy == PolicySync && !m.txtShared(z, k, nil):
			// An ownership TXT of ours without its record: remove it.
			if labels, _ := z.heritageLabels(txt); labels != nil && labels[ownerLabel] == m.reg.owner {
				u.changes = append(u.changes, types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: z.get(txt, "TXT")})
			}
		}
		delete(z.reported, k)
		if len(u.changes) == 0 {
			return nil
		}
		return u
	}

	if !z.contains(txt) {
		m.report(z, k, "txt_outside_zone", fmt.Sprintf("%s %s: its ownership TXT %s falls outside zone %s (set txt-prefix, e.g. \"%s.\")", k.name, k.typ, txt, z.name, recordTemplate))
		return nil
	}
	txtLabels, txtPresent := z.heritageLabels(txt)
	newTXT := types.ResourceRecordSet{
		Name:            aws.String(txt),
		Type:            types.RRTypeTxt,
		TTL:             aws.Int64(txtTTL),
		ResourceRecords: []types.ResourceRecord{{Value: aws.String(m.reg.value(want.resource))}},
	}
	// ensureTXT adds the change that makes the ownership TXT ours and
	// current, if one is needed and allowed.
	ensureTXT := func() {
		switch {
		case !txtPresent:
			u.changes = append(u.changes, types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: &newTXT})
		case txtLabels[ownerLabel] != m.reg.owner || txtLabels[resourceLabel] != want.resource:
			if m.cfg.Policy != PolicyCreateOnly {
				u.changes = append(u.changes, types.Change{Action: types.ChangeActionUpsert, ResourceRecordSet: &newTXT})
			}
		}
	}

	if cur == nil {
		switch {
		case z.routed[k]:
			m.report(z, k, "conflict", fmt.Sprintf("%s %s: a record set with a routing policy exists there; not taking the name", k.name, k.typ))
			return nil
		case z.get(k.name, "CNAME") != nil:
			m.report(z, k, "conflict", fmt.Sprintf("%s %s: a CNAME exists there; not taking the name", k.name, k.typ))
			return nil
		case own.claimed && !ours:
			m.report(z, k, "conflict", fmt.Sprintf("%s %s: the name is owned by %q; not taking it", k.name, k.typ, own.owner))
			return nil
		case txtPresent && txtLabels == nil:
			m.report(z, k, "conflict", fmt.Sprintf("%s %s: %s holds a TXT record that is not an ownership record; not taking the name", k.name, k.typ, txt))
			return nil
		}
		u.changes = append(u.changes, types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: &want.rs})
		ensureTXT()
		delete(z.reported, k)
		return u
	}

	if !ours {
		who := "no one (no ownership TXT)"
		if own.claimed {
			who = fmt.Sprintf("%q", own.owner)
		}
		m.report(z, k, "conflict", fmt.Sprintf("%s %s exists in Route 53 and is owned by %s; not updating it", k.name, k.typ, who))
		return nil
	}
	if txtPresent && txtLabels == nil {
		// Owned through a legacy TXT, but the current-format name holds
		// someone else's TXT: leave it alone rather than overwrite it.
		m.report(z, k, "conflict", fmt.Sprintf("%s %s: %s holds a TXT record that is not an ownership record; not updating", k.name, k.typ, txt))
		return nil
	}
	kept := false
	if !sameRecord(cur, &want.rs) {
		switch {
		case m.cfg.Policy == PolicyCreateOnly:
			m.report(z, k, "", fmt.Sprintf("%s %s differs from the table; not updated because policy is create-only", k.name, k.typ))
			kept = true
		case isAlias(cur) != isAlias(&want.rs):
			// Between ALIAS and plain records: replace, in one transaction.
			u.changes = append(u.changes,
				types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: cur},
				types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: &want.rs})
		default:
			u.changes = append(u.changes, types.Change{Action: types.ChangeActionUpsert, ResourceRecordSet: &want.rs})
		}
	}
	ensureTXT()
	if !kept {
		delete(z.reported, k)
	}
	if len(u.changes) == 0 {
		return nil
	}
	return u
}

// describe renders a change for the log.
func describe(c types.Change) string {
	rs := c.ResourceRecordSet
	var data string
	if rs.AliasTarget != nil {
		data = fmt.Sprintf("ALIAS %s (%s, evaluate-target-health %t)", aws.ToString(rs.AliasTarget.DNSName), aws.ToString(rs.AliasTarget.HostedZoneId), rs.AliasTarget.EvaluateTargetHealth)
	} else {
		vals := make([]string, 0, len(rs.ResourceRecords))
		for _, rr := range rs.ResourceRecords {
			vals = append(vals, aws.ToString(rr.Value))
		}
		data = fmt.Sprintf("%d %s", aws.ToInt64(rs.TTL), strings.Join(vals, " "))
	}
	return fmt.Sprintf("%s %s %s %s", c.Action, aws.ToString(rs.Name), rs.Type, data)
}

// normName lower-cases name and makes it fully qualified.
func normName(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}
