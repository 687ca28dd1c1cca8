package table

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

const jzone = "example.org."

// journalTable returns a table of jzone and other.org. with a fake clock;
// reading the serial with the clock's read moves it one second on, so that
// serials move by one per read-then-change.
func journalTable() (*Table, *fakeClock) {
	tb := New([]string{jzone, "other.org."}, "me")
	return tb, useFakeClock(tb, time.Unix(2_000_000_000, 0))
}

// jset publishes name (a label of jzone) with one address, owned by n/name.
func jset(tb *Table, name, ip string) {
	tb.Apply(Owner{Key: "n/" + name, Created: 1}, []RecordSet{{
		Name: name + "." + jzone, TTL: 60, External: []netip.Addr{netip.MustParseAddr(ip)},
	}})
}

// describeDelta renders changes as "name old>new" with the addresses of the
// entries ("-" for none), sorted by name as Delta returns them.
func describeDelta(cs []JournalChange) string {
	addr := func(e *Entry) string {
		if e == nil {
			return "-"
		}
		return e.Set.External[0].String()
	}
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s %s>%s", strings.TrimSuffix(c.Name, "."+jzone), addr(c.Old), addr(c.New)))
	}
	return strings.Join(out, ", ")
}

func TestJournalDelta(t *testing.T) {
	tb, clk := journalTable()
	jset(tb, "base", "192.0.2.1") // before anyone read a serial: not journaled
	s0 := clk.read(jzone)
	jset(tb, "a", "192.0.2.10")
	s1 := clk.read(jzone)
	jset(tb, "b", "192.0.2.20")
	jset(tb, "a", "192.0.2.11") // nobody read s2 yet: same step
	s2 := clk.read(jzone)
	tb.Delete("n/a")
	jset(tb, "c", "192.0.2.30")
	tb.Delete("n/c") // added and removed within the step: gone
	s3 := clk.read(jzone)
	if s1 != s0+1 || s2 != s1+1 || s3 != s2+1 {
		t.Fatalf("serials %d %d %d %d, want one apart", s0, s1, s2, s3)
	}
	if steps, changes := tb.JournalLen(jzone); steps != 3 || changes != 4 {
		t.Errorf("journal holds %d steps, %d changes; want 3 steps (a; b, a; a), 4 changes", steps, changes)
	}
	for _, tc := range []struct {
		from uint32
		ok   bool
		want string
	}{
		// a added then removed since s0: it drops out.
		{s0, true, "b ->192.0.2.20"},
		{s1, true, "a 192.0.2.10>-, b ->192.0.2.20"},
		{s2, true, "a 192.0.2.11>-"},
		{s3, true, ""}, // current
		{s0 - 1, false, ""},
		{s3 + 1, false, ""},
		{1, false, ""},
	} {
		cur, changes, ok := tb.Delta(jzone, tc.from)
		if cur != s3 || ok != tc.ok || describeDelta(changes) != tc.want {
			t.Errorf("Delta from %d: serial %d, ok %v, %q; want %d, %v, %q", tc.from, cur, ok, describeDelta(changes), s3, tc.ok, tc.want)
		}
	}
	// The other zone has no journal: a change there is not this zone's.
	if _, _, ok := tb.Delta("other.org.", s1); ok {
		t.Errorf("Delta of other.org. from %d: ok", s1)
	}
}

// A change of a record set keeps the name's old entry and the new one; a
// change nobody has seen the serial before does not start a step, even when
// the clock moves the serial.
func TestJournalUnreadSerial(t *testing.T) {
	tb := New([]string{jzone}, "me")
	clk := useFakeClock(tb, time.Unix(2_000_000_000, 0))
	jset(tb, "a", "192.0.2.1")
	clk.tick()
	jset(tb, "a", "192.0.2.2") // serial moves with the clock, unread
	if steps, _ := tb.JournalLen(jzone); steps != 0 {
		t.Fatalf("%d steps before anyone read the serial", steps)
	}
	s0 := tb.Serial(jzone)
	jset(tb, "a", "192.0.2.3")
	clk.tick()
	clk.tick()
	jset(tb, "a", "192.0.2.4") // unread serial: merges into the step, which ends at the new serial
	cur, changes, ok := tb.Delta(jzone, s0)
	if !ok || cur != uint32(clk.now.Unix()) || describeDelta(changes) != "a 192.0.2.2>192.0.2.4" {
		t.Errorf("Delta from %d: %d %v %q", s0, cur, ok, describeDelta(changes))
	}
	if steps, n := tb.JournalLen(jzone); steps != 1 || n != 1 {
		t.Errorf("%d steps, %d changes; want 1, 1", steps, n)
	}
}

func TestJournalCaps(t *testing.T) {
	for _, tc := range []struct {
		name           string
		entries, bytes int
		changes        []int // names changed per step
		reach          []int // steps from whose start Delta reaches (0: the first)
		steps          int
	}{
		{"within", 10, 1 << 20, []int{1, 2, 3}, []int{0, 1, 2}, 3},
		{"entries drop the oldest", 4, 1 << 20, []int{1, 2, 3}, []int{2}, 1},
		{"entries exact", 5, 1 << 20, []int{1, 2, 3}, []int{1, 2}, 2},
		{"one step above the cap drops all", 2, 1 << 20, []int{1, 3}, nil, 0},
		{"bytes", 100, 1000, []int{1, 1, 1, 1, 1}, []int{2, 3, 4}, 3},
		{"bytes too small for one", 100, 100, []int{1, 1}, nil, 0},
		{"disabled", 0, 1 << 20, []int{1, 1}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb, clk := journalTable()
			tb.SetJournalLimits(tc.entries, tc.bytes)
			var starts []uint32
			k := 0
			for _, n := range tc.changes {
				starts = append(starts, clk.read(jzone))
				for i := 0; i < n; i++ {
					k++
					jset(tb, fmt.Sprintf("n%d", k), fmt.Sprintf("192.0.2.%d", k))
				}
			}
			cur := clk.read(jzone)
			for i, s := range starts {
				want := false
				for _, r := range tc.reach {
					want = want || r == i
				}
				if _, _, ok := tb.Delta(jzone, s); ok != want {
					t.Errorf("Delta from the start of step %d (serial %d, current %d): ok %v, want %v", i, s, cur, ok, want)
				}
			}
			if steps, _ := tb.JournalLen(jzone); steps != tc.steps {
				t.Errorf("%d steps kept, want %d", steps, tc.steps)
			}
		})
	}
}
