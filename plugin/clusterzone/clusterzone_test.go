package clusterzone

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/source/manifests"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/store"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/pkg/fall"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
)

const testServices = `
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  creationTimestamp: "2026-01-01T00:00:00Z"
  annotations:
    external-dns.alpha.kubernetes.io/hostname: web.example.org, deep.a.b.example.org, example.org
    external-dns.alpha.kubernetes.io/internal-hostname: web.internal.example.org
spec:
  type: LoadBalancer
  clusterIPs: [10.96.0.10, "fd00:10:96::a"]
status:
  loadBalancer:
    ingress: [{ip: 192.0.2.10}, {ip: "2001:db8::10"}]
---
apiVersion: v1
kind: Service
metadata:
  name: v6only
  namespace: shop
  annotations:
    external-dns.alpha.kubernetes.io/hostname: v6.example.org
spec:
  type: LoadBalancer
  clusterIPs: ["fd00:10:96::b"]
status:
  loadBalancer:
    ingress: [{ip: "2001:db8::20"}]
---
apiVersion: v1
kind: Service
metadata:
  name: wild
  namespace: ingress
  annotations:
    external-dns.alpha.kubernetes.io/hostname: "*.apps.example.org, host.apps.example.org"
    external-dns.alpha.kubernetes.io/ttl: "300"
spec:
  type: LoadBalancer
  clusterIPs: [10.96.0.12]
status:
  loadBalancer:
    ingress: [{ip: 192.0.2.12}]
---
apiVersion: v1
kind: Service
metadata:
  name: two
  namespace: shop
  annotations:
    external-dns.kubernetes.io/hostname: two.example.org
spec:
  type: LoadBalancer
status:
  loadBalancer:
    ingress: [{ip: 192.0.2.31}, {ip: 192.0.2.32}]
---
apiVersion: v1
kind: Service
metadata:
  name: pending
  namespace: shop
  annotations:
    external-dns.kubernetes.io/hostname: pending.example.org
spec:
  type: LoadBalancer
  clusterIPs: [10.96.0.13]
---
apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: shop
  annotations:
    external-dns.kubernetes.io/hostname: db.example.org
spec:
  clusterIP: None
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-v4
  namespace: shop
  labels: {kubernetes.io/service-name: db}
addressType: IPv4
endpoints:
- {addresses: [10.244.0.5], hostname: db-0, nodeName: n1, conditions: {ready: true}}
- {addresses: [10.244.0.6], hostname: db-1, nodeName: n1, conditions: {ready: false}}
---
apiVersion: v1
kind: Service
metadata:
  name: np
  namespace: shop
  annotations:
    external-dns.kubernetes.io/hostname: np.example.org
spec:
  type: NodePort
  clusterIPs: [10.96.0.14]
  ports: [{port: 80, nodePort: 30080}, {port: 53, protocol: UDP, nodePort: 30053}]
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 10.0.0.1}, {type: ExternalIP, address: 203.0.113.1}]}
---
apiVersion: v1
kind: Service
metadata:
  name: ext
  namespace: shop
  annotations:
    external-dns.kubernetes.io/hostname: ext.example.org
spec:
  type: ExternalName
  externalName: 192.0.2.77
---
apiVersion: v1
kind: Service
metadata:
  name: alias
  namespace: shop
  creationTimestamp: "2026-01-01T00:00:00Z"
  annotations:
    external-dns.kubernetes.io/hostname: alias.example.org
spec:
  type: ExternalName
  externalName: backend.example.com
`

// newTestPlugin returns a plugin for example.org. serving testServices in view v.
func newTestPlugin(t testing.TB, yaml string, v table.View) *Clusterzone {
	t.Helper()
	return newTestPluginWith(t, yaml, v, func(*translate.Options) {})
}

// newTestPluginWith is newTestPlugin with options changed by opt.
func newTestPluginWith(t testing.TB, yaml string, v table.View, opt func(*translate.Options)) *Clusterzone {
	t.Helper()
	zones := []string{"example.org."}
	opts := translate.Options{Prefixes: []string{translate.PrefixGA, translate.PrefixAlpha}, Zones: zones, DefaultTTL: 60, Controllers: translate.DefaultControllers}
	opt(&opts)
	tb := table.New(zones, "test")
	st := store.New(opts, tb, nil, nil)
	objs, err := manifests.ParseObjects("test", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range objs.Nodes {
		tn := translate.FromNode(n)
		st.UpsertNode(&tn)
	}
	for _, es := range objs.EndpointSlices {
		tes := translate.FromEndpointSlice(es)
		st.UpsertEndpoints(&tes)
	}
	for _, s := range objs.Services {
		upsert(st, s)
	}
	st.MarkSynced()
	cz := &Clusterzone{Zones: zones, view: v, Next: test.NextHandler(dns.RcodeRefused, nil)}
	cz.setNS("ns1.example.org.", []netip.Addr{netip.MustParseAddr("127.0.0.1")})
	cz.shared = sharedWith(sharedConfig{translate: opts, ownerID: "test"}, st)
	return cz
}

const soa = "example.org. 60 IN SOA ns1.example.org. hostmaster.example.org. 1 7200 1800 1209600 60"

var serveTests = []test.Case{
	{Qname: "web.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("web.example.org. 60 IN A 192.0.2.10")}},
	{Qname: "web.example.org.", Qtype: dns.TypeAAAA, Answer: []dns.RR{test.AAAA("web.example.org. 60 IN AAAA 2001:db8::10")}},
	{Qname: "web.example.org.", Qtype: dns.TypeTXT, Answer: []dns.RR{test.TXT(`web.example.org. 60 IN TXT "heritage=external-dns,external-dns/owner=test,external-dns/resource=service/shop/web"`)}},
	// Case-insensitive, and the owner is the name as asked (0x20; RFC 4343).
	{Qname: "WeB.ExAmPlE.oRg.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("WeB.ExAmPlE.oRg. 60 IN A 192.0.2.10")}},
	{Qname: "fOo.ApPs.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("fOo.ApPs.example.org. 300 IN A 192.0.2.12")}},
	{Qname: "ExAmPlE.org.", Qtype: dns.TypeSOA, Answer: []dns.RR{test.SOA("ExAmPlE.org. 60 IN SOA ns1.example.org. hostmaster.example.org. 1 7200 1800 1209600 60")}},
	{Qname: "NoPe.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soa)}},
	// An SRV target inside the zone has its addresses in the additional section (RFC 2782).
	{Qname: "_NP._udp.np.example.org.", Qtype: dns.TypeSRV, Answer: []dns.RR{test.SRV("_NP._udp.np.example.org. 60 IN SRV 0 50 30053 np.example.org.")}, Extra: []dns.RR{test.A("np.example.org. 60 IN A 203.0.113.1")}},
	// ANY: one whole RRset (RFC 8482, RFC 2181 section 5), never part of one.
	{Qname: "two.example.org.", Qtype: dns.TypeANY, Answer: []dns.RR{test.A("two.example.org. 60 IN A 192.0.2.31"), test.A("two.example.org. 60 IN A 192.0.2.32")}},
	// internal-hostname: both ClusterIPs.
	{Qname: "web.internal.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("web.internal.example.org. 60 IN A 10.96.0.10")}},
	{Qname: "web.internal.example.org.", Qtype: dns.TypeAAAA, Answer: []dns.RR{test.AAAA("web.internal.example.org. 60 IN AAAA fd00:10:96::a")}},
	// NXDOMAIN with the SOA.
	{Qname: "nope.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soa)}},
	// NODATA: the name exists, not the type.
	{Qname: "web.example.org.", Qtype: dns.TypeMX, Ns: []dns.RR{test.SOA(soa)}},
	// An IPv6-only name asked for A is NODATA, not NXDOMAIN.
	{Qname: "v6.example.org.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soa)}},
	{Qname: "v6.example.org.", Qtype: dns.TypeAAAA, Answer: []dns.RR{test.AAAA("v6.example.org. 60 IN AAAA 2001:db8::20")}},
	// Empty non-terminals are NOERROR/NODATA.
	{Qname: "a.b.example.org.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soa)}},
	{Qname: "b.example.org.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soa)}},
	{Qname: "deep.a.b.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("deep.a.b.example.org. 60 IN A 192.0.2.10")}},
	// Apex: SOA, NS with glue, and a Service's records at the apex.
	{Qname: "example.org.", Qtype: dns.TypeSOA, Answer: []dns.RR{test.SOA(soa)}},
	{Qname: "example.org.", Qtype: dns.TypeNS, Answer: []dns.RR{test.NS("example.org. 60 IN NS ns1.example.org.")}, Extra: []dns.RR{test.A("ns1.example.org. 60 IN A 127.0.0.1")}},
	{Qname: "example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("example.org. 60 IN A 192.0.2.10")}},
	{Qname: "example.org.", Qtype: dns.TypeMX, Ns: []dns.RR{test.SOA(soa)}},
	{Qname: "ns1.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("ns1.example.org. 60 IN A 127.0.0.1")}},
	{Qname: "ns1.example.org.", Qtype: dns.TypeAAAA, Ns: []dns.RR{test.SOA(soa)}},
	// Wildcards (RFC 4592): synthesized under the query name; an explicit name wins.
	{Qname: "foo.apps.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("foo.apps.example.org. 300 IN A 192.0.2.12")}},
	{Qname: "x.y.apps.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("x.y.apps.example.org. 300 IN A 192.0.2.12")}},
	// An escaped dot belongs to its label: x\.apps is one label under example.org., where no wildcard is.
	{Qname: `x\.apps.example.org.`, Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soa)}},
	{Qname: `y\.z.apps.example.org.`, Qtype: dns.TypeA, Answer: []dns.RR{test.A(`y\.z.apps.example.org. 300 IN A 192.0.2.12`)}},
	{Qname: "foo.apps.example.org.", Qtype: dns.TypeAAAA, Ns: []dns.RR{test.SOA(soa)}},
	{Qname: "host.apps.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("host.apps.example.org. 300 IN A 192.0.2.12")}},
	{Qname: "apps.example.org.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soa)}},
	// ANY is answered minimally (RFC 8482): one RRset.
	{Qname: "web.example.org.", Qtype: dns.TypeANY, Answer: []dns.RR{test.A("web.example.org. 60 IN A 192.0.2.10")}},
	{Qname: "v6.example.org.", Qtype: dns.TypeANY, Answer: []dns.RR{test.AAAA("v6.example.org. 60 IN AAAA 2001:db8::20")}},
	// A load balancer without an address yet publishes nothing (as ExternalDNS): NXDOMAIN, not NODATA.
	{Qname: "pending.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soa)}},
	{Qname: "pending.example.org.", Qtype: dns.TypeTXT, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soa)}},
	// Headless: the ready endpoints, and a name per endpoint hostname.
	{Qname: "db.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("db.example.org. 60 IN A 10.244.0.5")}},
	{Qname: "db-0.db.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("db-0.db.example.org. 60 IN A 10.244.0.5")}},
	{Qname: "db-0.db.example.org.", Qtype: dns.TypeTXT, Answer: []dns.RR{test.TXT(`db-0.db.example.org. 60 IN TXT "heritage=external-dns,external-dns/owner=test,external-dns/resource=service/shop/db"`)}},
	{Qname: "db-1.db.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soa)}},
	// NodePort: the nodes' ExternalIPs, and SRV per node port (ExternalDNS's 0 50 PORT NAME).
	{Qname: "np.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("np.example.org. 60 IN A 203.0.113.1")}},
	{Qname: "_np._tcp.np.example.org.", Qtype: dns.TypeSRV, Answer: []dns.RR{test.SRV("_np._tcp.np.example.org. 60 IN SRV 0 50 30080 np.example.org.")}, Extra: []dns.RR{test.A("np.example.org. 60 IN A 203.0.113.1")}},
	{Qname: "_np._udp.np.example.org.", Qtype: dns.TypeSRV, Answer: []dns.RR{test.SRV("_np._udp.np.example.org. 60 IN SRV 0 50 30053 np.example.org.")}, Extra: []dns.RR{test.A("np.example.org. 60 IN A 203.0.113.1")}},
	{Qname: "_np._tcp.np.example.org.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soa)}},
	{Qname: "_tcp.np.example.org.", Qtype: dns.TypeSRV, Ns: []dns.RR{test.SOA(soa)}},
	{Qname: "np.example.org.", Qtype: dns.TypeSRV, Ns: []dns.RR{test.SOA(soa)}},
	// ExternalName: an IP is A; a hostname without a resolver has no address yet.
	{Qname: "ext.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("ext.example.org. 60 IN A 192.0.2.77")}},
	{Qname: "alias.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soa)}},
}

func TestServeDNS(t *testing.T) {
	cz := newTestPlugin(t, testServices, table.External)
	for _, tc := range serveTests {
		t.Run(dns.TypeToString[tc.Qtype]+" "+tc.Qname, func(t *testing.T) {
			m := tc.Msg()
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			if _, err := cz.ServeDNS(context.Background(), rec, m); err != nil {
				t.Fatal(err)
			}
			resp := rec.Msg
			if resp == nil {
				t.Fatal("no reply written")
			}
			if !resp.Authoritative {
				t.Error("AA not set")
			}
			if err := test.SortAndCheck(resp, tc); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestServeDNSViews(t *testing.T) {
	for _, tc := range []struct {
		view table.View
		c    test.Case
	}{
		{table.Internal, test.Case{Qname: "web.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("web.example.org. 60 IN A 10.96.0.10")}}},
		{table.Internal, test.Case{Qname: "web.example.org.", Qtype: dns.TypeAAAA, Answer: []dns.RR{test.AAAA("web.example.org. 60 IN AAAA fd00:10:96::a")}}},
		{table.All, test.Case{Qname: "web.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("web.example.org. 60 IN A 10.96.0.10"), test.A("web.example.org. 60 IN A 192.0.2.10")}}},
		{table.All, test.Case{Qname: "web.example.org.", Qtype: dns.TypeAAAA, Answer: []dns.RR{test.AAAA("web.example.org. 60 IN AAAA 2001:db8::10"), test.AAAA("web.example.org. 60 IN AAAA fd00:10:96::a")}}},
		{table.External, test.Case{Qname: "web.internal.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("web.internal.example.org. 60 IN A 10.96.0.10")}}},
		// A pending load balancer's ClusterIPs are there for internal clients.
		{table.Internal, test.Case{Qname: "pending.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("pending.example.org. 60 IN A 10.96.0.13")}}},
		// Headless pod IPs and ExternalName addresses are in every view.
		{table.Internal, test.Case{Qname: "db-0.db.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("db-0.db.example.org. 60 IN A 10.244.0.5")}}},
		{table.Internal, test.Case{Qname: "ext.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("ext.example.org. 60 IN A 192.0.2.77")}}},
		// NodePort: ClusterIPs inside; SRV (node ports) only outside.
		{table.Internal, test.Case{Qname: "np.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("np.example.org. 60 IN A 10.96.0.14")}}},
		{table.Internal, test.Case{Qname: "_np._tcp.np.example.org.", Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soa)}}},
		{table.All, test.Case{Qname: "_np._tcp.np.example.org.", Qtype: dns.TypeSRV, Answer: []dns.RR{test.SRV("_np._tcp.np.example.org. 60 IN SRV 0 50 30080 np.example.org.")},
			Extra: []dns.RR{test.A("np.example.org. 60 IN A 10.96.0.14"), test.A("np.example.org. 60 IN A 203.0.113.1")}}},
	} {
		cz := newTestPlugin(t, testServices, tc.view)
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		cz.ServeDNS(context.Background(), rec, tc.c.Msg())
		if err := test.SortAndCheck(rec.Msg, tc.c); err != nil {
			t.Errorf("%s %s %s: %v", tc.view, tc.c.Qname, dns.TypeToString[tc.c.Qtype], err)
		}
	}
}

func TestServeDNSFallthrough(t *testing.T) {
	cz := newTestPlugin(t, testServices, table.External)
	cz.Fall = fall.Root
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	code, _ := cz.ServeDNS(context.Background(), rec, (&test.Case{Qname: "nope.example.org.", Qtype: dns.TypeA}).Msg())
	if code != dns.RcodeRefused {
		t.Errorf("NXDOMAIN did not fall through to the next plugin: rcode %d", code)
	}
	// An existing name never falls through, even for a missing type.
	rec = dnstest.NewRecorder(&test.ResponseWriter{})
	cz.ServeDNS(context.Background(), rec, (&test.Case{Qname: "web.example.org.", Qtype: dns.TypeMX}).Msg())
	if rec.Msg == nil || rec.Msg.Rcode != dns.RcodeSuccess {
		t.Errorf("NODATA fell through: %v", rec.Msg)
	}
	// Names outside the zones go to the next plugin.
	rec = dnstest.NewRecorder(&test.ResponseWriter{})
	if code, _ := cz.ServeDNS(context.Background(), rec, (&test.Case{Qname: "example.com.", Qtype: dns.TypeA}).Msg()); code != dns.RcodeRefused {
		t.Errorf("out-of-zone name: rcode %d", code)
	}
}

func TestServeDNSNotReady(t *testing.T) {
	zones := []string{"example.org."}
	opts := translate.Options{Zones: zones, DefaultTTL: 60}
	st := store.New(opts, table.New(zones, "test"), nil, nil)
	cz := &Clusterzone{Zones: zones, shared: sharedWith(sharedConfig{translate: opts}, st)}
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	code, _ := cz.ServeDNS(context.Background(), rec, (&test.Case{Qname: "nope.example.org.", Qtype: dns.TypeA}).Msg())
	if code != dns.RcodeServerFailure {
		t.Errorf("before the first sync: rcode %s, want SERVFAIL", dns.RcodeToString[code])
	}
	if cz.Ready() {
		t.Error("ready before the first sync")
	}
	st.MarkSynced()
	if !cz.Ready() {
		t.Error("not ready after the first sync")
	}
}

func TestSerialMovesOnChange(t *testing.T) {
	cz := newTestPlugin(t, testServices, table.External)
	st := cz.shared.Store()
	before := st.Table().Serial("example.org.")
	svcs, _ := manifests.Parse("x", []byte(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"new","namespace":"n","annotations":{"external-dns.alpha.kubernetes.io/hostname":"new.example.org"}},"spec":{"type":"LoadBalancer"},"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.99"}]}}}`))
	upsert(st, svcs[0])
	// The SOA shows the change's serial at once, or, if the change came
	// within the second the serial was read in, from the next second on.
	var got uint32
	for deadline := time.Now().Add(5 * time.Second); got <= before && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		cz.ServeDNS(context.Background(), rec, (&test.Case{Qname: "example.org.", Qtype: dns.TypeSOA}).Msg())
		got = rec.Msg.Answer[0].(*dns.SOA).Serial
	}
	if got <= before {
		t.Errorf("serial %d, want > %d", got, before)
	}
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	cz.ServeDNS(context.Background(), rec, (&test.Case{Qname: "new.example.org.", Qtype: dns.TypeA}).Msg())
	if err := test.SortAndCheck(rec.Msg, test.Case{Qname: "new.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("new.example.org. 60 IN A 192.0.2.99")}}); err != nil {
		t.Error(err)
	}
}

// upsert translates svc the way a source does and upserts it into st.
func upsert(st *store.Store, svc *corev1.Service) {
	res := translate.Service(svc, st.Options())
	st.Upsert(&res)
}

// sharedWith returns started shared state that serves st.
func sharedWith(cfg sharedConfig, st *store.Store) *shared {
	s := &shared{cfg: cfg, started: true}
	s.store.Store(st)
	return s
}

// With `externalname cname`, an ExternalName hostname is a CNAME for every
// type (RFC 1034 3.6.2), with no TXT beside it; an IP stays an A record.
func TestServeDNSExternalNameCNAME(t *testing.T) {
	cz := newTestPluginWith(t, testServices, table.External, func(o *translate.Options) { o.ExternalNameCNAME = true })
	for _, tc := range []test.Case{
		{Qname: "alias.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.CNAME("alias.example.org. 60 IN CNAME backend.example.com.")}},
		{Qname: "alias.example.org.", Qtype: dns.TypeTXT, Answer: []dns.RR{test.CNAME("alias.example.org. 60 IN CNAME backend.example.com.")}},
		{Qname: "alias.example.org.", Qtype: dns.TypeCNAME, Answer: []dns.RR{test.CNAME("alias.example.org. 60 IN CNAME backend.example.com.")}},
		{Qname: "ext.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("ext.example.org. 60 IN A 192.0.2.77")}},
	} {
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		cz.ServeDNS(context.Background(), rec, tc.Msg())
		if err := test.SortAndCheck(rec.Msg, tc); err != nil {
			t.Errorf("%s %s: %v", tc.Qname, dns.TypeToString[tc.Qtype], err)
		}
	}
}

// Responses clear CD (RFC 4035 3.1.6); a NOTIFY to this primary gets NOTAUTH
// (RFC 1996), with the question and without answers.
func TestServeDNSFlagsAndOpcodes(t *testing.T) {
	cz := newTestPlugin(t, testServices, table.External)
	m := new(dns.Msg)
	m.SetQuestion("web.example.org.", dns.TypeA)
	m.CheckingDisabled = true
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	cz.ServeDNS(context.Background(), rec, m)
	if rec.Msg.CheckingDisabled || len(rec.Msg.Answer) != 1 {
		t.Errorf("CD copied or no answer: %v", rec.Msg)
	}

	n := new(dns.Msg)
	n.SetNotify("example.org.")
	rec = dnstest.NewRecorder(&test.ResponseWriter{})
	cz.ServeDNS(context.Background(), rec, n)
	if rec.Msg.Rcode != dns.RcodeNotAuth || len(rec.Msg.Answer) != 0 || len(rec.Msg.Question) != 1 || rec.Msg.Opcode != dns.OpcodeNotify || rec.Msg.Authoritative {
		t.Errorf("NOTIFY: %v", rec.Msg)
	}
}

// The names above the NS name are empty non-terminals (RFC 8020): NODATA.
func TestServeDNSNSParents(t *testing.T) {
	cz := newTestPlugin(t, testServices, table.External)
	cz.setNS("ns1.dns.sub.example.org.", []netip.Addr{netip.MustParseAddr("192.0.2.53")})
	soaSub := "example.org. 60 IN SOA ns1.dns.sub.example.org. hostmaster.example.org. 1 7200 1800 1209600 60"
	for _, tc := range []test.Case{
		{Qname: "ns1.dns.sub.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("ns1.dns.sub.example.org. 60 IN A 192.0.2.53")}},
		{Qname: "dns.sub.example.org.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soaSub)}},
		{Qname: "sub.example.org.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soaSub)}},
		{Qname: "x.sub.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaSub)}},
	} {
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		cz.ServeDNS(context.Background(), rec, tc.Msg())
		if err := test.SortAndCheck(rec.Msg, tc); err != nil {
			t.Errorf("%s %s: %v", tc.Qname, dns.TypeToString[tc.Qtype], err)
		}
	}
}

// ExternalName Services whose CNAMEs point inside the zone (with
// `externalname cname`).
const chaseServices = `
---
apiVersion: v1
kind: Service
metadata:
  name: inzone
  namespace: shop
  annotations:
    external-dns.kubernetes.io/hostname: inzone.example.org
spec:
  type: ExternalName
  externalName: web.example.org
---
apiVersion: v1
kind: Service
metadata:
  name: chain
  namespace: shop
  annotations:
    external-dns.kubernetes.io/hostname: chain.example.org
spec:
  type: ExternalName
  externalName: inzone.example.org
---
apiVersion: v1
kind: Service
metadata:
  name: dangling
  namespace: shop
  annotations:
    external-dns.kubernetes.io/hostname: dangling.example.org
spec:
  type: ExternalName
  externalName: missing.example.org
`

// A CNAME whose target is in the zone is followed (RFC 1034 section 4.3.2
// step 3a, as Knot and the file plugin do): the target's records follow the
// CNAME; a target without the type is NODATA and one that does not exist
// NXDOMAIN (RFC 6604), both with the SOA. CNAME and ANY queries are not
// followed, nor a target outside the zone.
func TestServeDNSCNAMEChase(t *testing.T) {
	cz := newTestPluginWith(t, testServices+chaseServices, table.External, func(o *translate.Options) { o.ExternalNameCNAME = true })
	cname := func(s string) dns.RR { return test.CNAME(s) }
	for _, tc := range []test.Case{
		{Qname: "InZone.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{
			cname("InZone.example.org. 60 IN CNAME web.example.org."), test.A("web.example.org. 60 IN A 192.0.2.10")}},
		{Qname: "inzone.example.org.", Qtype: dns.TypeTXT, Answer: []dns.RR{
			cname("inzone.example.org. 60 IN CNAME web.example.org."),
			test.TXT(`web.example.org. 60 IN TXT "heritage=external-dns,external-dns/owner=test,external-dns/resource=service/shop/web"`)}},
		{Qname: "chain.example.org.", Qtype: dns.TypeAAAA, Answer: []dns.RR{
			cname("chain.example.org. 60 IN CNAME inzone.example.org."), cname("inzone.example.org. 60 IN CNAME web.example.org."),
			test.AAAA("web.example.org. 60 IN AAAA 2001:db8::10")}},
		{Qname: "inzone.example.org.", Qtype: dns.TypeMX, Answer: []dns.RR{cname("inzone.example.org. 60 IN CNAME web.example.org.")}, Ns: []dns.RR{test.SOA(soa)}},
		{Qname: "dangling.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Answer: []dns.RR{cname("dangling.example.org. 60 IN CNAME missing.example.org.")}, Ns: []dns.RR{test.SOA(soa)}},
		{Qname: "dangling.example.org.", Qtype: dns.TypeCNAME, Answer: []dns.RR{cname("dangling.example.org. 60 IN CNAME missing.example.org.")}},
		{Qname: "inzone.example.org.", Qtype: dns.TypeANY, Answer: []dns.RR{cname("inzone.example.org. 60 IN CNAME web.example.org.")}},
		{Qname: "alias.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{cname("alias.example.org. 60 IN CNAME backend.example.com.")}},
	} {
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		cz.ServeDNS(context.Background(), rec, tc.Msg())
		if err := test.SortAndCheck(rec.Msg, tc); err != nil {
			t.Errorf("%s %s: %v", tc.Qname, dns.TypeToString[tc.Qtype], err)
		}
	}
}

// ANY at the ns name is its whole first RRset (both A records), not one record.
func TestServeDNSNSNameANY(t *testing.T) {
	cz := newTestPlugin(t, testServices, table.External)
	cz.setNS("ns1.example.org.", []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("::1")})
	tc := test.Case{Qname: "NS1.example.org.", Qtype: dns.TypeANY, Answer: []dns.RR{
		test.A("NS1.example.org. 60 IN A 127.0.0.1"), test.A("NS1.example.org. 60 IN A 127.0.0.2")}}
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	cz.ServeDNS(context.Background(), rec, tc.Msg())
	if err := test.SortAndCheck(rec.Msg, tc); err != nil {
		t.Errorf("%s %s: %v", tc.Qname, dns.TypeToString[tc.Qtype], err)
	}
}
