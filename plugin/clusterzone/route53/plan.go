package route53

import (
	"fmt"
	"slices"
	"strings"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/externaldns"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

const (
	// maxRecords and maxValueChars are Route 53's limits per
	// ChangeResourceRecordSets call (UPSERT counts twice).
	maxRecords    = 1000
	maxValueChars = 32000
	// txtTTL is the TTL of the ownership TXT records, ExternalDNS's default.
	txtTTL = 300
)

// op is what a unit does to its record: the policies filter on it.
type op uint8

const (
	// opCreate creates the record (and its ownership TXT records).
	opCreate op = iota
	// opUpdate changes the record or its ownership TXT records.
	opUpdate
	// opDelete deletes the record, or ownership TXT records left without it.
	opDelete
)

// unit is the changes for one record and its ownership TXT records: they
// always travel in the same ChangeResourceRecordSets call, so a record is
// never written without its owner, or its owner removed without the record.
type unit struct {
	key     rrKey
	op      op
	want    *desired
	changes []types.Change
}

func (u *unit) add(a types.ChangeAction, rs *types.ResourceRecordSet) {
	u.changes = append(u.changes, types.Change{Action: a, ResourceRecordSet: rs})
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
// configured batch size. The units of one name stay in one batch (a name
// moving between A/AAAA and CNAME is one transaction), and names with an
// ALIAS to a record of the same zone go after the others, so that its
// target is written first.
func batches(units []*unit, batchSize int, zoneID string) [][]*unit {
	groups := nameGroups(units)
	last := func(g []*unit) bool {
		return slices.ContainsFunc(g, func(u *unit) bool {
			return u.want != nil && u.want.alias() && aws.ToString(u.want.rs.AliasTarget.HostedZoneId) == zoneID
		})
	}
	slices.SortStableFunc(groups, func(a, b []*unit) int {
		switch la, lb := last(a), last(b); {
		case la == lb:
			return 0
		case lb:
			return -1
		}
		return 1
	})
	var out [][]*unit
	var cur []*unit
	nc, nr, nv := 0, 0, 0
	for _, g := range groups {
		c, r, v := 0, 0, 0
		for _, u := range g {
			uc, ur, uv := u.size()
			c, r, v = c+uc, r+ur, v+uv
		}
		if len(cur) > 0 && (nc+c > batchSize || nr+r > maxRecords || nv+v > maxValueChars) {
			out = append(out, cur)
			cur, nc, nr, nv = nil, 0, 0, 0
		}
		cur = append(cur, g...)
		nc, nr, nv = nc+c, nr+r, nv+v
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// nameGroups splits units, in name order, into runs of one name.
func nameGroups(units []*unit) [][]*unit {
	var out [][]*unit
	for i := 0; i < len(units); {
		j := i + 1
		for j < len(units) && units[j].key.name == units[i].key.name {
			j++
		}
		out = append(out, units[i:j:j])
		i = j
	}
	return out
}

// batchChanges returns the changes of a batch, deletions first: Route 53
// checks a batch's changes in order, and a record set of one type may only
// be created once the one it replaces (a CNAME, say) is gone.
func batchChanges(b []*unit) []types.Change {
	var dels, rest []types.Change
	for _, u := range b {
		for _, c := range u.changes {
			if c.Action == types.ChangeActionDelete {
				dels = append(dels, c)
			} else {
				rest = append(rest, c)
			}
		}
	}
	return append(dels, rest...)
}

// problem is a record the plan leaves alone, and why. The mirror logs each
// once (until it changes or goes away) and counts it under kind; an empty
// kind is informational and not counted.
type problem struct {
	key       rrKey
	kind, msg string
}

// planner decides the changes that bring a hosted zone in line with the
// table, the way ExternalDNS's plan does: a pure function of the desired
// record sets, the mirror's view of the zone, the owner and the policy.
// It reads the view and changes nothing; the mirror logs, counts and
// submits what it returns.
type planner struct {
	owner  string
	policy string
	naming externaldns.Naming
}

// plan returns the units for keys (in name and type order) and the
// problems of the keys left alone. want holds every record set the table
// wants in the zone (also beyond keys: a wildcard and the name of its TXT
// replacement label share an ownership TXT); settle first puts the forms
// the zone cannot take as it is (a CNAME, a same-zone ALIAS) aside.
func (p planner) plan(z *zoneState, want map[rrKey]*desired, keys []rrKey) (units []*unit, problems []problem) {
	want, problems = p.settle(z, want)
	for _, k := range sortedKeys(keys) {
		u, prob := p.planKey(z, k, want)
		if u != nil && len(u.changes) > 0 {
			u, prob = p.allow(u)
		}
		if prob != nil {
			problems = append(problems, *prob)
		}
		if u != nil && len(u.changes) > 0 {
			units = append(units, u)
		}
	}
	return units, problems
}

// allow applies the policy to a unit: sync allows everything, upsert-only
// no deletion, create-only only the creation of records that do not exist
// (and of their ownership TXT records).
func (p planner) allow(u *unit) (*unit, *problem) {
	switch {
	case p.policy == PolicySync:
		return u, nil
	case u.op == opDelete:
		if u.changes[0].ResourceRecordSet.Type == types.RRTypeTxt {
			return nil, nil // an ownership TXT without its record: kept quietly
		}
		return nil, &problem{u.key, "", fmt.Sprintf("%s %s is no longer in the table; kept because policy is %s", u.key.name, u.key.typ, p.policy)}
	case p.policy == PolicyCreateOnly && u.op == opUpdate:
		return nil, &problem{u.key, "", fmt.Sprintf("%s %s differs from the table; not updated because policy is create-only", u.key.name, u.key.typ)}
	case p.policy == PolicyCreateOnly:
		// Creating: the ownership TXT records that exist are not taken over.
		u.changes = slices.DeleteFunc(u.changes, func(c types.Change) bool { return c.Action != types.ChangeActionCreate })
	}
	return u, nil
}

// ownership is who owns a record set, from its ownership TXT records.
type ownership struct {
	labels  externaldns.Labels // of the first ownership TXT found; nil when none
	ours    []string           // names of the written ownership TXT record sets of this owner
	foreign bool               // ours, but for a resource kind the plugin does not publish (an Ingress)
}

func (o ownership) claimed() bool { return o.labels != nil }

// ownerOf reads the ownership of the record set at k with set identifier
// id the way ExternalDNS's TXT registry does: from the ownership TXT
// records (externaldns.Naming.OwnershipNames) with the same set identifier
// (the registry keys ownership by name, type and set identifier). alias
// says whether the record is, or is to be, an ALIAS record.
func (p planner) ownerOf(z *zoneState, k rrKey, alias bool, id string) ownership {
	var o ownership
	for _, n := range p.naming.OwnershipNames(k.name, k.typ, alias) {
		labels, _ := z.heritageLabelsAt(n.Name, id)
		if labels == nil {
			continue
		}
		if o.labels == nil {
			o.labels = labels
		}
		if n.Written && labels.Owner() == p.owner {
			o.ours = append(o.ours, n.Name)
		}
	}
	if o.labels.Owner() == p.owner {
		kind := o.labels.ResourceKind()
		o.foreign = kind != "" && kind != externaldns.ResourceService
	}
	return o
}

// owns reports whether this owner owns a record set at k (simple or with
// a set identifier) as a Service's.
func (p planner) owns(z *zoneState, k rrKey) bool {
	for _, cur := range z.at(k.name, k.typ) {
		o := p.ownerOf(z, k, isAlias(cur), setID(cur))
		if o.labels.Owner() == p.owner && !o.foreign {
			return true
		}
	}
	return false
}

// txtShared reports whether the ownership TXT name txt of k also belongs
// to another record that exists or is wanted: a wildcard and the label
// replacing its '*', or a CNAME and an ALIAS A record of one name (both
// write "cname-NAME"). That TXT is not an orphan.
func (p planner) txtShared(z *zoneState, k rrKey, txt string, want map[rrKey]*desired) bool {
	there := func(rk rrKey, aliasOnly bool) bool {
		if rk == k {
			return false
		}
		if d := want[rk]; d != nil && d.withheld == "" && (!aliasOnly || d.alias()) {
			return true
		}
		return slices.ContainsFunc(z.at(rk.name, rk.typ), func(rs *types.ResourceRecordSet) bool { return !aliasOnly || isAlias(rs) })
	}
	for _, r := range p.naming.RecordsOf(txt, "A", "AAAA", "CNAME") {
		if there(rrKey{r.Name, r.Type}, false) || r.Type == "CNAME" && there(rrKey{r.Name, "A"}, true) {
			return true
		}
	}
	return false
}

// deleteOwned adds the deletion of cur, a record set of this owner, and of
// its ownership TXT records (those with its set identifier) to u.
func (p planner) deleteOwned(u *unit, z *zoneState, k rrKey, cur *types.ResourceRecordSet, own ownership, want map[rrKey]*desired) {
	u.add(types.ChangeActionDelete, cur)
	for _, n := range own.ours {
		if rs := z.getSet(n, "TXT", setID(cur)); rs != nil && !p.txtShared(z, k, n, want) {
			u.add(types.ChangeActionDelete, rs)
		}
	}
}

// planKey returns the changes that take the record sets at k (every set
// identifier) from what the view holds to want[k] (nil: the table holds
// nothing there) under the ownership rules, as policy sync would; plan
// filters them by policy. Ownership is per record set: name, type and set
// identifier. The record sets this owner holds at k under another set
// identifier (or none) than want[k]'s are deleted in the same unit as
// want[k] is written, so a move between routing policies, or to or from
// one, is one atomic batch and the name never goes without an answer.
func (p planner) planKey(z *zoneState, k rrKey, want map[rrKey]*desired) (*unit, *problem) {
	w := want[k]
	if w != nil && w.withheld != "" {
		return nil, &problem{k, "", w.withheld}
	}
	conflict := func(format string, args ...any) (*unit, *problem) {
		return nil, &problem{k, "conflict", fmt.Sprintf("%s %s: "+format, append([]any{k.name, k.typ}, args...)...)}
	}
	// The record sets wanted at k: w, and the other Services' routed
	// beside it under their own set identifiers.
	var ws []*desired
	if w != nil {
		ws = append([]*desired{w}, w.others...)
	}
	wanted := func(id string) *desired {
		for _, d := range ws {
			if setID(&d.rs) == id {
				return d
			}
		}
		return nil
	}
	// The record sets at the wanted set identifiers, this owner's others,
	// and everyone else's.
	curs := map[string]*types.ResourceRecordSet{}
	var stale []*types.ResourceRecordSet
	var staleOwn []ownership
	var others []*types.ResourceRecordSet
	var foreignProblem *problem
	for _, rs := range z.at(k.name, k.typ) {
		if wanted(setID(rs)) != nil {
			curs[setID(rs)] = rs
			continue
		}
		o := p.ownerOf(z, k, isAlias(rs), setID(rs))
		switch {
		case o.labels.Owner() == p.owner && o.foreign:
			if foreignProblem == nil {
				foreignProblem = &problem{k, "", fmt.Sprintf("%s %s is owned by %s, which this plugin does not publish; left alone", k.name, k.typ, o.labels[externaldns.LabelResource])}
			}
			others = append(others, rs)
		case o.labels.Owner() == p.owner:
			stale, staleOwn = append(stale, rs), append(staleOwn, o)
		default:
			others = append(others, rs)
		}
	}

	if w == nil {
		u := &unit{key: k, op: opDelete}
		// A record of a Service that moves between A/AAAA and CNAME at
		// this name goes in the batch that writes its new form: an
		// update, which upsert-only allows (settle checked it may go).
		var moved []int
		for i := range stale {
			if replacedBy(k, staleOwn[i], want) != nil {
				moved = append(moved, i)
			}
		}
		if len(moved) > 0 && p.policy != PolicySync {
			for _, i := range moved {
				p.deleteOwned(u, z, k, stale[i], staleOwn[i], want)
			}
			u.op = opUpdate
			return u, foreignProblem
		}
		if len(moved) > 0 {
			u.op = opUpdate
		}
		for i, rs := range stale {
			p.deleteOwned(u, z, k, rs, staleOwn[i], want)
		}
		// Ownership TXT records of ours without their record, at every
		// set identifier.
		for _, n := range p.naming.OwnershipNames(k.name, k.typ, k.typ == "A") {
			if !n.Written {
				continue
			}
			for _, txt := range z.at(n.Name, "TXT") {
				id := setID(txt)
				if z.getSet(k.name, k.typ, id) != nil {
					continue // its record is planned above
				}
				if n.Name == p.naming.TXTName(k.name, "CNAME") && z.getSet(k.name, "CNAME", id) != nil {
					continue // the TXT of a CNAME record of ours (ExternalDNS writes those too)
				}
				labels, _ := z.heritageLabelsAt(n.Name, id)
				if labels.Owner() == p.owner && !foreignKind(labels) && !p.txtShared(z, k, n.Name, want) {
					u.add(types.ChangeActionDelete, txt)
				}
			}
		}
		return u, foreignProblem
	}

	// A record set of ours under another set identifier is replaced when
	// it is a wanted Service's (it moved); when its Service is gone, it is
	// deleted, which policies other than sync do not allow: kept, it is
	// like another owner's.
	var kept *problem
	if p.policy != PolicySync {
		var replaced []*types.ResourceRecordSet
		var replacedOwn []ownership
		for i, rs := range stale {
			if slices.ContainsFunc(ws, func(d *desired) bool { return d.resource == staleOwn[i].labels[externaldns.LabelResource] }) {
				replaced, replacedOwn = append(replaced, rs), append(replacedOwn, staleOwn[i])
				continue
			}
			others = append(others, rs)
			if kept == nil {
				kept = &problem{k, "", fmt.Sprintf("%s %s%s of %s is no longer in the table; kept because policy is %s", k.name, k.typ, routingSummary(rs), staleOwn[i].labels[externaldns.LabelResource], p.policy)}
			}
		}
		stale, staleOwn = replaced, replacedOwn
	}
	kind := routingKind(&w.rs)
	for _, o := range others {
		if routingKind(o) != kind {
			return conflict("%s holds a record set with %s (another owner's, or kept by the policy); Route 53 does not mix it with %s; not %s",
				k.name, routingDesc(o), routingDesc(&w.rs), map[bool]string{true: "taking the name", false: "updating"}[len(curs) == 0])
		}
	}
	if len(curs) < len(ws) {
		if why := p.typeClash(z, k, w, want); why != "" {
			return conflict("%s; not taking the name", why)
		}
	}
	// Each wanted record set: its ownership TXT records to write (every
	// name ExternalDNS's generations read for it, with its set
	// identifier), and the ownership of what is there.
	txts := make([][]string, len(ws))
	for i, d := range ws {
		id, cur := setID(&d.rs), curs[setID(&d.rs)]
		for _, n := range p.naming.OwnershipNames(k.name, k.typ, d.alias()) {
			if !n.Written {
				continue
			}
			if !z.contains(n.Name) {
				return nil, &problem{k, "txt_outside_zone", fmt.Sprintf("%s %s: its ownership TXT %s falls outside zone %s (set txt-prefix, e.g. \"%s.\")", k.name, k.typ, n.Name, z.name, externaldns.RecordTypeTemplate)}
			}
			if labels, present := z.heritageLabelsAt(n.Name, id); present && labels == nil {
				return conflict("%s holds a TXT record that is not an ownership record; not %s", n.Name, map[bool]string{true: "taking the name", false: "updating"}[cur == nil])
			}
			txts[i] = append(txts[i], n.Name)
		}
		own := p.ownerOf(z, k, isAlias(cur) || d.alias(), id)
		ours := own.labels.Owner() == p.owner
		switch {
		case cur == nil && own.claimed() && !ours:
			return conflict("the name is owned by %q; not taking it", own.labels.Owner())
		case cur == nil && own.foreign:
			return conflict("the name is owned by %s, which this plugin does not publish; not taking it", own.labels[externaldns.LabelResource])
		case cur == nil:
		case !ours && own.claimed():
			return conflict("exists in Route 53 and is owned by %q; not updating it", own.labels.Owner())
		case !ours:
			return conflict("exists in Route 53 and is owned by no one (no ownership TXT); not updating it")
		case own.foreign:
			return conflict("exists in Route 53 and is owned by %s, which this plugin does not publish; not updating it", own.labels[externaldns.LabelResource])
		}
	}

	// A unit that deletes or changes something is an update; one that
	// only creates, a creation.
	u := &unit{key: k, op: opCreate, want: w}
	if len(stale) > 0 || len(curs) == len(ws) {
		u.op = opUpdate
	}
	for i, rs := range stale {
		p.deleteOwned(u, z, k, rs, staleOwn[i], want)
	}
	for i, d := range ws {
		id, cur := setID(&d.rs), curs[setID(&d.rs)]
		before := len(u.changes)
		switch {
		case cur == nil:
			u.add(types.ChangeActionCreate, &d.rs)
		case sameRecord(cur, &d.rs):
		case isAlias(cur) != d.alias() || routingKind(cur) != kind:
			// Between ALIAS and plain records, or between routing
			// policies: replace, in one transaction.
			u.add(types.ChangeActionDelete, cur)
			u.add(types.ChangeActionCreate, &d.rs)
		default:
			u.add(types.ChangeActionUpsert, &d.rs)
		}
		value := quoteTXT(externaldns.Labels{externaldns.LabelOwner: p.owner, externaldns.LabelResource: d.resource}.String())
		for _, n := range txts[i] {
			rs := &types.ResourceRecordSet{Name: aws.String(n), Type: types.RRTypeTxt, TTL: aws.Int64(txtTTL), ResourceRecords: []types.ResourceRecord{{Value: aws.String(value)}}}
			copyRouting(rs, &d.rs)
			old := z.getSet(n, "TXT", id)
			labels, _ := z.heritageLabelsAt(n, id)
			switch {
			case old == nil:
				u.add(types.ChangeActionCreate, rs)
			case routingKind(old) != kind:
				u.add(types.ChangeActionDelete, old)
				u.add(types.ChangeActionCreate, rs)
			case labels.Owner() != p.owner || labels[externaldns.LabelResource] != d.resource || !sameRouting(old, rs):
				u.add(types.ChangeActionUpsert, rs)
			}
		}
		// An ALIAS A record becoming a plain one leaves its second
		// ownership TXT ("cname-NAME") behind unless a CNAME shares it.
		if cur != nil && isAlias(cur) && !d.alias() {
			for _, n := range p.naming.OwnershipNames(k.name, k.typ, true) {
				if !n.Written || slices.Contains(txts[i], n.Name) {
					continue
				}
				labels, _ := z.heritageLabelsAt(n.Name, id)
				if old := z.getSet(n.Name, "TXT", id); old != nil && labels.Owner() == p.owner && !p.txtShared(z, k, n.Name, want) {
					u.add(types.ChangeActionDelete, old)
				}
			}
		}
		if cur != nil && len(u.changes) > before {
			u.op = opUpdate
		}
	}
	return u, kept
}

// typeClash says why a record set of k's type cannot be created beside
// what Route 53 holds at k's name: a CNAME shares its name with nothing,
// so the other side must be this owner's to replace, and be going (for a
// CNAME, cnameBlocked, the rule settle applied).
func (p planner) typeClash(z *zoneState, k rrKey, w *desired, want map[rrKey]*desired) string {
	if k.typ == "CNAME" {
		return p.cnameBlocked(z, k.name, w, want)
	}
	if want[rrKey{k.name, "CNAME"}] != nil {
		return "CNAME records are wanted there too"
	}
	for _, rs := range z.at(k.name, "CNAME") {
		if !p.replaceable(z, rrKey{k.name, "CNAME"}, rs, w.resource) {
			return "a CNAME exists there"
		}
	}
	return ""
}

// routingDesc describes the routing of rs for messages.
func routingDesc(rs *types.ResourceRecordSet) string {
	if k := routingKind(rs); k != "" {
		return fmt.Sprintf("%s routing (set identifier %q)", k, setID(rs))
	}
	return "simple routing"
}

// foreignKind reports whether labels name a resource kind the plugin does
// not publish.
func foreignKind(l externaldns.Labels) bool {
	kind := l.ResourceKind()
	return kind != "" && kind != externaldns.ResourceService
}

// sortedKeys returns keys sorted by name, then type.
func sortedKeys(keys []rrKey) []rrKey {
	out := slices.Clone(keys)
	slices.SortFunc(out, func(a, b rrKey) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.typ, b.typ)
	})
	return slices.Compact(out)
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
	return fmt.Sprintf("%s %s %s %s%s", c.Action, aws.ToString(rs.Name), rs.Type, data, routingSummary(rs))
}

// normName lower-cases name and makes it fully qualified.
func normName(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}
