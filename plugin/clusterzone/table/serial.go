package table

// The SOA serial of each zone. The rule (the plugin README's "Serial"):
//
//   - The serial is a time in seconds (Unix) and never ahead of this
//     process's clock. A process starts at its clock, so a restart never goes
//     below anything served before it (with clocks kept by NTP).
//   - A change moves the serial to the second it happens in. A second change
//     within that second moves it again only if someone read the serial in
//     between (an SOA query, a transfer): then the new serial is published
//     when the clock reaches the next second (a timer does it, at most a
//     second later, and NOTIFY follows); until then SOA queries answer the
//     old serial and transfers wait for the new one, so that one serial
//     never names two different zones. A burst therefore never runs the
//     serial ahead of the clock.
//   - Raise moves it up to a time given from outside: replicas announce
//     their start (source/kube's serial Lease) and every replica raises its
//     serials to it, so replicas that see the same content give the same
//     serial (within a second) also after one of them restarted.

import (
	"slices"
	"sort"
	"time"
)

// bump moves the serial of every zone holding a changed name (see the rule
// above). It returns the changed names, sorted and without duplicates (in
// changed's array), and the zones. t.mu is held.
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
	now := t.clock()
	for _, z := range zones {
		s := t.serials[z]
		seen := t.observed[z] != nil && t.observed[z].Swap(false)
		switch {
		case now > s:
			// A new second: the serial is the change's. Changes waiting for
			// it (pending) are in the open step, which this closes.
			t.record(z, s, now, seen && !t.pending[z])
			t.serials[z] = now
			delete(t.pending, z)
		case t.pending[z] || !seen:
			// Within the second, and nobody saw the zone under this serial
			// without the changes since: they join the last step.
			t.record(z, s, s, false)
		default:
			// Within the second, after a read: the change opens a step that
			// the next second's serial closes (publishDue).
			t.record(z, s, s, true)
			t.pending[z] = true
			t.arm()
		}
	}
	sort.Strings(zones)
	return names, zones
}

// clock returns the time in seconds, as a serial.
func (t *Table) clock() uint32 { return uint32(t.now().Unix()) }

// Raise moves the serial of every zone up to at (in seconds), at once when
// the clock has reached it, else when it does. A serial at or above it stays.
// The zones whose serial moved are told to subscribers as a Change with
// Zones only (a NOTIFY goes out for them).
func (t *Table) Raise(at time.Time) {
	s := uint32(at.Unix())
	t.mu.Lock()
	if s > t.floor {
		t.floor = s
	}
	t.mu.Unlock()
	t.publishDue()
}

// publishDue publishes the serials that are due: those of zones with
// changes waiting for the next second (pending), once the clock is there,
// and the floor set by Raise, once the clock reaches it. It re-arms the
// timer while some are not due yet.
func (t *Table) publishDue() {
	t.mu.Lock()
	t.armed = false
	now := t.clock()
	var moved []string
	for _, z := range t.zones {
		s := t.serials[z]
		to := s
		if t.pending[z] && now > s {
			to = now
		}
		if t.floor > to && t.floor <= now {
			to = t.floor
		}
		if t.pending[z] && to == s || t.floor > now && t.floor > s {
			t.arm()
		}
		if to == s {
			continue
		}
		seen := t.observed[z] != nil && t.observed[z].Swap(false)
		t.record(z, s, to, seen && !t.pending[z])
		t.serials[z] = to
		delete(t.pending, z)
		moved = append(moved, z)
	}
	t.mu.Unlock()
	if len(moved) > 0 {
		t.notify(Change{Zones: moved})
	}
}

// arm starts the timer that calls publishDue just after the clock's next
// second, unless it runs already. t.mu is held.
func (t *Table) arm() {
	if t.armed {
		return
	}
	t.armed = true
	now := t.now()
	next := now.Truncate(time.Second).Add(time.Second + 5*time.Millisecond)
	t.after(next.Sub(now), t.publishDue)
}

// settled calls f under the read lock once zone has no change waiting for
// its serial, waiting (at most about a second) for publishDue otherwise: a
// transfer then sends the zone its serial names, never changes that no
// serial names yet.
func (t *Table) settled(zone string, f func()) {
	for {
		t.mu.RLock()
		if !t.pending[zone] {
			f()
			t.mu.RUnlock()
			return
		}
		t.mu.RUnlock()
		t.publishDue()
		t.mu.RLock()
		waiting := t.pending[zone]
		t.mu.RUnlock()
		if waiting {
			now := t.now()
			t.sleep(now.Truncate(time.Second).Add(time.Second).Sub(now))
		}
	}
}

// Serial returns the SOA serial of zone, for a reader that may compare it
// later (an SOA query, a zone transfer): the next change moves it.
func (t *Table) Serial(zone string) uint32 {
	t.mu.RLock()
	if t.pending[zone] && t.clock() > t.serials[zone] {
		// Due but not published yet (the timer has not run): publish first.
		t.mu.RUnlock()
		t.publishDue()
		t.mu.RLock()
	}
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
