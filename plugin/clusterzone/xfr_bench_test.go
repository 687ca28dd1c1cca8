package clusterzone

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/store"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/miekg/dns"
)

// wireCounter is a TCP ResponseWriter that counts the messages written to
// it and their packed size.
type wireCounter struct {
	test.ResponseWriter
	msgs, bytes, records int
}

func (w *wireCounter) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	w.msgs++
	w.bytes += len(b)
	w.records += len(m.Answer)
	return nil
}

// xfrBenchPlugin returns the plugin serving example.org. with names
// dual-stack names (svc<i>.example.org, each with its TXT), behind the
// transfer plugin as a Corefile would put it.
func xfrBenchPlugin(b *testing.B, names int) (*Clusterzone, *table.Table, *transfer.Transfer) {
	zones := []string{"example.org."}
	opts := translate.Options{Prefixes: []string{translate.PrefixGA}, Zones: zones, DefaultTTL: 60, Controllers: translate.DefaultControllers}
	tb := table.New(zones, "bench")
	for i := 0; i < names; i++ {
		tb.Apply(xfrBenchOwner(i), xfrBenchSet(i, 0))
	}
	st := store.New(opts, tb, nil, nil)
	st.MarkSynced()
	cz := &Clusterzone{Zones: zones, view: table.External}
	cz.setNS("ns1.example.org.", []netip.Addr{netip.MustParseAddr("127.0.0.1")})
	cz.shared = sharedWith(sharedConfig{translate: opts, ownerID: "bench"}, st)
	x := testTransferPlugin(b, "transfer example.org {\n to *\n}")
	x.Transferers = []transfer.Transferer{cz}
	return cz, tb, x
}

func xfrBenchOwner(i int) table.Owner {
	return table.Owner{Key: fmt.Sprintf("bench/svc%d", i), Created: 1}
}

// xfrBenchSet is svc<i>'s record set in version v: from version 1 on, its
// IPv4 address is 10.0.0.0 + v, a new one every version.
func xfrBenchSet(i, v int) []table.RecordSet {
	a4 := netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)})
	if v > 0 {
		a4 = netip.AddrFrom4([4]byte{10, byte(v >> 16), byte(v >> 8), byte(v)})
	}
	a6 := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
	return []table.RecordSet{{Name: fmt.Sprintf("svc%d.example.org.", i), TTL: 60, Kind: table.KindLoadBalancer, External: []netip.Addr{a4, a6}}}
}

// BenchmarkTransfer measures one Service change transferred to a secondary
// that holds the zone as it was just before: by IXFR from the secondary's
// serial (xfr=ixfr: the one name's changed A record) or by AXFR (xfr=axfr:
// the whole zone), at names=1000 and names=100000 dual-stack names. Each op
// is the change (Table.Apply) and the transfer through the transfer plugin
// (ServeDNS over TCP, messages packed as they go on the wire); it reports
// wire-B/op, the bytes of the transfer's messages, msgs/op and records/op.
func BenchmarkTransfer(b *testing.B) {
	clog.Discard() // the transfer plugin logs every transfer
	for _, names := range []int{1000, 100000} {
		cz, tb, x := xfrBenchPlugin(b, names)
		version := 0 // every op changes a record, in every run
		for _, kind := range []string{"ixfr", "axfr"} {
			b.Run(fmt.Sprintf("names=%d/xfr=%s", names, kind), func(b *testing.B) {
				ctx := context.Background()
				w := &wireCounter{ResponseWriter: test.ResponseWriter{TCP: true}}
				serial := cz.soa(tb, "example.org.").(*dns.SOA)
				var bytes, msgs, records int
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					version++
					svc := version % names
					tb.Apply(xfrBenchOwner(svc), xfrBenchSet(svc, version))
					m := new(dns.Msg)
					if kind == "ixfr" {
						m.SetIxfr("example.org.", serial.Serial, serial.Ns, serial.Mbox)
					} else {
						m.SetAxfr("example.org.")
					}
					*w = wireCounter{ResponseWriter: w.ResponseWriter}
					if rc, err := x.ServeDNS(ctx, w, m); rc != dns.RcodeSuccess || err != nil {
						b.Fatalf("%s: rcode %s, %v", kind, dns.RcodeToString[rc], err)
					}
					bytes, msgs, records = bytes+w.bytes, msgs+w.msgs, records+w.records
					// The secondary now holds the new serial.
					serial.Serial = tb.PeekSerial("example.org.")
				}
				b.StopTimer()
				if kind == "ixfr" && records != 6*b.N {
					b.Fatalf("IXFR of one change: %d records in %d ops, want 6 each (4 SOA, the old A, the new A)", records, b.N)
				}
				if kind == "axfr" && records < b.N*(3*names+3) {
					b.Fatalf("AXFR: %d records in %d ops, want the whole zone each", records, b.N)
				}
				b.ReportMetric(float64(bytes)/float64(b.N), "wire-B/op")
				b.ReportMetric(float64(msgs)/float64(b.N), "msgs/op")
				b.ReportMetric(float64(records)/float64(b.N), "records/op")
			})
		}
	}
}
