package table

import (
	"slices"
	"strings"
)

// node is one name in the tree of names: claimed by Services, or an empty
// non-terminal above published names, or both.
type node struct {
	claims []*Entry // one per claiming owner (almost always one: a slice, not a map)
	win    *Entry
	// below[v] is the number of names strictly below this one that publish
	// something in view v.
	below [numViews]int32
}

// published returns the views in which n's winner publishes records.
func (n *node) published() uint8 {
	if n == nil || n.win == nil {
		return 0
	}
	return n.win.views
}

// exists reports whether the name exists in view v: it publishes records
// there, or is an empty non-terminal above a name that does. nil does not.
func (n *node) exists(v View) bool {
	return n != nil && (n.published()&(1<<v) != 0 || n.below[v] > 0)
}

// entry returns n's winner when it publishes in view v, nil otherwise.
func (n *node) entry(v View) *Entry {
	if n.published()&(1<<v) != 0 {
		return n.win
	}
	return nil
}

// empty reports whether n holds nothing: no claim and nothing below.
func (n *node) empty() bool {
	return len(n.claims) == 0 && n.below == [numViews]int32{}
}

// Conflict reports a Service that claims a name another Service holds.
type Conflict struct {
	Name   string
	Loser  Owner
	Winner Owner
}

// nameSep separates the names of an owner in byOwner: a space, which no
// name in the table holds (LDH labels, "*" and "_").
const nameSep = " "

// joinNames returns the names of sets joined by nameSep.
func joinNames(sets []RecordSet) string {
	if len(sets) == 1 {
		return sets[0].Name
	}
	names := make([]string, len(sets))
	for i := range sets {
		names[i] = sets[i].Name
	}
	return strings.Join(names, nameSep)
}

// Apply replaces everything owner publishes with sets. Its cost is
// proportional to the names owner had and has, not to the table.
func (t *Table) Apply(owner Owner, sets []RecordSet) Change {
	// keep reports whether a name is still published. Most Services publish
	// a name or two: a linear search beats building a map.
	keep := func(name string) bool {
		for i := range sets {
			if sets[i].Name == name {
				return true
			}
		}
		return false
	}
	if len(sets) > 16 {
		newSets := make(map[string]struct{}, len(sets))
		for _, s := range sets {
			newSets[s.Name] = struct{}{}
		}
		keep = func(name string) bool { _, ok := newSets[name]; return ok }
	}
	t.mu.Lock()
	var ch Change
	var changed, routed []string
	// The owner's names before this change: when it claims exactly the one
	// name it claims again, its entry there says so, and the lookup in
	// byOwner (a cache miss or two in a large table) is not needed.
	old, found := "", false
	if len(sets) == 1 {
		if n := t.names[sets[0].Name]; n != nil {
			if i := n.claimOf(owner.Key); i >= 0 && n.claims[i].sole {
				old, found = sets[0].Name, true
			}
		}
	}
	if !found {
		old = t.byOwner[owner.Key]
	}
	for rest := old; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, nameSep)
		if keep(name) {
			continue
		}
		switch won, r := t.unclaim(name, owner.Key); {
		case won:
			changed = append(changed, name)
		case r:
			routed = append(routed, name)
		}
	}
	// Whether the owner's names are the ones it had, in the same order.
	sameNames, rest := true, old
	for _, s := range sets {
		var name string
		name, rest, _ = strings.Cut(rest, nameSep)
		sameNames = sameNames && name == s.Name
		won, r, conflicts := t.claim(owner, s, len(sets) == 1)
		switch {
		case won:
			changed = append(changed, s.Name)
		case r:
			routed = append(routed, s.Name)
		}
		ch.Conflicts = append(ch.Conflicts, conflicts...)
	}
	switch {
	case len(sets) == 0:
		delete(t.byOwner, owner.Key)
	case !sameNames || rest != "":
		t.byOwner[owner.Key] = joinNames(sets)
	}
	ch.Names, ch.Zones = t.bump(changed)
	ch.Routed = routed
	t.mu.Unlock()
	t.notify(ch)
	return ch
}

// Delete removes everything owner key publishes.
func (t *Table) Delete(key string) Change {
	t.mu.Lock()
	var changed, routed []string
	for rest := t.byOwner[key]; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, nameSep)
		switch won, r := t.unclaim(name, key); {
		case won:
			changed = append(changed, name)
		case r:
			routed = append(routed, name)
		}
	}
	delete(t.byOwner, key)
	var ch Change
	ch.Names, ch.Zones = t.bump(changed)
	ch.Routed = routed
	t.mu.Unlock()
	t.notify(ch)
	return ch
}

// Owners returns the keys of every owner that publishes something.
func (t *Table) Owners() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, 0, len(t.byOwner))
	for k := range t.byOwner {
		out = append(out, k)
	}
	return out
}

// claim adds or replaces owner's record set at s.Name. It reports whether the
// published records at the name changed, whether only a claim routed beside
// the winner changed (see node.coRouted), and the conflicts this claim
// made: owner losing the name, or the claimants owner took it from.
// sole tells whether s is the only record set of owner.
func (t *Table) claim(owner Owner, s RecordSet, sole bool) (won, routed bool, _ []Conflict) {
	n := t.names[s.Name]
	if n == nil {
		n = &node{}
		t.names[s.Name] = n
	}
	i := n.claimOf(owner.Key)
	var prevEntry *Entry
	if i >= 0 {
		prevEntry = n.claims[i]
	}
	if prevEntry != nil && prevEntry.Set.equal(s) && prevEntry.Owner.Created == owner.Created {
		prevEntry.sole = sole // the owner may have gained or lost other names
		return false, false, nil
	}
	e := &Entry{Owner: owner, Set: s, views: s.views(), sole: sole}
	if i >= 0 {
		n.claims[i] = e
	} else {
		n.claims = append(n.claims, e)
	}
	prev, was := n.win, n.published()
	n.win = pickWinner(n.claims)
	t.published(s.Name, was, n.published())
	if prev != n.win {
		t.jot(s.Name, prev, n.win)
	}
	var conflicts []Conflict
	if n.win != e {
		if !n.coRouted(e) {
			conflicts = append(conflicts, Conflict{Name: s.Name, Loser: owner, Winner: n.win.Owner})
		}
	} else if prev != nil && prev.Owner.Key != owner.Key && !n.coRouted(prev) {
		conflicts = append(conflicts, Conflict{Name: s.Name, Loser: prev.Owner, Winner: owner})
	}
	won = prev != n.win
	return won, !won && (s.Routing != nil || prevEntry != nil && prevEntry.Set.Routing != nil), conflicts
}

// routable reports whether e has a valid Route 53 routing policy.
func routable(e *Entry) bool {
	return e != nil && e.Set.Routing != nil && e.Set.Routing.Invalid == "" && e.Set.Routing.Policy != ""
}

// coRouted reports whether e, a claim of n other than its winner, is
// published beside the winner to Route 53: both have the same routing
// policy under different set identifiers, and no claim before e (in the
// winner's order) has e's set identifier. Such a claim is no conflict;
// the served zone still answers with the winner only.
func (n *node) coRouted(e *Entry) bool {
	w := n.win
	if e == w || !routable(w) || !routable(e) || e.Set.Routing.Policy != w.Set.Routing.Policy ||
		e.Set.Routing.SetIdentifier == w.Set.Routing.SetIdentifier {
		return false
	}
	for _, c := range n.claims {
		if c != e && c != w && c.Owner.before(e.Owner) && routable(c) && c.Set.Routing.Policy == w.Set.Routing.Policy &&
			c.Set.Routing.SetIdentifier == e.Set.Routing.SetIdentifier {
			return false
		}
	}
	return true
}

// routedEntries appends n's claims routed beside its winner that publish in
// view v, by owner order.
func (n *node) routedEntries(out []*Entry, v View) []*Entry {
	if len(n.claims) < 2 || !routable(n.win) {
		return out
	}
	start := len(out)
	for _, c := range n.claims {
		if c.views&(1<<v) != 0 && n.coRouted(c) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out[start:], func(a, b *Entry) int {
		if a.Owner.before(b.Owner) {
			return -1
		}
		return 1
	})
	return out
}

// unclaim removes key's claim on name; it reports whether the published
// records changed, and whether only a claim with a routing policy beside
// the winner went.
func (t *Table) unclaim(name, key string) (won, routed bool) {
	n := t.names[name]
	if n == nil {
		return false, false
	}
	i := n.claimOf(key)
	if i < 0 {
		return false, false
	}
	gone := n.claims[i]
	n.claims = slices.Delete(n.claims, i, i+1)
	prev, was := n.win, n.published()
	if len(n.claims) == 0 {
		n.claims = nil
	}
	n.win = pickWinner(n.claims)
	t.published(name, was, n.published())
	if prev != n.win {
		t.jot(name, prev, n.win)
	}
	if n.empty() {
		delete(t.names, name)
	}
	won = prev != n.win
	return won, !won && gone.Set.Routing != nil && len(n.claims) > 0
}

// published accounts for a change of the views name publishes in, from was
// to now: the count of published names, and the empty non-terminals above.
func (t *Table) published(name string, was, now uint8) {
	if was == now {
		return
	}
	switch {
	case was == 0:
		t.claimed++
	case now == 0:
		t.claimed--
	}
	for v := View(0); v < numViews; v++ {
		bit := uint8(1) << v
		switch {
		case was&bit == 0 && now&bit != 0:
			t.adjustAbove(name, v, +1)
		case was&bit != 0 && now&bit == 0:
			t.adjustAbove(name, v, -1)
		}
	}
}

// adjustAbove counts a name published in view v in (or out of) every
// ancestor up to its zone.
func (t *Table) adjustAbove(name string, v View, d int32) {
	zone := t.zoneOf(name)
	for p := parent(name); p != "" && isSubDomain(zone, p); p = parent(p) {
		n := t.names[p]
		if n == nil {
			n = &node{}
			t.names[p] = n
		}
		n.below[v] += d
		if n.empty() {
			delete(t.names, p)
		}
		if p == zone {
			break
		}
	}
}

// claimOf returns the index of key's claim in n.claims, or -1.
func (n *node) claimOf(key string) int {
	for i, e := range n.claims {
		if e.Owner.Key == key {
			return i
		}
	}
	return -1
}

func pickWinner(claims []*Entry) *Entry {
	var w *Entry
	for _, e := range claims {
		if w == nil || e.Owner.before(w.Owner) {
			w = e
		}
	}
	return w
}
