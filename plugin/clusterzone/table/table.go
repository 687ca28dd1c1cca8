// Package table is the in-memory record table: per name, the A, AAAA, SRV,
// CNAME and TXT records one Service publishes there, for each address view. It is applied
// incrementally per Service, resolves conflicts between Services claiming
// the same name, keeps a time-based SOA serial per zone and tells
// subscribers what changed.
package table

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Change is what one Apply or Delete altered.
type Change struct {
	// Names whose published records changed (lower-case FQDNs).
	Names []string
	// Zones whose records changed (their SOA serial moved, unless nobody
	// read it since it last moved, or it waits for the next second: see
	// serial.go), or, with no Names, whose serial moved later on its own.
	Zones []string
	// Conflicts found by this change: Services that lost a name.
	Conflicts []Conflict
	// Routed are names where only a record set the served zone does not
	// answer with changed: another Service's, routed beside the winner
	// under its own set identifier, which the Route 53 mirror writes. No
	// serial moves for them.
	Routed []string
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
	// pending[zone] is set while the zone has changes that wait for the
	// next second's serial; floor is the serial Raise asked for; armed
	// tells that publishDue's timer runs (serial.go).
	pending map[string]bool
	floor   uint32
	armed   bool

	subMu sync.Mutex
	subs  []func(Change)
	now   func() time.Time
	// after and sleep are time.AfterFunc and time.Sleep, but for tests.
	after func(time.Duration, func())
	sleep func(time.Duration)
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
		pending: map[string]bool{},
		now:     time.Now,
		after:   func(d time.Duration, f func()) { time.AfterFunc(d, f) },
		sleep:   time.Sleep,
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

func (t *Table) notify(ch Change) {
	if len(ch.Names) == 0 && len(ch.Zones) == 0 && len(ch.Conflicts) == 0 && len(ch.Routed) == 0 {
		return
	}
	t.subMu.Lock()
	subs := t.subs
	t.subMu.Unlock()
	for _, f := range subs {
		f(ch)
	}
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
