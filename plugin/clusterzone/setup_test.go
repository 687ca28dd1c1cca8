package clusterzone

import (
	"strings"
	"testing"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/externaldns"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/source/kube"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	"github.com/coredns/caddy"
	"github.com/miekg/dns"
)

func TestParse(t *testing.T) {
	tests := []struct {
		input string
		check func(t *testing.T, cz *Clusterzone, cfg sharedConfig)
	}{
		{`clusterzone example.org {
			manifests a.yaml dir/
		}`, func(t *testing.T, cz *Clusterzone, cfg sharedConfig) {
			if len(cfg.manifests) != 2 || cfg.useKube {
				t.Errorf("manifests %v useKube %v", cfg.manifests, cfg.useKube)
			}
			if cfg.translate.DefaultTTL != 60 || cfg.ownerID != "default" || len(cfg.translate.Prefixes) != 2 || cz.view != table.External || !cfg.events {
				t.Errorf("defaults: %+v", cfg)
			}
			if cz.Zones[0] != "example.org." || cz.nsFor("example.org.") != "ns1.example.org." {
				t.Errorf("zones %v ns %s", cz.Zones, cz.nsFor("example.org."))
			}
		}},
		{`clusterzone`, func(t *testing.T, cz *Clusterzone, cfg sharedConfig) {
			if want := kube.PodNamespace() + "/clusterzone-serial"; cfg.serialLease != want {
				t.Errorf("serial lease %q, want %q", cfg.serialLease, want)
			}
		}},
		{`clusterzone {
			serial-lease dns/serial
		}`, func(t *testing.T, cz *Clusterzone, cfg sharedConfig) {
			if cfg.serialLease != "dns/serial" {
				t.Errorf("serial lease %q", cfg.serialLease)
			}
		}},
		{`clusterzone {
			serial-lease off
		}`, func(t *testing.T, cz *Clusterzone, cfg sharedConfig) {
			if cfg.serialLease != "" {
				t.Errorf("serial lease %q, want none", cfg.serialLease)
			}
		}},
		{`clusterzone {
			manifests a.yaml
		}`, func(t *testing.T, cz *Clusterzone, cfg sharedConfig) {
			if cfg.serialLease != "" {
				t.Errorf("manifests: serial lease %q, want none", cfg.serialLease)
			}
		}},
		{`clusterzone {
			ixfr-journal 500
		}`, func(t *testing.T, cz *Clusterzone, cfg sharedConfig) {
			if cfg.journalEntries != 500 || cfg.journalBytes != table.DefaultJournalBytes {
				t.Errorf("ixfr-journal 500: %d entries, %d bytes", cfg.journalEntries, cfg.journalBytes)
			}
		}},
		{`clusterzone {
			ixfr-journal 0 4096
		}`, func(t *testing.T, cz *Clusterzone, cfg sharedConfig) {
			if cfg.journalEntries != 0 || cfg.journalBytes != 4096 {
				t.Errorf("ixfr-journal 0 4096: %d entries, %d bytes", cfg.journalEntries, cfg.journalBytes)
			}
		}},
		{`clusterzone`, func(t *testing.T, cz *Clusterzone, cfg sharedConfig) {
			if cfg.journalEntries != table.DefaultJournalEntries || cfg.journalBytes != table.DefaultJournalBytes {
				t.Errorf("journal defaults: %d entries, %d bytes", cfg.journalEntries, cfg.journalBytes)
			}
			if !cfg.useKube || cz.Zones[0] != "example.net." {
				t.Errorf("default source is kubernetes from the server block zone: %+v %v", cfg, cz.Zones)
			}
			// ExternalDNS's defaults: the GA prefix first; every Service type,
			// so EndpointSlices and Nodes are watched.
			if cfg.translate.Prefixes[0] != translate.PrefixGA || cfg.translate.Prefixes[1] != translate.PrefixAlpha ||
				!cfg.kube.EndpointSlices || !cfg.kube.Nodes || cfg.translate.ExternalNameCNAME || cfg.translate.GatewayHostname {
				t.Errorf("defaults: %+v %+v", cfg.translate, cfg.kube)
			}
		}},
		{`clusterzone {
			service-types LoadBalancer ExternalName
			externalname cname
			always-publish-not-ready-addresses
			publish-host-ip
			expose-internal-ipv6
			compat k8s_gateway
		}`, func(t *testing.T, cz *Clusterzone, cfg sharedConfig) {
			o := cfg.translate
			if !o.ExternalNameCNAME || !o.AlwaysPublishNotReady || !o.PublishHostIP || !o.ExposeInternalIPv6 || !o.GatewayHostname ||
				strings.Join(o.ServiceTypes, ",") != "LoadBalancer,ExternalName" {
				t.Errorf("translate %+v", o)
			}
			if cfg.kube.EndpointSlices || cfg.kube.Nodes {
				t.Errorf("no headless or NodePort Services: nothing to watch but Services: %+v", cfg.kube)
			}
		}},
		{`clusterzone {
			service-types ClusterIP
		}`, func(t *testing.T, cz *Clusterzone, cfg sharedConfig) {
			if !cfg.kube.EndpointSlices || cfg.kube.Nodes {
				t.Errorf("headless Services need EndpointSlices, not Nodes: %+v", cfg.kube)
			}
		}},
		{`clusterzone example.org example.com {
			kubeconfig /k/config ctx
			namespaces a b
			labels app=web,tier!=db
			ttl 300
			owner-id cluster-1
			annotation-prefix dns.example.com
			controller mine
			addresses all
			ns ns.example.org 192.0.2.53 2001:db8::53
			resolver 127.0.0.1:5300 ::1
			allow team-a.example.org team-a team-x
			events off
			fallthrough example.com
		}`, func(t *testing.T, cz *Clusterzone, cfg sharedConfig) {
			if cfg.kube.Kubeconfig != "/k/config" || cfg.kube.Context != "ctx" || strings.Join(cfg.kube.Namespaces, ",") != "a,b" || cfg.kube.Labels != "app=web,tier!=db" {
				t.Errorf("kube %+v", cfg.kube)
			}
			if cfg.translate.DefaultTTL != 300 || cfg.ownerID != "cluster-1" || cfg.translate.Prefixes[0] != "dns.example.com/" || cfg.translate.Controllers[0] != "mine" {
				t.Errorf("translate %+v owner %s", cfg.translate, cfg.ownerID)
			}
			if cz.view != table.All || cz.nsFor("example.org.") != "ns.example.org." || len(cz.nsAddrs) != 2 {
				t.Errorf("view %v ns %s %v", cz.view, cz.nsFor("example.org."), cz.nsAddrs)
			}
			if strings.Join(cfg.resolvers, " ") != "127.0.0.1:5300 [::1]:53" {
				t.Errorf("resolvers %v", cfg.resolvers)
			}
			want := translate.Allow{Suffix: "team-a.example.org.", Namespaces: []string{"team-a", "team-x"}}
			if len(cfg.translate.Allow) != 1 || cfg.translate.Allow[0].Suffix != want.Suffix || len(cfg.translate.Allow[0].Namespaces) != 2 {
				t.Errorf("allow %+v", cfg.translate.Allow)
			}
			if cfg.events || !cz.Fall.Through("x.example.com.") || cz.Fall.Through("x.example.org.") {
				t.Errorf("events %v fall %+v", cfg.events, cz.Fall)
			}
		}},
		{"clusterzone {\n owner-id Prod_EU-1.cluster/team:x\n}", func(t *testing.T, cz *Clusterzone, cfg sharedConfig) {
			if cfg.ownerID != "Prod_EU-1.cluster/team:x" {
				t.Errorf("owner %q", cfg.ownerID)
			}
		}},
		{"clusterzone {\n owner-id arn:aws:eks:eu-west-1:123456789012:cluster/prod-eu-west1\n}", func(t *testing.T, cz *Clusterzone, cfg sharedConfig) {
			if len(cfg.ownerID) != externaldns.MaxOwnerIDLen || cfg.ownerID != "arn:aws:eks:eu-west-1:123456789012:cluster/prod-eu-west1" {
				t.Errorf("owner %q (%d characters), want the longest allowed (%d)", cfg.ownerID, len(cfg.ownerID), externaldns.MaxOwnerIDLen)
			}
		}},
	}
	for i, tc := range tests {
		c := caddy.NewTestController("dns", tc.input)
		c.ServerBlockKeys = []string{"example.net."}
		cz, cfg, err := parse(c)
		if err != nil {
			t.Fatalf("test %d: %v", i, err)
		}
		tc.check(t, cz, cfg)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ input, want string }{
		{"clusterzone {\n bogus\n}", "Testfile:2 - Error during parsing: unknown property 'bogus'"},
		{"clusterzone {\n ttl 0\n}", "Testfile:2 - Error during parsing: ttl must be a whole number in 1..2147483647"},
		{"clusterzone {\n ttl abc\n}", "ttl must be a whole number"},
		{"clusterzone {\n ttl\n}", "Wrong argument count"},
		{"clusterzone {\n max-addresses 0\n}", "Testfile:2 - Error during parsing: max-addresses must be a whole number in 1..1400"},
		{"clusterzone {\n max-addresses 5000\n}", "max-addresses must be a whole number in 1..1400"},
		{"clusterzone {\n serial-lease\n}", "Testfile:2 - Error during parsing: serial-lease needs NAMESPACE/NAME or off"},
		{"clusterzone {\n serial-lease nope\n}", "Testfile:2 - Error during parsing: serial-lease must be NAMESPACE/NAME, got \"nope\""},
		{"clusterzone {\n serial-lease Kube/x\n}", "Testfile:2 - Error during parsing: serial-lease namespace \"Kube\""},
		{"clusterzone {\n manifests a.yaml\n serial-lease a/b\n}", "serial-lease needs the Kubernetes source, not manifests"},
		{"clusterzone {\n ixfr-journal\n}", "Testfile:2 - Error during parsing: ixfr-journal needs ENTRIES [BYTES]"},
		{"clusterzone {\n ixfr-journal -1\n}", "Testfile:2 - Error during parsing: ixfr-journal entries must be a whole number in 0..10000000, not \"-1\""},
		{"clusterzone {\n ixfr-journal 10 12\n}", "Testfile:2 - Error during parsing: ixfr-journal bytes must be a whole number in 1024..1099511627776, not \"12\""},
		{"clusterzone {\n ixfr-journal 1 2 3\n}", "ixfr-journal needs ENTRIES [BYTES]"},
		{"clusterzone {\n manifests\n}", "Wrong argument count"},
		{"clusterzone {\n kubeconfig\n}", "kubeconfig needs PATH [CONTEXT]"},
		{"clusterzone {\n kubeconfig a b c\n}", "kubeconfig needs PATH [CONTEXT]"},
		{"clusterzone {\n namespaces\n}", "Wrong argument count"},
		{"clusterzone {\n labels a in (\n}", "labels:"},
		{"clusterzone {\n owner-id\n}", "Wrong argument count"},
		{"clusterzone {\n owner-id \"\"\n}", `Testfile:2 - Error during parsing: owner-id "" is empty`},
		{"clusterzone {\n owner-id a=b\n}", `owner-id "a=b" holds '='`},
		{"clusterzone {\n owner-id a,b\n}", `owner-id "a,b" holds ','`},
		{"clusterzone {\n owner-id a\"b\n}", `owner-id "a\"b" holds '"'`},
		{"clusterzone {\n owner-id a\\b\n}", `owner-id "a\\b" holds '\\'`},
		{"clusterzone {\n owner-id \"a b\"\n}", `owner-id "a b" holds the space or control character ' '`},
		{"clusterzone {\n owner-id \"a\tb\"\n}", `owner-id "a\tb" holds the space or control character '\t'`},
		{"clusterzone {\n owner-id a\x01b\n}", `owner-id "a\x01b" holds the space or control character '\x01'`},
		{"clusterzone {\n owner-id a\x7fb\n}", `owner-id "a\x7fb" holds the space or control character '\x7f'`},
		{"clusterzone {\n owner-id clüster\n}", `owner-id "clüster" holds the non-ASCII character 'ü' (U+00FC)`},
		{"clusterzone {\n owner-id a\xffb\n}", "owner-id \"a\ufffdb\" holds the non-ASCII character '\ufffd' (U+FFFD)"}, // the Corefile lexer reads an invalid byte as U+FFFD
		{"clusterzone {\n owner-id arn:aws:eks:eu-west-1:123456789012:cluster/prod-eu-west-1\n}",
			`owner-id "arn:aws:eks:eu-west-1:123456789012:cluster/prod-eu-west-1" is 57 characters long, more than 56`},
		{"clusterzone {\n annotation-prefix\n}", "Wrong argument count"},
		{"clusterzone {\n controller\n}", "Wrong argument count"},
		{"clusterzone {\n addresses public\n}", "addresses must be external, internal or all"},
		{"clusterzone {\n ns\n}", "Wrong argument count"},
		{"clusterzone {\n ns ns1.example.org not-an-ip\n}", "is not an IP address"},
		{"clusterzone {\n resolver dns.google\n}", "resolver"},
		{"clusterzone {\n resolver 127.0.0.1:99999\n}", "bad port"},
		{"clusterzone {\n allow team-a.example.org\n}", "allow needs SUFFIX NAMESPACE"},
		{"clusterzone {\n events maybe\n}", "events must be on or off"},
		{"clusterzone {\n externalname alias\n}", "Testfile:2 - Error during parsing: externalname must be cname or address"},
		{"clusterzone {\n service-types Headless\n}", `Testfile:2 - Error during parsing: service type "Headless" is not one of [ClusterIP NodePort LoadBalancer ExternalName]`},
		{"clusterzone {\n service-types\n}", "Wrong argument count"},
		{"clusterzone {\n publish-host-ip yes\n}", "publish-host-ip takes no arguments"},
		{"clusterzone {\n compat k8s_external\n}", "compat must be k8s_gateway"},
		{"clusterzone {\n manifests a.yaml\n kubeconfig /k\n}", "manifests cannot be combined"},
		{"clusterzone example..org", "not a valid domain name"},
		{"clusterzone exa\\.mple.org", `Testfile:1 - Error during parsing: zone "exa\\.mple.org" holds a backslash escape`},
		{"clusterzone \\000.org", `zone "\\000.org" holds a backslash escape`},
		{"clusterzone \"a\\ b.org\"", `zone "a\\ b.org" holds a backslash escape`},
		{"clusterzone \\0\\", `zone "\\0\\" holds a backslash escape`},
		{"clusterzone \"a b.org\"", `zone "a b.org" holds ' '`},
		{"clusterzone example.org *.example.com", `zone "*.example.com" holds '*'`},
		{"clusterzone a/b.org", `zone "a/b.org" holds '/'`},
		{"clusterzone ex@mple.org", `zone "ex@mple.org" holds '@'`},
		{"clusterzone ȶ.org", `zone "ȶ.org" holds the non-ASCII character 'ȶ' (U+0236)`},
		{"clusterzone \u212Aube.org", "zone \"\u212Aube.org\" holds the non-ASCII character '\u212A' (U+212A)"},
		{"clusterzone \u009d\\\\", `zone "\u009d\\\\" holds the non-ASCII character`},
		{"clusterzone example.org a:", `zone "a:" is not a valid domain name`},
		{"clusterzone example.org..", `zone "example.org.." is not a valid domain name`},
		{"clusterzone " + strings.Repeat("a", 64) + ".org", `zone "` + strings.Repeat("a", 64) + `.org" is not a valid domain name`},
		{"clusterzone\nclusterzone", "plugin"},
	}
	for _, tc := range tests {
		c := caddy.NewTestController("dns", tc.input)
		c.ServerBlockKeys = []string{"example.org."}
		_, _, err := parse(c)
		if err == nil {
			t.Errorf("%q: no error", tc.input)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %q, want it to contain %q", tc.input, err, tc.want)
		}
	}
}

// TestParseZones checks the zones parse takes from the arguments or the server
// block keys (as CoreDNS hands them over: transport, FQDN, port): lower-case
// FQDNs of plain labels, or an error naming the value.
func TestParseZones(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	tests := []struct {
		keys  []string
		input string
		want  []string // zones; nil when err is set
		err   string
	}{
		{[]string{"dns://example.org.:53"}, "clusterzone", []string{"example.org."}, ""},
		{[]string{"dns://Example.ORG.:1053", "tls://_srv.example.com.:853"}, "clusterzone", []string{"example.org.", "_srv.example.com."}, ""},
		{[]string{"dns://.:53"}, "clusterzone", []string{"."}, ""},
		{[]string{"dns://0.10.in-addr.arpa.:53", "dns://1.10.in-addr.arpa.:53"}, "clusterzone", []string{"0.10.in-addr.arpa.", "1.10.in-addr.arpa."}, ""},
		{[]string{"dns://example.net.:53"}, "clusterzone .", []string{"."}, ""},
		{nil, "clusterzone Example.ORG example.com. dns://example.net:1053 _tcp.svc-1.example.io xn--bcher-kva.example 10.0.0.0/8",
			[]string{"example.org.", "example.com.", "example.net.", "_tcp.svc-1.example.io.", "xn--bcher-kva.example.", "10.in-addr.arpa."}, ""},
		{nil, "clusterzone 10.0.0.0/15 2001:db8::/32", []string{"0.10.in-addr.arpa.", "1.10.in-addr.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa."}, ""},
		{nil, "clusterzone " + label63 + ".org", []string{label63 + ".org."}, ""},

		{[]string{`dns://exa\.mple.org.:53`}, "clusterzone", nil, `server block zone "dns://exa\\.mple.org.:53" holds a backslash escape`},
		{[]string{"dns://example.org.:53", `dns://\000.org.:53`}, "clusterzone", nil, `server block zone "dns://\\000.org.:53" holds a backslash escape`},
		{[]string{"dns://*.example.org.:53"}, "clusterzone", nil, `server block zone "dns://*.example.org.:53" holds '*'`},
		{[]string{"dns://ȶ.org.:53"}, "clusterzone", nil, `server block zone "dns://ȶ.org.:53" holds the non-ASCII character 'ȶ'`},
		{[]string{"example.org:"}, "clusterzone", nil, `server block zone "example.org:" is not a valid domain name`},
		{[]string{"dns://example.org.:53"}, `clusterzone example.org exa\.mple.org`, nil, `zone "exa\\.mple.org" holds a backslash escape`},
	}
	for _, tc := range tests {
		c := caddy.NewTestController("dns", tc.input)
		c.ServerBlockKeys = tc.keys
		cz, _, err := parse(c)
		if tc.err != "" {
			if err == nil {
				t.Errorf("%q %q: zones %v, want error %q", tc.keys, tc.input, cz.Zones, tc.err)
			} else if !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q %q: error %q, want it to contain %q", tc.keys, tc.input, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q %q: %v", tc.keys, tc.input, err)
			continue
		}
		if strings.Join(cz.Zones, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%q %q: zones %v, want %v", tc.keys, tc.input, cz.Zones, tc.want)
		}
	}
}

// TestParseOwnerID checks the owner id limits against the ownership TXT
// record they protect: the longest owner id with the longest namespace/name
// makes a value of exactly 255 octets, which packs in one character-string,
// and every accepted character survives ExternalDNS's parsing of the labels
// (split at ',', then at '=').
func TestParseOwnerID(t *testing.T) {
	key := strings.Repeat("n", 63) + "/" + strings.Repeat("s", 63)
	if len(key) != 63+1+63 {
		t.Fatalf("namespace/name of %d characters, want the longest, 127", len(key))
	}
	if externaldns.MaxOwnerIDLen != 56 {
		t.Errorf("MaxOwnerIDLen %d, want 255 - 41 - 31 - 127 = 56", externaldns.MaxOwnerIDLen)
	}
	longest := strings.Repeat("o", externaldns.MaxOwnerIDLen)
	if checkOwnerID(longest) != nil || checkOwnerID(longest+"o") == nil {
		t.Errorf("owner ids of %d and %d characters: %v, %v", externaldns.MaxOwnerIDLen, externaldns.MaxOwnerIDLen+1, checkOwnerID(longest), checkOwnerID(longest+"o"))
	}
	v := externaldns.OwnershipTXT(longest, key)
	if len(v) != 255 {
		t.Fatalf("ownership TXT of %d octets with the longest owner id and namespace/name, want 255: %s", len(v), v)
	}
	txt := &dns.TXT{Hdr: dns.RR_Header{Name: "a.example.org.", Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: []string{v}}
	if _, err := (&dns.Msg{Answer: []dns.RR{txt}}).Pack(); err != nil {
		t.Errorf("ownership TXT of 255 octets does not pack: %v", err)
	}
	txt.Txt = []string{externaldns.OwnershipTXT(longest+"o", key)}
	if _, err := (&dns.Msg{Answer: []dns.RR{txt}}).Pack(); err == nil {
		t.Errorf("ownership TXT of 256 octets packs: the limit is not where it should be")
	}

	for b := 0; b < 256; b++ {
		id := "a" + string(rune(b)) + "b"
		err := checkOwnerID(id)
		want := b > ' ' && b < 0x7f && !strings.ContainsRune(`,="\`, rune(b))
		if (err == nil) != want {
			t.Errorf("owner id %q: error %v, want accepted %v", id, err, want)
		}
		if err != nil {
			continue
		}
		labels := map[string]string{}
		for _, tok := range strings.Split(externaldns.OwnershipTXT(id, "ns/name"), ",") {
			if kv := strings.Split(tok, "="); len(kv) == 2 {
				labels[kv[0]] = kv[1]
			}
		}
		if labels["external-dns/owner"] != id || labels["heritage"] != "external-dns" || labels["external-dns/resource"] != "service/ns/name" {
			t.Errorf("owner id %q: ExternalDNS reads the labels %q", id, labels)
		}
	}
}
