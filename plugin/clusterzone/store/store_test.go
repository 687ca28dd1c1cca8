package store

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

type fakeResolver struct {
	mu      sync.Mutex
	addrs   map[string][]netip.Addr
	watched map[string]bool
}

func (f *fakeResolver) Addrs(h string) []netip.Addr {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addrs[h]
}
func (f *fakeResolver) Watch(h string)   { f.mu.Lock(); f.watched[h] = true; f.mu.Unlock() }
func (f *fakeResolver) Unwatch(h string) { f.mu.Lock(); delete(f.watched, h); f.mu.Unlock() }

type recorder struct {
	problems  []translate.Problem
	skipped   []string
	conflicts []table.Conflict
	losers    []*translate.Result
	applied   int
}

func (r *recorder) Problem(_ *translate.Result, p translate.Problem) {
	r.problems = append(r.problems, p)
}
func (r *recorder) Skipped(_ *translate.Result, reason string) { r.skipped = append(r.skipped, reason) }
func (r *recorder) Conflict(loser *translate.Result, c table.Conflict) {
	r.conflicts = append(r.conflicts, c)
	r.losers = append(r.losers, loser)
}
func (r *recorder) Applied(table.Change) { r.applied++ }

func svc(name string, created int64, host string, ingress ...corev1.LoadBalancerIngress) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), CreationTimestamp: metav1.NewTime(time.Unix(created, 0)),
			Annotations: map[string]string{translate.PrefixAlpha + "hostname": host}},
		Spec:   corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.0.1"}},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: ingress}},
	}
}

func newStore() (*Store, *fakeResolver, *recorder) {
	zones := []string{"example.org."}
	opts := translate.Options{Prefixes: []string{translate.PrefixAlpha}, Zones: zones, DefaultTTL: 60, Controllers: translate.DefaultControllers}
	res := &fakeResolver{addrs: map[string][]netip.Addr{}, watched: map[string]bool{}}
	rec := &recorder{}
	return New(opts, table.New(zones, "me"), res, rec), res, rec
}

// upsert translates svc the way a source does and upserts it.
func upsert(s *Store, svc *corev1.Service) {
	res := translate.Service(svc, s.Options())
	s.Upsert(&res)
}

func aRecords(t *testing.T, s *Store, name string, qtype uint16) []string {
	t.Helper()
	a := s.Table().Lookup("example.org.", name, table.External)
	if a.Entry == nil {
		return nil
	}
	var out []string
	for _, rr := range s.Table().Records(a.Entry, qtype, table.External, name) {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.AAAA:
			out = append(out, v.AAAA.String())
		}
	}
	return out
}

func TestHostnameIngressIsResolved(t *testing.T) {
	s, res, _ := newStore()
	const nlb = "k8s-x.elb.us-east-1.amazonaws.com."
	upsert(s, svc("web", 1, "web.example.org", corev1.LoadBalancerIngress{Hostname: "k8s-x.elb.us-east-1.amazonaws.com"}))
	if !res.watched[nlb] {
		t.Fatalf("hostname not watched: %v", res.watched)
	}
	if got := aRecords(t, s, "web.example.org.", dns.TypeA); len(got) != 0 {
		t.Errorf("A before resolution: %v", got)
	}
	res.mu.Lock()
	res.addrs[nlb] = []netip.Addr{netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8::7")}
	res.mu.Unlock()
	s.HostChanged(nlb)
	if got := aRecords(t, s, "web.example.org.", dns.TypeA); len(got) != 1 || got[0] != "198.51.100.7" {
		t.Errorf("A after resolution: %v", got)
	}
	if got := aRecords(t, s, "web.example.org.", dns.TypeAAAA); len(got) != 1 || got[0] != "2001:db8::7" {
		t.Errorf("AAAA after resolution: %v", got)
	}
	e := s.Table().Lookup("example.org.", "web.example.org.", table.External).Entry
	if len(e.Set.Aliases) != 1 || e.Set.Aliases[0] != nlb {
		t.Errorf("aliases %v", e.Set.Aliases)
	}
	// Deleting the last user of the hostname stops watching it.
	s.Delete("ns/web")
	if res.watched[nlb] {
		t.Error("hostname still watched after the Service went away")
	}
}

func TestUnchangedUpdateIsFree(t *testing.T) {
	s, _, rec := newStore()
	a := svc("web", 1, "web.example.org, bad..example.org", corev1.LoadBalancerIngress{IP: "192.0.2.1"})
	upsert(s, a)
	serial := s.Table().Serial("example.org.")
	b := a.DeepCopy()
	b.ResourceVersion = "2"
	b.Spec.Ports = []corev1.ServicePort{{Port: 80}}
	b.Annotations["unrelated"] = "x"
	upsert(s, b)
	if s.Table().Serial("example.org.") != serial || rec.applied != 1 {
		t.Errorf("an update that changes nothing DNS-visible moved the serial or applied (%d)", rec.applied)
	}
	if len(rec.problems) != 1 {
		t.Errorf("the bad hostname was reported %d times for two versions that translate the same, want once", len(rec.problems))
	}
	c := b.DeepCopy()
	c.Status.LoadBalancer.Ingress[0].IP = "192.0.2.9"
	upsert(s, c)
	if got := aRecords(t, s, "web.example.org.", dns.TypeA); len(got) != 1 || got[0] != "192.0.2.9" || rec.applied != 2 {
		t.Errorf("after an address change: A %v, applied %d", got, rec.applied)
	}
}

func TestReports(t *testing.T) {
	s, _, rec := newStore()
	upsert(s, svc("old", 1, "x.example.org, bad..example.org", corev1.LoadBalancerIngress{IP: "192.0.2.1"}))
	upsert(s, svc("new", 2, "x.example.org", corev1.LoadBalancerIngress{IP: "192.0.2.2"}))
	if len(rec.problems) != 1 || rec.problems[0].Reason != translate.ReasonHostname {
		t.Errorf("problems %+v", rec.problems)
	}
	if len(rec.conflicts) != 1 || rec.conflicts[0].Loser.Key != "ns/new" {
		t.Errorf("conflicts %+v", rec.conflicts)
	} else if l := rec.losers[0]; l == nil || l.Key != "ns/new" || l.UID != "uid-new" {
		t.Errorf("the loser's translation (for its Event) is %+v, want ns/new with its UID", l)
	}
	ign := svc("ign", 3, "y.example.org")
	ign.Annotations[translate.PrefixAlpha+"ignore"] = "true"
	upsert(s, ign)
	if len(rec.skipped) != 1 {
		t.Errorf("skipped %v", rec.skipped)
	}
	if got := aRecords(t, s, "x.example.org.", dns.TypeA); len(got) != 1 || got[0] != "192.0.2.1" {
		t.Errorf("x.example.org %v", got)
	}
	if a := s.Table().Lookup("example.org.", "y.example.org.", table.External); a.Exists {
		t.Error("an ignored Service published a name")
	}
	if s.Synced() {
		t.Error("synced before MarkSynced")
	}
	s.MarkSynced()
	if !s.Synced() {
		t.Error("not synced after MarkSynced")
	}
}

// A headless Service's addresses follow its EndpointSlices; a problem in a
// slice is reported once, not again on every later change that keeps it.
func TestEndpointSlicesJoin(t *testing.T) {
	s, _, rec := newStore()
	headless := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "ns", UID: "uid-db",
			Annotations: map[string]string{translate.PrefixAlpha + "hostname": "db.example.org"}},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone},
	}
	ready, notReady := true, false
	slice := func(name string, addrs ...string) *translate.EndpointSlice {
		es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{discoveryv1.LabelServiceName: "db"}},
			AddressType: discoveryv1.AddressTypeIPv4}
		for _, a := range addrs {
			r := &ready
			if strings.HasPrefix(a, "!") {
				a, r = a[1:], &notReady
			}
			es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: r}})
		}
		t := translate.FromEndpointSlice(es)
		return &t
	}
	// The slice may come before its Service.
	s.UpsertEndpoints(slice("db-a", "10.244.0.1", "fd00::1"))
	upsert(s, headless)
	if got := aRecords(t, s, "db.example.org.", dns.TypeA); fmt.Sprint(got) != "[10.244.0.1]" {
		t.Errorf("A %v", got)
	}
	if len(rec.problems) != 1 || rec.problems[0].Reason != translate.ReasonEndpoint {
		t.Fatalf("problems %+v, want the IPv6 address in an IPv4 slice", rec.problems)
	}
	s.UpsertEndpoints(slice("db-b", "10.244.0.2", "!10.244.0.3"))
	if got := aRecords(t, s, "db.example.org.", dns.TypeA); fmt.Sprint(got) != "[10.244.0.1 10.244.0.2]" {
		t.Errorf("A after a second slice %v", got)
	}
	if len(rec.problems) != 1 {
		t.Errorf("the same problem reported again: %+v", rec.problems)
	}
	s.UpsertEndpoints(slice("db-a", "10.244.0.1"))
	s.DeleteEndpoints("ns/db-b")
	if got := aRecords(t, s, "db.example.org.", dns.TypeA); fmt.Sprint(got) != "[10.244.0.1]" {
		t.Errorf("A after delete %v", got)
	}
	s.DeleteEndpoints("ns/db-a")
	if a := s.Table().Lookup("example.org.", "db.example.org.", table.External); a.Exists {
		t.Errorf("no endpoints left, the name still exists: %+v", a)
	}
	// A problem that comes back after it was gone is reported again.
	s.UpsertEndpoints(slice("db-a", "10.244.0.1", "fd00::1"))
	if len(rec.problems) != 2 {
		t.Errorf("problems %+v, want the returning one reported", rec.problems)
	}
}
