// Package table is the in-memory record table: per name, the A, AAAA and TXT
// records one Service publishes there, for each address view. It is applied
// incrementally per Service, resolves conflicts between Services claiming
// the same name, keeps a time-based SOA serial per zone and tells
// subscribers what changed.
package table

import (
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

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
	Key     string
	Created time.Time
}

// before reports whether o wins a name over p: the older Service, then the
// smaller namespace/name.
func (o Owner) before(p Owner) bool {
	if !o.Created.Equal(p.Created) {
		return o.Created.Before(p.Created)
	}
	return o.Key < p.Key
}

// RecordSet is what one Service publishes at one name, addresses resolved.
type RecordSet struct {
	// Name is the lower-case FQDN, possibly a wildcard ("*.apps.example.org.").
	Name     string
	TTL      uint32
	External []netip.Addr
	Internal []netip.Addr
	// Aliases are load-balancer hostnames the External addresses came from
	// (kept for the Route 53 mirror, which writes ALIAS records to them).
	Aliases []string
	// DualStack is set when the Service asks for a dual-stack load balancer.
	DualStack bool
}

// equal reports whether two record sets publish the same thing.
func (s RecordSet) equal(o RecordSet) bool {
	return s.Name == o.Name && s.TTL == o.TTL && s.DualStack == o.DualStack &&
		equalAddrs(s.External, o.External) && equalAddrs(s.Internal, o.Internal) &&
		strings.Join(s.Aliases, ",") == strings.Join(o.Aliases, ",")
}

// Entry is a published record set with its owner and prebuilt records.
// Entries are immutable once in the table: readers may keep them.
type Entry struct {
	Owner Owner
	Set   RecordSet
	// rrs[view][0] are the A records, rrs[view][1] the AAAA records.
	rrs [numViews][2][]dns.RR
	txt []dns.RR
}

// Records returns the records of type qtype (A, AAAA or TXT) in view.
func (e *Entry) Records(qtype uint16, v View) []dns.RR {
	switch qtype {
	case dns.TypeA:
		return e.rrs[v][0]
	case dns.TypeAAAA:
		return e.rrs[v][1]
	case dns.TypeTXT:
		return e.txt
	}
	return nil
}

// All returns every record of the entry in view: A, AAAA, then TXT.
func (e *Entry) All(v View) []dns.RR {
	out := make([]dns.RR, 0, len(e.rrs[v][0])+len(e.rrs[v][1])+len(e.txt))
	out = append(out, e.rrs[v][0]...)
	out = append(out, e.rrs[v][1]...)
	return append(out, e.txt...)
}

// OwnershipTXT is the ExternalDNS ownership record value for a Service.
func OwnershipTXT(ownerID, key string) string {
	return "heritage=external-dns,external-dns/owner=" + ownerID + ",external-dns/resource=service/" + key
}

func newEntry(o Owner, s RecordSet, ownerID string) *Entry {
	e := &Entry{Owner: o, Set: s}
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: s.Name, Rrtype: t, Class: dns.ClassINET, Ttl: s.TTL}
	}
	build := func(addrs []netip.Addr) (a, aaaa []dns.RR) {
		for _, ip := range addrs {
			if ip.Is4() {
				a = append(a, &dns.A{Hdr: hdr(dns.TypeA), A: ip.AsSlice()})
			} else {
				aaaa = append(aaaa, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: ip.AsSlice()})
			}
		}
		return a, aaaa
	}
	e.rrs[External][0], e.rrs[External][1] = build(s.External)
	e.rrs[Internal][0], e.rrs[Internal][1] = build(s.Internal)
	e.rrs[All][0], e.rrs[All][1] = build(union(s.External, s.Internal))
	e.txt = []dns.RR{&dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: []string{OwnershipTXT(ownerID, o.Key)}}}
	return e
}

// node is one name in the tree of names: claimed by Services, or an empty
// non-terminal above claimed names, or both.
type node struct {
	claims map[string]*Entry // by owner key
	win    *Entry
	below  int // number of claimed names strictly below this one
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
	// Zones whose SOA serial moved.
	Zones []string
	// Conflicts found by this change: Services that lost a name.
	Conflicts []Conflict
}

// Table is the record table. It is safe for concurrent use: readers take a
// read lock only for the duration of a map lookup.
type Table struct {
	ownerID string
	zones   []string

	mu      sync.RWMutex
	names   map[string]*node
	byOwner map[string][]string // owner key -> names claimed
	serials map[string]uint32
	claimed int // names with at least one claim

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
		byOwner: map[string][]string{},
		serials: map[string]uint32{},
		now:     time.Now,
	}
	for _, z := range zones {
		t.serials[z] = uint32(t.now().Unix())
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

// Apply replaces everything owner publishes with sets. Its cost is
// proportional to the names owner had and has, not to the table.
func (t *Table) Apply(owner Owner, sets []RecordSet) Change {
	newSets := make(map[string]RecordSet, len(sets))
	for _, s := range sets {
		newSets[s.Name] = s
	}
	t.mu.Lock()
	var ch Change
	changed := map[string]bool{}
	old := t.byOwner[owner.Key]
	for _, name := range old {
		if _, keep := newSets[name]; !keep {
			if t.unclaim(name, owner.Key) {
				changed[name] = true
			}
		}
	}
	names := make([]string, 0, len(sets))
	for _, s := range sets {
		names = append(names, s.Name)
		won, conflicts := t.claim(owner, s)
		if won {
			changed[s.Name] = true
		}
		ch.Conflicts = append(ch.Conflicts, conflicts...)
	}
	if len(names) == 0 {
		delete(t.byOwner, owner.Key)
	} else {
		t.byOwner[owner.Key] = names
	}
	ch.Names, ch.Zones = t.bump(changed)
	t.mu.Unlock()
	t.notify(ch)
	return ch
}

// Delete removes everything owner key publishes.
func (t *Table) Delete(key string) Change {
	t.mu.Lock()
	changed := map[string]bool{}
	for _, name := range t.byOwner[key] {
		if t.unclaim(name, key) {
			changed[name] = true
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
func (t *Table) claim(owner Owner, s RecordSet) (bool, []Conflict) {
	n := t.names[s.Name]
	if n == nil {
		n = &node{}
		t.names[s.Name] = n
	}
	if n.claims == nil {
		n.claims = map[string]*Entry{}
		t.claimed++
		t.adjustAbove(s.Name, +1)
	}
	if e, ok := n.claims[owner.Key]; ok && e.Set.equal(s) && e.Owner.Created.Equal(owner.Created) {
		return false, nil
	}
	e := newEntry(owner, s, t.ownerID)
	n.claims[owner.Key] = e
	prev := n.win
	n.win = pickWinner(n.claims)
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
	if n == nil || n.claims[key] == nil {
		return false
	}
	delete(n.claims, key)
	prev := n.win
	if len(n.claims) == 0 {
		n.claims, n.win = nil, nil
		t.claimed--
		t.adjustAbove(name, -1)
		if n.below == 0 {
			delete(t.names, name)
		}
		return true
	}
	n.win = pickWinner(n.claims)
	return prev != n.win
}

// adjustAbove counts a claimed name in (or out of) every ancestor up to its zone.
func (t *Table) adjustAbove(name string, d int) {
	zone := t.zoneOf(name)
	for p := parent(name); p != "" && dns.IsSubDomain(zone, p); p = parent(p) {
		n := t.names[p]
		if n == nil {
			n = &node{}
			t.names[p] = n
		}
		n.below += d
		if n.below == 0 && n.claims == nil {
			delete(t.names, p)
		}
		if p == zone {
			break
		}
	}
}

func pickWinner(claims map[string]*Entry) *Entry {
	var w *Entry
	for _, e := range claims {
		if w == nil || e.Owner.before(w.Owner) {
			w = e
		}
	}
	return w
}

// bump moves the serial of every zone holding a changed name.
func (t *Table) bump(changed map[string]bool) (names, zones []string) {
	if len(changed) == 0 {
		return nil, nil
	}
	seen := map[string]bool{}
	for n := range changed {
		names = append(names, n)
		if z := t.zoneOf(n); z != "" && !seen[z] {
			seen[z] = true
			zones = append(zones, z)
		}
	}
	now := uint32(t.now().Unix())
	for _, z := range zones {
		s := t.serials[z] + 1
		if now > s {
			s = now
		}
		t.serials[z] = s
	}
	sort.Strings(names)
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

// Serial returns the SOA serial of zone.
func (t *Table) Serial(zone string) uint32 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.serials[zone]
}

// zoneOf returns the longest zone holding name, or "".
func (t *Table) zoneOf(name string) string {
	best := ""
	for _, z := range t.zones {
		if len(z) > len(best) && dns.IsSubDomain(z, name) {
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

// Lookup finds qname (lower-case FQDN) in zone, following RFC 4592 for wildcards.
func (t *Table) Lookup(zone, qname string) Answer {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if n := t.names[qname]; n != nil {
		return Answer{Entry: n.win, Exists: true}
	}
	if qname == zone {
		return Answer{Exists: true}
	}
	// The closest encloser: the longest existing ancestor (the apex at worst).
	// The wildcard's name is built in a stack buffer (a name has at most 255
	// octets) and looked up without converting it to a string: no allocation.
	var buf [258]byte
	for ce := parent(qname); ce != ""; ce = parent(ce) {
		if ce != zone && t.names[ce] == nil {
			continue
		}
		key := append(append(buf[:0], '*', '.'), ce...)
		if w := t.names[string(key)]; w != nil {
			if w.win != nil {
				return Answer{Entry: w.win, Exists: true, Wildcard: true}
			}
			// A wildcard that is only an empty non-terminal still makes the name exist.
			return Answer{Exists: true, Wildcard: true}
		}
		break
	}
	return Answer{}
}

// Entries returns the winning entries at or below zone, sorted by name.
func (t *Table) Entries(zone string) []*Entry {
	t.mu.RLock()
	out := make([]*Entry, 0, len(t.names))
	for name, n := range t.names {
		if n.win != nil && t.zoneOf(name) == zone {
			out = append(out, n.win)
		}
	}
	t.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Set.Name < out[j].Set.Name })
	return out
}

// EntriesAt returns the winning entries at exactly these names (absent names are left out).
func (t *Table) EntriesAt(names []string) []*Entry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]*Entry, 0, len(names))
	for _, name := range names {
		if n := t.names[name]; n != nil && n.win != nil {
			out = append(out, n.win)
		}
	}
	return out
}

// Len returns the number of claimed names.
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

// parent returns name without its first label, "" for the root.
func parent(name string) string {
	i := strings.IndexByte(name, '.')
	if i < 0 || i == len(name)-1 {
		return ""
	}
	return name[i+1:]
}

func union(a, b []netip.Addr) []netip.Addr {
	out := append(append([]netip.Addr(nil), a...), b...)
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	w := 0
	for i := range out {
		if w == 0 || out[i] != out[w-1] {
			out[w] = out[i]
			w++
		}
	}
	return out[:w]
}

func equalAddrs(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
