package resolver

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
)

// server is an authoritative DNS server on loopback whose answers the test sets.
type server struct {
	addr    string
	mu      sync.Mutex
	rrs     []dns.RR
	fail    bool
	queries atomic.Int32
}

func startServer(t *testing.T) *server {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{addr: pc.LocalAddr().String()}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		s.queries.Add(1)
		m := new(dns.Msg)
		m.SetReply(r)
		s.mu.Lock()
		if s.fail {
			m.Rcode = dns.RcodeServerFailure
		}
		for _, rr := range s.rrs {
			if rr.Header().Rrtype == r.Question[0].Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
		s.mu.Unlock()
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return s
}

func (s *server) set(fail bool, rrs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = fail
	s.rrs = nil
	for _, x := range rrs {
		rr, _ := dns.NewRR(x)
		s.rrs = append(s.rrs, rr)
	}
}

func TestResolveBothFamiliesAndRefresh(t *testing.T) {
	srv := startServer(t)
	const host = "lb.example.com."
	srv.set(false, host+" 1 IN A 192.0.2.1", host+" 1 IN AAAA 2001:db8::1")
	changed := make(chan string, 10)
	r, err := New([]string{srv.addr}, func(h string) { changed <- h })
	if err != nil {
		t.Fatal(err)
	}
	r.SetRefreshBounds(50*time.Millisecond, time.Second)
	defer r.Stop()

	if got := r.Addrs(host); got != nil {
		t.Errorf("addresses before Watch: %v", got)
	}
	r.Watch(host)
	<-changed
	want := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}
	if got := r.Addrs(host); !equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}

	// The answer changes: the refresh (by the answer's TTL, bounded) picks it up.
	srv.set(false, host+" 1 IN A 192.0.2.2", host+" 1 IN AAAA 2001:db8::2")
	<-changed
	if got := r.Addrs(host); len(got) != 2 || got[0].String() != "192.0.2.2" {
		t.Errorf("after refresh: %v", got)
	}

	// The server fails: the last good addresses stay until they expire,
	// and Addrs never blocks meanwhile.
	srv.set(true)
	start := time.Now()
	if got := r.Addrs(host); len(got) != 2 {
		t.Errorf("during failure: %v", got)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Logf("Addrs took %v", d)
	}
	harness.WaitFor(t, 10*time.Second, "expiry", func() bool { return r.Addrs(host) == nil })

	r.Unwatch(host)
	n := srv.queries.Load()
	time.Sleep(300 * time.Millisecond)
	if srv.queries.Load() > n+2 {
		t.Errorf("still querying after Unwatch: %d -> %d", n, srv.queries.Load())
	}
}

func TestSlowResolverDoesNotBlock(t *testing.T) {
	// A server that never answers: Watch and Addrs return at once.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	r, err := New([]string{pc.LocalAddr().String()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	errs := make(chan error, 4)
	r.SetOnError(func(_ string, err error) { errs <- err })
	start := time.Now()
	r.Watch("slow.example.com.")
	if r.Addrs("slow.example.com.") != nil {
		t.Error("addresses from a server that never answered")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Watch+Addrs blocked for %v", d)
	}
	select {
	case err := <-errs:
		if err == nil {
			t.Error("nil error reported")
		}
	case <-time.After(10 * time.Second):
		t.Error("timeout not reported")
	}
}
