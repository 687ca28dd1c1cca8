package clusterzone

import (
	"context"
	"strings"
	"testing"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/externaldns"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// The fuzz targets of this package run their seeds (f.Add and
// testdata/fuzz/<target>) with every `go test`; `make fuzz` explores further.

// fuzzQuery packs a query for name/qtype, with the options callers set on it.
func fuzzQuery(f *testing.F, name string, qtype uint16, edit func(m *dns.Msg)) []byte {
	f.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if edit != nil {
		edit(m)
	}
	b, err := m.Pack()
	if err != nil {
		f.Fatalf("seed %s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return b
}

// FuzzServeDNS feeds every message miekg/dns can unpack into ServeDNS of
// handlers (one per address view) over a table with plain names, an empty
// non-terminal, a wildcard, an IPv6-only name, an apex record and NS glue,
// fallthrough off. Besides not panicking, a reply must be well formed: it
// answers the question asked, packs, carries AA, is NOERROR or NXDOMAIN, and
// holds only records at the query name (of the asked type unless ANY), or the
// zone's SOA in authority when there is no answer.
func FuzzServeDNS(f *testing.F) {
	for _, tc := range serveTests {
		f.Add(fuzzQuery(f, tc.Qname, tc.Qtype, nil))
	}
	seeds := []struct {
		name  string
		qtype uint16
		edit  func(*dns.Msg)
	}{
		{"example.org.", dns.TypeAXFR, nil},
		{"example.org.", dns.TypeIXFR, nil},
		{"example.org.", dns.TypeANY, nil},
		{"example.org.", dns.TypeNS, func(m *dns.Msg) { m.SetEdns0(4096, true) }},
		{"ns1.example.org.", dns.TypeANY, nil},
		{"deep.a.b.example.org.", dns.TypeTXT, func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }},
		{"*.apps.example.org.", dns.TypeA, nil},
		{"*.apps.example.org.", dns.TypeANY, nil},
		{`x\.apps.example.org.`, dns.TypeA, nil},
		{`\000.apps.example.org.`, dns.TypeAAAA, nil},
		{`\@.example.org.`, dns.TypeA, nil},
		{"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.apps.example.org.", dns.TypeA, nil},
		{strings.Repeat("a.", 120) + "example.org.", dns.TypeA, nil},
		{"org.", dns.TypeSOA, nil},
		{".", dns.TypeNS, nil},
		{"EXAMPLE.ORG.", dns.TypeSOA, func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }},
		{"web.example.org.", dns.TypeA, func(m *dns.Msg) {
			m.Question = append(m.Question, dns.Question{Name: "v6.example.org.", Qtype: dns.TypeAAAA, Qclass: dns.ClassINET})
		}},
		{"web.example.org.", dns.TypeNone, nil},
		{"web.example.org.", dns.TypeRRSIG, func(m *dns.Msg) { m.SetEdns0(1232, true); m.CheckingDisabled = true }},
	}
	for _, s := range seeds {
		f.Add(fuzzQuery(f, s.name, s.qtype, s.edit))
	}

	handlers := []*Clusterzone{
		newTestPlugin(f, testServices, table.External),
		newTestPlugin(f, testServices, table.Internal),
		newTestPlugin(f, testServices, table.All),
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		r := new(dns.Msg)
		if err := r.Unpack(data); err != nil {
			return
		}
		if len(r.Question) == 0 {
			return // CoreDNS's server answers these itself; plugins never see them
		}
		for _, cz := range handlers {
			checkServeDNS(t, ctx, cz, r)
		}
	})
}

func checkServeDNS(t *testing.T, ctx context.Context, cz *Clusterzone, r *dns.Msg) {
	t.Helper()
	q := r.Question[0]
	qname := strings.ToLower(q.Name)
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	rcode, err := cz.ServeDNS(ctx, rec, r.Copy())
	if err != nil {
		t.Fatalf("%s %s (view %s): error %v", q.Name, dns.TypeToString[q.Qtype], cz.view, err)
	}
	m := rec.Msg
	if m == nil {
		// Nothing written: CoreDNS writes the reply for this rcode.
		if plugin.ClientWrite(rcode) {
			t.Fatalf("%s %s (view %s): rcode %s returned but no reply written", q.Name, dns.TypeToString[q.Qtype], cz.view, dns.RcodeToString[rcode])
		}
		return
	}
	where := func() string {
		return q.Name + " " + dns.TypeToString[q.Qtype] + " (view " + cz.view.String() + "):\n" + m.String()
	}
	if rcode != dns.RcodeSuccess {
		t.Fatalf("%s\nreply written but rcode %s returned", where(), dns.RcodeToString[rcode])
	}
	if r.Opcode != dns.OpcodeQuery {
		// NOTIFY is not taken (NOTAUTH), other opcodes not implemented.
		if m.Id != r.Id || !m.Response || m.Authoritative || len(m.Answer) != 0 || len(m.Question) != 1 || m.Question[0] != q ||
			(m.Rcode != dns.RcodeNotAuth && m.Rcode != dns.RcodeNotImplemented) || (m.Rcode == dns.RcodeNotAuth) != (r.Opcode == dns.OpcodeNotify) {
			t.Fatalf("%s\nopcode %s: want a non-authoritative NOTAUTH (NOTIFY) or NOTIMP without answers", where(), dns.OpcodeToString[r.Opcode])
		}
		return
	}
	if m.CheckingDisabled {
		t.Fatalf("%s\nCD copied into the reply", where())
	}
	if m.Id != r.Id || !m.Response || !m.Authoritative {
		t.Fatalf("%s\nnot an authoritative reply to id %d", where(), r.Id)
	}
	if len(m.Question) != 1 || m.Question[0] != q {
		t.Fatalf("%s\nquestion %v, want %v", where(), m.Question, q)
	}
	if m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError {
		t.Fatalf("%s\nrcode %s, want NOERROR or NXDOMAIN", where(), dns.RcodeToString[m.Rcode])
	}
	if m.Rcode == dns.RcodeNameError && len(m.Answer) > 0 {
		t.Fatalf("%s\nNXDOMAIN with answers", where())
	}
	for _, rr := range m.Answer {
		h := rr.Header()
		if h.Name != q.Name {
			t.Fatalf("%s\nanswer %s is not at the query name %s as asked", where(), rr, q.Name)
		}
		if q.Qtype != dns.TypeANY && h.Rrtype != q.Qtype && h.Rrtype != dns.TypeCNAME {
			t.Fatalf("%s\nanswer %s is not of the asked type", where(), rr)
		}
	}
	zone := plugin.Zones(cz.Zones).Matches(qname)
	if len(m.Answer) == 0 {
		if len(m.Ns) != 1 || m.Ns[0].Header().Rrtype != dns.TypeSOA || m.Ns[0].Header().Name != zone {
			t.Fatalf("%s\nno answer and no SOA of %s in authority", where(), zone)
		}
	}
	if _, err := m.Pack(); err != nil {
		t.Fatalf("%s\nreply does not pack: %v", where(), err)
	}
}

// FuzzParseCorefile feeds Corefile text following the directive name into
// parse, the clusterzone directive's parser (route53 block included). parse either returns an error
// or a usable configuration: at least one zone, a TTL in range, an NS name
// that is a domain name, an owner id without the characters that would break
// the ownership TXT record.
func FuzzParseCorefile(f *testing.F) {
	for _, s := range []string{
		"",
		" example.org",
		" example.org example.com 10.0.0.0/8",
		" {\n manifests a.yaml dir/\n}",
		" example.org {\n kubeconfig /k/config ctx\n namespaces a b\n labels app=web,tier!=db\n ttl 300\n owner-id cluster-1\n" +
			" annotation-prefix dns.example.com\n controller mine\n addresses all\n ns ns.example.org 192.0.2.53 2001:db8::53\n" +
			" resolver 127.0.0.1:5300 ::1\n allow team-a.example.org team-a team-x\n events off\n fallthrough example.com\n}",
		" example.org {\n ns ns1.example.com 192.0.2.1\n fallthrough\n}",
		" example.org {\n route53 {\n  zone example.org Z0123456789ABCDEFGHIJ\n  region eu-west-1\n  endpoint http://127.0.0.1:5000\n" +
			"  policy sync\n  dry-run\n  interval 5m\n  debounce 2\n  lease dns/clusterzone\n  batch-size 100\n  rate-limit 2.5\n" +
			"  txt-prefix cz-\n  txt-wildcard-replacement any\n  evaluate-target-health false\n  credentials prod /creds\n" +
			"  assume-role arn:aws:iam::123456789012:role/dns ext\n }\n}",
		" example.org {\n route53 {\n  zone sub.example.org /hostedzone/Z1\n  txt-suffix -cz\n }\n}",
		" {\n bogus\n}",
		" {\n ttl 0\n}",
		" {\n labels a in (\n}",
		" {\n resolver 127.0.0.1:99999\n}",
		" example..org",
		"\nclusterzone",
		" {\n manifests a.yaml\n kubeconfig /k\n}",
		" example.org {\n route53 {\n  zone example.com Z1\n }\n}",
		" {\n ns \"\"\n}",
		" \"\" {\n}",
		" {\n allow . default\n fallthrough \\\\ a:\n}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		// The dispenser is positioned on the directive, as CoreDNS does it:
		// parse only ever sees blocks that start with "clusterzone".
		c := caddy.NewTestController("dns", "clusterzone"+input)
		c.ServerBlockKeys = []string{"example.net."}
		cz, cfg, err := parse(c)
		if err != nil {
			return
		}
		_ = cfg.key()
		if len(cz.Zones) == 0 {
			t.Fatalf("%q: no zones and no error", input)
		}
		for _, z := range cz.Zones {
			// A usable zone: the root, or a lower-case FQDN of plain
			// labels (the table compares names by string suffix). Escapes
			// and other characters are refused by parse (found by this
			// target: `clusterzone \0\` used to give the zone "\0\.").
			if _, ok := dns.IsDomainName(z); !ok || !dns.IsFqdn(z) || (z != "." && strings.Trim(z, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != "") {
				t.Fatalf("%q: zone %q is not a plain lower-case FQDN", input, z)
			}
			if ns := cz.nsFor(z); !strings.HasSuffix(ns, ".") {
				t.Fatalf("%q: NS name %q of zone %s", input, ns, z)
			}
		}
		if ttl := cfg.translate.DefaultTTL; ttl < 1 || ttl > 2147483647 {
			t.Fatalf("%q: ttl %d", input, ttl)
		}
		// The ownership TXT of the longest Service key (63 + "/" + 63)
		// fits one character-string.
		if txt := externaldns.OwnershipTXT(cfg.ownerID, strings.Repeat("n", 63)+"/"+strings.Repeat("s", 63)); cfg.ownerID == "" || len(txt) > 255 ||
			strings.ContainsAny(cfg.ownerID, ",\"=\\ ") || strings.IndexFunc(cfg.ownerID, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
			t.Fatalf("%q: owner id %q", input, cfg.ownerID)
		}
		if len(cfg.translate.Prefixes) == 0 || len(cfg.translate.Controllers) == 0 {
			t.Fatalf("%q: no annotation prefixes or controllers: %+v", input, cfg.translate)
		}
		if len(cfg.manifests) > 0 == cfg.useKube {
			t.Fatalf("%q: manifests %v and useKube %v", input, cfg.manifests, cfg.useKube)
		}
		if r := cfg.route53; r != nil {
			if r.OwnerID != cfg.ownerID || len(r.Zones) == 0 {
				t.Fatalf("%q: route53 %+v", input, r)
			}
		}
	})
}
