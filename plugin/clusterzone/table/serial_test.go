package table

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// serialApply publishes one address for s<i>.example.org.
func serialApply(tb *Table, i int) Change {
	return tb.Apply(Owner{Key: fmt.Sprintf("n/s%d", i), Created: 1}, []RecordSet{{
		Name: fmt.Sprintf("s%d.example.org.", i), TTL: 60,
		External: []netip.Addr{netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", i%250+1))},
	}})
}

// A burst of changes nobody reads the serial in between does not run the
// serial ahead of the clock, so that a process restarted right after (whose
// serial starts from the clock) does not go backwards.
func TestSerialBurstStaysAtTheClock(t *testing.T) {
	now := time.Unix(2_000_000_000, 0)
	tb := New([]string{"example.org."}, "me")
	tb.now = func() time.Time { return now }
	for i := 0; i < 100; i++ {
		if ch := serialApply(tb, i); len(ch.Zones) != 1 {
			t.Fatalf("change %d: zones %v, want the zone (NOTIFY goes by it)", i, ch.Zones)
		}
	}
	s := tb.Serial("example.org.")
	if s != uint32(now.Unix()) {
		t.Errorf("serial %d after an unread burst in one second, want the clock %d", s, now.Unix())
	}
	restarted := New([]string{"example.org."}, "me")
	restarted.now = func() time.Time { return now }
	restarted.serials["example.org."] = uint32(now.Unix()) // started in the same second
	if r := restarted.Serial("example.org."); r < s {
		t.Errorf("restarted table serial %d < %d", r, s)
	}
}

// Every read of the serial followed by a change sees it move, even many
// times within one second; metrics and negative answers (PeekSerial) do not
// count as reads.
func TestSerialMovesAfterEveryRead(t *testing.T) {
	now := time.Unix(2_000_000_000, 0)
	tb := New([]string{"example.org."}, "me")
	tb.now = func() time.Time { return now }
	serialApply(tb, 0)
	last := tb.Serial("example.org.")
	for i := 1; i <= 10; i++ {
		serialApply(tb, i)
		s := tb.Serial("example.org.")
		if s <= last {
			t.Fatalf("change %d: serial %d, was %d when last read", i, s, last)
		}
		last = s
	}
	serialApply(tb, 11)
	peek := tb.PeekSerial("example.org.")
	serialApply(tb, 12)
	if s := tb.PeekSerial("example.org."); s != peek {
		t.Errorf("serial moved from %d to %d although only PeekSerial read it", peek, s)
	}
	if s := tb.Serial("example.org."); s <= last {
		t.Errorf("serial %d after changes, was %d when last read", s, last)
	}
	// A later second: the clock wins.
	now = now.Add(time.Hour)
	serialApply(tb, 13)
	if s := tb.Serial("example.org."); s != uint32(now.Unix()) {
		t.Errorf("serial %d, want the clock %d", s, now.Unix())
	}
}

// A snapshot is the zone its serial names, and reading it counts as a read
// of the serial: the next change moves it, within the same second too.
func TestSnapshot(t *testing.T) {
	now := time.Unix(2_000_000_000, 0)
	tb := New([]string{"example.org."}, "me")
	tb.now = func() time.Time { return now }
	serialApply(tb, 0)
	serialApply(tb, 1)
	s1, entries := tb.Snapshot("example.org.", External)
	if len(entries) != 2 || entries[0].Set.Name > entries[1].Set.Name {
		t.Fatalf("snapshot entries %v", entries)
	}
	serialApply(tb, 2)
	s2, entries := tb.Snapshot("example.org.", External)
	if s2 <= s1 || len(entries) != 3 {
		t.Errorf("after a change: serial %d (was %d), %d entries", s2, s1, len(entries))
	}
	if s, none := tb.Snapshot("example.org.", Internal); s != s2 || len(none) != 0 {
		t.Errorf("internal view: serial %d, entries %v (the names have no internal addresses)", s, none)
	}
}
