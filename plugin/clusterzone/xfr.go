package clusterzone

import (
	"sync"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/miekg/dns"
)

// notifyDelay is how long a burst of changes may last before one NOTIFY goes out.
const notifyDelay = 500 * time.Millisecond

// Transfer implements the transfer.Transferer interface. With serial 0
// (AXFR) it sends the whole zone. Otherwise (IXFR, RFC 1995) it sends a
// single SOA when serial is current or newer, the changes since serial when
// the journal reaches back to it (condensed into one difference sequence,
// RFC 1995 section 6: SOA new, SOA old, deletions, SOA new, additions, SOA
// new), and the whole zone when it does not.
func (cz *Clusterzone) Transfer(zone string, serial uint32) (<-chan []dns.RR, error) {
	z := plugin.Zones(cz.Zones).Matches(zone)
	if z == "" || z != zone {
		return nil, transfer.ErrNotAuthoritative
	}
	st := cz.shared.Store()
	if st == nil || !st.Synced() {
		return nil, errNotStarted
	}
	t := st.Table()
	if serial != 0 {
		// The serial and the changes that lead to it are read under one
		// lock (Delta), as the entries of an AXFR are (Snapshot).
		cur, changes, ok := t.Delta(zone, serial)
		if !serialOlder(serial, cur) {
			transferCount.WithLabelValues(zone, "ixfr-current").Inc()
			ch := make(chan []dns.RR, 1)
			ch <- []dns.RR{cz.soaWith(zone, cur)}
			close(ch)
			return ch, nil
		}
		if ok {
			transferCount.WithLabelValues(zone, "ixfr").Inc()
			ch := make(chan []dns.RR, 1)
			ch <- cz.ixfr(t, zone, serial, cur, changes)
			close(ch)
			return ch, nil
		}
		transferCount.WithLabelValues(zone, "ixfr-full").Inc()
	} else {
		transferCount.WithLabelValues(zone, "axfr").Inc()
	}
	// The SOA must describe the records sent with it: the serial and the
	// entries are read under one lock (as the file plugin's snapshot), so a
	// change cannot slip between them.
	cur, entries := t.Snapshot(zone, cz.view)
	soa := cz.soaWith(zone, cur)
	ch := make(chan []dns.RR, 2)
	go func() {
		defer close(ch)
		head := []dns.RR{soa, cz.ns(zone)}
		if nsName := cz.nsFor(zone); dns.IsSubDomain(zone, nsName) {
			head = append(head, cz.glue(zone)...)
		}
		ch <- head
		batch := make([]dns.RR, 0, 256)
		for _, e := range entries {
			batch = append(batch, t.All(e, cz.view)...)
			if len(batch) >= 200 {
				ch <- batch
				batch = make([]dns.RR, 0, 256)
			}
		}
		batch = append(batch, soa)
		ch <- batch
	}()
	return ch, nil
}

// ixfr returns the incremental transfer of zone from serial from to serial
// to: SOA to, SOA from, the records removed, SOA to, the records added, SOA
// to. Each change is rendered in this block's view as the AXFR renders it
// (the SOA, NS and glue come from the configuration and do not change), and
// only the records that differ are sent: a name whose TTL stays and whose
// address changes gets one deletion and one addition, its TXT neither.
func (cz *Clusterzone) ixfr(t *table.Table, zone string, from, to uint32, changes []table.JournalChange) []dns.RR {
	var del, add []dns.RR
	for _, c := range changes {
		old, new := cz.render(t, c.Old), cz.render(t, c.New)
		del = append(del, without(old, new)...)
		add = append(add, without(new, old)...)
	}
	soa := cz.soaWith(zone, to)
	out := make([]dns.RR, 0, len(del)+len(add)+4)
	out = append(out, soa, cz.soaWith(zone, from))
	out = append(out, del...)
	out = append(out, soa)
	out = append(out, add...)
	return append(out, soa)
}

// render returns the records of e in this block's view, none when it does
// not publish there (what the AXFR sends of it).
func (cz *Clusterzone) render(t *table.Table, e *table.Entry) []dns.RR {
	if e == nil || !e.In(cz.view) {
		return nil
	}
	return t.All(e, cz.view)
}

// without returns the records of a that are not in b (same name, type, TTL
// and data). A name has a handful of records: a linear search.
func without(a, b []dns.RR) []dns.RR {
	var out []dns.RR
	for _, x := range a {
		found := false
		for _, y := range b {
			if x.Header().Ttl == y.Header().Ttl && dns.IsDuplicate(x, y) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

// serialOlder reports whether a is older than b in RFC 1982 serial arithmetic.
func serialOlder(a, b uint32) bool { return a != b && int32(b-a) > 0 }

// notifier sends NOTIFY for this block's zones through the transfer plugin,
// once per burst of changes, and once at startup when the first full state
// has been loaded.
type notifier struct {
	xfr    *transfer.Transfer
	zones  []string
	synced func() bool

	mu      sync.Mutex
	pending map[string]bool
	timer   *time.Timer
	stopped bool
}

// startNotify subscribes to table changes when the transfer plugin is in
// this server block.
func (cz *Clusterzone) startNotify(h plugin.Handler) {
	x, ok := h.(*transfer.Transfer)
	st := cz.shared.Store()
	if !ok || st == nil {
		return
	}
	n := &notifier{xfr: x, zones: cz.Zones, synced: st.Synced, pending: map[string]bool{}}
	cz.notify = n
	st.Table().Subscribe(n.changed)
	// As the file plugin does, NOTIFY at startup (here: once the source has
	// loaded its first full state), so that secondaries pick up what changed
	// while this server was down or since a Corefile reload, instead of
	// waiting for the SOA refresh.
	n.mu.Lock()
	for _, z := range n.zones {
		n.pending[z] = true
	}
	n.arm()
	n.mu.Unlock()
}

func (cz *Clusterzone) stopNotify() {
	if n := cz.notify; n != nil {
		n.mu.Lock()
		n.stopped = true
		if n.timer != nil {
			n.timer.Stop()
		}
		n.mu.Unlock()
	}
}

// changed is a table subscriber: it must not block.
func (n *notifier) changed(ch table.Change) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return
	}
	for _, z := range ch.Zones {
		if plugin.Zones(n.zones).Matches(z) == z {
			n.pending[z] = true
		}
	}
	n.arm()
}

// arm starts the timer of a NOTIFY round when zones are pending; n.mu is held.
func (n *notifier) arm() {
	if len(n.pending) > 0 && n.timer == nil && !n.stopped {
		n.timer = time.AfterFunc(notifyDelay, n.send)
	}
}

func (n *notifier) send() {
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return
	}
	if n.synced != nil && !n.synced() {
		// Not loaded yet: a secondary asking now would get SERVFAIL and
		// back off for the SOA retry time. Keep the zones pending.
		n.timer = time.AfterFunc(notifyDelay, n.send)
		n.mu.Unlock()
		return
	}
	zones := n.pending
	n.pending = map[string]bool{}
	n.timer = nil
	n.mu.Unlock()
	for z := range zones {
		notifyCount.WithLabelValues(z).Inc()
		if err := n.xfr.Notify(z); err != nil {
			log.Warningf("NOTIFY for %s: %v", z, err)
		}
	}
}
