package e2e

import (
	"context"
	"crypto"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
)

// dnssecServices are the Services TestDNSSECValidatedByDelv serves: a plain
// dual-stack name and a wildcard.
const dnssecServices = `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  creationTimestamp: "2026-01-01T00:00:00Z"
  annotations:
    external-dns.alpha.kubernetes.io/hostname: web.example.org
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.10
  ports: [{port: 443}]
status:
  loadBalancer:
    ingress:
      - ip: 192.0.2.10
      - ip: "2001:db8::10"
---
apiVersion: v1
kind: Service
metadata:
  name: wild
  namespace: shop
  creationTimestamp: "2026-01-02T00:00:00Z"
  annotations:
    external-dns.alpha.kubernetes.io/hostname: "*.wild.example.org"
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.20
  ports: [{port: 80}]
status:
  loadBalancer:
    ingress:
      - ip: 192.0.2.20
      - ip: "2001:db8::20"
`

// dnssecKey generates an ECDSA P-256 SHA-256 (algorithm 13) key for zone
// with the given DNSKEY flags (257: a KSK/CSK, SEP bit set) and writes it to
// dir as dnssec-keygen does: K<zone>.+013+<tag>.key and .private. It returns
// the key and the base name (without extension) that `key file` takes.
func dnssecKey(t *testing.T, dir, zone string, flags uint16) (*dns.DNSKEY, string) {
	t.Helper()
	k := &dns.DNSKEY{
		Hdr:       dns.RR_Header{Name: dns.Fqdn(zone), Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags:     flags,
		Protocol:  3,
		Algorithm: dns.ECDSAP256SHA256,
	}
	priv, err := k.Generate(256)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, fmt.Sprintf("K%s+%03d+%05d", dns.Fqdn(zone), k.Algorithm, k.KeyTag()))
	if err := os.WriteFile(base+".key", []byte(k.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".private", []byte(k.PrivateKeyString(priv.(crypto.PrivateKey))), 0o600); err != nil {
		t.Fatal(err)
	}
	return k, base
}

// writeAnchor writes a delv trust-anchors file with one anchor: the DNSKEY
// itself (static-key) or its SHA-256 DS (static-ds, what the parent zone
// publishes).
func writeAnchor(t *testing.T, path string, k *dns.DNSKEY, asDS bool) {
	t.Helper()
	line := fmt.Sprintf("%s static-key %d %d %d %q;", k.Header().Name, k.Flags, k.Protocol, k.Algorithm, k.PublicKey)
	if asDS {
		ds := k.ToDS(dns.SHA256)
		line = fmt.Sprintf("%s static-ds %d %d %d %q;", k.Header().Name, ds.KeyTag, ds.Algorithm, ds.DigestType, strings.ToUpper(ds.Digest))
	}
	if err := os.WriteFile(path, []byte("trust-anchors {\n    "+line+"\n};\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// delv runs `delv -a ANCHORS +root=ZONE @127.0.0.1 -p PORT NAME TYPE` and
// returns what it printed (stdout and stderr) and its error. A missing delv
// fails the test.
func delv(t *testing.T, anchors, zone string, port int, name, qtype string, extra ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("delv")
	if err != nil {
		t.Fatalf("delv not found (%v): run hack/deps.sh (Debian package bind9-dnsutils: apt-get install -y bind9-dnsutils)", err)
	}
	args := append([]string{"-a", anchors, "+root=" + strings.TrimSuffix(zone, "."), "@127.0.0.1", "-p", strconv.Itoa(port)}, extra...)
	args = append(args, name, qtype)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	t.Logf("delv %s:\n%s", strings.Join(args, " "), out)
	return string(out), err
}

// TestDNSSECValidatedByDelv: with the dnssec plugin in front of clusterzone
// (the order cmd/coredns gives the chain), every kind of answer clusterzone
// gives is signed on the fly and validated by delv (BIND's validator) from a
// trust anchor for the zone: positive A and AAAA, NODATA, NXDOMAIN (which the
// dnssec plugin's black lies turn into NODATA) and a wildcard-synthesized
// answer; the key's DS works as the anchor as well. The same queries with
// another key, or a DS with a wrong digest, as trust anchor fail validation.
// It also pins down what a zone transfer gets (README, DNSSEC): without DO
// the unsigned zone; with DO RRSIGs after the closing SOA, no DNSKEY or NSEC.
func TestDNSSECValidatedByDelv(t *testing.T) {
	const zone = "example.org."
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "services.yaml"), []byte(dnssecServices), 0o644); err != nil {
		t.Fatal(err)
	}
	keyDir := t.TempDir()
	key, keyBase := dnssecKey(t, keyDir, zone, 257)
	other, _ := dnssecKey(t, keyDir, zone, 257) // never given to CoreDNS

	port := harness.FreePort(t)
	c := harness.StartCoreDNS(t, fmt.Sprintf(`example.org:%d {
    dnssec {
        key file %s
    }
    transfer {
        to *
    }
    clusterzone {
        manifests %s
        owner-id example
        ns ns1.example.org 127.0.0.1
    }
}
`, port, keyBase, dir))

	anchors := filepath.Join(keyDir, "anchors.conf")
	writeAnchor(t, anchors, key, false)
	dsAnchors := filepath.Join(keyDir, "ds-anchors.conf")
	writeAnchor(t, dsAnchors, key, true)
	wrong := filepath.Join(keyDir, "wrong-anchors.conf")
	writeAnchor(t, wrong, other, false)

	for _, tc := range []struct {
		what, name, qtype string
		want              []string // lines delv must print, in this order, whitespace collapsed
	}{
		{"positive A", "web.example.org", "A", []string{
			"; fully validated",
			"web.example.org. 60 IN A 192.0.2.10",
			"web.example.org. 60 IN RRSIG A 13 3 3600 ",
		}},
		{"positive AAAA", "web.example.org", "AAAA", []string{
			"; fully validated",
			"web.example.org. 60 IN AAAA 2001:db8::10",
			"web.example.org. 60 IN RRSIG AAAA 13 3 3600 ",
		}},
		// web.example.org has A, AAAA and TXT (the ownership record), no MX.
		{"NODATA", "web.example.org", "MX", []string{
			"; negative response, fully validated",
			`; web.example.org. 60 IN \-MX ;-$NXRRSET`,
			`; web.example.org. NSEC \000.web.example.org. A HINFO TXT AAAA `,
			"; example.org. SOA ns1.example.org. hostmaster.example.org. ",
		}},
		// Black lies: the name does not exist, yet the answer is NOERROR
		// with an NSEC that denies only the type asked for.
		{"NXDOMAIN", "nope.example.org", "A", []string{
			"; negative response, fully validated",
			`; nope.example.org. 60 IN \-A ;-$NXRRSET`,
			`; nope.example.org. NSEC \000.nope.example.org. HINFO TXT AAAA `,
			"; example.org. SOA ns1.example.org. hostmaster.example.org. ",
		}},
		// Signed as the name asked for (labels 4 = all of its labels), not
		// as an expansion of *.wild.example.org: no wildcard proof needed.
		{"wildcard", "anything.wild.example.org", "A", []string{
			"; fully validated",
			"anything.wild.example.org. 60 IN A 192.0.2.20",
			"anything.wild.example.org. 60 IN RRSIG A 13 4 3600 ",
		}},
		{"wildcard, two labels deep", "deeper.anything.wild.example.org", "AAAA", []string{
			"; fully validated",
			"deeper.anything.wild.example.org. 60 IN AAAA 2001:db8::20",
			"deeper.anything.wild.example.org. 60 IN RRSIG AAAA 13 5 3600 ",
		}},
		{"DNSKEY", "example.org", "DNSKEY", []string{
			"; fully validated",
			fmt.Sprintf("example.org. 3600 IN DNSKEY 257 3 13 %s", key.PublicKey[:20]),
			fmt.Sprintf("; KSK; alg = ECDSAP256SHA256 ; key id = %d", key.KeyTag()),
		}},
	} {
		out, err := delv(t, anchors, zone, c.Port, tc.name, tc.qtype)
		if err != nil {
			t.Errorf("%s: delv %s %s: %v", tc.what, tc.name, tc.qtype, err)
		}
		rest := collapse(out)
		for _, w := range tc.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s: delv %s %s did not print %q (after the lines before it); it printed:\n%s", tc.what, tc.name, tc.qtype, w, out)
				break
			}
			rest = rest[i+len(w):]
		}
	}

	// Black lies are for DNSSEC clients only: without DO the answer is the
	// plain NXDOMAIN; with DO it is NOERROR, the signed SOA and the NSEC.
	if m := harness.Query(t, c.Addr, "nope.example.org.", dns.TypeA, "udp"); m.Rcode != dns.RcodeNameError || len(m.Ns) != 1 {
		t.Errorf("nope.example.org A without DO: %v, want NXDOMAIN with the SOA", m)
	}
	m := new(dns.Msg)
	m.SetQuestion("nope.example.org.", dns.TypeA)
	m.SetEdns0(1232, true)
	if r := harness.Exchange(t, c.Addr, m, "udp"); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || !hasType(r.Ns, dns.TypeNSEC) || !hasType(r.Ns, dns.TypeRRSIG) {
		t.Errorf("nope.example.org A with DO: %v, want NOERROR, no answer, SOA and NSEC with their RRSIGs", r)
	}

	// The DS the parent publishes works as the anchor too.
	if out, _ := delv(t, dsAnchors, zone, c.Port, "web.example.org", "A"); !strings.Contains(out, "; fully validated") {
		t.Errorf("with the key's DS as trust anchor, delv did not validate:\n%s", out)
	}

	// Another key, or the right key's DS with one digit changed, as the
	// anchor: nothing validates.
	tampered := filepath.Join(keyDir, "tampered-anchors.conf")
	ds := key.ToDS(dns.SHA256)
	digest := []byte(strings.ToUpper(ds.Digest))
	digest[10] = "01"[map[bool]int{true: 1}[digest[10] == '0']]
	if err := os.WriteFile(tampered, []byte(fmt.Sprintf("trust-anchors {\n    %s static-ds %d %d %d %q;\n};\n",
		zone, ds.KeyTag, ds.Algorithm, ds.DigestType, digest)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{wrong, tampered} {
		for _, q := range [][2]string{{"web.example.org", "A"}, {"nope.example.org", "A"}, {"anything.wild.example.org", "A"}} {
			out, _ := delv(t, a, zone, c.Port, q[0], q[1])
			if strings.Contains(out, "validated") || !strings.Contains(out, ";; resolution failed: broken trust chain") {
				t.Errorf("delv -a %s %s %s: want a validation failure (broken trust chain), got:\n%s", filepath.Base(a), q[0], q[1], out)
			}
		}
	}

	// Zone transfers are not signed zones. Without DO (as secondaries ask:
	// Knot 3.2.6 does) the AXFR is the unsigned zone. With DO the dnssec
	// plugin signs the RRsets of each message it passes but adds no DNSKEY
	// and no NSEC, and puts the RRSIGs after the closing SOA, so the
	// transfer does not even end where RFC 5936 says (a miekg/dns client
	// keeps reading until EOF).
	plain := transferIn(t, c.Addr, func() *dns.Msg { m := new(dns.Msg); m.SetAxfr(zone); return m }())
	t.Logf("AXFR without DO: %d records", len(plain))
	if !hasType(plain, dns.TypeA) || !hasType(plain, dns.TypeAAAA) || hasType(plain, dns.TypeRRSIG) || hasType(plain, dns.TypeDNSKEY) || hasType(plain, dns.TypeNSEC) {
		t.Errorf("AXFR without DO: %v, want the unsigned zone", rrStrings(plain))
	}
	m = new(dns.Msg)
	m.SetAxfr(zone)
	m.SetEdns0(4096, true)
	signed := harness.Exchange(t, c.Addr, m, "tcp").Answer // the zone fits one message
	t.Logf("AXFR with DO (one message): %d records", len(signed))
	rrsets := map[[2]string]bool{}
	for _, rr := range plain {
		rrsets[[2]string{strings.ToLower(rr.Header().Name), dns.TypeToString[rr.Header().Rrtype]}] = true
	}
	if len(signed) != len(plain)+len(rrsets) || hasType(signed, dns.TypeDNSKEY) || hasType(signed, dns.TypeNSEC) ||
		signed[0].Header().Rrtype != dns.TypeSOA || signed[len(plain)-1].Header().Rrtype != dns.TypeSOA ||
		signed[len(signed)-1].Header().Rrtype != dns.TypeRRSIG {
		t.Errorf("AXFR with DO: %v, want the %d records ending with the SOA, then one RRSIG for each of the %d RRsets, no DNSKEY or NSEC",
			rrStrings(signed), len(plain), len(rrsets))
	}
}

// collapse replaces each run of spaces and tabs with one space.
func collapse(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

func hasType(rrs []dns.RR, t uint16) bool {
	for _, rr := range rrs {
		if rr.Header().Rrtype == t {
			return true
		}
	}
	return false
}
