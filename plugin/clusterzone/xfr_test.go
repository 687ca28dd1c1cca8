package clusterzone

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/source/manifests"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/store"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"
	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
)

func collect(t *testing.T, cz *Clusterzone, zone string, serial uint32) []dns.RR {
	t.Helper()
	ch, err := cz.Transfer(zone, serial)
	if err != nil {
		t.Fatalf("Transfer(%s, %d): %v", zone, serial, err)
	}
	var out []dns.RR
	for rrs := range ch {
		out = append(out, rrs...)
	}
	return out
}

func TestTransferAXFR(t *testing.T) {
	for _, tc := range []struct {
		view  table.View
		names int      // names in the view
		want  []string // records besides SOA, NS and glue, in order
	}{
		// External: no pending load balancer, SRV records.
		{table.External, 14, []string{
			"_np._tcp.np.example.org.\t60\tIN\tSRV\t0 50 30080 np.example.org.",
			"example.org.\t60\tIN\tA\t192.0.2.10",
			"example.org.\t60\tIN\tAAAA\t2001:db8::10",
			"example.org.\t60\tIN\tTXT\t\"heritage=external-dns,external-dns/owner=test,external-dns/resource=service/shop/web\"",
			"*.apps.example.org.\t300\tIN\tA\t192.0.2.12",
		}},
		// Internal: the pending load balancer's ClusterIP, no SRV, nothing for "two" (no ClusterIP).
		{table.Internal, 12, []string{
			"pending.example.org.\t60\tIN\tA\t10.96.0.13",
			"example.org.\t60\tIN\tA\t10.96.0.10",
			"example.org.\t60\tIN\tAAAA\tfd00:10:96::a",
		}},
	} {
		cz := newTestPlugin(t, testServices, tc.view)
		rrs := collect(t, cz, "example.org.", 0)
		if len(rrs) < 5 {
			t.Fatalf("%v: AXFR %v", tc.view, rrs)
		}
		first, ok1 := rrs[0].(*dns.SOA)
		last, ok2 := rrs[len(rrs)-1].(*dns.SOA)
		if !ok1 || !ok2 || first.Serial != last.Serial {
			t.Fatalf("%v: AXFR must start and end with the same SOA: %v ... %v", tc.view, rrs[0], rrs[len(rrs)-1])
		}
		if rrs[1].String() != "example.org.\t60\tIN\tNS\tns1.example.org." || rrs[2].String() != "ns1.example.org.\t60\tIN\tA\t127.0.0.1" {
			t.Errorf("%v: NS and glue after the SOA: %v %v", tc.view, rrs[1], rrs[2])
		}
		got := map[string]bool{}
		for _, rr := range rrs {
			got[rr.String()] = true
		}
		for _, w := range tc.want {
			if !got[w] {
				t.Errorf("%v: AXFR lacks %q", tc.view, w)
			}
		}
		// Every name the table publishes in the view, nothing else (SOA,
		// NS, glue, and for each name its records in the view plus a TXT).
		names := map[string]bool{}
		for _, rr := range rrs[3 : len(rrs)-1] {
			names[rr.Header().Name] = true
		}
		if len(names) != tc.names {
			t.Errorf("%v: %d names in the AXFR, want %d: %v", tc.view, len(names), tc.names, names)
		}
	}
}

func TestTransferIXFR(t *testing.T) {
	cz := newTestPlugin(t, testServices, table.External)
	full := collect(t, cz, "example.org.", 0)
	cur := full[0].(*dns.SOA).Serial
	for _, s := range []uint32{cur, cur + 1, cur + 1<<30} {
		got := collect(t, cz, "example.org.", s)
		if len(got) != 1 || got[0].(*dns.SOA).Serial != cur {
			t.Errorf("IXFR from %d (current %d): %v, want the single SOA", s, cur, got)
		}
	}
	for _, s := range []uint32{cur - 1, cur - 1<<30} {
		if got := collect(t, cz, "example.org.", s); len(got) != len(full) {
			t.Errorf("IXFR from old serial %d: %d records, want the full %d", s, len(got), len(full))
		}
	}
}

// lbService is a LoadBalancer Service n/name publishing host (a label of
// example.org) with ingress ips and ClusterIP cip.
func lbService(t *testing.T, name, host, cip string, ips []string) *corev1.Service {
	t.Helper()
	var ingress []string
	for _, ip := range ips {
		ingress = append(ingress, fmt.Sprintf(`{"ip":%q}`, ip))
	}
	js := fmt.Sprintf(`{"apiVersion":"v1","kind":"Service","metadata":{"name":%q,"namespace":"n","annotations":{"external-dns.alpha.kubernetes.io/hostname":"%s.example.org"}},"spec":{"type":"LoadBalancer","clusterIPs":[%q]},"status":{"loadBalancer":{"ingress":[%s]}}}`,
		name, host, cip, strings.Join(ingress, ","))
	svcs, err := manifests.Parse("test", []byte(js))
	if err != nil || len(svcs) != 1 {
		t.Fatalf("%s: %v", js, err)
	}
	return svcs[0]
}

// applyIXFR applies an RFC 1995 incremental transfer to zone (presentation
// strings): it checks the framing (SOA new, then per sequence SOA old,
// deletions, SOA new, additions; SOA new last) and that every deletion was
// there and every addition was not.
func applyIXFR(t *testing.T, zone map[string]bool, rrs []dns.RR) {
	t.Helper()
	soa := func(i int) *dns.SOA {
		s, ok := rrs[i].(*dns.SOA)
		if !ok {
			t.Fatalf("IXFR record %d is %v, want an SOA", i, rrs[i])
		}
		return s
	}
	if len(rrs) < 4 {
		t.Fatalf("IXFR too short: %v", rrs)
	}
	newest := soa(0).Serial
	if soa(len(rrs)-1).Serial != newest {
		t.Fatalf("IXFR ends with serial %d, starts with %d", soa(len(rrs)-1).Serial, newest)
	}
	del := false
	for i, rr := range rrs[1 : len(rrs)-1] {
		if _, ok := rr.(*dns.SOA); ok {
			del = !del
			continue
		}
		k := rr.String()
		switch {
		case del && !zone[k]:
			t.Errorf("IXFR record %d deletes %q, which the zone does not hold", i+1, k)
		case del:
			delete(zone, k)
		case zone[k]:
			t.Errorf("IXFR record %d adds %q, which the zone holds", i+1, k)
		default:
			zone[k] = true
		}
	}
	if del {
		t.Errorf("IXFR ends in a deletion sequence")
	}
}

// zoneSet returns the records of an AXFR but its SOAs, as presentation strings.
func zoneSet(rrs []dns.RR) map[string]bool {
	out := map[string]bool{}
	for _, rr := range rrs {
		if rr.Header().Rrtype != dns.TypeSOA {
			out[rr.String()] = true
		}
	}
	return out
}

// TestTransferIXFRIncremental: after changes, an IXFR from a serial a
// secondary had gets exactly the records that changed, per view, and
// applying it to that serial's AXFR gives the current AXFR.
func TestTransferIXFRIncremental(t *testing.T) {
	const zone = "example.org."
	for _, v := range []table.View{table.External, table.Internal, table.All} {
		t.Run(v.String(), func(t *testing.T) {
			cz := newTestPlugin(t, testServices, v)
			st := cz.shared.Store()
			before := collect(t, cz, zone, 0)
			s0 := before[0].(*dns.SOA).Serial

			upsert(st, lbService(t, "a", "a", "10.96.1.1", []string{"192.0.2.101"}))
			upsert(st, lbService(t, "b", "b", "10.96.1.2", []string{"192.0.2.102", "2001:db8::102"}))
			mid := collect(t, cz, zone, 0)
			s1 := mid[0].(*dns.SOA).Serial
			// b's IPv4 address changes, a goes, c comes and goes.
			upsert(st, lbService(t, "b", "b", "10.96.1.2", []string{"192.0.2.112", "2001:db8::102"}))
			st.Delete("n/a")
			upsert(st, lbService(t, "c", "c", "10.96.1.3", []string{"192.0.2.103"}))
			st.Delete("n/c")
			after := collect(t, cz, zone, 0)
			s2 := after[0].(*dns.SOA).Serial
			if !(s0 < s1 && s1 < s2) {
				t.Fatalf("serials %d %d %d", s0, s1, s2)
			}

			for _, from := range []struct {
				serial uint32
				axfr   []dns.RR
			}{{s0, before}, {s1, mid}} {
				got := collect(t, cz, zone, from.serial)
				if len(got) >= 2 && got[1].(*dns.SOA).Serial != from.serial {
					t.Errorf("IXFR from %d: second SOA %v", from.serial, got[1])
				}
				have := zoneSet(from.axfr)
				applyIXFR(t, have, got)
				if want := zoneSet(after); !maps.Equal(have, want) {
					t.Errorf("IXFR from %d applied to its AXFR:\n%v\nwant the current AXFR:\n%v", from.serial, sortedKeys(have), sortedKeys(want))
				}
				for _, rr := range got {
					if strings.Contains(rr.String(), "192.0.2.103") || strings.Contains(rr.String(), "10.96.1.3") {
						t.Errorf("IXFR from %d carries c, added and removed since: %v", from.serial, rr)
					}
				}
			}

			// Exactly the changed records, in the external view.
			if v == table.External {
				got := collect(t, cz, zone, s1)
				var lines []string
				for _, rr := range got {
					lines = append(lines, rr.String())
				}
				soa := func(s uint32) string {
					return fmt.Sprintf("example.org.\t60\tIN\tSOA\tns1.example.org. hostmaster.example.org. %d 7200 1800 1209600 60", s)
				}
				want := []string{
					soa(s2), soa(s1),
					"a.example.org.\t60\tIN\tA\t192.0.2.101",
					"a.example.org.\t60\tIN\tTXT\t\"heritage=external-dns,external-dns/owner=test,external-dns/resource=service/n/a\"",
					"b.example.org.\t60\tIN\tA\t192.0.2.102",
					soa(s2),
					"b.example.org.\t60\tIN\tA\t192.0.2.112",
					soa(s2),
				}
				if strings.Join(lines, "\n") != strings.Join(want, "\n") {
					t.Errorf("IXFR from %d:\n%s\nwant:\n%s", s1, strings.Join(lines, "\n"), strings.Join(want, "\n"))
				}
			}

			// The current serial, or a newer one: the single SOA.
			for _, s := range []uint32{s2, s2 + 1} {
				if got := collect(t, cz, zone, s); len(got) != 1 || got[0].(*dns.SOA).Serial != s2 {
					t.Errorf("IXFR from %d (current %d): %v, want the single SOA", s, s2, got)
				}
			}
			// A serial the journal does not reach: the whole zone.
			if got := collect(t, cz, zone, s0-1); strings.Join(rrStringsOf(got), "\n") != strings.Join(rrStringsOf(after), "\n") {
				t.Errorf("IXFR from %d: %d records, want the AXFR's %d", s0-1, len(got), len(after))
			}
		})
	}
}

// With the journal disabled every IXFR from an older serial gets the whole zone.
func TestTransferIXFRJournalOff(t *testing.T) {
	const zone = "example.org."
	cz := newTestPlugin(t, testServices, table.External)
	st := cz.shared.Store()
	st.Table().SetJournalLimits(0, 0)
	s0 := collect(t, cz, zone, 0)[0].(*dns.SOA).Serial
	upsert(st, lbService(t, "a", "a", "10.96.1.1", []string{"192.0.2.101"}))
	after := collect(t, cz, zone, 0)
	if got := collect(t, cz, zone, s0); strings.Join(rrStringsOf(got), "\n") != strings.Join(rrStringsOf(after), "\n") {
		t.Errorf("IXFR from %d with the journal off: %d records, want the AXFR's %d", s0, len(got), len(after))
	}
}

func rrStringsOf(rrs []dns.RR) []string {
	out := make([]string, len(rrs))
	for i, rr := range rrs {
		out[i] = rr.String()
	}
	return out
}

func sortedKeys(m map[string]bool) string {
	keys := slices.Sorted(maps.Keys(m))
	return strings.Join(keys, "\n")
}

func TestTransferNotAuthoritative(t *testing.T) {
	cz := newTestPlugin(t, testServices, table.External)
	for _, z := range []string{"example.com.", "web.example.org.", "org."} {
		if _, err := cz.Transfer(z, 0); err != transfer.ErrNotAuthoritative {
			t.Errorf("Transfer(%s): %v, want ErrNotAuthoritative", z, err)
		}
	}
}

// notifySink is a UDP DNS server that records the NOTIFY messages it gets.
type notifySink struct {
	addr string
	mu   sync.Mutex
	got  []string
	at   []time.Time
}

func startNotifySink(t *testing.T) *notifySink {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &notifySink{addr: pc.LocalAddr().String()}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		if r.Opcode == dns.OpcodeNotify {
			n.mu.Lock()
			n.got = append(n.got, r.Question[0].Name)
			n.at = append(n.at, time.Now())
			n.mu.Unlock()
		}
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return n
}

func (n *notifySink) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.got)
}

// testTransferPlugin builds the transfer plugin from a Corefile snippet.
func testTransferPlugin(t testing.TB, input string) *transfer.Transfer {
	t.Helper()
	c := caddy.NewTestController("dns", input)
	setupFn, err := caddy.DirectiveAction("dns", "transfer")
	if err != nil {
		t.Fatal(err)
	}
	if err := setupFn(c); err != nil {
		t.Fatal(err)
	}
	return dnsserver.GetConfig(c).Plugin[0](nil).(*transfer.Transfer)
}

func TestNotify(t *testing.T) {
	sink := startNotifySink(t)
	x := testTransferPlugin(t, fmt.Sprintf("transfer example.org {\n to %s\n}", sink.addr))

	zones := []string{"example.org."}
	opts := translate.Options{Prefixes: []string{translate.PrefixAlpha}, Zones: zones, DefaultTTL: 60, Controllers: translate.DefaultControllers}
	st := store.New(opts, table.New(zones, "test"), nil, nil)
	cz := &Clusterzone{Zones: zones, view: table.External}
	cz.setNS("", nil)
	cz.shared = sharedWith(sharedConfig{translate: opts, ownerID: "test"}, st)
	cz.startNotify(x)
	defer cz.stopNotify()

	// Loading the first state: no NOTIFY until it is complete (a secondary
	// would get SERVFAIL and back off for the SOA retry time).
	svcs, err := manifests.Parse("test", []byte(testServices))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs {
		upsert(st, s)
	}
	time.Sleep(3 * notifyDelay)
	if n := sink.count(); n != 0 {
		t.Fatalf("%d NOTIFYs before the first full sync", n)
	}

	// Synced: one NOTIFY, even with no change since (a restarted primary
	// tells its secondaries about its new serial).
	synced := time.Now()
	st.MarkSynced()
	harness.WaitFor(t, 5*time.Second, "the NOTIFYs", func() bool { return sink.count() == 1 })
	if d := sink.at[0].Sub(synced); d > 3*notifyDelay {
		t.Errorf("startup NOTIFY %v after the sync", d)
	}

	// A burst of changes: one NOTIFY.
	for i := 0; i < 5; i++ {
		svcs, _ := manifests.Parse("x", []byte(fmt.Sprintf(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"n%d","namespace":"n","annotations":{"external-dns.alpha.kubernetes.io/hostname":"n%d.example.org"}},"spec":{"type":"LoadBalancer"},"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.99"}]}}}`, i, i)))
		upsert(st, svcs[0])
	}
	harness.WaitFor(t, 5*time.Second, "the NOTIFYs", func() bool { return sink.count() == 2 })
	time.Sleep(3 * notifyDelay)
	if n := sink.count(); n != 2 {
		t.Errorf("%d NOTIFYs, want 2 (startup, one for the burst)", n)
	}
	for _, z := range sink.got {
		if z != "example.org." {
			t.Errorf("NOTIFY for %q", z)
		}
	}

	// Stopped: no more.
	cz.stopNotify()
	st.Delete("n/n0")
	time.Sleep(3 * notifyDelay)
	if n := sink.count(); n != 2 {
		t.Errorf("%d NOTIFYs after stopNotify, want 2", n)
	}
}
