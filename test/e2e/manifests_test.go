// Package e2e holds the end-to-end tests: the built ./coredns, queried with
// DNS clients, against manifest files, a real kube-apiserver + etcd, a real
// secondary and a Route 53 emulator.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
)

// copyExamples copies the example manifests into a temporary folder the test may edit.
func copyExamples(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(harness.Root(), "examples", "manifests")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func manifestCorefile(port int, dir string) string {
	return fmt.Sprintf(`example.org:%d {
    clusterzone {
        manifests %s
        owner-id example
        ns ns1.example.org 127.0.0.1
    }
}
`, port, dir)
}

// answers returns the answer section as "TYPE value" strings.
func answers(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, "A "+v.A.String())
		case *dns.AAAA:
			out = append(out, "AAAA "+v.AAAA.String())
		case *dns.TXT:
			out = append(out, "TXT "+strings.Join(v.Txt, ""))
		default:
			out = append(out, rr.String())
		}
	}
	return out
}

// serialAbove waits until addr's SOA serial for example.org. is above prev
// and returns it: a change moves it at once, or, when it came within the
// second the serial was read in, in the next second (the plugin README's
// Serial rule).
func serialAbove(t *testing.T, addr string, prev uint32) uint32 {
	t.Helper()
	var s uint32
	harness.Eventually(t, 5*time.Second, func() error {
		if s = soaSerial(t, addr); s <= prev {
			return fmt.Errorf("SOA serial %d did not increase from %d", s, prev)
		}
		return nil
	})
	return s
}

func soaSerial(t *testing.T, addr string) uint32 {
	t.Helper()
	m := harness.Query(t, addr, "example.org.", dns.TypeSOA, "udp")
	if len(m.Answer) != 1 {
		t.Fatalf("SOA: %v", m)
	}
	return m.Answer[0].(*dns.SOA).Serial
}

func TestManifestsServeOverUDPAndTCP(t *testing.T) {
	dir := copyExamples(t)
	c := harness.StartCoreDNS(t, manifestCorefile(harness.FreePort(t), dir))

	for _, proto := range []string{"udp", "tcp"} {
		for _, tc := range []struct {
			name  string
			qtype uint16
			rcode int
			want  []string
		}{
			{"web.example.org.", dns.TypeA, dns.RcodeSuccess, []string{"A 192.0.2.10"}},
			{"web.example.org.", dns.TypeAAAA, dns.RcodeSuccess, []string{"AAAA 2001:db8::10"}},
			{"web.example.org.", dns.TypeTXT, dns.RcodeSuccess, []string{"TXT heritage=external-dns,external-dns/owner=example,external-dns/resource=service/shop/web"}},
			{"web.internal.example.org.", dns.TypeAAAA, dns.RcodeSuccess, []string{"AAAA fd00:10:96::a"}},
			{"api-v2.example.org.", dns.TypeA, dns.RcodeSuccess, []string{"A 192.0.2.11"}},
			{"anything.apps.example.org.", dns.TypeAAAA, dns.RcodeSuccess, []string{"AAAA 2001:db8::12"}},
			{"nope.example.org.", dns.TypeA, dns.RcodeNameError, nil},
			{"web.example.org.", dns.TypeMX, dns.RcodeSuccess, nil},
			// examples/manifests/workloads.yaml: headless, NodePort, ExternalName.
			{"db.example.org.", dns.TypeA, dns.RcodeSuccess, []string{"A 10.244.1.10", "A 10.244.2.11"}},
			{"db.example.org.", dns.TypeAAAA, dns.RcodeSuccess, []string{"AAAA fd00:10:244:1::10", "AAAA fd00:10:244:2::11"}},
			{"db-1.db.example.org.", dns.TypeAAAA, dns.RcodeSuccess, []string{"AAAA fd00:10:244:2::11"}},
			{"db-2.db.example.org.", dns.TypeA, dns.RcodeNameError, nil},
			{"game.example.org.", dns.TypeA, dns.RcodeSuccess, []string{"A 198.51.100.10", "A 198.51.100.11"}},
			{"game.example.org.", dns.TypeAAAA, dns.RcodeSuccess, []string{"AAAA 2001:db8:100::10"}},
			{"_game._udp.game.example.org.", dns.TypeSRV, dns.RcodeSuccess, []string{"_game._udp.game.example.org.\t60\tIN\tSRV\t0 50 30777 game.example.org."}},
			{"legacy.example.org.", dns.TypeA, dns.RcodeSuccess, []string{"A 192.0.2.50"}},
		} {
			m := harness.Query(t, c.Addr, tc.name, tc.qtype, proto)
			got := answers(m)
			if m.Rcode != tc.rcode || strings.Join(got, ",") != strings.Join(tc.want, ",") || !m.Authoritative {
				t.Errorf("%s %s %s: rcode %s aa %v answers %v; want %s %v", proto, tc.name, dns.TypeToString[tc.qtype],
					dns.RcodeToString[m.Rcode], m.Authoritative, got, dns.RcodeToString[tc.rcode], tc.want)
			}
			if len(tc.want) == 0 && (len(m.Ns) != 1 || m.Ns[0].Header().Rrtype != dns.TypeSOA) {
				t.Errorf("%s %s %s: authority %v, want the SOA", proto, tc.name, dns.TypeToString[tc.qtype], m.Ns)
			}
		}
	}
	if ttl := harness.Query(t, c.Addr, "api.example.org.", dns.TypeA, "udp").Answer[0].Header().Ttl; ttl != 300 {
		t.Errorf("api.example.org TTL %d, want 300 from the annotation", ttl)
	}

	// The same through dig, as the README shows it.
	out := harness.Dig(t, "@127.0.0.1", "-p", fmt.Sprint(c.Port), "web.example.org", "AAAA", "+norec")
	if !strings.Contains(out, "flags: qr aa") || !strings.Contains(out, "2001:db8::10") {
		t.Errorf("dig output:\n%s", out)
	}
	out = harness.Dig(t, "@127.0.0.1", "-p", fmt.Sprint(c.Port), "nope.example.org", "A")
	if !strings.Contains(out, "status: NXDOMAIN") || !strings.Contains(out, "SOA") {
		t.Errorf("dig output:\n%s", out)
	}
}

func TestManifestEditChangesAnswers(t *testing.T) {
	dir := copyExamples(t)
	c := harness.StartCoreDNS(t, manifestCorefile(harness.FreePort(t), dir))
	file := filepath.Join(dir, "services.yaml")
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	serial := soaSerial(t, c.Addr)

	// Change an address and add a name.
	edited := strings.Replace(string(orig), "ip: 192.0.2.10", "ip: 192.0.2.77", 1)
	edited = strings.Replace(edited, "hostname: web.example.org", "hostname: web.example.org, www.example.org", 1)
	start := time.Now()
	if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 10*time.Second, func() error {
		got := answers(harness.Query(t, c.Addr, "www.example.org.", dns.TypeA, "udp"))
		if strings.Join(got, ",") != "A 192.0.2.77" {
			return fmt.Errorf("www.example.org A = %v", got)
		}
		return nil
	})
	t.Logf("manifest edit served after %v", time.Since(start))
	if got := answers(harness.Query(t, c.Addr, "web.example.org.", dns.TypeA, "udp")); strings.Join(got, ",") != "A 192.0.2.77" {
		t.Errorf("web.example.org A = %v", got)
	}
	serialAbove(t, c.Addr, serial)

	// A broken file loses nothing: the last good records stay.
	if err := os.WriteFile(file, []byte(edited+"\n---\nkind: Service\nmetadata: [broken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	harness.Eventually(t, 5*time.Second, func() error {
		if !strings.Contains(c.Log(), "manifests:") {
			return fmt.Errorf("no error logged for the broken file")
		}
		return nil
	})
	if got := answers(harness.Query(t, c.Addr, "www.example.org.", dns.TypeA, "udp")); strings.Join(got, ",") != "A 192.0.2.77" {
		t.Errorf("after a broken edit, www.example.org A = %v", got)
	}

	// Removing the file removes its Services.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 10*time.Second, func() error {
		if m := harness.Query(t, c.Addr, "web.example.org.", dns.TypeA, "udp"); m.Rcode != dns.RcodeNameError {
			return fmt.Errorf("web.example.org rcode %s after the file was removed", dns.RcodeToString[m.Rcode])
		}
		return nil
	})
}

func TestBadCorefileFailsAtStartup(t *testing.T) {
	bin := harness.CoreDNSBinary(t)
	for _, tc := range []struct{ corefile, want string }{
		{"example.org:%d {\n  clusterzone {\n    manifests /nonexistent\n    tll 5\n  }\n}\n", "Corefile:4 - Error during parsing: unknown property 'tll'"},
		{"example.org:%d {\n  clusterzone {\n    ttl -1\n  }\n}\n", "Corefile:3 - Error during parsing: ttl must be a whole number in 1..2147483647"},
		{"example.org:%d {\n  clusterzone {\n    manifests /nonexistent/dir\n  }\n}\n", "manifests: stat /nonexistent/dir"},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "Corefile")
		os.WriteFile(path, []byte(fmt.Sprintf(tc.corefile, harness.FreePort(t))), 0o644)
		cmd := exec.Command(bin, "-conf", path)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("coredns started with a bad Corefile:\n%s", out)
			continue
		}
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("output %q does not contain %q", out, tc.want)
		}
	}
}

func TestPluginsListsClusterzone(t *testing.T) {
	out, err := exec.Command(harness.CoreDNSBinary(t), "-plugins").CombinedOutput()
	if err != nil {
		t.Fatal(err, string(out))
	}
	// CoreDNS v1.15 prints plugin names without caddy's "dns." prefix.
	found := false
	for _, l := range strings.Split(string(out), "\n") {
		found = found || strings.TrimSpace(l) == "clusterzone" || strings.TrimSpace(l) == "dns.clusterzone"
	}
	if !found {
		t.Errorf("-plugins does not list clusterzone:\n%s", out)
	}
}
