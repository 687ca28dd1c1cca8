// Package table is the in-memory record table: per name, the A, AAAA, SRV,
// CNAME and TXT records one Service publishes there, for each address view. It is applied
// incrementally per Service, resolves conflicts between Services claiming
// the same name, keeps a time-based SOA serial per zone and tells
// subscribers what changed.
package table

import (
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/externaldns"

	"github.com/miekg/dns"
)

// View selects which addresses a name carries.
type View int

// The views.
const (
	// External: load balancer ingress, external IPs and targets.
	External View = iota
	// Internal: ClusterIPs.
	Internal
	// All: both.
	All
	numViews
)

// ParseView parses "external", "internal" or "all".
func ParseView(s string) (View, bool) {
	switch strings.ToLower(s) {
	case "external":
		return External, true
	case "internal":
		return Internal, true
	case "all":
		return All, true
	}
	return External, false
}

func (v View) String() string {
	return [...]string{"external", "internal", "all"}[v]
}

// Owner identifies the Service that publishes a record set.
type Owner struct {
	// Key is "namespace/name".
	Key string
	// Created is the Service's creation time in Unix seconds (the
	// precision of Kubernetes' creationTimestamp).
	Created int64
}

// before reports whether o wins a name over p: the older Service, then the
// smaller namespace/name.
func (o Owner) before(p Owner) bool {
	if o.Created != p.Created {
		return o.Created < p.Created
	}
	return o.Key < p.Key
}

// Kind is the kind of Service a record set's addresses come from.
type Kind uint8

// The kinds.
const (
	// KindClusterIP: the ClusterIPs (or external IPs) of a ClusterIP Service.
	KindClusterIP Kind = iota
	// KindLoadBalancer: a load balancer's ingress (IPs, or hostnames such
	// as an AWS NLB's) or the Service's external IPs.
	KindLoadBalancer
	// KindNodePort: node addresses of a NodePort Service (and its SRV records).
	KindNodePort
	// KindExternalName: spec.externalName, an IP or a hostname (then in
	// Aliases, resolved into External; or served as a CNAME).
	KindExternalName
	// KindHeadless: the endpoints of a headless Service.
	KindHeadless
	// KindTarget: the target annotation replaced the discovered addresses.
	KindTarget
)

var kindNames = [...]string{"ClusterIP", "LoadBalancer", "NodePort", "ExternalName", "Headless", "target"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// SRV is one SRV record's data (RFC 2782).
type SRV struct {
	Priority, Weight, Port uint16
	// Target is a lower-case FQDN.
	Target string
}

// Refs are the records of a name that refer to other names. A name holds a
// CNAME or SRV records, not both.
type Refs struct {
	// CNAME is the canonical name (a lower-case FQDN) when the name is an
	// alias: it then has no other records (RFC 1034 section 3.6.2), not
	// even its ownership TXT.
	CNAME string
	// SRV are the name's SRV records, sorted.
	SRV []SRV
}

// Equal reports whether r and o hold the same records (both nil: equal).
func (r *Refs) Equal(o *Refs) bool {
	if r == nil || o == nil {
		return r == o
	}
	return r.CNAME == o.CNAME && slices.Equal(r.SRV, o.SRV)
}

// RecordSet is what one Service publishes at one name, addresses resolved.
type RecordSet struct {
	// Name is the lower-case FQDN, possibly a wildcard ("*.apps.example.org.").
	Name string
	TTL  uint32
	// TTLSet is set when TTL comes from the Service's ttl annotation rather
	// than the plugin's default: without it, the Route 53 mirror writes its
	// own default, as ExternalDNS does.
	TTLSet bool
	// DualStack is set when the Service asks for a dual-stack load balancer.
	DualStack bool
	// ClusterIPOnly is set when External holds the ClusterIPs of a
	// ClusterIP Service without external IPs, named by its hostname
	// annotation: served as its external addresses, but ExternalDNS
	// publishes them only with --publish-internal-services, and the Route 53
	// mirror keeps them out of public hosted zones unless asked.
	ClusterIPOnly bool
	// Kind is where the addresses come from.
	Kind     Kind
	External []netip.Addr
	Internal []netip.Addr
	// Aliases are the hostnames the External addresses were resolved from:
	// a load balancer's (the Route 53 mirror writes ALIAS records to an AWS
	// one), a target annotation's, or an ExternalName (Kind says which).
	Aliases []string
	// Refs are the name's CNAME or SRV records; nil for almost every name.
	Refs *Refs
}

// equal reports whether two record sets publish the same thing.
func (s RecordSet) equal(o RecordSet) bool {
	return s.Name == o.Name && s.TTL == o.TTL && s.TTLSet == o.TTLSet && s.DualStack == o.DualStack &&
		s.ClusterIPOnly == o.ClusterIPOnly && s.Kind == o.Kind &&
		slices.Equal(s.External, o.External) && slices.Equal(s.Internal, o.Internal) &&
		slices.Equal(s.Aliases, o.Aliases) && s.Refs.Equal(o.Refs)
}

// CNAME returns the name's canonical name, "" when it is not an alias.
func (s *RecordSet) CNAME() string {
	if s.Refs == nil {
		return ""
	}
	return s.Refs.CNAME
}

// views returns the views in which s publishes anything, one bit per View.
// A name without records in a view does not exist there: a Service whose
// load balancer has no address yet publishes nothing (NXDOMAIN), as
// ExternalDNS does, while keeping its claim on the name. SRV records point at
// node ports, which are reached through the external addresses only.
func (s *RecordSet) views() uint8 {
	cname := s.CNAME() != ""
	ext := len(s.External) > 0 || cname || s.Refs != nil && len(s.Refs.SRV) > 0
	in := len(s.Internal) > 0 || cname
	var m uint8
	if ext {
		m |= 1 << External
	}
	if in {
		m |= 1 << Internal
	}
	if ext || in {
		m |= 1 << All
	}
	return m
}

// Entry is a published record set with its owner. Its exported fields are
// immutable once in the table: readers may keep entries. An entry holds addresses, not
// DNS records: the records are built when asked for (Records, All), which
// keeps a name's cost in memory to the entry and its map slot.
type Entry struct {
	Owner Owner
	Set   RecordSet
	// views caches Set.views().
	views uint8
	// sole is set when this is the only name its owner claims (what
	// almost every Service has): a change of that Service then finds its
	// names from here, without a lookup in byOwner. Written under the
	// table's write lock only, never read by readers.
	sole bool
}

// addrs returns the addresses of view v: the record set's own slice for
// External and Internal, their sorted union (IPv4 first) built in buf for All.
func (e *Entry) addrs(buf []netip.Addr, v View) []netip.Addr {
	switch v {
	case External:
		return e.Set.External
	case Internal:
		return e.Set.Internal
	}
	return unionInto(buf, e.Set.External, e.Set.Internal)
}

// aRecord and aaaaRecord are an address record and its address bytes, in
// one allocation.
type aRecord struct {
	rr dns.A
	ip [4]byte
}

type aaaaRecord struct {
	rr dns.AAAA
	ip [16]byte
}

// txtRecord is an ownership record and its one string, in one allocation.
type txtRecord struct {
	rr  dns.TXT
	txt [1]string
}

// In reports whether e publishes anything in view v.
func (e *Entry) In(v View) bool { return e.views&(1<<v) != 0 }

// Records returns e's records of type qtype (A, AAAA, SRV, CNAME or TXT) in view v,
// named name: the entry's own name, or the query name when e answers for a
// wildcard (RFC 4592). The records are new: the caller may modify them. Nil
// when there are none.
func (t *Table) Records(e *Entry, qtype uint16, v View, name string) []dns.RR {
	hdr := dns.RR_Header{Name: name, Rrtype: qtype, Class: dns.ClassINET, Ttl: e.Set.TTL}
	switch qtype {
	case dns.TypeA, dns.TypeAAAA:
		var buf [8]netip.Addr
		all := e.addrs(buf[:0], v)
		want4 := qtype == dns.TypeA
		n := 0
		for _, ip := range all {
			if ip.Is4() == want4 {
				n++
			}
		}
		if n == 0 {
			return nil
		}
		out := make([]dns.RR, 0, n)
		if want4 {
			recs := make([]aRecord, n)
			for _, ip := range all {
				if ip.Is4() {
					r := &recs[len(out)]
					r.ip = ip.As4()
					r.rr = dns.A{Hdr: hdr, A: r.ip[:]}
					out = append(out, &r.rr)
				}
			}
			return out
		}
		recs := make([]aaaaRecord, n)
		for _, ip := range all {
			if ip.Is6() {
				r := &recs[len(out)]
				r.ip = ip.As16()
				r.rr = dns.AAAA{Hdr: hdr, AAAA: r.ip[:]}
				out = append(out, &r.rr)
			}
		}
		return out
	case dns.TypeSRV:
		if e.Set.Refs == nil || len(e.Set.Refs.SRV) == 0 || v == Internal {
			return nil
		}
		out := make([]dns.RR, len(e.Set.Refs.SRV))
		recs := make([]dns.SRV, len(e.Set.Refs.SRV))
		for i, s := range e.Set.Refs.SRV {
			recs[i] = dns.SRV{Hdr: hdr, Priority: s.Priority, Weight: s.Weight, Port: s.Port, Target: s.Target}
			out[i] = &recs[i]
		}
		return out
	case dns.TypeCNAME:
		if c := e.Set.CNAME(); c != "" {
			return []dns.RR{&dns.CNAME{Hdr: hdr, Target: c}}
		}
		return nil
	case dns.TypeTXT:
		if e.Set.CNAME() != "" {
			return nil
		}
		r := &txtRecord{}
		r.txt[0] = externaldns.OwnershipTXT(t.ownerID, e.Owner.Key)
		r.rr = dns.TXT{Hdr: hdr, Txt: r.txt[:]}
		return []dns.RR{&r.rr}
	}
	return nil
}

// All returns every record of e in view v: A, AAAA, SRV, CNAME, then TXT,
// named after e.
func (t *Table) All(e *Entry, v View) []dns.RR {
	var out []dns.RR
	for _, qt := range [...]uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypeCNAME, dns.TypeTXT} {
		out = append(out, t.Records(e, qt, v, e.Set.Name)...)
	}
	return out
}

// node is one name in the tree of names: claimed by Services, or an empty
// non-terminal above published names, or both.
type node struct {
	claims []*Entry // one per claiming owner (almost always one: a slice, not a map)
	win    *Entry
	// below[v] is the number of names strictly below this one that publish
	// something in view v.
	below [numViews]int32
}

// published returns the views in which n's winner publishes records.
func (n *node) published() uint8 {
	if n == nil || n.win == nil {
		return 0
	}
	return n.win.views
}

// exists reports whether the name exists in view v: it publishes records
// there, or is an empty non-terminal above a name that does. nil does not.
func (n *node) exists(v View) bool {
	return n != nil && (n.published()&(1<<v) != 0 || n.below[v] > 0)
}

// entry returns n's winner when it publishes in view v, nil otherwise.
func (n *node) entry(v View) *Entry {
	if n.published()&(1<<v) != 0 {
		return n.win
	}
	return nil
}

// empty reports whether n holds nothing: no claim and nothing below.
func (n *node) empty() bool {
	return len(n.claims) == 0 && n.below == [numViews]int32{}
}

// Conflict reports a Service that claims a name another Service holds.
type Conflict struct {
	Name   string
	Loser  Owner
	Winner Owner
}

// Change is what one Apply or Delete altered.
type Change struct {
	// Names whose published records changed (lower-case FQDNs).
	Names []string
	// Zones whose records changed: their SOA serial moved, unless nobody
	// read it since it last moved (see Serial).
	Zones []string
	// Conflicts found by this change: Services that lost a name.
	Conflicts []Conflict
}

// Table is the record table. It is safe for concurrent use: readers take a
// read lock only for the duration of a map lookup.
type Table struct {
	ownerID string
	zones   []string

	mu    sync.RWMutex
	names map[string]*node
	// byOwner holds the names each owner claims, joined by nameSep: one
	// name (what almost every Service has) costs no more than its string,
	// which the entry already holds.
	byOwner map[string]string
	serials map[string]uint32
	claimed int // names that publish records in at least one view

	// observed[zone] is set when the zone's serial is read with Serial
	// (SOA queries, transfers) and cleared when it moves; see bump.
	observed map[string]*atomic.Bool
	// journal holds the changes of each zone for IXFR (journal.go).
	journal journal

	subMu sync.Mutex
	subs  []func(Change)
	now   func() time.Time
}

// New returns an empty table for zones (lower-case FQDNs). ownerID goes into
// the ownership TXT records.
func New(zones []string, ownerID string) *Table {
	t := &Table{
		ownerID: ownerID,
		zones:   append([]string(nil), zones...),
		names:   map[string]*node{},
		byOwner: map[string]string{},
		serials: map[string]uint32{},
		now:     time.Now,
	}
	t.journal.maxEntries, t.journal.maxBytes = DefaultJournalEntries, DefaultJournalBytes
	t.observed = map[string]*atomic.Bool{}
	for _, z := range zones {
		t.serials[z] = uint32(t.now().Unix())
		t.observed[z] = &atomic.Bool{}
	}
	return t
}

// Zones returns the zones of the table.
func (t *Table) Zones() []string { return t.zones }

// OwnerID returns the owner id written into ownership records.
func (t *Table) OwnerID() string { return t.ownerID }

// Subscribe registers f to be called after every change, outside the
// table's lock. f must not block.
func (t *Table) Subscribe(f func(Change)) {
	t.subMu.Lock()
	t.subs = append(t.subs, f)
	t.subMu.Unlock()
}

// nameSep separates the names of an owner in byOwner: a space, which no
// name in the table holds (LDH labels, "*" and "_").
const nameSep = " "

// joinNames returns the names of sets joined by nameSep.
func joinNames(sets []RecordSet) string {
	if len(sets) == 1 {
		return sets[0].Name
	}
	names := make([]string, len(sets))
	for i := range sets {
		names[i] = sets[i].Name
	}
	return strings.Join(names, nameSep)
}

// Apply replaces everything owner publishes with sets. Its cost is
// proportional to the names owner had and has, not to the table.
func (t *Table) Apply(owner Owner, sets []RecordSet) Change {
	// keep reports whether a name is still published. Most Services publish
	// a name or two: a linear search beats building a map.
	keep := func(name string) bool {
		for i := range sets {
			if sets[i].Name == name {
				return true
			}
		}
		return false
	}
	if len(sets) > 16 {
		newSets := make(map[string]struct{}, len(sets))
		for _, s := range sets {
			newSets[s.Name] = struct{}{}
		}
		keep = func(name string) bool { _, ok := newSets[name]; return ok }
	}
	t.mu.Lock()
	var ch Change
	var changed []string
	// The owner's names before this change: when it claims exactly the one
	// name it claims again, its entry there says so, and the lookup in
	// byOwner (a cache miss or two in a large table) is not needed.
	old, found := "", false
	if len(sets) == 1 {
		if n := t.names[sets[0].Name]; n != nil {
			if i := n.claimOf(owner.Key); i >= 0 && n.claims[i].sole {
				old, found = sets[0].Name, true
			}
		}
	}
	if !found {
		old = t.byOwner[owner.Key]
	}
	for rest := old; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, nameSep)
		if !keep(name) && t.unclaim(name, owner.Key) {
			changed = append(changed, name)
		}
	}
	// Whether the owner's names are the ones it had, in the same order.
	sameNames, rest := true, old
	for _, s := range sets {
		var name string
		name, rest, _ = strings.Cut(rest, nameSep)
		sameNames = sameNames && name == s.Name
		won, conflicts := t.claim(owner, s, len(sets) == 1)
		if won {
			changed = append(changed, s.Name)
		}
		ch.Conflicts = append(ch.Conflicts, conflicts...)
	}
	switch {
	case len(sets) == 0:
		delete(t.byOwner, owner.Key)
	case !sameNames || rest != "":
		t.byOwner[owner.Key] = joinNames(sets)
	}
	ch.Names, ch.Zones = t.bump(changed)
	t.mu.Unlock()
	t.notify(ch)
	return ch
}

// Delete removes everything owner key publishes.
func (t *Table) Delete(key string) Change {
	t.mu.Lock()
	var changed []string
	for rest := t.byOwner[key]; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, nameSep)
		if t.unclaim(name, key) {
			changed = append(changed, name)
		}
	}
	delete(t.byOwner, key)
	var ch Change
	ch.Names, ch.Zones = t.bump(changed)
	t.mu.Unlock()
	t.notify(ch)
	return ch
}

// Owners returns the keys of every owner that publishes something.
func (t *Table) Owners() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, 0, len(t.byOwner))
	for k := range t.byOwner {
		out = append(out, k)
	}
	return out
}

// claim adds or replaces owner's record set at s.Name. It reports whether the
// published records at the name changed, and the conflicts this claim made:
// owner losing the name, or the claimants owner took it from.
// sole tells whether s is the only record set of owner.
func (t *Table) claim(owner Owner, s RecordSet, sole bool) (bool, []Conflict) {
	n := t.names[s.Name]
	if n == nil {
		n = &node{}
		t.names[s.Name] = n
	}
	i := n.claimOf(owner.Key)
	var prevEntry *Entry
	if i >= 0 {
		prevEntry = n.claims[i]
	}
	if prevEntry != nil && prevEntry.Set.equal(s) && prevEntry.Owner.Created == owner.Created {
		prevEntry.sole = sole // the owner may have gained or lost other names
		return false, nil
	}
	e := &Entry{Owner: owner, Set: s, views: s.views(), sole: sole}
	if i >= 0 {
		n.claims[i] = e
	} else {
		n.claims = append(n.claims, e)
	}
	prev, was := n.win, n.published()
	n.win = pickWinner(n.claims)
	t.published(s.Name, was, n.published())
	if prev != n.win {
		t.jot(s.Name, prev, n.win)
	}
	var conflicts []Conflict
	if n.win != e {
		conflicts = append(conflicts, Conflict{Name: s.Name, Loser: owner, Winner: n.win.Owner})
	} else if prev != nil && prev.Owner.Key != owner.Key {
		conflicts = append(conflicts, Conflict{Name: s.Name, Loser: prev.Owner, Winner: owner})
	}
	return prev != n.win, conflicts
}

// unclaim removes key's claim on name; it reports whether the published records changed.
func (t *Table) unclaim(name, key string) bool {
	n := t.names[name]
	if n == nil {
		return false
	}
	i := n.claimOf(key)
	if i < 0 {
		return false
	}
	n.claims = slices.Delete(n.claims, i, i+1)
	prev, was := n.win, n.published()
	if len(n.claims) == 0 {
		n.claims = nil
	}
	n.win = pickWinner(n.claims)
	t.published(name, was, n.published())
	if prev != n.win {
		t.jot(name, prev, n.win)
	}
	if n.empty() {
		delete(t.names, name)
	}
	return prev != n.win
}

// published accounts for a change of the views name publishes in, from was
// to now: the count of published names, and the empty non-terminals above.
func (t *Table) published(name string, was, now uint8) {
	if was == now {
		return
	}
	switch {
	case was == 0:
		t.claimed++
	case now == 0:
		t.claimed--
	}
	for v := View(0); v < numViews; v++ {
		bit := uint8(1) << v
		switch {
		case was&bit == 0 && now&bit != 0:
			t.adjustAbove(name, v, +1)
		case was&bit != 0 && now&bit == 0:
			t.adjustAbove(name, v, -1)
		}
	}
}

// adjustAbove counts a name published in view v in (or out of) every
// ancestor up to its zone.
func (t *Table) adjustAbove(name string, v View, d int32) {
	zone := t.zoneOf(name)
	for p := parent(name); p != "" && isSubDomain(zone, p); p = parent(p) {
		n := t.names[p]
		if n == nil {
			n = &node{}
			t.names[p] = n
		}
		n.below[v] += d
		if n.empty() {
			delete(t.names, p)
		}
		if p == zone {
			break
		}
	}
}

// claimOf returns the index of key's claim in n.claims, or -1.
func (n *node) claimOf(key string) int {
	for i, e := range n.claims {
		if e.Owner.Key == key {
			return i
		}
	}
	return -1
}

func pickWinner(claims []*Entry) *Entry {
	var w *Entry
	for _, e := range claims {
		if w == nil || e.Owner.before(w.Owner) {
			w = e
		}
	}
	return w
}

// bump moves the serial of every zone holding a changed name. It returns the
// changed names, sorted and without duplicates (in changed's array), and the
// zones.
func (t *Table) bump(changed []string) (names, zones []string) {
	defer t.clearPending()
	if len(changed) == 0 {
		return nil, nil
	}
	sort.Strings(changed)
	names = slices.Compact(changed)
	for _, n := range names {
		if z := t.zoneOf(n); z != "" && !slices.Contains(zones, z) {
			zones = append(zones, z)
		}
	}
	// The serial is the time of the change, or one more than before when
	// that is not higher, but only if someone read the serial since it last
	// moved: otherwise nobody has seen the zone under it, and keeping it
	// stops a burst of changes from running the serial ahead of the clock,
	// where a restarted process (which starts from the clock) would fall
	// behind it.
	now := uint32(t.now().Unix())
	for _, z := range zones {
		s := t.serials[z]
		seen := t.observed[z] != nil && t.observed[z].Swap(false)
		switch {
		case now > s:
			s = now
		case seen:
			s++
		}
		t.record(z, t.serials[z], s, seen)
		t.serials[z] = s
	}
	sort.Strings(zones)
	return names, zones
}

func (t *Table) notify(ch Change) {
	if len(ch.Names) == 0 && len(ch.Conflicts) == 0 {
		return
	}
	t.subMu.Lock()
	subs := t.subs
	t.subMu.Unlock()
	for _, f := range subs {
		f(ch)
	}
}

// Serial returns the SOA serial of zone, for a reader that may compare it
// later (an SOA query, a zone transfer): the next change moves it.
func (t *Table) Serial(zone string) uint32 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if o := t.observed[zone]; o != nil {
		o.Store(true)
	}
	return t.serials[zone]
}

// PeekSerial returns the SOA serial of zone without counting as a read by
// Serial (for metrics, and the SOA of negative answers).
func (t *Table) PeekSerial(zone string) uint32 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.serials[zone]
}

// zoneOf returns the longest zone holding name, or "".
func (t *Table) zoneOf(name string) string {
	best := ""
	for _, z := range t.zones {
		if len(z) > len(best) && isSubDomain(z, name) {
			best = z
		}
	}
	return best
}

// Answer is the result of a lookup.
type Answer struct {
	// Entry is the record set at the name (or at the wildcard that
	// matched it); nil when there is none.
	Entry *Entry
	// Exists reports whether the name exists: claimed, an empty
	// non-terminal, or covered by a wildcard.
	Exists bool
	// Wildcard is set when Entry came from a wildcard (its records must be
	// renamed to the query name).
	Wildcard bool
}

// Lookup finds qname (lower-case FQDN) in zone as view v sees it, following
// RFC 4592 for wildcards. A name claimed by a Service that publishes nothing
// in v (a load balancer without an address yet) does not exist in v.
func (t *Table) Lookup(zone, qname string, v View) Answer {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if n := t.names[qname]; n.exists(v) {
		return Answer{Entry: n.entry(v), Exists: true}
	}
	if qname == zone {
		return Answer{Exists: true}
	}
	// The closest encloser: the longest existing ancestor (the apex at worst).
	// The wildcard's name is built in a stack buffer (a name has at most 255
	// octets) and looked up without converting it to a string: no allocation.
	var buf [258]byte
	for ce := parent(qname); ce != ""; ce = parent(ce) {
		if ce != zone && !t.names[ce].exists(v) {
			continue
		}
		key := append(append(buf[:0], '*', '.'), ce...)
		if w := t.names[string(key)]; w.exists(v) {
			// A wildcard that is only an empty non-terminal still makes
			// the name exist (Entry nil).
			return Answer{Entry: w.entry(v), Exists: true, Wildcard: true}
		}
		break
	}
	return Answer{}
}

// Entries returns the winning entries at or below zone that publish in
// view v, sorted by name.
func (t *Table) Entries(zone string, v View) []*Entry {
	t.mu.RLock()
	out := t.entriesLocked(zone, v)
	t.mu.RUnlock()
	sortEntries(out)
	return out
}

// EntriesUnder returns the winning entries in view v at domain (a
// lower-case FQDN) or below it, in whichever zone, sorted by name: what a
// Route 53 hosted zone of that name can hold.
func (t *Table) EntriesUnder(domain string, v View) []*Entry {
	t.mu.RLock()
	out := make([]*Entry, 0, len(t.names))
	for name, n := range t.names {
		if e := n.entry(v); e != nil && isSubDomain(domain, name) {
			out = append(out, e)
		}
	}
	t.mu.RUnlock()
	sortEntries(out)
	return out
}

// entriesLocked returns the winning entries of zone in view v, unsorted.
// t.mu is held.
func (t *Table) entriesLocked(zone string, v View) []*Entry {
	out := make([]*Entry, 0, len(t.names))
	for name, n := range t.names {
		if e := n.entry(v); e != nil && t.zoneOf(name) == zone {
			out = append(out, e)
		}
	}
	return out
}

func sortEntries(es []*Entry) {
	sort.Slice(es, func(i, j int) bool { return es[i].Set.Name < es[j].Set.Name })
}

// Snapshot returns the SOA serial of zone and its winning entries that
// publish in view v, sorted by name, read under one lock: the entries are
// the zone the serial names (a zone transfer sends them under it). It counts
// as a read of the serial (see Serial).
func (t *Table) Snapshot(zone string, v View) (uint32, []*Entry) {
	t.mu.RLock()
	if o := t.observed[zone]; o != nil {
		o.Store(true)
	}
	serial := t.serials[zone]
	out := t.entriesLocked(zone, v)
	t.mu.RUnlock()
	sortEntries(out)
	return serial, out
}

// EntriesAt returns the winning entries at exactly these names that publish
// in view v (absent names are left out).
func (t *Table) EntriesAt(names []string, v View) []*Entry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]*Entry, 0, len(names))
	for _, name := range names {
		if n := t.names[name]; n != nil {
			if e := n.entry(v); e != nil {
				out = append(out, e)
			}
		}
	}
	return out
}

// Len returns the number of names that publish records in some view.
func (t *Table) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.claimed
}

// OwnerCount returns the number of owners publishing at least one name.
func (t *Table) OwnerCount() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.byOwner)
}

// isSubDomain reports whether child is at or below parent. Both are
// lower-case FQDNs of LDH labels (what the table holds), so a suffix check on
// a label boundary is exact, and it does not allocate (dns.IsSubDomain does).
func isSubDomain(parent, child string) bool {
	if parent == "." || parent == child {
		return true
	}
	return len(child) > len(parent) && strings.HasSuffix(child, parent) && child[len(child)-len(parent)-1] == '.'
}

// parent returns name without its first label, "" for a top-level name and
// the root. Labels are split as DNS presentation format has them: an escaped
// dot ("x\.apps.example.org.", which a query can carry) is part of its label.
func parent(name string) string {
	i, end := dns.NextLabel(name, 0)
	if end {
		return ""
	}
	return name[i:]
}

// unionInto appends a and b to dst and returns it sorted, without duplicates.
func unionInto(dst, a, b []netip.Addr) []netip.Addr {
	out := append(append(dst, a...), b...)
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}
