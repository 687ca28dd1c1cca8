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

// Transfer implements the transfer.Transferer interface: AXFR of the zone,
// or a single SOA when an IXFR's serial is current.
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
	// The SOA must describe the records sent with it: the serial and the
	// entries are read under one lock (as the file plugin's snapshot), so a
	// change cannot slip between them.
	cur, entries := t.Snapshot(zone, cz.view)
	soa := cz.soaWith(zone, cur)
	ch := make(chan []dns.RR, 2)
	if serial != 0 && !serialOlder(serial, cur) {
		ch <- []dns.RR{soa}
		close(ch)
		return ch, nil
	}
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
