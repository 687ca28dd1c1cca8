package table

import "sort"

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
// Route 53 hosted zone of that name can hold. After a name's winner come
// the other Services' entries routed beside it under their own set
// identifiers (Route 53 routing policies), which the served zone does not
// answer with.
func (t *Table) EntriesUnder(domain string, v View) []*Entry {
	t.mu.RLock()
	out := make([]*Entry, 0, len(t.names))
	for name, n := range t.names {
		if e := n.entry(v); e != nil && isSubDomain(domain, name) {
			out = n.routedEntries(append(out, e), v)
		}
	}
	t.mu.RUnlock()
	sortEntriesStable(out)
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

// sortEntriesStable sorts by name, keeping the order of each name's entries.
func sortEntriesStable(es []*Entry) {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Set.Name < es[j].Set.Name })
}

// Snapshot returns the SOA serial of zone and its winning entries that
// publish in view v, sorted by name, read under one lock: the entries are
// the zone the serial names (a zone transfer sends them under it). It counts
// as a read of the serial (see Serial).
func (t *Table) Snapshot(zone string, v View) (serial uint32, out []*Entry) {
	t.settled(zone, func() {
		if o := t.observed[zone]; o != nil {
			o.Store(true)
		}
		serial = t.serials[zone]
		out = t.entriesLocked(zone, v)
	})
	sortEntries(out)
	return serial, out
}

// EntriesAt returns the winning entries at exactly these names that publish
// in view v (absent names are left out), each followed by the entries routed
// beside it (see EntriesUnder).
func (t *Table) EntriesAt(names []string, v View) []*Entry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]*Entry, 0, len(names))
	for _, name := range names {
		if n := t.names[name]; n != nil {
			if e := n.entry(v); e != nil {
				out = n.routedEntries(append(out, e), v)
			}
		}
	}
	return out
}
