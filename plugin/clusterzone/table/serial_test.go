package table

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

const szone = "example.org."

// serialApply publishes one address for s<i>.example.org.
func serialApply(tb *Table, i int) Change {
	return tb.Apply(Owner{Key: fmt.Sprintf("n/s%d", i), Created: 1}, []RecordSet{{
		Name: fmt.Sprintf("s%d.example.org.", i), TTL: 60,
		External: []netip.Addr{netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", i%250+1))},
	}})
}

// A sustained burst of changes with an SOA read between every two never
// runs the serial ahead of the clock, so a process restarted right after
// (whose serial starts from the clock) is at or above every serial served.
func TestSerialBurstStaysAtTheClock(t *testing.T) {
	tb := New([]string{szone}, "me")
	clk := useFakeClock(tb, time.Unix(2_000_000_000, 0))
	var served uint32
	for i := 0; i < 300; i++ {
		if i%200 == 199 {
			clk.tick() // 300 changes in 1.5 s
		}
		serialApply(tb, i)
		s := tb.Serial(szone)
		if s > uint32(clk.now.Unix()) {
			t.Fatalf("change %d: serial %d ahead of the clock %d", i, s, clk.now.Unix())
		}
		if s < served {
			t.Fatalf("change %d: serial %d went back from %d", i, s, served)
		}
		served = s
		if _, es := tb.Snapshot(szone, External); len(es) != i+1 {
			t.Fatalf("change %d: snapshot of %d names", i, len(es))
		}
		if s2 := tb.Serial(szone); s2 > uint32(clk.now.Unix()) {
			t.Fatalf("change %d: serial %d after a transfer, ahead of the clock %d", i, s2, clk.now.Unix())
		} else if s2 > served {
			served = s2
		}
	}
	restarted := New([]string{szone}, "me")
	useFakeClock(restarted, clk.now)
	if r := restarted.Serial(szone); r < served {
		t.Errorf("restarted table serial %d < %d served before", r, served)
	}
}

// A change after a read, within the serial's second, waits for the next
// second: SOA reads give the old serial until the clock gets there, then the
// new one. A change nobody read the serial before does not move it within
// the second; PeekSerial (metrics, negative answers) is not a read.
func TestSerialAfterARead(t *testing.T) {
	tb := New([]string{szone}, "me")
	clk := useFakeClock(tb, time.Unix(2_000_000_000, 0))
	var notified [][]string
	tb.Subscribe(func(ch Change) {
		if len(ch.Names) == 0 {
			notified = append(notified, ch.Zones)
		}
	})
	serialApply(tb, 0)
	s0 := tb.Serial(szone)
	if ch := serialApply(tb, 1); len(ch.Zones) != 1 {
		t.Errorf("change zones %v, want the zone", ch.Zones)
	}
	if s := tb.Serial(szone); s != s0 {
		t.Errorf("serial %d within the second of %d, want it unchanged until the next", s, s0)
	}
	clk.tick()
	s1 := tb.Serial(szone)
	if s1 != s0+1 {
		t.Errorf("serial %d in the next second, want %d", s1, s0+1)
	}
	if len(notified) != 1 {
		t.Errorf("serial moves told to subscribers: %v, want one (NOTIFY)", notified)
	}
	serialApply(tb, 2) // same second, after a read: pending
	peek := tb.PeekSerial(szone)
	clk.tick()
	tb.publishDue() // the timer
	if s := tb.PeekSerial(szone); s != peek+1 || s != uint32(clk.now.Unix()) {
		t.Errorf("serial %d after the timer, want %d", s, peek+1)
	}
	serialApply(tb, 3) // nobody read since: no step, no wait
	if s := tb.PeekSerial(szone); s != peek+1 {
		t.Errorf("serial %d moved within its second although nobody read it", s)
	}
	clk.now = clk.now.Add(time.Hour)
	serialApply(tb, 4)
	if s := tb.Serial(szone); s != uint32(clk.now.Unix()) {
		t.Errorf("serial %d, want the clock %d", s, clk.now.Unix())
	}
}

// A snapshot is the zone its serial names: one taken while changes wait for
// the next second's serial waits for it (here the fake clock moves), so a
// serial never names two different zones.
func TestSnapshot(t *testing.T) {
	tb := New([]string{szone}, "me")
	clk := useFakeClock(tb, time.Unix(2_000_000_000, 0))
	serialApply(tb, 0)
	serialApply(tb, 1)
	s1, entries := tb.Snapshot(szone, External)
	if len(entries) != 2 || entries[0].Set.Name > entries[1].Set.Name {
		t.Fatalf("snapshot entries %v", entries)
	}
	serialApply(tb, 2)
	s2, entries := tb.Snapshot(szone, External)
	if s2 <= s1 || len(entries) != 3 {
		t.Errorf("after a change: serial %d (was %d), %d entries", s2, s1, len(entries))
	}
	if s2 != uint32(clk.now.Unix()) {
		t.Errorf("serial %d, clock %d: the snapshot should have waited for the next second", s2, clk.now.Unix())
	}
	if s, none := tb.Snapshot(szone, Internal); s != s2 || len(none) != 0 {
		t.Errorf("internal view: serial %d, entries %v (the names have no internal addresses)", s, none)
	}
	// The step the wait closed is the journal's: IXFR from s1 is this change.
	if cur, changes, ok := tb.Delta(szone, s1); !ok || cur != s2 || len(changes) != 1 || changes[0].Name != "s2.example.org." {
		t.Errorf("Delta from %d: %d %v %v", s1, cur, ok, changes)
	}
}

// Raise moves every zone's serial up to a time (a replica's start), once the
// clock has reached it; lower or equal times change nothing. IXFR across it
// is an empty step.
func TestSerialRaise(t *testing.T) {
	tb := New([]string{szone, "other.org."}, "me")
	clk := useFakeClock(tb, time.Unix(2_000_000_000, 0))
	var moved [][]string
	tb.Subscribe(func(ch Change) { moved = append(moved, ch.Zones) })
	s0 := tb.Serial(szone)
	tb.Raise(clk.now.Add(-time.Minute))
	if s := tb.Serial(szone); s != s0 || len(moved) != 0 {
		t.Errorf("raised to the past: serial %d (was %d), %v told", s, s0, moved)
	}
	tb.Raise(clk.now.Add(2 * time.Second)) // a peer's clock a little ahead
	if s := tb.Serial(szone); s != s0 {
		t.Errorf("serial %d ahead of the clock %d", s, clk.now.Unix())
	}
	clk.tick()
	clk.tick()
	tb.publishDue()
	want := s0 + 2
	for _, z := range []string{szone, "other.org."} {
		if s := tb.PeekSerial(z); s != want {
			t.Errorf("%s: serial %d after the clock reached the raise, want %d", z, s, want)
		}
	}
	if len(moved) != 1 || len(moved[0]) != 2 {
		t.Errorf("told %v, want both zones once", moved)
	}
	if cur, changes, ok := tb.Delta(szone, s0); !ok || cur != want || len(changes) != 0 {
		t.Errorf("Delta across the raise: %d %v %v, want an empty step", cur, ok, changes)
	}
}

// Two replicas seeing the same changes at the same times give the same
// serial within a second, whoever reads them; after one restarts and both
// raise to its announced start (source/kube's serial Lease), they are equal
// again and not below anything served.
func TestSerialReplicas(t *testing.T) {
	start := time.Unix(2_000_000_000, 0)
	a, b := New([]string{szone}, "me"), New([]string{szone}, "me")
	ca, cb := useFakeClock(a, start), useFakeClock(b, start)
	var servedA uint32
	for i := 0; i < 50; i++ {
		if i%10 == 9 {
			ca.tick()
			cb.tick()
		}
		serialApply(a, i)
		serialApply(b, i)
		servedA = a.Serial(szone) // only a is read (a secondary polls it)
	}
	ca.tick()
	cb.tick()
	a.publishDue()
	b.publishDue()
	sa, sb := a.Serial(szone), b.Serial(szone)
	if d := int64(sa) - int64(sb); d < -1 || d > 1 {
		t.Errorf("replicas' serials %d and %d, more than a second apart", sa, sb)
	}
	// b restarts: a new table at its clock, the same content, then the
	// announcement both hear.
	cb.tick()
	ca.tick()
	b = New([]string{szone}, "me")
	cb = useFakeClock(b, cb.now)
	for i := 0; i < 50; i++ {
		serialApply(b, i)
	}
	announced := cb.now
	a.Raise(announced)
	b.Raise(announced)
	sa, sb = a.Serial(szone), b.Serial(szone)
	if sa != sb {
		t.Errorf("after b's restart: serials %d and %d, want equal", sa, sb)
	}
	if sb < servedA || sb < sa {
		t.Errorf("restarted serial %d below what was served (%d)", sb, servedA)
	}
}

// With the real clock, the timer publishes a waiting serial on its own and
// tells subscribers, so that NOTIFY goes out for it.
func TestSerialTimer(t *testing.T) {
	tb := New([]string{szone}, "me")
	told := make(chan uint32, 4)
	tb.Subscribe(func(ch Change) {
		if len(ch.Names) == 0 {
			told <- tb.PeekSerial(szone)
		}
	})
	for {
		serialApply(tb, 0)
		s0 := tb.Serial(szone)
		serialApply(tb, 1)
		if tb.PeekSerial(szone) != s0 {
			continue // the second turned in between: try again
		}
		select {
		case s := <-told:
			if s <= s0 {
				t.Errorf("timer published %d, was %d", s, s0)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no serial published after a change that waited for the next second")
		}
		return
	}
}
