package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// knotdBinary returns the path of knotd (Debian package knot; /usr/sbin is
// not on every user's PATH). A missing knotd fails the test: the secondary
// is the point of it.
func knotdBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("knotd"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/knotd", "/usr/local/sbin/knotd"} {
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p
		}
	}
	t.Fatalf("knotd (Knot DNS) not found on PATH nor in /usr/sbin: apt-get install knot (or run hack/deps.sh)")
	return ""
}

// knotPrimaryKey returns the zone option that names the primaries: "master"
// up to Knot 3.2 (Debian 12), "primary" from 3.3 on (where "master" is a
// deprecated alias).
func knotPrimaryKey(t *testing.T, knotd string) (key, version string) {
	t.Helper()
	out, err := exec.Command(knotd, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("knotd --version: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`version (\d+)\.(\d+)\S*`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("knotd --version: no version in %q", out)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	version = strings.TrimPrefix(m[0], "version ")
	if major > 3 || (major == 3 && minor >= 3) {
		return "primary", version
	}
	return "master", version
}

// knot is a knotd secondary started by startKnot.
type knot struct {
	Addr    string // 127.0.0.1:PORT
	Port    int
	LogPath string
	cmd     *exec.Cmd
	done    chan struct{}
}

func (k *knot) log() string {
	b, _ := os.ReadFile(k.LogPath)
	return string(b)
}

// knotDir returns a temporary folder for knotd with its run, db and zones
// folders.
func knotDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"run", "db", "zones"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// knotConfHead is the start of a knotd configuration written by test:
// run and database folders in dir (knotDir), listening on 127.0.0.1@port,
// logging to stdout.
func knotConfHead(version, test, dir string, port int) string {
	return fmt.Sprintf(`# knotd %s, written by %s
server:
    rundir: "%s/run"
    listen: 127.0.0.1@%d

log:
  - target: stdout
    any: info

database:
    storage: "%s/db"
`, version, test, dir, port, dir)
}

// startKnot runs knotd as the current user with a temporary configuration,
// listening on 127.0.0.1@port: a secondary for zone that transfers from primary (host:port) and accepts
// NOTIFY from 127.0.0.1. Its refresh and retry timers are forced to an hour,
// so that within the test only a NOTIFY can make it transfer again.
func startKnot(t *testing.T, port int, zone, primary string) *knot {
	t.Helper()
	bin := knotdBinary(t)
	key, version := knotPrimaryKey(t, bin)
	dir := knotDir(t)
	host, pport, _ := strings.Cut(primary, ":")
	conf := knotConfHead(version, "TestTransferToKnotSecondary", dir, port) + fmt.Sprintf(`

remote:
  - id: coredns
    address: %[4]s@%[5]s

acl:
  - id: notify_from_coredns
    address: 127.0.0.1
    action: notify
  # The test transfers Knot's copy out to compare it with ours.
  - id: transfer_to_test
    address: 127.0.0.1
    action: transfer

template:
  - id: default
    storage: "%[2]s/zones"
    file: "%%s.zone"
    # Far longer than the test: only a NOTIFY makes Knot look again. (The
    # SOA says refresh 7200 and retry 1800; these bound them from below.)
    refresh-min-interval: 3600
    retry-min-interval: 3600
    zonefile-sync: -1

zone:
  - domain: %[6]s
    %[7]s: coredns
    acl: [notify_from_coredns, transfer_to_test]
`, version, dir, port, host, pport, zone, key)
	confPath := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	k := runKnot(t, bin, dir, confPath, conf, port)
	t.Logf("knotd %s (zone option %q) on %s, secondary of %s", version, key, k.Addr, primary)
	return k
}

// query sends one UDP query without recursion desired (as a resolver asks
// an authoritative server).
func queryNoRec(t *testing.T, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = false
	return harness.Exchange(t, addr, m, "udp")
}

// rrStrings returns the records of a section as sorted presentation strings.
func rrStrings(rrs []dns.RR) []string {
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, rr.String())
	}
	sort.Strings(out)
	return out
}

// describe is rcode, AA and the answer of a reply: what two authoritative
// servers of the same zone content must agree on.
func describe(m *dns.Msg) string {
	return fmt.Sprintf("%s aa=%v answer=%q", dns.RcodeToString[m.Rcode], m.Authoritative, rrStrings(m.Answer))
}

// axfr transfers zone from addr with miekg/dns over TCP.
func axfr(t *testing.T, addr, zone string) []dns.RR {
	t.Helper()
	m := new(dns.Msg)
	m.SetAxfr(zone)
	return transferIn(t, addr, m)
}

func transferIn(t *testing.T, addr string, m *dns.Msg) []dns.RR {
	t.Helper()
	tr := &dns.Transfer{DialTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	ch, err := tr.In(m, addr)
	if err != nil {
		t.Fatalf("%s of %s from %s: %v", dns.TypeToString[m.Question[0].Qtype], m.Question[0].Name, addr, err)
	}
	var rrs []dns.RR
	for env := range ch {
		if env.Error != nil {
			t.Fatalf("%s of %s from %s: %v", dns.TypeToString[m.Question[0].Qtype], m.Question[0].Name, addr, env.Error)
		}
		rrs = append(rrs, env.RR...)
	}
	return rrs
}

// compareZone checks that the secondary holds exactly our zone: an AXFR of
// each server gives the same records (the secondary's copy, not only what we
// think it should have); then every owner name of either copy, plus a few
// names that exist only by synthesis or not at all, is queried at both
// servers for A, AAAA and TXT, and any difference in rcode, AA, answer or
// negative-answer SOA fails. It also compares the SOA. It returns the number
// of names compared.
func compareZone(t *testing.T, ours, knot, zone string, extra ...string) int {
	t.Helper()
	ourCopy, knotCopy := axfr(t, ours, zone), axfr(t, knot, zone)
	if a, b := strings.Join(rrStrings(ourCopy), "\n"), strings.Join(rrStrings(knotCopy), "\n"); a != b {
		t.Errorf("AXFR of %s differs:\ncoredns:\n%s\nknot:\n%s", zone, a, b)
	}
	names := map[string]bool{zone: true}
	for _, rr := range append(ourCopy, knotCopy...) {
		names[strings.ToLower(rr.Header().Name)] = true
	}
	for _, n := range extra {
		names[dns.Fqdn(n)] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, name := range sorted {
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeTXT} {
			a, b := queryNoRec(t, ours, name, qt), queryNoRec(t, knot, name, qt)
			if describe(a) != describe(b) {
				t.Errorf("%s %s:\n  coredns: %s\n  knot:    %s", name, dns.TypeToString[qt], describe(a), describe(b))
			}
			if len(a.Answer) == 0 && (len(a.Ns) != 1 || len(b.Ns) != 1 || a.Ns[0].Header().Rrtype != dns.TypeSOA || b.Ns[0].Header().Rrtype != dns.TypeSOA) {
				t.Errorf("%s %s: authority coredns %v knot %v, want the SOA in both", name, dns.TypeToString[qt], a.Ns, b.Ns)
			}
		}
	}
	a, b := queryNoRec(t, ours, zone, dns.TypeSOA), queryNoRec(t, knot, zone, dns.TypeSOA)
	if describe(a) != describe(b) {
		t.Errorf("%s SOA:\n  coredns: %s\n  knot:    %s", zone, describe(a), describe(b))
	}
	return len(sorted)
}

// scrape returns the sum of a metric's samples from a Prometheus endpoint.
func scrape(t *testing.T, url, name string, match map[string]string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scraping %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := harness.SumMetric(string(body), name, match)
	return v
}

// writeAtomic replaces a manifest file in one step, so the watcher never
// reads it half written.
func writeAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

const notifiedService = `---
# Added by TestTransferToKnotSecondary: must reach the secondary by NOTIFY.
apiVersion: v1
kind: Service
metadata:
  name: notified
  namespace: shop
  creationTimestamp: "2026-02-01T00:00:00Z"
  annotations:
    external-dns.alpha.kubernetes.io/hostname: notified.example.org, deep.er.notified.example.org
    external-dns.alpha.kubernetes.io/ttl: "120"
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.99
  ports: [{port: 443}]
status:
  loadBalancer:
    ingress:
      - ip: 192.0.2.99
      - ip: "2001:db8::99"
`

func TestTransferToKnotSecondary(t *testing.T) {
	const zone = "example.org."
	dir := copyExamples(t)
	file := filepath.Join(dir, "services.yaml")
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	port, knotPort, promPort := harness.FreePort(t), harness.FreePort(t), harness.FreePort(t)
	cd := harness.StartCoreDNS(t, fmt.Sprintf(`example.org:%d {
    transfer {
        to 127.0.0.1:%d
    }
    clusterzone {
        manifests %s
        owner-id example
        ns ns1.example.org 127.0.0.1
    }
    prometheus 127.0.0.1:%d
}
`, port, knotPort, dir, promPort))
	metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort)
	notifies := func() float64 {
		return scrape(t, metrics, "coredns_clusterzone_notifies_total", map[string]string{"zone": zone})
	}

	// Knot on the port the transfer plugin notifies; it bootstraps the zone
	// at once (it has no copy yet).
	k := startKnot(t, knotPort, zone, cd.Addr)
	start := time.Now()
	ourSerial := soaSerial(t, cd.Addr)
	waitKnotSerial(t, k, zone, ourSerial)
	t.Logf("knot bootstrapped the zone (serial %d) in %v", ourSerial, time.Since(start))
	// Let the NOTIFY round CoreDNS sends at startup go out first, so that
	// the NOTIFY the edits below rely on is the one their change sends.
	harness.Eventually(t, 10*time.Second, func() error {
		if n := notifies(); n < 1 {
			return fmt.Errorf("coredns_clusterzone_notifies_total{zone=%q} = %v: no startup NOTIFY yet", zone, n)
		}
		return nil
	})
	waitKnotIdle(t, k)

	t.Run("after the first transfer knot answers exactly as we do", func(t *testing.T) {
		n := compareZone(t, cd.Addr, k.Addr, zone,
			"anything.apps.example.org", "a.b.apps.example.org", // wildcard synthesis
			"internal.example.org",                     // empty non-terminal
			"nope.example.org", "web.nope.example.org") // NXDOMAIN
		t.Logf("compared %d names x A/AAAA/TXT and the SOA", n)
	})

	t.Run("IXFR: current serial gets one SOA, an old serial the full zone", func(t *testing.T) {
		full := axfr(t, cd.Addr, zone)
		if len(full) < 4 || full[0].Header().Rrtype != dns.TypeSOA || full[len(full)-1].Header().Rrtype != dns.TypeSOA {
			t.Fatalf("AXFR: %v", full)
		}
		cur := full[0].(*dns.SOA)
		ixfr := func(serial uint32) []dns.RR {
			m := new(dns.Msg)
			m.SetIxfr(zone, serial, cur.Ns, cur.Mbox)
			return transferIn(t, cd.Addr, m)
		}
		for _, s := range []uint32{cur.Serial, cur.Serial + 5} {
			got := ixfr(s)
			if len(got) != 1 || got[0].Header().Rrtype != dns.TypeSOA || got[0].(*dns.SOA).Serial != cur.Serial {
				t.Errorf("IXFR from serial %d (current %d): %v, want the single current SOA", s, cur.Serial, got)
			}
		}
		// The same on the wire: one message, one answer record.
		m := new(dns.Msg)
		m.SetIxfr(zone, cur.Serial, cur.Ns, cur.Mbox)
		r := harness.Exchange(t, cd.Addr, m, "tcp")
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeSOA {
			t.Errorf("IXFR with the current serial, raw reply: %v", r)
		}
		for _, s := range []uint32{cur.Serial - 1, 1} {
			got := ixfr(s)
			if strings.Join(rrStrings(got), "\n") != strings.Join(rrStrings(full), "\n") {
				t.Errorf("IXFR from old serial %d: %d records, want the full zone of %d records\ngot:\n%s\nwant:\n%s",
					s, len(got), len(full), strings.Join(rrStrings(got), "\n"), strings.Join(rrStrings(full), "\n"))
			}
		}
		// AXFR over UDP is refused (transfers are TCP only).
		if r := queryNoRec(t, cd.Addr, zone, dns.TypeAXFR); r.Rcode != dns.RcodeRefused {
			t.Errorf("AXFR over UDP: rcode %s, want REFUSED", dns.RcodeToString[r.Rcode])
		}
	})

	// waitKnot polls knot until f holds and returns how long it took.
	waitKnot := func(t *testing.T, from time.Time, f func() error) time.Duration {
		t.Helper()
		harness.Eventually(t, 20*time.Second, f)
		return time.Since(from)
	}

	t.Run("a new Service reaches knot by NOTIFY", func(t *testing.T) {
		waitKnotIdle(t, k)
		before, knotBefore := notifies(), knotNotifies(k)
		s0 := soaSerial(t, cd.Addr)
		from := time.Now()
		writeAtomic(t, file, append(append([]byte(nil), orig...), notifiedService...))
		d := waitKnot(t, from, func() error {
			m := queryNoRec(t, k.Addr, "notified.example.org.", dns.TypeAAAA)
			if got := answers(m); strings.Join(got, ",") != "AAAA 2001:db8::99" {
				return fmt.Errorf("knot notified.example.org AAAA: %s", describe(m))
			}
			return nil
		})
		t.Logf("new Service served by knot %v after the manifest edit (NOTIFY debounce %v)", d, 500*time.Millisecond)
		if d > 15*time.Second {
			t.Errorf("took %v: not a NOTIFY", d)
		}
		serialAbove(t, cd.Addr, s0)
		if after := notifies(); after <= before {
			t.Errorf("coredns_clusterzone_notifies_total{zone=%q} %v -> %v: no NOTIFY counted", zone, before, after)
		}
		// Knot says why it transferred: a NOTIFY from us.
		if n := knotNotifies(k); n <= knotBefore {
			t.Errorf("knot logged %d incoming NOTIFYs, %d before the edit", n, knotBefore)
		}
		compareZone(t, cd.Addr, k.Addr, zone, "er.notified.example.org", "x.notified.example.org", "anything.apps.example.org")
	})

	t.Run("a deleted Service disappears from knot", func(t *testing.T) {
		waitKnotIdle(t, k)
		before, knotBefore := notifies(), knotNotifies(k)
		from := time.Now()
		writeAtomic(t, file, orig)
		d := waitKnot(t, from, func() error {
			for _, n := range []string{"notified.example.org.", "deep.er.notified.example.org."} {
				if m := queryNoRec(t, k.Addr, n, dns.TypeA); m.Rcode != dns.RcodeNameError {
					return fmt.Errorf("knot %s A: %s", n, describe(m))
				}
			}
			return nil
		})
		t.Logf("deleted Service gone from knot %v after the manifest edit", d)
		if n := knotNotifies(k); n <= knotBefore {
			t.Errorf("knot logged %d incoming NOTIFYs, %d before the edit", n, knotBefore)
		}
		if after := notifies(); after <= before {
			t.Errorf("coredns_clusterzone_notifies_total{zone=%q} %v -> %v: no NOTIFY counted", zone, before, after)
		}
		compareZone(t, cd.Addr, k.Addr, zone, "er.notified.example.org", "anything.apps.example.org")
	})

	// CoreDNS's transfer plugin logged the transfers knot made.
	if n := strings.Count(cd.Log(), "Outgoing transfer of"); n < 3 {
		t.Errorf("CoreDNS logged %d outgoing transfers, want at least 3 (bootstrap, add, delete)", n)
	}

	t.Run("a change made while CoreDNS was down reaches knot by the NOTIFY at startup", func(t *testing.T) {
		waitKnotIdle(t, k)
		old := soaSerial(t, cd.Addr)
		cd.Stop(t)
		// Remove the api Service while the primary is down.
		edited := string(orig)
		i := strings.Index(edited, "# Two hostnames and a custom TTL")
		j := strings.Index(edited, "# A wildcard")
		if i < 0 || j < i {
			t.Fatalf("examples/manifests/services.yaml changed: cannot find the api Service")
		}
		writeAtomic(t, file, []byte(edited[:i]+edited[j:]))
		// The serial is time-based (and runs ahead of the clock by one per
		// change within a second): start once the clock has passed it, so
		// that the restarted server's serial is newer.
		for uint32(time.Now().Unix()) <= old {
			time.Sleep(100 * time.Millisecond)
		}
		notifiesBefore := knotNotifies(k)
		from := time.Now()
		cd = harness.StartCoreDNS(t, cd.Corefile)
		d := waitKnot(t, from, func() error {
			if m := queryNoRec(t, k.Addr, "api.example.org.", dns.TypeA); m.Rcode != dns.RcodeNameError {
				return fmt.Errorf("knot api.example.org A: %s", describe(m))
			}
			return nil
		})
		t.Logf("change made while down served by knot %v after the restart began", d)
		if knotNotifies(k) <= notifiesBefore {
			t.Errorf("knot logged no NOTIFY after the restart")
		}
		compareZone(t, cd.Addr, k.Addr, zone, "api-v2.example.org", "anything.apps.example.org")
	})
}

// TestTransferToKnotSecondaryFromCluster is the private zone of the plugin
// README (transfer to a secondary, NOTIFY on change) against a real API
// server: a Service created after the secondary's first transfer reaches it
// by NOTIFY, and so does its deletion.
func TestTransferToKnotSecondaryFromCluster(t *testing.T) {
	const zone = "example.org."
	c := harness.StartCluster(t)
	ctx := context.Background()
	ns := c.CreateNamespace(t, "shop")
	svcs := c.Admin.CoreV1().Services(ns)
	if _, err := svcs.Create(ctx, dualStackService(ns, "web", map[string]string{
		"external-dns.alpha.kubernetes.io/hostname":          "web.example.org",
		"external-dns.alpha.kubernetes.io/internal-hostname": "web.internal.example.org",
	}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.SetLoadBalancerIngress(t, ns, "web", []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}, {IP: "2001:db8::10"}})

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
	notifies := func() float64 {
		return scrape(t, metrics, "coredns_clusterzone_notifies_total", map[string]string{"zone": zone})
	}
	expect(t, cd.Addr, "web.example.org.", dns.TypeAAAA, "AAAA 2001:db8::10")

	k := startKnot(t, knotPort, zone, cd.Addr)
	waitKnotSerial(t, k, zone, soaSerial(t, cd.Addr))
	harness.Eventually(t, 10*time.Second, func() error {
		if n := notifies(); n < 1 {
			return fmt.Errorf("no startup NOTIFY yet")
		}
		return nil
	})
	waitKnotIdle(t, k)
	if n := compareZone(t, cd.Addr, k.Addr, zone, "internal.example.org", "nope.example.org"); n < 4 {
		t.Errorf("compared only %d names", n)
	}

	// A Service created now, then given its load balancer's addresses (two
	// changes, as a cloud controller makes them).
	before, knotBefore := notifies(), knotNotifies(k)
	from := time.Now()
	if _, err := svcs.Create(ctx, dualStackService(ns, "notified", map[string]string{
		"external-dns.alpha.kubernetes.io/hostname": "notified.example.org",
		"external-dns.alpha.kubernetes.io/ttl":      "120",
	}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.SetLoadBalancerIngress(t, ns, "notified", []corev1.LoadBalancerIngress{{IP: "192.0.2.99"}, {IP: "2001:db8::99"}})
	harness.Eventually(t, 20*time.Second, func() error {
		a := answers(queryNoRec(t, k.Addr, "notified.example.org.", dns.TypeA))
		aaaa := answers(queryNoRec(t, k.Addr, "notified.example.org.", dns.TypeAAAA))
		if got := strings.Join(append(a, aaaa...), ","); got != "A 192.0.2.99,AAAA 2001:db8::99" {
			return fmt.Errorf("knot notified.example.org A, AAAA: [%s]", got)
		}
		return nil
	})
	d := time.Since(from)
	t.Logf("new Service served by knot %v after its creation", d)
	if d > 15*time.Second {
		t.Errorf("took %v: not a NOTIFY", d)
	}
	if after := notifies(); after <= before {
		t.Errorf("coredns_clusterzone_notifies_total{zone=%q} %v -> %v: no NOTIFY counted", zone, before, after)
	}
	if n := knotNotifies(k); n <= knotBefore {
		t.Errorf("knot logged %d incoming NOTIFYs, %d before the Service was created", n, knotBefore)
	}
	waitKnotSerial(t, k, zone, soaSerial(t, cd.Addr))
	compareZone(t, cd.Addr, k.Addr, zone, "x.notified.example.org")

	// The Service is deleted.
	waitKnotIdle(t, k)
	before, knotBefore = notifies(), knotNotifies(k)
	from = time.Now()
	if err := svcs.Delete(ctx, "notified", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 20*time.Second, func() error {
		if m := queryNoRec(t, k.Addr, "notified.example.org.", dns.TypeAAAA); m.Rcode != dns.RcodeNameError {
			return fmt.Errorf("knot notified.example.org AAAA after the delete: %s", describe(m))
		}
		return nil
	})
	t.Logf("deleted Service gone from knot %v after the delete", time.Since(from))
	if after := notifies(); after <= before {
		t.Errorf("coredns_clusterzone_notifies_total{zone=%q} %v -> %v: no NOTIFY counted", zone, before, after)
	}
	if n := knotNotifies(k); n <= knotBefore {
		t.Errorf("knot logged %d incoming NOTIFYs, %d before the delete", n, knotBefore)
	}
	compareZone(t, cd.Addr, k.Addr, zone, "notified.example.org")
}

// waitKnotSerial waits until knot serves zone with serial.
func waitKnotSerial(t *testing.T, k *knot, zone string, serial uint32) {
	t.Helper()
	harness.Eventually(t, 30*time.Second, func() error {
		select {
		case <-k.done:
			return fmt.Errorf("knotd exited:\n%s", k.log())
		default:
		}
		q := new(dns.Msg)
		q.SetQuestion(zone, dns.TypeSOA)
		m, _, err := (&dns.Client{Timeout: time.Second}).Exchange(q, k.Addr)
		if err != nil {
			return err
		}
		if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 {
			return fmt.Errorf("knot SOA: %s", describe(m))
		}
		if s := m.Answer[0].(*dns.SOA).Serial; s != serial {
			return fmt.Errorf("knot serial %d, ours %d", s, serial)
		}
		return nil
	})
}

var (
	knotNotifyLine  = regexp.MustCompile(`(?m)\[example\.org\.\] notify, incoming`)
	knotRefreshLine = regexp.MustCompile(`(?m)\[example\.org\.\] refresh, .*(zone is up-to-date|zone updated|failed)`)
)

// waitKnotIdle waits until knot has finished the refresh of the last NOTIFY
// it logged (Knot may run it a few hundred milliseconds later, e.g. while it
// still writes the previous transfer), so that a change made next reaches
// knot only through the NOTIFY that change sends.
func waitKnotIdle(t *testing.T, k *knot) {
	t.Helper()
	harness.Eventually(t, 15*time.Second, func() error {
		log := k.log()
		n := knotNotifyLine.FindAllStringIndex(log, -1)
		r := knotRefreshLine.FindAllStringIndex(log, -1)
		if len(n) > 0 && (len(r) == 0 || r[len(r)-1][0] < n[len(n)-1][0]) {
			return fmt.Errorf("knot has not finished the refresh of the last NOTIFY")
		}
		return nil
	})
}

// knotNotifies counts the NOTIFY messages knot logged for example.org.
func knotNotifies(k *knot) int { return len(knotNotifyLine.FindAllString(k.log(), -1)) }
