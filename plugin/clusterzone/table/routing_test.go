package table

import (
	"testing"
)

func routedSet(name, id string, policy string, ext ...string) RecordSet {
	s := set(name, ext...)
	s.Routing = &Routing{SetIdentifier: id, Policy: policy, Weight: 1}
	return s
}

// Two Services at one name under different set identifiers of one routing
// policy are no conflict: the Route 53 mirror gets both (EntriesUnder,
// EntriesAt), the served zone answers with the winner.
func TestRoutedBeside(t *testing.T) {
	const name = "web.example.org."
	tb := New([]string{"example.org."}, "me")
	var routed []string
	tb.Subscribe(func(ch Change) { routed = append(routed, ch.Routed...) })
	if ch := tb.Apply(owner("ns/a", 1), []RecordSet{routedSet(name, "a", RoutingWeighted, "192.0.2.1")}); len(ch.Names) != 1 {
		t.Fatalf("first claim: %+v", ch)
	}
	ch := tb.Apply(owner("ns/b", 2), []RecordSet{routedSet(name, "b", RoutingWeighted, "192.0.2.2")})
	if len(ch.Conflicts) != 0 || len(ch.Names) != 0 || len(ch.Zones) != 0 || len(ch.Routed) != 1 || ch.Routed[0] != name {
		t.Fatalf("second claim under another set identifier: %+v, want only Routed", ch)
	}
	keys := func(es []*Entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Owner.Key)
		}
		return out
	}
	if got := keys(tb.EntriesUnder("example.org.", External)); len(got) != 2 || got[0] != "ns/a" || got[1] != "ns/b" {
		t.Errorf("EntriesUnder: %v, want the winner ns/a then ns/b", got)
	}
	if got := keys(tb.EntriesAt([]string{name}, External)); len(got) != 2 || got[0] != "ns/a" || got[1] != "ns/b" {
		t.Errorf("EntriesAt: %v", got)
	}
	if got := keys(tb.Entries("example.org.", External)); len(got) != 1 || got[0] != "ns/a" {
		t.Errorf("Entries (the served zone): %v, want the winner only", got)
	}
	if a := tb.Lookup("example.org.", name, External); a.Entry == nil || a.Entry.Owner.Key != "ns/a" {
		t.Errorf("Lookup: %+v, want the winner", a)
	}

	// The co-routed Service changes, then goes: the mirror hears of it, no serial moves.
	s0 := tb.PeekSerial("example.org.")
	routed = nil
	s := routedSet(name, "b", RoutingWeighted, "192.0.2.3")
	if ch := tb.Apply(owner("ns/b", 2), []RecordSet{s}); len(ch.Routed) != 1 || len(ch.Names) != 0 {
		t.Errorf("change of the co-routed claim: %+v", ch)
	}
	if ch := tb.Delete("ns/b"); len(ch.Routed) != 1 || len(ch.Names) != 0 {
		t.Errorf("deletion of the co-routed claim: %+v", ch)
	}
	if len(routed) != 2 || tb.PeekSerial("example.org.") != s0 {
		t.Errorf("subscribers got Routed %v; serial %d, was %d", routed, tb.PeekSerial("example.org."), s0)
	}

	// Conflicts still: the same set identifier, another policy, no routing.
	for _, c := range []struct {
		what string
		s    RecordSet
	}{
		{"the same set identifier", routedSet(name, "a", RoutingWeighted, "192.0.2.4")},
		{"another policy", routedSet(name, "c", RoutingLatency, "192.0.2.4")},
		{"no routing", set(name, "192.0.2.4")},
		{"invalid routing", func() RecordSet {
			s := routedSet(name, "c", RoutingWeighted, "192.0.2.4")
			s.Routing.Invalid = "bad"
			return s
		}()},
	} {
		ch := tb.Apply(owner("ns/c", 3), []RecordSet{c.s})
		if len(ch.Conflicts) != 1 || ch.Conflicts[0].Loser.Key != "ns/c" {
			t.Errorf("%s: %+v, want a conflict", c.what, ch)
		}
		if got := keys(tb.EntriesAt([]string{name}, External)); len(got) != 1 {
			t.Errorf("%s: EntriesAt %v, want the winner only", c.what, got)
		}
		tb.Delete("ns/c")
	}
}
