package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Knot's log lines of the transfers it makes of example.org., as Knot 3.2.6
// writes them: "[example.org.] IXFR, incoming, remote 127.0.0.1@PORT,
// finished, 0.00 seconds, 1 messages, 2926 bytes" for an incremental
// transfer, the same with AXFR for a full one; an IXFR answered with the whole
// zone is logged as "... receiving AXFR-style IXFR" (also counted on our side,
// kind ixfr-full).
var (
	knotIXFRLine      = regexp.MustCompile(`(?m)\[example\.org\.\] IXFR, incoming, remote [^,]+, (?:\S+ )?finished`)
	knotAXFRLine      = regexp.MustCompile(`(?m)\[example\.org\.\] AXFR, incoming, remote [^,]+, (?:\S+ )?finished`)
	knotAXFRStyleLine = regexp.MustCompile(`(?m)\[example\.org\.\] IXFR, incoming, remote .*AXFR-style`)
)

// TestIXFRToKnotSecondaryFromCluster: Knot, a real secondary driven by
// NOTIFY, follows bursts of Service adds, changes and deletes made through a
// real kube-apiserver by IXFR (only the first transfer is a full one), and
// ends with a zone identical to ours after each burst.
func TestIXFRToKnotSecondaryFromCluster(t *testing.T) {
	const zone = "example.org."
	c := harness.StartCluster(t)
	ctx := context.Background()
	ns := c.CreateNamespace(t, "shop")
	svcs := c.Admin.CoreV1().Services(ns)
	create := func(name, host string, ann map[string]string, ips ...string) {
		t.Helper()
		a := map[string]string{"external-dns.alpha.kubernetes.io/hostname": host}
		for k, v := range ann {
			a[k] = v
		}
		if _, err := svcs.Create(ctx, dualStackService(ns, name, a), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if len(ips) > 0 {
			setIngressIPs(t, c, ns, name, ips...)
		}
	}
	for i := 0; i < 5; i++ {
		create(fmt.Sprintf("web%d", i), fmt.Sprintf("web%d.example.org", i), nil, fmt.Sprintf("192.0.2.%d", 10+i), fmt.Sprintf("2001:db8::%d", 10+i))
	}

	port, knotPort, promPort := harness.FreePort(t), harness.FreePort(t), harness.FreePort(t)
	cd := harness.StartCoreDNS(t, fmt.Sprintf(`example.org:%d {
    transfer {
        to 127.0.0.1:%d
    }
    clusterzone {
        kubeconfig %s
        owner-id e2e
        ns ns1.example.org 127.0.0.1
    }
    prometheus 127.0.0.1:%d
}
`, port, knotPort, c.Kubeconfig, promPort))
	metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort)
	transfers := func(kind string) float64 {
		return scrape(t, metrics, "coredns_clusterzone_transfers_total", map[string]string{"zone": zone, "kind": kind})
	}
	expect(t, cd.Addr, "web4.example.org.", dns.TypeAAAA, "AAAA 2001:db8::14")

	k := startKnot(t, knotPort, zone, cd.Addr)
	waitKnotSerial(t, k, zone, soaSerial(t, cd.Addr))
	harness.Eventually(t, 10*time.Second, func() error {
		if n := scrape(t, metrics, "coredns_clusterzone_notifies_total", map[string]string{"zone": zone}); n < 1 {
			return fmt.Errorf("no startup NOTIFY yet")
		}
		return nil
	})
	waitKnotIdle(t, k)
	compareZone(t, cd.Addr, k.Addr, zone, "nope.example.org")
	full := len(knotAXFRLine.FindAllString(k.log(), -1))
	if full < 1 {
		t.Fatalf("knot logged no AXFR for its first transfer; its log:\n%s", k.log())
	}

	// caughtUp waits until our server answers name as want (the burst has
	// reached the table), then until knot holds our serial, and compares
	// both copies of the zone.
	caughtUp := func(t *testing.T, from time.Time, name string, qtype uint16, want ...string) {
		t.Helper()
		harness.Eventually(t, 20*time.Second, func() error {
			got := answers(queryNoRec(t, cd.Addr, name, qtype))
			if strings.Join(got, ",") != strings.Join(want, ",") {
				return fmt.Errorf("coredns %s %s: %v, want %v", name, dns.TypeToString[qtype], got, want)
			}
			return nil
		})
		// A change after a read within the serial's second gets its serial
		// in the next second (the plugin README's Serial rule): let it out.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
		harness.Eventually(t, 20*time.Second, func() error {
			ours := soaSerial(t, cd.Addr)
			if s := soaSerial(t, k.Addr); s != ours {
				return fmt.Errorf("knot serial %d, ours %d", s, ours)
			}
			return nil
		})
		waitKnotIdle(t, k)
		t.Logf("knot caught up %v after the burst began", time.Since(from))
		compareZone(t, cd.Addr, k.Addr, zone, "a0.example.org", "renamed.example.org", "flap.example.org")
	}

	const n = 20
	t.Run("adds", func(t *testing.T) {
		from := time.Now()
		for i := 0; i < n; i++ {
			create(fmt.Sprintf("a%d", i), fmt.Sprintf("a%d.example.org", i), nil, fmt.Sprintf("192.0.2.%d", 100+i), fmt.Sprintf("2001:db8::%x", 0x100+i))
		}
		// Added and removed within the burst.
		create("flap", "flap.example.org", nil, "192.0.2.250")
		if err := svcs.Delete(ctx, "flap", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		caughtUp(t, from, fmt.Sprintf("a%d.example.org.", n-1), dns.TypeA, fmt.Sprintf("A 192.0.2.%d", 100+n-1))
	})

	t.Run("changes", func(t *testing.T) {
		from := time.Now()
		for i := 0; i < 10; i++ {
			setIngressIPs(t, c, ns, fmt.Sprintf("a%d", i), fmt.Sprintf("192.0.2.%d", 200+i), fmt.Sprintf("2001:db8::%x", 0x100+i))
		}
		for i := 10; i < 15; i++ {
			s, err := svcs.Get(ctx, fmt.Sprintf("a%d", i), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			s.Annotations["external-dns.alpha.kubernetes.io/ttl"] = "300"
			if i == 14 {
				s.Annotations["external-dns.alpha.kubernetes.io/hostname"] = "renamed.example.org"
			}
			if _, err := svcs.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		caughtUp(t, from, "renamed.example.org.", dns.TypeA, "A 192.0.2.114")
	})

	t.Run("deletes", func(t *testing.T) {
		from := time.Now()
		for _, name := range []string{"a0", "a1", "a2", "a3", "a4", "a10", "web0"} {
			if err := svcs.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		harness.Eventually(t, 20*time.Second, func() error {
			if m := queryNoRec(t, cd.Addr, "web0.example.org.", dns.TypeA); m.Rcode != dns.RcodeNameError {
				return fmt.Errorf("coredns web0.example.org A: %s", describe(m))
			}
			return nil
		})
		caughtUp(t, from, "a4.example.org.", dns.TypeA)
	})

	// Over UDP CoreDNS's transfer plugin refuses an IXFR as it does an AXFR
	// (before this plugin sees it); a secondary asks over TCP.
	q := new(dns.Msg)
	q.SetIxfr(zone, soaSerial(t, cd.Addr)-1, "ns1.example.org.", "hostmaster.example.org.")
	if r := harness.Exchange(t, cd.Addr, q, "udp"); r.Rcode != dns.RcodeRefused {
		t.Errorf("IXFR over UDP: rcode %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}

	// Knot made every transfer after the first by IXFR, and got increments.
	log := k.log()
	ixfrs, axfrs, axfrStyle := len(knotIXFRLine.FindAllString(log, -1)), len(knotAXFRLine.FindAllString(log, -1)), len(knotAXFRStyleLine.FindAllString(log, -1))
	t.Logf("knot transfers: %d IXFR, %d AXFR, %d AXFR-style IXFR; ours: %v ixfr, %v ixfr-current, %v ixfr-full, %v axfr (the test's own AXFRs included)",
		ixfrs, axfrs, axfrStyle, transfers("ixfr"), transfers("ixfr-current"), transfers("ixfr-full"), transfers("axfr"))
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "XFR") {
			t.Log("knot: " + strings.TrimSpace(line))
		}
	}
	if ixfrs < 3 {
		t.Errorf("knot logged %d incoming IXFRs, want at least 3 (one per burst)", ixfrs)
	}
	if axfrs != full || axfrStyle != 0 {
		t.Errorf("knot made %d full transfers after its first (%d AXFR-style IXFR answers)", axfrs-full, axfrStyle)
	}
	if got := transfers("ixfr"); got < 3 {
		t.Errorf("coredns_clusterzone_transfers_total{kind=\"ixfr\"} = %v, want at least 3", got)
	}
	if got := scrape(t, metrics, "coredns_clusterzone_ixfr_journal_changes", map[string]string{"zone": zone}); got < 1 {
		t.Errorf("coredns_clusterzone_ixfr_journal_changes = %v, want the changes of the bursts", got)
	}
	if got := transfers("ixfr-full"); got != 0 {
		t.Errorf("coredns_clusterzone_transfers_total{kind=\"ixfr-full\"} = %v, want 0", got)
	}
}
