package table

import (
	"slices"
	"sort"
)

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
