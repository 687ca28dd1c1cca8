package table

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"github.com/miekg/dns"
)

// Benchmarks of the table's hot paths; they only run with -bench:
//
//	go test -run '^$' -bench . -benchmem ./plugin/clusterzone/table/
//
// BenchmarkApply is the cost of applying one Service change (what an informer
// event costs the table) in a table of 1,000 and of 100,000 names: the two
// must be about the same, since a change costs work proportional to the
// Service, not to the table. BenchmarkLookup is the lookup ServeDNS does per
// query; it must not allocate.

const benchZone = "example.org."

// longWildcard is a wildcard whose name is longer than the 32 bytes Go
// concatenates on the stack.
const longWildcard = "*.ingress.eu-west-1.prod.cluster-42.example.org."

func benchOwner(i int) Owner {
	return Owner{Key: fmt.Sprintf("bench/svc%d", i), Created: int64(1700000000 + i)}
}

func benchName(i, gen int) string {
	if gen == 0 {
		return fmt.Sprintf("svc%d.bench.example.org.", i)
	}
	return fmt.Sprintf("svc%d-%d.bench.example.org.", i, gen)
}

func benchAddrs(i, gen int) []netip.Addr {
	return []netip.Addr{
		netip.AddrFrom4([4]byte{198, byte(18 + gen%2), byte(i >> 8), byte(i)}),
		netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(gen % 2), 14: byte(i >> 8), 15: byte(i)}),
	}
}

func benchSet(i, gen int, name string) RecordSet {
	return RecordSet{Name: name, TTL: 60, External: benchAddrs(i, gen), Internal: benchAddrs(i, gen+1)[:1]}
}

// benchTable returns a table of n dual-stack names svcI.bench.example.org.,
// one Service each, plus the wildcard *.apps.example.org.
func benchTable(n int) *Table {
	t := New([]string{benchZone}, "bench")
	for i := 0; i < n; i++ {
		t.Apply(benchOwner(i), []RecordSet{benchSet(i, 0, benchName(i, 0))})
	}
	t.Apply(Owner{Key: "bench/wild"}, []RecordSet{{Name: "*.apps.example.org.", TTL: 60, External: benchAddrs(0, 0)}})
	t.Apply(Owner{Key: "bench/wild-long"}, []RecordSet{{Name: longWildcard, TTL: 60, External: benchAddrs(1, 0)}})
	return t
}

// BenchmarkApply applies one change of one Service per op, to Services spread
// over the table: op=ip moves its addresses (the record set at its name is
// rebuilt), op=rename moves it to a new name (one name unclaimed, one claimed,
// the tree of empty non-terminals adjusted). The record sets are built before
// the timer: what is measured is Table.Apply. Besides ns/op (wall time) it
// reports cpu-ns/op, the process's CPU time per op, garbage collection
// included.
func BenchmarkApply(b *testing.B) {
	for _, op := range []string{"ip", "rename"} {
		for _, n := range []int{1000, 100000} {
			b.Run(fmt.Sprintf("op=%s/names=%d", op, n), func(b *testing.B) {
				t := benchTable(n)
				variants := min(1024, n) // distinct Services: 7919 is prime
				type change struct {
					owner Owner
					sets  [2][]RecordSet
				}
				changes := make([]change, variants)
				for v := range changes {
					i := (v * 7919) % n
					c := change{owner: benchOwner(i)}
					for gen := 0; gen < 2; gen++ {
						name := benchName(i, 0)
						if op == "rename" {
							name = benchName(i, gen)
						}
						g := gen
						if op == "rename" {
							g = 0 // same addresses, other name
						}
						c.sets[gen] = []RecordSet{benchSet(i, g, name)}
					}
					changes[v] = c
				}
				gen := make([]uint8, variants)
				runtime.GC() // not the building of the table: the benchmark's own garbage
				b.ReportAllocs()
				cpu0 := cpuTime()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					v := i % variants
					gen[v] ^= 1 // every apply is a real change of that Service
					ch := t.Apply(changes[v].owner, changes[v].sets[gen[v]])
					if len(ch.Names) == 0 {
						b.Fatalf("apply %d changed nothing", i)
					}
				}
				b.StopTimer()
				if cpu := cpuTime() - cpu0; cpu > 0 {
					// The process's CPU time (garbage collection included) per
					// op: on a busy machine, steadier than the wall time.
					b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
				}
			})
		}
	}
}

// BenchmarkLookup is Table.Lookup in a table of 10,000 names: q=hit a
// claimed name, q=miss a name that does not exist (NXDOMAIN), q=wildcard a
// name synthesized from *.apps.example.org., q=ent an empty non-terminal.
func BenchmarkLookup(b *testing.B) {
	const n = 10000
	t := benchTable(n)
	const variants = 1024
	for _, q := range []struct {
		name   string
		qname  func(i int) string
		exists bool
		entry  bool
	}{
		{"hit", func(i int) string { return benchName((i*7919)%n, 0) }, true, true},
		{"miss", func(i int) string { return fmt.Sprintf("nx%d.bench.example.org.", i) }, false, false},
		{"wildcard", func(i int) string { return fmt.Sprintf("host%d.apps.example.org.", i) }, true, true},
		{"wildcard-long", func(i int) string { return fmt.Sprintf("host%d.ingress.eu-west-1.prod.cluster-42.example.org.", i) }, true, true},
		{"ent", func(int) string { return "bench.example.org." }, true, false},
	} {
		b.Run("q="+q.name, func(b *testing.B) {
			names := make([]string, variants)
			for i := range names {
				names[i] = q.qname(i)
				if a := t.Lookup(benchZone, names[i], External); a.Exists != q.exists || (a.Entry != nil) != q.entry {
					b.Fatalf("%s: %+v", names[i], a)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t.Lookup(benchZone, names[i%variants], External)
			}
		})
	}
}

// TestLookupDoesNotAllocate keeps the serving path's table lookup free of
// allocations (cheap: a table of a few names).
func TestLookupDoesNotAllocate(t *testing.T) {
	tb := benchTable(10)
	for _, q := range []string{benchName(3, 0), "nx.bench.example.org.", "x.apps.example.org.", "a.b.apps.example.org.", "x.ingress.eu-west-1.prod.cluster-42.example.org.", "nx.eu-west-1.prod.cluster-42.example.org.", "bench.example.org.", `y\.x.apps.example.org.`, benchZone} {
		if n := testing.AllocsPerRun(100, func() { tb.Lookup(benchZone, q, External) }); n != 0 {
			t.Errorf("Lookup(%s): %v allocations, want 0", q, n)
		}
	}
}

// TestEntryViews checks the records of each view of an entry: the order of
// the Service's addresses within each view, the sorted union in All, and an
// empty family as nil.
func TestEntryViews(t *testing.T) {
	addrs := func(ss ...string) []netip.Addr {
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out
	}
	s := RecordSet{Name: "web.example.org.", TTL: 30,
		External: addrs("192.0.2.9", "2001:db8::2", "192.0.2.1", "2001:db8::1"),
		Internal: addrs("10.0.0.1", "192.0.2.1")}
	e := &Entry{Owner: Owner{Key: "ns/web"}, Set: s}
	tb := New([]string{"example.org."}, "me")
	str := func(rrs []dns.RR) []string {
		var out []string
		for _, rr := range rrs {
			out = append(out, rr.String())
		}
		return out
	}
	for _, c := range []struct {
		v     View
		qtype uint16
		want  []string
	}{
		{External, dns.TypeA, []string{"web.example.org.\t30\tIN\tA\t192.0.2.9", "web.example.org.\t30\tIN\tA\t192.0.2.1"}},
		{External, dns.TypeAAAA, []string{"web.example.org.\t30\tIN\tAAAA\t2001:db8::2", "web.example.org.\t30\tIN\tAAAA\t2001:db8::1"}},
		{Internal, dns.TypeA, []string{"web.example.org.\t30\tIN\tA\t10.0.0.1", "web.example.org.\t30\tIN\tA\t192.0.2.1"}},
		{Internal, dns.TypeAAAA, nil},
		{All, dns.TypeA, []string{"web.example.org.\t30\tIN\tA\t10.0.0.1", "web.example.org.\t30\tIN\tA\t192.0.2.1", "web.example.org.\t30\tIN\tA\t192.0.2.9"}},
		{All, dns.TypeAAAA, []string{"web.example.org.\t30\tIN\tAAAA\t2001:db8::1", "web.example.org.\t30\tIN\tAAAA\t2001:db8::2"}},
		{External, dns.TypeTXT, []string{"web.example.org.\t30\tIN\tTXT\t\"heritage=external-dns,external-dns/owner=me,external-dns/resource=service/ns/web\""}},
	} {
		got := tb.Records(e, c.qtype, c.v, e.Set.Name)
		if fmt.Sprint(str(got)) != fmt.Sprint(c.want) || (c.want == nil) != (got == nil) {
			t.Errorf("%v %s: %q, want %q", c.v, dns.TypeToString[c.qtype], str(got), c.want)
		}
	}
	// Records for a wildcard carry the query name, and are the caller's:
	// changing them changes nothing in the entry.
	got := tb.Records(e, dns.TypeA, External, "x.example.org.")
	if len(got) != 2 || got[0].Header().Name != "x.example.org." || got[0].(*dns.A).A.String() != "192.0.2.9" {
		t.Fatalf("records for a wildcard: %v", str(got))
	}
	got[0].(*dns.A).A[3] = 99
	got[0].Header().Ttl = 1
	if again := tb.Records(e, dns.TypeA, External, e.Set.Name); again[0].(*dns.A).A.String() != "192.0.2.9" || again[0].Header().Ttl != 30 {
		t.Errorf("a caller's change to its records showed in the next answer: %v", str(again))
	}
	if got := tb.All(e, External); len(got) != 5 {
		t.Errorf("All(External): %q, want 2 A, 2 AAAA and the TXT", str(got))
	}
	if got := tb.Records(&Entry{}, dns.TypeA, External, "x.example.org."); got != nil {
		t.Errorf("empty entry: %v", got)
	}
}

// BenchmarkMemory reports the live heap a table of 10,000 dual-stack names
// holds, per name (B/name): the table's share of clusterzone's heap per
// Service (the rest is the informer's cache and the store's translations).
func BenchmarkMemory(b *testing.B) {
	const n = 10000
	var perName float64
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		t := benchTable(n)
		runtime.GC()
		runtime.ReadMemStats(&after)
		perName = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(t)
	}
	b.ReportMetric(perName, "B/name")
}
