package table

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func set(name string, ext ...string) RecordSet {
	s := RecordSet{Name: name, TTL: 60}
	for _, e := range ext {
		s.External = append(s.External, netip.MustParseAddr(e))
	}
	return s
}

func owner(key string, created int64) Owner { return Owner{Key: key, Created: created} }

func TestApplyAndLookup(t *testing.T) {
	tb := New([]string{"example.org."}, "me")
	tb.Apply(owner("ns/web", 1), []RecordSet{set("web.a.example.org.", "192.0.2.1", "2001:db8::1")})

	a := tb.Lookup("example.org.", "web.a.example.org.", External)
	if !a.Exists || a.Entry == nil {
		t.Fatalf("lookup: %+v", a)
	}
	if got := tb.Records(a.Entry, dns.TypeA, External, "web.a.example.org."); len(got) != 1 || got[0].(*dns.A).A.String() != "192.0.2.1" {
		t.Errorf("A %v", got)
	}
	if got := tb.Records(a.Entry, dns.TypeAAAA, External, "web.a.example.org."); len(got) != 1 {
		t.Errorf("AAAA %v", got)
	}
	if got := tb.Records(a.Entry, dns.TypeTXT, External, "web.a.example.org."); len(got) != 1 || got[0].(*dns.TXT).Txt[0] != "heritage=external-dns,external-dns/owner=me,external-dns/resource=service/ns/web" {
		t.Errorf("TXT %v", got)
	}
	if a := tb.Lookup("example.org.", "a.example.org.", External); !a.Exists || a.Entry != nil {
		t.Errorf("empty non-terminal: %+v", a)
	}
	if a := tb.Lookup("example.org.", "nope.example.org.", External); a.Exists {
		t.Errorf("unknown name exists: %+v", a)
	}

	// Moving the name: the old one and its empty non-terminal disappear.
	s0 := tb.Serial("example.org.")
	ch := tb.Apply(owner("ns/web", 1), []RecordSet{set("web.b.example.org.", "192.0.2.1")})
	if len(ch.Names) != 2 || len(ch.Zones) != 1 {
		t.Errorf("change %+v", ch)
	}
	if s1, _ := tb.Snapshot("example.org.", External); s1 <= s0 { // waits for the next second
		t.Errorf("serial %d did not increase from %d", s1, s0)
	}
	if a := tb.Lookup("example.org.", "a.example.org.", External); a.Exists {
		t.Error("a.example.org. still exists")
	}
	if tb.Len() != 1 || tb.OwnerCount() != 1 {
		t.Errorf("len %d owners %d", tb.Len(), tb.OwnerCount())
	}

	// Applying the same thing again changes nothing, not even the serial.
	s1 := tb.Serial("example.org.")
	if ch := tb.Apply(owner("ns/web", 1), []RecordSet{set("web.b.example.org.", "192.0.2.1")}); len(ch.Names) != 0 {
		t.Errorf("no-op apply changed %v", ch.Names)
	}
	if tb.Serial("example.org.") != s1 {
		t.Error("serial moved on a no-op")
	}

	tb.Delete("ns/web")
	if tb.Len() != 0 || len(tb.names) != 0 {
		t.Errorf("table not empty after delete: %d names, %v", tb.Len(), tb.names)
	}
}

func TestConflict(t *testing.T) {
	tb := New([]string{"example.org."}, "me")
	var seen []Change
	tb.Subscribe(func(c Change) { seen = append(seen, c) })

	ch := tb.Apply(owner("b/newer", 20), []RecordSet{set("x.example.org.", "192.0.2.2")})
	if len(ch.Conflicts) != 0 {
		t.Fatalf("conflicts %v", ch.Conflicts)
	}
	// An older Service claims the name: it takes it, the newer one is reported.
	ch = tb.Apply(owner("a/older", 10), []RecordSet{set("x.example.org.", "192.0.2.1")})
	if len(ch.Conflicts) != 1 || ch.Conflicts[0].Loser.Key != "b/newer" || ch.Conflicts[0].Winner.Key != "a/older" {
		t.Fatalf("conflicts %+v", ch.Conflicts)
	}
	if e := tb.Lookup("example.org.", "x.example.org.", External).Entry; e.Owner.Key != "a/older" {
		t.Errorf("winner %s", e.Owner.Key)
	}
	// The newer one changes its addresses: still loses, reported again.
	ch = tb.Apply(owner("b/newer", 20), []RecordSet{set("x.example.org.", "192.0.2.3")})
	if len(ch.Names) != 0 || len(ch.Conflicts) != 1 || ch.Conflicts[0].Loser.Key != "b/newer" {
		t.Errorf("change %+v", ch)
	}
	// Same creation time: namespace/name decides.
	tb.Apply(owner("z/same", 5), []RecordSet{set("y.example.org.", "192.0.2.9")})
	ch = tb.Apply(owner("m/same", 5), []RecordSet{set("y.example.org.", "192.0.2.8")})
	if e := tb.Lookup("example.org.", "y.example.org.", External).Entry; e.Owner.Key != "m/same" || len(ch.Conflicts) != 1 {
		t.Errorf("tie: winner %s, %+v", e.Owner.Key, ch.Conflicts)
	}
	// The winner goes away: the other claimant takes over.
	tb.Delete("a/older")
	if e := tb.Lookup("example.org.", "x.example.org.", External).Entry; e == nil || e.Owner.Key != "b/newer" {
		t.Errorf("after delete: %+v", e)
	}
	if len(seen) == 0 {
		t.Error("subscriber not called")
	}
}

func TestWildcard(t *testing.T) {
	tb := New([]string{"example.org."}, "me")
	tb.Apply(owner("n/wild", 1), []RecordSet{set("*.apps.example.org.", "192.0.2.1")})
	tb.Apply(owner("n/host", 1), []RecordSet{set("host.apps.example.org.", "192.0.2.2"), set("x.sub.apps.example.org.", "192.0.2.3")})

	if a := tb.Lookup("example.org.", "foo.apps.example.org.", External); !a.Wildcard || a.Entry.Owner.Key != "n/wild" {
		t.Errorf("foo: %+v", a)
	}
	if a := tb.Lookup("example.org.", "a.b.apps.example.org.", External); !a.Wildcard {
		t.Errorf("a.b: %+v", a)
	}
	if a := tb.Lookup("example.org.", "host.apps.example.org.", External); a.Wildcard || a.Entry.Owner.Key != "n/host" {
		t.Errorf("host: %+v", a)
	}
	// sub.apps exists (empty non-terminal): the wildcard does not apply to it
	// nor below it (RFC 4592 section 2.2.2).
	if a := tb.Lookup("example.org.", "sub.apps.example.org.", External); !a.Exists || a.Entry != nil {
		t.Errorf("sub: %+v", a)
	}
	if a := tb.Lookup("example.org.", "y.sub.apps.example.org.", External); a.Exists {
		t.Errorf("y.sub: %+v", a)
	}
	if a := tb.Lookup("example.org.", "other.example.org.", External); a.Exists {
		t.Errorf("other: %+v", a)
	}
	// An escaped dot is part of its label: x\.apps.example.org. is the label
	// "x.apps" under example.org., where no wildcard is (found by fuzzing:
	// it used to get *.apps.example.org.'s records).
	if a := tb.Lookup("example.org.", `x\.apps.example.org.`, External); a.Exists {
		t.Errorf(`x\.apps: %+v`, a)
	}
	if a := tb.Lookup("example.org.", `y.x\.apps.example.org.`, External); a.Exists {
		t.Errorf(`y.x\.apps: %+v`, a)
	}
	if a := tb.Lookup("example.org.", `y\.z.apps.example.org.`, External); !a.Wildcard || a.Entry.Owner.Key != "n/wild" {
		t.Errorf(`y\.z.apps (one label under apps): %+v`, a)
	}
}

func TestViews(t *testing.T) {
	tb := New([]string{"example.org."}, "me")
	s := set("web.example.org.", "192.0.2.1")
	s.Internal = []netip.Addr{netip.MustParseAddr("10.96.0.1"), netip.MustParseAddr("fd00::1")}
	tb.Apply(owner("n/web", 1), []RecordSet{s})
	e := tb.Lookup("example.org.", "web.example.org.", External).Entry
	for _, tc := range []struct {
		v       View
		a, aaaa int
	}{{External, 1, 0}, {Internal, 1, 1}, {All, 2, 1}} {
		if got := len(tb.Records(e, dns.TypeA, tc.v, e.Set.Name)); got != tc.a {
			t.Errorf("%s: %d A", tc.v, got)
		}
		if got := len(tb.Records(e, dns.TypeAAAA, tc.v, e.Set.Name)); got != tc.aaaa {
			t.Errorf("%s: %d AAAA", tc.v, got)
		}
	}
}

func TestSerialNeverGoesBack(t *testing.T) {
	tb := New([]string{"example.org."}, "me")
	clk := useFakeClock(tb, time.Unix(2_000_000_000, 0))
	var last uint32
	for i := 0; i < 5; i++ {
		tb.Apply(owner("n/s", 1), []RecordSet{set("s.example.org.", "192.0.2."+string(rune('1'+i)))})
		s := clk.read("example.org.")
		if s <= last {
			t.Fatalf("serial %d after %d", s, last)
		}
		last = s
	}
	if last < uint32(clk.now.Unix())-1 {
		t.Errorf("serial %d is not time-based (now %d)", last, clk.now.Unix())
	}
}

// TestOwnerNames follows one owner through changes of its names, so that the
// shortcut for an owner with a single name (no byOwner lookup) never forgets
// a name it had.
func TestOwnerNames(t *testing.T) {
	tb := New([]string{"example.org."}, "me")
	o := owner("ns/web", 1)
	exists := func(name string) bool { return tb.Lookup("example.org.", name, External).Entry != nil }
	steps := []struct {
		sets []RecordSet
		want []string // the names published afterwards
	}{
		{[]RecordSet{set("x.example.org.", "192.0.2.1")}, []string{"x.example.org."}},
		{[]RecordSet{set("x.example.org.", "192.0.2.1"), set("y.example.org.", "192.0.2.1")}, []string{"x.example.org.", "y.example.org."}},
		{[]RecordSet{set("x.example.org.", "192.0.2.2")}, []string{"x.example.org."}},
		{[]RecordSet{set("x.example.org.", "192.0.2.3")}, []string{"x.example.org."}},
		{[]RecordSet{set("x.example.org.", "192.0.2.3"), set("y.example.org.", "192.0.2.3")}, []string{"x.example.org.", "y.example.org."}},
		{[]RecordSet{set("x.example.org.", "192.0.2.3")}, []string{"x.example.org."}},
		{[]RecordSet{set("z.example.org.", "192.0.2.3")}, []string{"z.example.org."}},
	}
	for i, st := range steps {
		tb.Apply(o, st.sets)
		for _, name := range []string{"x.example.org.", "y.example.org.", "z.example.org."} {
			if want := slices.Contains(st.want, name); exists(name) != want {
				t.Errorf("step %d: %s published %v, want %v", i, name, exists(name), want)
			}
		}
		if tb.Len() != len(st.want) {
			t.Errorf("step %d: %d names, want %d", i, tb.Len(), len(st.want))
		}
	}
	tb.Delete("ns/web")
	if tb.Len() != 0 || tb.OwnerCount() != 0 || len(tb.names) != 0 {
		t.Errorf("after delete: %d names, %d owners, %v", tb.Len(), tb.OwnerCount(), tb.names)
	}
}
