package table

// The journal of changes per zone, from which zone transfers answer IXFR
// (RFC 1995): for each serial step, the names whose published records
// changed, with the entry they published before and after. It holds entries,
// not DNS records, so one journal serves every view (a transfer renders the
// entries as its view's AXFR does) and costs pointers to entries the table
// holds anyway, plus the replaced ones until they age out. It lives in memory
// only: a restarted process starts with an empty journal (and a serial from
// the clock), and a secondary then gets a full transfer.

import (
	"slices"
	"strings"
)

// Defaults of the journal's caps, per zone.
const (
	// DefaultJournalEntries is how many name changes a zone's journal keeps
	// by default: a burst of Service changes up to this size is sent
	// incrementally; a larger one costs a full transfer.
	DefaultJournalEntries = 10000
	// DefaultJournalBytes bounds the memory a zone's journal keeps alive
	// (an estimate: see entryBytes).
	DefaultJournalBytes = 16 << 20
)

// JournalChange is the change of one name: the entry it published before
// and the one it publishes after (nil: none). Either may publish nothing in
// a given view.
type JournalChange struct {
	Name     string
	Old, New *Entry
}

// step is one serial step of a zone: from serial from to serial to, the
// changes condensed per name.
type step struct {
	from, to uint32
	changes  []JournalChange
	bytes    int
	// index finds a name's change in changes while the step is the last
	// one (changes merge into it); nil once a newer step starts.
	index map[string]int
}

// zoneJournal holds the steps of one zone, oldest first: each step's from is
// the previous step's to, the last step's to the zone's serial.
type zoneJournal struct {
	steps          []*step
	entries, bytes int
}

// journal is the table's journal; it is guarded by the table's lock.
type journal struct {
	maxEntries, maxBytes int
	zones                map[string]*zoneJournal
	// pending are the changes of the Apply or Delete under way.
	pending []pendingChange
}

// pendingChange is a change not yet in the journal, with its zone.
type pendingChange struct {
	zone string
	JournalChange
}

// SetJournalLimits sets the caps of each zone's journal: at most entries
// name changes and about bytes of memory (see entryBytes). Zero entries
// disables the journal: every IXFR is then answered with the full zone. It
// drops what the journal holds.
func (t *Table) SetJournalLimits(entries, bytes int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.journal.maxEntries, t.journal.maxBytes = entries, bytes
	t.journal.zones = nil
}

// jot notes that name's published entry changed from old to new in the
// change under way. t.mu is held.
func (t *Table) jot(name string, old, new *Entry) {
	j := &t.journal
	if j.maxEntries <= 0 {
		return
	}
	// The same name twice in one change (a Service listing a name twice):
	// the first old, the last new.
	for i := range j.pending {
		if j.pending[i].Name == name {
			j.pending[i].New = new
			return
		}
	}
	j.pending = append(j.pending, pendingChange{zone: t.zoneOf(name), JournalChange: JournalChange{Name: name, Old: old, New: new}})
}

// record puts the pending changes of zone into its journal as the step from
// serial from to serial to (from == to when the serial did not move). seen
// tells whether anyone read serial from: when nobody did, nobody can hold
// the zone as it was then, so the changes merge into the last step (which
// then ends at to), or, with no step, are not needed at all. t.mu is held.
func (t *Table) record(zone string, from, to uint32, seen bool) {
	j := &t.journal
	if j.maxEntries <= 0 {
		return
	}
	if j.zones == nil {
		j.zones = map[string]*zoneJournal{}
	}
	zj := j.zones[zone]
	if zj == nil {
		zj = &zoneJournal{}
		j.zones[zone] = zj
	}
	var last *step
	if n := len(zj.steps); n > 0 {
		last = zj.steps[n-1]
	}
	switch {
	case !seen && last == nil:
		return
	case seen:
		if last != nil {
			last.index = nil
		}
		last = &step{from: from, index: map[string]int{}}
		zj.steps = append(zj.steps, last)
	}
	last.to = to
	for _, p := range j.pending {
		if p.zone != zone {
			continue
		}
		zj.entries -= len(last.changes)
		zj.bytes -= last.bytes
		last.merge(p.JournalChange)
		zj.entries += len(last.changes)
		zj.bytes += last.bytes
	}
	zj.trim(j.maxEntries, j.maxBytes)
}

// clearPending forgets the changes of the change just made. t.mu is held.
func (t *Table) clearPending() {
	clear(t.journal.pending)
	t.journal.pending = t.journal.pending[:0]
}

// merge adds c to the step, condensed with an earlier change of the same
// name in it: the earlier old, the later new; a name that ends as it began
// (added then removed) drops out.
func (s *step) merge(c JournalChange) {
	i, ok := s.index[c.Name]
	if !ok {
		s.index[c.Name] = len(s.changes)
		s.changes = append(s.changes, c)
		s.bytes += changeBytes(c)
		return
	}
	prev := &s.changes[i]
	s.bytes -= changeBytes(*prev)
	prev.New = c.New
	if prev.Old != prev.New {
		s.bytes += changeBytes(*prev)
		return
	}
	// Gone: move the last change into its slot.
	delete(s.index, c.Name)
	n := len(s.changes) - 1
	if i != n {
		s.changes[i] = s.changes[n]
		s.index[s.changes[i].Name] = i
	}
	s.changes[n] = JournalChange{}
	s.changes = s.changes[:n]
}

// trim drops the oldest steps until the journal is within its caps; a step
// too large alone drops everything, and the next IXFR gets the full zone.
func (zj *zoneJournal) trim(maxEntries, maxBytes int) {
	drop := 0
	for drop < len(zj.steps) && (zj.entries > maxEntries || maxBytes > 0 && zj.bytes > maxBytes) {
		zj.entries -= len(zj.steps[drop].changes)
		zj.bytes -= zj.steps[drop].bytes
		zj.steps[drop] = nil
		drop++
	}
	zj.steps = zj.steps[drop:]
}

// changeBytes estimates the memory a change keeps alive: the change itself
// and both entries (the new one stays alive in the table anyway while it is
// current, but not once replaced).
func changeBytes(c JournalChange) int {
	return 64 + len(c.Name) + entryBytes(c.Old) + entryBytes(c.New)
}

// entryBytes estimates the memory of an entry: its struct, its strings and
// the backing arrays of its slices.
func entryBytes(e *Entry) int {
	if e == nil {
		return 0
	}
	n := 200 + len(e.Owner.Key) + len(e.Set.Name) + 24*(len(e.Set.External)+len(e.Set.Internal))
	for _, a := range e.Set.Aliases {
		n += 16 + len(a)
	}
	if r := e.Set.Refs; r != nil {
		n += 64 + len(r.CNAME)
		for _, s := range r.SRV {
			n += 32 + len(s.Target)
		}
	}
	return n
}

// Delta returns the SOA serial of zone and, when the journal reaches back
// to serial from, the changes since then, one per name, sorted by name (Old
// the entry published at serial from, New the one published now), read under
// one lock: the changes lead to the zone the serial names. ok is false when
// the journal does not reach from (the caller sends the whole zone, or
// nothing when from is the serial). It counts as a read of the serial (see
// Serial).
func (t *Table) Delta(zone string, from uint32) (serial uint32, changes []JournalChange, ok bool) {
	t.settled(zone, func() { serial, changes, ok = t.deltaLocked(zone, from) })
	return serial, changes, ok
}

// deltaLocked is Delta under the read lock.
func (t *Table) deltaLocked(zone string, from uint32) (serial uint32, changes []JournalChange, ok bool) {
	if o := t.observed[zone]; o != nil {
		o.Store(true)
	}
	serial = t.serials[zone]
	zj := t.journal.zones[zone]
	if zj == nil || from == serial {
		return serial, nil, from == serial
	}
	// Secondaries are mostly a step or two behind: search from the newest.
	first := -1
	for i := len(zj.steps) - 1; i >= 0; i-- {
		if zj.steps[i].from == from {
			first = i
			break
		}
	}
	if first < 0 || zj.steps[len(zj.steps)-1].to != serial {
		return serial, nil, false
	}
	steps := zj.steps[first:]
	if len(steps) == 1 {
		changes = append([]JournalChange(nil), steps[0].changes...)
	} else {
		at := map[string]int{}
		for _, s := range steps {
			for _, c := range s.changes {
				if i, ok := at[c.Name]; ok {
					changes[i].New = c.New
					continue
				}
				at[c.Name] = len(changes)
				changes = append(changes, c)
			}
		}
		// Names that end as they began drop out.
		kept := changes[:0]
		for _, c := range changes {
			if c.Old != c.New {
				kept = append(kept, c)
			}
		}
		changes = kept
	}
	sortChanges(changes)
	return serial, changes, true
}

func sortChanges(cs []JournalChange) {
	slices.SortFunc(cs, func(a, b JournalChange) int { return strings.Compare(a.Name, b.Name) })
}

// JournalLen returns the number of steps and of name changes the journal of
// zone holds.
func (t *Table) JournalLen(zone string) (steps, changes int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if zj := t.journal.zones[zone]; zj != nil {
		return len(zj.steps), zj.entries
	}
	return 0, 0
}
