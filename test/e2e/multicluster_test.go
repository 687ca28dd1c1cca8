package e2e

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/miekg/dns"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// mcNamespace is the namespace of the Services in both clusters: the same
// Service (namespace and name) runs in each.
const mcNamespace = "shop"

// mcService is what one cluster publishes for one Service: its hostname
// and its load-balancer addresses.
type mcService struct {
	host   string
	v4, v6 []string
}

// mcCluster is one of the clusters of TestMultiClusterRoute53: its own etcd
// and kube-apiserver, its own clusterzone process with its own owner id and
// set identifier, writing through its own FaultProxy, and the Services it
// holds (what it should have written).
type mcCluster struct {
	name   string // "a", "b"
	owner  string // owner-id
	setID  string // the set identifier of its record sets
	weight int64
	c      *harness.Cluster
	proxy  *harness.FaultProxy
	cd     *harness.CoreDNS
	svcs   map[string]mcService
}

// create creates a dual-stack LoadBalancer Service publishing host with
// these load-balancer addresses.
func (m *mcCluster) create(t *testing.T, name, host string, ips ...string) {
	t.Helper()
	svc := dualStackService(mcNamespace, name, map[string]string{faultHostnameAnn: host})
	if _, err := m.c.Admin.CoreV1().Services(mcNamespace).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("cluster %s: creating Service %s: %v", m.name, name, err)
	}
	m.svcs[name] = mcService{host: host}
	m.setIPs(t, name, ips...)
}

// setIPs sets a Service's load-balancer ingress addresses.
func (m *mcCluster) setIPs(t *testing.T, name string, ips ...string) {
	t.Helper()
	setIngressIPs(t, m.c, mcNamespace, name, ips...)
	s := m.svcs[name]
	s.v4, s.v6 = nil, nil
	for _, ip := range ips {
		if net.ParseIP(ip).To4() != nil {
			s.v4 = append(s.v4, ip)
		} else {
			s.v6 = append(s.v6, ip)
		}
	}
	m.svcs[name] = s
}

// delete deletes a Service.
func (m *mcCluster) delete(t *testing.T, name string) {
	t.Helper()
	if err := m.c.Admin.CoreV1().Services(mcNamespace).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("cluster %s: deleting Service %s: %v", m.name, name, err)
	}
	delete(m.svcs, name)
}

// want adds the record sets this cluster should hold in the hosted zone to
// out, keyed and valued as routedSnapshot gives them: each address record
// set and its ownership TXT with this cluster's set identifier and weight.
func (m *mcCluster) want(out map[string]string) {
	for name, s := range m.svcs {
		for _, fam := range []struct {
			typ string
			ips []string
		}{{"A", s.v4}, {"AAAA", s.v6}} {
			if len(fam.ips) == 0 {
				continue
			}
			vals := slices.Sorted(slices.Values(fam.ips))
			out[fmt.Sprintf("%s. %s %s", s.host, fam.typ, m.setID)] = fmt.Sprintf("300 %s weight=%d", strings.Join(vals, " "), m.weight)
			out[fmt.Sprintf("%s-%s. TXT %s", strings.ToLower(fam.typ), s.host, m.setID)] = fmt.Sprintf("300 %s weight=%d", m.ownerTXT(name), m.weight)
		}
	}
}

// ownerTXT is the value of this cluster's ownership TXT for Service name.
func (m *mcCluster) ownerTXT(name string) string {
	return fmt.Sprintf(`"heritage=external-dns,external-dns/owner=%s,external-dns/resource=service/%s/%s"`, m.owner, mcNamespace, name)
}

// addrs is what this cluster's served zone answers for host and qtype
// (as answers gives them, sorted).
func (m *mcCluster) addrs(host string, qtype uint16) []string {
	var out []string
	for _, s := range m.svcs {
		if s.host != host {
			continue
		}
		ips, typ := s.v4, "A"
		if qtype == dns.TypeAAAA {
			ips, typ = s.v6, "AAAA"
		}
		for _, ip := range ips {
			out = append(out, typ+" "+ip)
		}
	}
	sort.Strings(out)
	return out
}

// mcWant is the whole hosted zone both clusters should have written.
func mcWant(cls ...*mcCluster) map[string]string {
	out := map[string]string{}
	for _, m := range cls {
		m.want(out)
	}
	return out
}

// mcExpectZone waits until the hosted zone holds exactly want (every record
// set but SOA and NS, by name, type and set identifier, with TTL, values and
// weight).
func mcExpectZone(t *testing.T, r53 *route53.Client, zoneID string, timeout time.Duration, want map[string]string) {
	t.Helper()
	harness.Eventually(t, timeout, func() error {
		got := routedSnapshot(t, r53, zoneID)
		var diff []string
		for _, k := range sortedKeys(want) {
			if g, ok := got[k]; !ok {
				diff = append(diff, fmt.Sprintf("missing %s %s", k, want[k]))
			} else if g != want[k] {
				diff = append(diff, fmt.Sprintf("%s: %s, want %s", k, g, want[k]))
			}
		}
		for _, k := range sortedKeys(got) {
			if _, ok := want[k]; !ok {
				diff = append(diff, fmt.Sprintf("extra %s %s", k, got[k]))
			}
		}
		if len(diff) > 0 {
			return fmt.Errorf("hosted zone differs in %d record sets:\n  %s", len(diff), strings.Join(diff, "\n  "))
		}
		return nil
	})
}

// mcSettle waits until the process behind the proxy is idle: the proxy has
// answered and recorded every request it received (it records a request only
// after answering it), the last one was forwarded and answered 2xx (after a
// fault, a throttling error or a rejected batch another request follows:
// an SDK retry, the mirror's own retry, or a re-read of the zone), and
// nothing new came for quiet. It returns the proxy's LastSeq then.
func mcSettle(t *testing.T, p *harness.FaultProxy, quiet time.Duration) int {
	t.Helper()
	last, since := -1, time.Now()
	harness.Eventually(t, 60*time.Second, func() error {
		seq := p.LastSeq()
		if seq != last {
			last, since = seq, time.Now()
		}
		reqs := p.Requests()
		if len(reqs) != seq {
			return fmt.Errorf("the proxy has recorded %d of the %d requests it received", len(reqs), seq)
		}
		if n := len(reqs); n > 0 {
			if r := reqs[n-1]; r.Outcome != harness.OutcomeForwarded || r.Status/100 != 2 {
				return fmt.Errorf("the last request (%d, %s) was %s, HTTP %d: a retry is due", r.Seq, r.Action, r.Outcome, r.Status)
			}
		}
		if time.Since(since) < quiet {
			return fmt.Errorf("a request came %s ago", time.Since(since).Round(time.Millisecond))
		}
		return nil
	})
	return last
}

// mcChangesSince returns the changes of the ChangeResourceRecordSets
// requests with Seq above mark, faulted or not.
func mcChangesSince(p *harness.FaultProxy, mark int) []harness.FaultChange {
	var out []harness.FaultChange
	for _, r := range p.Requests() {
		if r.Seq > mark && r.Action == "ChangeResourceRecordSets" {
			out = append(out, r.Changes...)
		}
	}
	return out
}

// mcForeign returns the changes among changes that are not m's own: an A,
// AAAA or TXT record set with m's set identifier and weight (and a TXT
// value, when written, with m's owner id).
func (m *mcCluster) mcForeign(changes []harness.FaultChange) []string {
	var bad []string
	for _, ch := range changes {
		ok := ch.SetIdentifier == m.setID && slices.Contains([]string{"A", "AAAA", "TXT"}, ch.Type)
		if ok && ch.Type == "TXT" && ch.Action != "DELETE" {
			for _, v := range ch.Values {
				if !strings.Contains(v, "external-dns/owner="+m.owner+",") {
					ok = false
				}
			}
		}
		if ok && (ch.Weight == nil || *ch.Weight != m.weight) {
			ok = false
		}
		if !ok {
			w := "none"
			if ch.Weight != nil {
				w = fmt.Sprint(*ch.Weight)
			}
			bad = append(bad, fmt.Sprintf("%s SetIdentifier %q weight %s %v", ch, ch.SetIdentifier, w, ch.Values))
		}
	}
	return bad
}

// mcExpectServed waits until m's served zone answers host A and AAAA with
// m's own addresses only (NXDOMAIN when m publishes nothing there).
func mcExpectServed(t *testing.T, m *mcCluster, host string) {
	t.Helper()
	harness.Eventually(t, 15*time.Second, func() error {
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
			want := m.addrs(host, qt)
			r := harness.Query(t, m.cd.Addr, host+".", qt, "udp")
			got := answers(r)
			sort.Strings(got)
			wantRcode := dns.RcodeSuccess
			if len(m.addrs(host, dns.TypeA))+len(m.addrs(host, dns.TypeAAAA)) == 0 {
				wantRcode = dns.RcodeNameError
			}
			if r.Rcode != wantRcode || !slices.Equal(got, want) {
				return fmt.Errorf("cluster %s serves %s %s: rcode %s %v, want %s %v", m.name, host, dns.TypeToString[qt],
					dns.RcodeToString[r.Rcode], got, dns.RcodeToString[wantRcode], want)
			}
		}
		return nil
	})
}

// TestMultiClusterRoute53 runs two independent clusters (each its own etcd
// and kube-apiserver) with one clusterzone process each, owner ids cluster-a
// and cluster-b, policy sync and cluster-routing weighted (cluster a with
// the defaults: its owner id as set identifier, weight 1; cluster b with an
// explicit set identifier and weight), both mirroring example.org into one
// moto hosted zone, each through its own FaultProxy. The same Service runs
// in both clusters with other addresses, and one Service only in cluster b.
//
// It checks that the hosted zone holds exactly both clusters' record sets,
// each under its own set identifier and weight with its own ownership TXT
// records; that a change in one cluster sends changes of that cluster's
// record sets only, and nothing from the other; that under throttling,
// server errors and lost replies on both proxies a burst of changes in both
// clusters converges to the exact zone; that deleting the shared Service in
// one cluster leaves the other's record sets alone; and, over the whole
// test, that no change either process sent (faulted or forwarded) named a
// record set of the other's set identifier. Each served zone answers with
// its own cluster's addresses only.
func TestMultiClusterRoute53(t *testing.T) {
	start := time.Now()
	a := &mcCluster{name: "a", owner: "cluster-a", setID: "cluster-a", weight: 1, svcs: map[string]mcService{}}
	b := &mcCluster{name: "b", owner: "cluster-b", setID: "b-eu", weight: 20, svcs: map[string]mcService{}}
	both := []*mcCluster{a, b}
	for _, m := range both {
		m.c = harness.StartCluster(t)
		m.c.CreateNamespace(t, mcNamespace)
	}
	moto := harness.StartMoto(t)
	r53 := r53Client(moto.URL) // direct, for the checks: counted by neither proxy
	zoneID := createHostedZone(t, r53, "example.org")
	routing := map[*mcCluster]string{
		a: "            cluster-routing weighted",
		b: fmt.Sprintf("            cluster-routing weighted set-identifier %s weight %d", b.setID, b.weight),
	}
	for i, m := range both {
		m.proxy = harness.StartFaultProxy(t, moto.URL)
		// Fixed seeds: a proxy draws the fate of each request in turn, so
		// every run meets the same sequence of faults. These give a few of
		// each kind; some seeds (7, say) give one process seven faults in a
		// row and half a minute of SDK backoff.
		m.proxy.SetSeed(uint64(101 + i))
		corefile := route53Corefile(harness.FreePort(t), m.c.Kubeconfig, "127.0.0.1:9", zoneID, m.proxy.URL, routing[m])
		corefile = strings.Replace(corefile, "owner-id e2e", "owner-id "+m.owner, 1)
		m.cd = harness.StartCoreDNS(t, corefile, moto.Env...)
	}
	t.Logf("two clusters, moto and two clusterzone processes up in %s", time.Since(start).Round(time.Millisecond))

	// 1-2. The same Service in both clusters, dual-stack, other addresses;
	// and one only in cluster b.
	phase := time.Now()
	a.create(t, "web", "web.example.org", "192.0.2.10", "2001:db8:a::10")
	b.create(t, "web", "web.example.org", "198.51.100.20", "2001:db8:b::20")
	b.create(t, "api", "api.example.org", "198.51.100.30")
	want := mcWant(a, b)
	if len(want) != 10 {
		t.Fatalf("expected zone has %d record sets, want 10: %v", len(want), want)
	}
	mcExpectZone(t, r53, zoneID, 60*time.Second, want)
	logSnapshot(t, "the hosted zone with both clusters", routedSnapshot(t, r53, zoneID))
	for _, m := range both {
		mcExpectServed(t, m, "web.example.org")
		mcExpectServed(t, m, "api.example.org")
	}
	t.Logf("phase 1-2 (both clusters' record sets in one hosted zone, exact) took %s; proxy a: %s; proxy b: %s",
		time.Since(phase).Round(time.Millisecond), a.proxy.Summary(), b.proxy.Summary())

	// 3. A change in cluster a: only cluster a's record sets change, and
	// cluster b sends nothing.
	phase = time.Now()
	markA, markB := mcSettle(t, a.proxy, time.Second), mcSettle(t, b.proxy, time.Second)
	a.setIPs(t, "web", "192.0.2.11", "2001:db8:a::11")
	mcExpectZone(t, r53, zoneID, 30*time.Second, mcWant(a, b))
	mcSettle(t, a.proxy, time.Second)
	sent := mcChangesSince(a.proxy, markA)
	logChanges(t, "cluster a's changes for its new web addresses", sent)
	if len(sent) == 0 {
		t.Errorf("cluster a's proxy saw no change for the new web addresses")
	}
	if bad := a.mcForeign(sent); len(bad) > 0 {
		t.Errorf("cluster a's changes for its own Service touched record sets not its own:\n  %s", strings.Join(bad, "\n  "))
	}
	for _, ch := range sent {
		if ch.Name != "web.example.org." && ch.Name != "a-web.example.org." && ch.Name != "aaaa-web.example.org." {
			t.Errorf("cluster a's change for web touched another name: %s", ch)
		}
	}
	if n := b.proxy.LastSeq() - markB; n != 0 {
		t.Errorf("cluster b's proxy saw %d requests for a change in cluster a, want none: %v", n, b.proxy.Requests()[markB:])
	}
	mcExpectServed(t, a, "web.example.org")
	mcExpectServed(t, b, "web.example.org")
	t.Logf("phase 3 (a change in cluster a) took %s", time.Since(phase).Round(time.Millisecond))

	// 4. Faults on both proxies, and changes in both clusters.
	phase = time.Now()
	faultMarks := map[*mcCluster]int{a: a.proxy.LastSeq(), b: b.proxy.LastSeq()}
	for _, m := range both {
		m.proxy.SetFaults(0.2, 0.1)
		m.proxy.SetLostReplies(0.2)
	}
	t.Logf("injected on both proxies: 20%% Throttling, 10%% InternalFailure, 20%% of the rest applied with the reply lost")
	pause := func() { time.Sleep(300 * time.Millisecond) }
	a.setIPs(t, "web", "192.0.2.12", "2001:db8:a::11") // A changes, AAAA stays
	pause()
	b.setIPs(t, "web", "198.51.100.21") // A changes, AAAA goes away
	pause()
	a.create(t, "cart", "cart.example.org", "192.0.2.40", "2001:db8:a::40") // a new name, then shared
	b.create(t, "cart", "cart.example.org", "198.51.100.40")
	pause()
	b.delete(t, "api")
	pause()
	a.create(t, "blog", "blog.example.org", "192.0.2.50") // a new Service only in a
	pause()
	b.setIPs(t, "cart", "198.51.100.41", "2001:db8:b::41")
	pause()
	b.create(t, "shop", "shop.example.org", "198.51.100.60", "2001:db8:b::60") // a new Service only in b
	// More traffic for the faults to hit, from both.
	for i := 1; i <= 3; i++ {
		pause()
		a.setIPs(t, "blog", fmt.Sprintf("192.0.2.%d", 50+i), fmt.Sprintf("2001:db8:a::%d", 50+i))
		b.setIPs(t, "shop", fmt.Sprintf("198.51.100.%d", 60+i))
	}
	pause()
	a.delete(t, "blog")
	a.create(t, "blog2", "blog.example.org", "192.0.2.59") // the name again, by another Service
	t.Logf("injected under the faults, in %s: 9 updates (a web, b web losing its AAAA, b cart, 3 each of a blog and b shop), 5 creates (cart in both, blog and blog2 in a, shop in b), 2 deletes (api in b, blog in a)",
		time.Since(phase).Round(time.Millisecond))
	want = mcWant(a, b)
	mcExpectZone(t, r53, zoneID, 90*time.Second, want)
	t.Logf("phase 4: the zone converged to exactly %d record sets %s after the first change under faults", len(want), time.Since(phase).Round(time.Millisecond))
	for _, m := range both {
		m.proxy.SetFaults(0, 0)
		m.proxy.SetLostReplies(0)
	}
	for _, m := range both {
		mcSettle(t, m.proxy, 1500*time.Millisecond)
	}
	// It stays exact: no late retry undoes anything.
	mcExpectZone(t, r53, zoneID, time.Second, want)
	for _, m := range both {
		for _, host := range []string{"web.example.org", "cart.example.org", "api.example.org", "blog.example.org", "shop.example.org"} {
			mcExpectServed(t, m, host)
		}
	}
	for _, m := range both {
		outcomes := map[string]int{}
		for _, r := range m.proxy.Requests() {
			if r.Seq > faultMarks[m] {
				outcomes[r.Action+" "+r.Outcome]++
			}
		}
		t.Logf("phase 4, cluster %s's proxy: requests by action and outcome %v", m.name, outcomes)
	}

	// 5. Cluster a deletes the shared Service: cluster b's record sets stay.
	phase = time.Now()
	markA, markB = mcSettle(t, a.proxy, time.Second), mcSettle(t, b.proxy, time.Second)
	a.delete(t, "web")
	mcExpectZone(t, r53, zoneID, 30*time.Second, mcWant(a, b))
	mcSettle(t, a.proxy, time.Second)
	sent = mcChangesSince(a.proxy, markA)
	logChanges(t, "cluster a's changes for deleting web", sent)
	if bad := a.mcForeign(sent); len(bad) > 0 {
		t.Errorf("cluster a's deletion of web touched record sets not its own:\n  %s", strings.Join(bad, "\n  "))
	}
	for _, ch := range sent {
		if ch.Action != "DELETE" {
			t.Errorf("cluster a's deletion of web sent %s", ch)
		}
	}
	if n := b.proxy.LastSeq() - markB; n != 0 {
		t.Errorf("cluster b's proxy saw %d requests for a deletion in cluster a, want none: %v", n, b.proxy.Requests()[markB:])
	}
	mcExpectServed(t, a, "web.example.org") // NXDOMAIN now
	mcExpectServed(t, b, "web.example.org")
	logSnapshot(t, "the final hosted zone", routedSnapshot(t, r53, zoneID))
	t.Logf("phase 5 (cluster a deletes the shared Service) took %s", time.Since(phase).Round(time.Millisecond))

	// 6. Over the whole test: every change each process sent names only
	// its own record sets; counts for the report.
	for _, m := range both {
		other := b
		if m == b {
			other = a
		}
		mcSettle(t, m.proxy, 0)
		reqs := m.proxy.Requests()
		sentBy, appliedBy := map[string]int{}, map[string]int{}
		var all []harness.FaultChange
		rejected, lost := 0, 0
		for _, r := range reqs {
			if r.Action != "ChangeResourceRecordSets" {
				continue
			}
			if r.Outcome == harness.OutcomeLostReply {
				lost++
			}
			all = append(all, r.Changes...)
			for _, ch := range r.Changes {
				sentBy[ch.Action]++
				if r.Applied() {
					appliedBy[ch.Action]++
				}
				if ch.SetIdentifier == other.setID {
					t.Errorf("cluster %s sent %s with cluster %s's set identifier %q (request %d, %s)", m.name, ch, other.name, ch.SetIdentifier, r.Seq, r.Outcome)
				}
			}
			if (r.Outcome == harness.OutcomeForwarded || r.Outcome == harness.OutcomeLostReply) && r.Status/100 != 2 {
				rejected++
				logChanges(t, fmt.Sprintf("cluster %s: batch %d rejected by Route 53 (HTTP %d, %s)", m.name, r.Seq, r.Status, r.Outcome), r.Changes)
			}
		}
		if bad := m.mcForeign(all); len(bad) > 0 {
			t.Errorf("cluster %s sent %d changes of record sets not its own:\n  %s", m.name, len(bad), strings.Join(bad, "\n  "))
		}
		st := m.proxy.Stats()
		t.Logf("cluster %s (owner %s, set identifier %s, weight %d): %d ChangeResourceRecordSets requests carrying %d changes, sent by action %v, applied by action %v; requests by action: %s",
			m.name, m.owner, m.setID, m.weight, m.proxy.Count("ChangeResourceRecordSets"), len(all), sentBy, appliedBy, m.proxy.Summary())
		t.Logf("cluster %s proxy: %s; change batches Route 53 rejected: %d (after %d lost replies of change batches)", m.name, st, rejected, lost)

		// Route 53 rejects a batch only when the process's view was out of
		// date, which here only a lost reply can cause (the retry of a batch
		// that was applied): never a change of the other process.
		log := m.cd.Log()
		outOfDate := strings.Count(log, "as out of date, reading the zone again")
		syncFailed := strings.Count(log, "Route 53 sync of") + strings.Count(log, "Route 53 full sync failed")
		t.Logf("cluster %s coredns: %d out-of-date rejections (re-read), %d failed syncs retried, %d full syncs",
			m.name, outOfDate, syncFailed, strings.Count(log, "Route 53 full sync of"))
		if rejected > lost {
			t.Errorf("cluster %s: Route 53 rejected %d change batches but only %d of its replies were lost", m.name, rejected, lost)
		}
		for _, line := range strings.Split(log, "\n") {
			stale := false // what the retry of an applied batch meets
			for _, s := range []string{"already exists", "but it was not found", "do not match", "found none"} {
				stale = stale || strings.Contains(line, s)
			}
			switch {
			case strings.Contains(line, "Route 53 rejected ") && (!stale || strings.Contains(line, "'"+other.setID+"'")):
				t.Errorf("cluster %s: a rejection not caused by a lost reply: %s", m.name, line)
			case strings.Contains(line, "Route 53 rejected "):
				t.Logf("cluster %s: after a lost reply: %s", m.name, line)
			case strings.Contains(line, "[WARNING]") && strings.Contains(line, "Route 53 zone "):
				t.Errorf("cluster %s: a problem reported: %s", m.name, line)
			}
		}
		if m.cd.Exited() {
			t.Errorf("cluster %s: coredns exited", m.name)
		}
	}
	t.Logf("total %s", time.Since(start).Round(time.Millisecond))
}
