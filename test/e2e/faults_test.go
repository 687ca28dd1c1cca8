package e2e

// Fault tests: the real kube-apiserver, etcd, moto_server and the built
// CoreDNS binary, with one component failing while the plugin works. Each
// test logs what it injected and what it observed, with counts.

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const faultHostnameAnn = "external-dns.alpha.kubernetes.io/hostname"

// faultCheck is one query of the load loop and the reply it must get.
type faultCheck struct {
	name  string
	qtype uint16
	rcode int
	want  []string // sorted answers(m)
}

func (c faultCheck) String() string {
	return fmt.Sprintf("%s %s", c.name, dns.TypeToString[c.qtype])
}

// faultLoad queries CoreDNS over UDP from several goroutines, round-robin
// over a set of checks, and counts every outcome per phase.
type faultLoad struct {
	addr   string
	checks []faultCheck
	phase  atomic.Int32
	stop   chan struct{}
	wg     sync.WaitGroup

	mu       sync.Mutex
	phases   []string
	counts   map[int]*faultCounts
	examples []string // the first few bad replies
}

type faultCounts struct {
	queries, ok, servfail, wrong, transport int
}

func (c faultCounts) String() string {
	return fmt.Sprintf("%d queries: %d right, %d SERVFAIL, %d wrong, %d transport errors (timeouts)",
		c.queries, c.ok, c.servfail, c.wrong, c.transport)
}

// startFaultLoad starts workers goroutines querying addr, in phase 0 named
// firstPhase.
func startFaultLoad(t *testing.T, addr string, workers int, firstPhase string, checks []faultCheck) *faultLoad {
	l := &faultLoad{addr: addr, checks: checks, stop: make(chan struct{}), phases: []string{firstPhase}, counts: map[int]*faultCounts{0: {}}}
	for w := 0; w < workers; w++ {
		l.wg.Add(1)
		go l.run(w)
	}
	t.Cleanup(l.halt)
	return l
}

func (l *faultLoad) run(w int) {
	defer l.wg.Done()
	cl := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	for i := w; ; i++ {
		select {
		case <-l.stop:
			return
		default:
		}
		c := l.checks[i%len(l.checks)]
		m := new(dns.Msg)
		m.SetQuestion(c.name, c.qtype)
		phase := int(l.phase.Load())
		r, _, err := cl.Exchange(m, l.addr)
		bad := ""
		l.mu.Lock()
		n := l.counts[phase]
		n.queries++
		switch {
		case err != nil:
			n.transport++
			bad = fmt.Sprintf("%s: %v", c, err)
		case r.Rcode == dns.RcodeServerFailure:
			n.servfail++
			bad = fmt.Sprintf("%s: SERVFAIL", c)
		default:
			got := answers(r)
			sort.Strings(got)
			if r.Rcode != c.rcode || !r.Authoritative || !slices.Equal(got, c.want) {
				n.wrong++
				bad = fmt.Sprintf("%s: rcode %s aa %t answers %v, want rcode %s answers %v",
					c, dns.RcodeToString[r.Rcode], r.Authoritative, got, dns.RcodeToString[c.rcode], c.want)
			} else {
				n.ok++
			}
		}
		if bad != "" && len(l.examples) < 10 {
			l.examples = append(l.examples, fmt.Sprintf("[%s] %s", l.phases[phase], bad))
		}
		l.mu.Unlock()
		// Leave CPU to the servers being restarted (2 shared cores).
		time.Sleep(3 * time.Millisecond)
	}
}

// next starts a new phase; queries sent from now on count under it.
func (l *faultLoad) next(name string) {
	l.mu.Lock()
	l.phases = append(l.phases, name)
	l.counts[len(l.phases)-1] = &faultCounts{}
	l.phase.Store(int32(len(l.phases) - 1))
	l.mu.Unlock()
}

func (l *faultLoad) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// report stops the load, logs the counts per phase and in total, and fails
// the test on any SERVFAIL or wrong answer, or when more than 1% of the
// queries got no reply at all.
func (l *faultLoad) report(t *testing.T) {
	t.Helper()
	l.halt()
	l.mu.Lock()
	defer l.mu.Unlock()
	var total faultCounts
	for i, name := range l.phases {
		c := l.counts[i]
		t.Logf("load, %s: %s", name, c)
		total.queries += c.queries
		total.ok += c.ok
		total.servfail += c.servfail
		total.wrong += c.wrong
		total.transport += c.transport
	}
	t.Logf("load, total over %d names/types: %s", len(l.checks), total)
	for _, e := range l.examples {
		t.Logf("load, bad reply: %s", e)
	}
	if total.queries == 0 {
		t.Errorf("the load loop sent no queries")
	}
	if total.servfail != 0 || total.wrong != 0 {
		t.Errorf("%d SERVFAIL and %d wrong answers after the first sync, want none", total.servfail, total.wrong)
	}
	if total.transport*100 > total.queries {
		t.Errorf("%d of %d queries got no reply (more than 1%%)", total.transport, total.queries)
	}
}

// faultServices creates the Services the load loop asks about and returns
// the checks: dual-stack A and AAAA with the ownership TXT, IPv4 only (AAAA
// is NODATA), both ClusterIPs of an internal-hostname, a wildcard, and a
// name that does not exist.
func faultServices(t *testing.T, c *harness.Cluster, ns string) []faultCheck {
	t.Helper()
	ctx := context.Background()
	svcs := c.Admin.CoreV1().Services(ns)
	create := func(svc *corev1.Service) *corev1.Service {
		t.Helper()
		out, err := svcs.Create(ctx, svc, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	create(dualStackService(ns, "web", map[string]string{faultHostnameAnn: "web.example.org"}))
	c.SetLoadBalancerIngress(t, ns, "web", []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}, {IP: "2001:db8::10"}})
	create(dualStackService(ns, "v4", map[string]string{faultHostnameAnn: "v4.example.org"}))
	c.SetLoadBalancerIngress(t, ns, "v4", []corev1.LoadBalancerIngress{{IP: "192.0.2.11"}})
	create(dualStackService(ns, "apps", map[string]string{faultHostnameAnn: "*.apps.example.org"}))
	c.SetLoadBalancerIngress(t, ns, "apps", []corev1.LoadBalancerIngress{{IP: "192.0.2.12"}, {IP: "2001:db8::12"}})
	internal := create(dualStackService(ns, "internal", map[string]string{"external-dns.alpha.kubernetes.io/internal-hostname": "internal.example.org"}))
	if len(internal.Spec.ClusterIPs) != 2 {
		t.Fatalf("internal: ClusterIPs %v, want two", internal.Spec.ClusterIPs)
	}
	owner := "TXT heritage=external-dns,external-dns/owner=e2e,external-dns/resource=service/" + ns + "/web"
	return []faultCheck{
		{"web.example.org.", dns.TypeA, dns.RcodeSuccess, []string{"A 192.0.2.10"}},
		{"web.example.org.", dns.TypeAAAA, dns.RcodeSuccess, []string{"AAAA 2001:db8::10"}},
		{"web.example.org.", dns.TypeTXT, dns.RcodeSuccess, []string{owner}},
		{"v4.example.org.", dns.TypeA, dns.RcodeSuccess, []string{"A 192.0.2.11"}},
		{"v4.example.org.", dns.TypeAAAA, dns.RcodeSuccess, nil},
		{"x.apps.example.org.", dns.TypeA, dns.RcodeSuccess, []string{"A 192.0.2.12"}},
		{"y.apps.example.org.", dns.TypeAAAA, dns.RcodeSuccess, []string{"AAAA 2001:db8::12"}},
		{"internal.example.org.", dns.TypeA, dns.RcodeSuccess, []string{"A " + internal.Spec.ClusterIPs[0]}},
		{"internal.example.org.", dns.TypeAAAA, dns.RcodeSuccess, []string{"AAAA " + internal.Spec.ClusterIPs[1]}},
		{"nope.example.org.", dns.TypeA, dns.RcodeNameError, nil},
		{"nope.example.org.", dns.TypeAAAA, dns.RcodeNameError, nil},
	}
}

// faultWaitChecks waits until every check gets its reply.
func faultWaitChecks(t *testing.T, addr string, checks []faultCheck, timeout time.Duration) {
	t.Helper()
	harness.Eventually(t, timeout, func() error {
		for _, c := range checks {
			r := harness.Query(t, addr, c.name, c.qtype, "udp")
			got := answers(r)
			sort.Strings(got)
			if r.Rcode != c.rcode || !slices.Equal(got, c.want) {
				return fmt.Errorf("%s: rcode %s answers %v, want %s %v", c, dns.RcodeToString[r.Rcode], got, dns.RcodeToString[c.rcode], c.want)
			}
		}
		return nil
	})
}

// faultAPIUsable waits until the admin client can write (create and delete a
// ConfigMap), i.e. kube-apiserver and etcd both serve again, and returns how
// long that took.
func faultAPIUsable(t *testing.T, client kubernetes.Interface, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	ctx := context.Background()
	harness.Eventually(t, timeout, func() error {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "probe-"}}
		out, err := client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		return client.CoreV1().ConfigMaps("default").Delete(ctx, out.Name, metav1.DeleteOptions{})
	})
	return time.Since(start)
}

// faultChangeAfterRestart makes two Service changes once the component is
// back (a new dual-stack Service, and new addresses for v4) and waits until
// CoreDNS serves both; it returns how long that took.
func faultChangeAfterRestart(t *testing.T, c *harness.Cluster, ns, addr string) time.Duration {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	if _, err := c.Admin.CoreV1().Services(ns).Create(ctx, dualStackService(ns, "after", map[string]string{faultHostnameAnn: "after.example.org"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.SetLoadBalancerIngress(t, ns, "after", []corev1.LoadBalancerIngress{{IP: "192.0.2.40"}, {IP: "2001:db8::40"}})
	harness.Eventually(t, 60*time.Second, func() error {
		a := answers(harness.Query(t, addr, "after.example.org.", dns.TypeA, "udp"))
		aaaa := answers(harness.Query(t, addr, "after.example.org.", dns.TypeAAAA, "udp"))
		if strings.Join(a, ",") != "A 192.0.2.40" || strings.Join(aaaa, ",") != "AAAA 2001:db8::40" {
			return fmt.Errorf("after.example.org: A %v AAAA %v", a, aaaa)
		}
		return nil
	})
	return time.Since(start)
}

// runAPIFault is the body of the API server and etcd fault tests: a load
// loop on CoreDNS across kill() and restart(), then a change that must
// appear.
func runAPIFault(t *testing.T, what string, kill func(c *harness.Cluster), restart func(c *harness.Cluster), down time.Duration) {
	c := harness.StartCluster(t)
	nlb := startFakeNLB(t)
	ns := c.CreateNamespace(t, "faults")
	checks := faultServices(t, c, ns)
	cd := harness.StartCoreDNS(t, clusterCorefile(harness.FreePort(t), c.Kubeconfig, nlb.Addr, ""))
	faultWaitChecks(t, cd.Addr, checks, 30*time.Second)

	load := startFaultLoad(t, cd.Addr, 4, "before the fault", checks)
	time.Sleep(2 * time.Second)

	load.next(what + " down")
	killed := time.Now()
	kill(c)
	t.Logf("injected: %s killed (SIGKILL) at %s, kept down %s", what, killed.Format("15:04:05.000"), down)
	time.Sleep(down)
	load.next(what + " restarting")
	restarted := time.Now()
	restart(c)
	started := time.Since(restarted)
	usable := faultAPIUsable(t, c.Admin, 60*time.Second)
	t.Logf("injected: %s restarted after %s down; it took %s to start, and the API %s more to accept writes",
		what, restarted.Sub(killed).Round(time.Millisecond), started.Round(time.Millisecond), usable.Round(time.Millisecond))

	load.next("after the restart")
	took := faultChangeAfterRestart(t, c, ns, cd.Addr)
	t.Logf("observed: a Service created after the restart was served %s after its creation", took.Round(time.Millisecond))
	t.Logf("observed: CoreDNS logged %d failed Service list/watch attempts (retried by the informer)",
		strings.Count(cd.Log(), "Failed to list Services")+strings.Count(cd.Log(), "Failed to watch Services"))
	time.Sleep(2 * time.Second)
	// The load loop's names still answer as before (checked by the load
	// loop itself until here).
	load.report(t)
	if cd.Exited() {
		t.Errorf("CoreDNS exited")
	}
}

// TestFaultAPIServerKilled kills kube-apiserver (SIGKILL) while four
// goroutines query CoreDNS over UDP, then starts it again: after the first
// sync there must be no SERVFAIL and no wrong answer at any time, and a
// change made after the restart must appear.
func TestFaultAPIServerKilled(t *testing.T) {
	runAPIFault(t, "kube-apiserver",
		func(c *harness.Cluster) { c.KillAPIServer(t) },
		func(c *harness.Cluster) { c.StartAPIServer(t) },
		6*time.Second)
}

// TestFaultEtcdKilled does the same with etcd: kube-apiserver stays up but
// loses its storage.
func TestFaultEtcdKilled(t *testing.T) {
	runAPIFault(t, "etcd",
		func(c *harness.Cluster) { c.KillEtcd(t) },
		func(c *harness.Cluster) { c.StartEtcd(t) },
		8*time.Second)
}

// faultZoneWant lists the hosted zone's records (as zoneRecords shows them)
// for Services in ns: name -> v4 and v6 addresses.
type faultZoneWant map[string][2][]string

func (w faultZoneWant) records(ns string, svcOf map[string]string) []string {
	var out []string
	for name, fam := range w {
		for i, typ := range []string{"A", "AAAA"} {
			if len(fam[i]) == 0 {
				continue
			}
			for _, ip := range fam[i] {
				out = append(out, fmt.Sprintf("%s. %s %s", name, typ, ip))
			}
			out = append(out, txt(strings.ToLower(typ)+"-"+name+".", ns, svcOf[name]))
		}
	}
	sort.Strings(out)
	return out
}

// TestFaultRoute53Outage takes Route 53 away (the fault proxy in front of
// moto_server goes down: connections refused, open ones reset) during a
// burst of Service creates, updates and deletes, brings it back with
// throttling, server errors and lost replies, and checks that the hosted
// zone converges to exactly the records of the table: every A, AAAA and
// ownership TXT, nothing extra, nothing missing.
//
// moto_server itself is not stopped: it keeps its hosted zones in memory
// only, and a new one could not be given the same zone id. To the plugin a
// proxy that refuses and resets connections is what a Route 53 outage looks
// like.
func TestFaultRoute53Outage(t *testing.T) {
	c := harness.StartCluster(t)
	moto := harness.StartMoto(t)
	// Through Route 53's rules (moto.URL), this test fails until the mirror
	// is fixed. After a lost reply the retried batch is rejected as Route 53
	// rejects it ("Tried to create resource record set [...] but it already
	// exists", "... but it was not found"), in an <InvalidChangeBatch>
	// <Messages> answer whose messages the SDK keeps in
	// types.InvalidChangeBatch.Messages, not in Error(); the mirror's
	// staleView reads Error(), so it does not take them for out-of-date
	// rejections and bisects instead of reading the zone again.
	motoURL := moto.URL
	nlb := startFakeNLB(t)
	r53 := r53Client(motoURL) // direct, for the checks
	zoneID := createHostedZone(t, r53, "example.org")
	proxy := harness.StartFaultProxy(t, motoURL)
	ctx := context.Background()
	ns := c.CreateNamespace(t, "faults")
	svcs := c.Admin.CoreV1().Services(ns)
	cd := harness.StartCoreDNS(t, route53Corefile(harness.FreePort(t), c.Kubeconfig, nlb.Addr, zoneID, proxy.URL, ""), moto.Env...)

	svcOf := map[string]string{}
	create := func(name, host string, ips ...string) {
		t.Helper()
		if _, err := svcs.Create(ctx, dualStackService(ns, name, map[string]string{faultHostnameAnn: host + ".example.org"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		setIngressIPs(t, c, ns, name, ips...)
		svcOf[host+".example.org"] = name
	}
	create("one", "one", "192.0.2.1", "2001:db8::1")
	create("two", "two", "192.0.2.2")
	create("three", "three", "192.0.2.3", "2001:db8::3")
	create("four", "four", "192.0.2.4", "2001:db8::4")
	initial := faultZoneWant{
		"one.example.org":   {{"192.0.2.1"}, {"2001:db8::1"}},
		"two.example.org":   {{"192.0.2.2"}, nil},
		"three.example.org": {{"192.0.2.3"}, {"2001:db8::3"}},
		"four.example.org":  {{"192.0.2.4"}, {"2001:db8::4"}},
	}
	start := time.Now()
	expectZone(t, r53, zoneID, 60*time.Second, initial.records(ns, svcOf)...)
	t.Logf("initial zone (%d records) mirrored in %s; proxy: %s", len(initial.records(ns, svcOf)), time.Since(start).Round(time.Millisecond), proxy.Summary())

	// The outage, and a burst of changes during it, spread over a few
	// debounce periods.
	mark := len(proxy.Requests())
	proxy.Down()
	down := time.Now()
	pause := func() { time.Sleep(300 * time.Millisecond) }
	create("new1", "new1", "192.0.2.51", "2001:db8::51")
	pause()
	create("new2", "new2", "192.0.2.52")
	pause()
	create("new3", "new3", "192.0.2.53", "2001:db8::53")
	pause()
	setIngressIPs(t, c, ns, "one", "192.0.2.101", "2001:db8::101") // both families change
	pause()
	setIngressIPs(t, c, ns, "four", "192.0.2.4") // AAAA goes away
	pause()
	faultMoveHostname(t, svcs, "two", "moved.example.org") // the name moves
	svcOf["moved.example.org"] = "two"
	pause()
	if err := svcs.Delete(ctx, "three", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	pause()
	create("brief", "brief", "192.0.2.99", "2001:db8::99") // created and deleted during the outage
	pause()
	if err := svcs.Delete(ctx, "brief", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("injected: Route 53 down (proxy refusing and resetting connections) at %s; during the outage, in %s: 4 creates (one deleted again), 3 updates (addresses of both families, AAAA removed, hostname moved), 2 deletes",
		down.Format("15:04:05.000"), time.Since(down).Round(time.Millisecond))
	time.Sleep(time.Until(down.Add(8 * time.Second)))
	// Nothing could land meanwhile.
	expectZone(t, r53, zoneID, time.Second, initial.records(ns, svcOf)...)

	// Back, but rough: throttling, 5xx and lost replies, and a second wave
	// of changes meanwhile.
	proxy.Up()
	up := time.Now()
	t.Logf("injected: Route 53 back after %s", up.Sub(down).Round(time.Millisecond))
	harness.Eventually(t, 60*time.Second, func() error {
		if len(proxy.AppliedChanges(mark)) == 0 {
			return fmt.Errorf("nothing applied since Route 53 came back")
		}
		return nil
	})
	t.Logf("observed: the first change batch landed %s after Route 53 came back (the SDK's retry backoff, up to 20s, was running)", time.Since(up).Round(time.Millisecond))

	// Then rough weather: the next three ChangeResourceRecordSets calls fail
	// for sure (throttled, a server error, and one that moto applies but
	// whose reply is lost, so that the retry finds its records already
	// there), then faults at random, while a second wave of changes comes.
	proxy.FailNext("ChangeResourceRecordSets", harness.OutcomeThrottled, harness.OutcomeServerError, harness.OutcomeLostReply)
	proxy.SetFaults(0.2, 0.1)
	proxy.SetLostReplies(0.2)
	t.Logf("injected: the next three ChangeResourceRecordSets answered 400 Throttling, 500 InternalFailure, and applied with the reply lost; from then on, at random, 20%% Throttling, 10%% InternalFailure, 20%% lost replies")
	wave := time.Now()
	for i := 4; i <= 7; i++ {
		ips := []string{fmt.Sprintf("192.0.2.%d", 50+i)}
		if i%2 == 0 {
			ips = append(ips, fmt.Sprintf("2001:db8::%d", 50+i))
		}
		create(fmt.Sprintf("new%d", i), fmt.Sprintf("new%d", i), ips...)
		time.Sleep(time.Second)
	}
	setIngressIPs(t, c, ns, "new1", "192.0.2.151", "2001:db8::151")
	time.Sleep(time.Second)
	if err := svcs.Delete(ctx, "new2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("injected: under the random faults, a second wave over %s: 4 creates, 1 update, 1 delete", time.Since(wave).Round(time.Millisecond))
	final := faultZoneWant{
		"one.example.org":   {{"192.0.2.101"}, {"2001:db8::101"}},
		"moved.example.org": {{"192.0.2.2"}, nil},
		"four.example.org":  {{"192.0.2.4"}, nil},
		"new1.example.org":  {{"192.0.2.151"}, {"2001:db8::151"}},
		"new3.example.org":  {{"192.0.2.53"}, {"2001:db8::53"}},
		"new4.example.org":  {{"192.0.2.54"}, {"2001:db8::54"}},
		"new5.example.org":  {{"192.0.2.55"}, nil},
		"new6.example.org":  {{"192.0.2.56"}, {"2001:db8::56"}},
		"new7.example.org":  {{"192.0.2.57"}, nil},
	}
	expectZone(t, r53, zoneID, 75*time.Second, final.records(ns, svcOf)...)
	converged := time.Since(up)
	proxy.SetFaults(0, 0)
	proxy.SetLostReplies(0)

	// It stays exact: no late change undoes anything.
	time.Sleep(2 * time.Second)
	expectZone(t, r53, zoneID, time.Second, final.records(ns, svcOf)...)

	reqs := proxy.Requests()[mark:]
	outcomes := map[string]int{}
	actions := map[string]int{}
	changes := map[string]int{}
	for _, r := range reqs {
		outcomes[r.Outcome]++
		actions[r.Action]++
		if r.Action == "ChangeResourceRecordSets" && r.Applied() {
			for _, ch := range r.Changes {
				changes[ch.Action]++
			}
		}
	}
	t.Logf("observed: the zone converged to exactly the %d records %s after Route 53 came back", len(final.records(ns, svcOf)), converged.Round(time.Millisecond))
	t.Logf("observed: since the outage the proxy read %d requests, by action %v, by outcome %v; changes applied by moto: %v", len(reqs), actions, outcomes, changes)
	t.Logf("observed: proxy totals: %s", proxy.Stats())
	t.Logf("observed: CoreDNS logged %d failed syncs, %d out-of-date rejections (re-read), %d full syncs",
		strings.Count(cd.Log(), "Route 53 sync of")+strings.Count(cd.Log(), "Route 53 full sync failed"),
		strings.Count(cd.Log(), "as out of date, reading the zone again"), strings.Count(cd.Log(), "Route 53 full sync of"))
	if n := strings.Count(cd.Log(), "Route 53 rejected "); n > strings.Count(cd.Log(), "as out of date, reading the zone again") {
		t.Logf("CoreDNS log:\n%s", cd.Log())
		t.Errorf("Route 53 rejected changes other than out-of-date ones (%d rejections)", n)
	}
}

// faultMoveHostname changes a Service's hostname annotation.
func faultMoveHostname(t *testing.T, svcs interface {
	Get(context.Context, string, metav1.GetOptions) (*corev1.Service, error)
	Update(context.Context, *corev1.Service, metav1.UpdateOptions) (*corev1.Service, error)
}, name, host string) {
	t.Helper()
	ctx := context.Background()
	svc, err := svcs.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Annotations[faultHostnameAnn] = host
	if _, err := svcs.Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestFaultCoreDNSRestart restarts CoreDNS (SIGTERM, then the same Corefile
// again) with the Route 53 mirror on under policy sync, three times: the SOA
// serial must never go backwards, and the restarted mirror must not churn
// Route 53: no DELETE at all, no CREATE of a record that was already there,
// in fact no change at all for a zone in sync (the fault proxy reads every
// ChangeResourceRecordSets body).
func TestFaultCoreDNSRestart(t *testing.T) {
	c := harness.StartCluster(t)
	moto := harness.StartMoto(t)
	nlb := startFakeNLB(t)
	r53 := r53Client(moto.URL)
	zoneID := createHostedZone(t, r53, "example.org")
	proxy := harness.StartFaultProxy(t, moto.URL)
	ctx := context.Background()
	ns := c.CreateNamespace(t, "faults")
	svcs := c.Admin.CoreV1().Services(ns)

	// Ballast: 1500 Services that publish nothing, so that the Service
	// informer's first list after a (re)start takes longer than the mirror's
	// listing of the hosted zone. A mirror that reconciled before the table
	// was loaded saw an empty table and, under policy sync, deleted every
	// record it owned and created them again (found by this test; fixed by
	// starting the mirror only once the source has synced).
	ballast := c.CreateNamespace(t, "ballast")
	ballastStart := time.Now()
	const ballastN = 1500
	var wg sync.WaitGroup
	errs := make(chan error, ballastN)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < ballastN; i += 8 {
				svc := &corev1.Service{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("b%04d", i), Namespace: ballast, Labels: map[string]string{"app": "ballast"}},
					Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
				}
				if _, err := c.Admin.CoreV1().Services(ballast).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("created %d headless Services without annotations in %s", ballastN, time.Since(ballastStart).Round(time.Millisecond))

	corefile := route53Corefile(harness.FreePort(t), c.Kubeconfig, nlb.Addr, zoneID, proxy.URL, "")
	cd := harness.StartCoreDNS(t, corefile, moto.Env...)

	// Plain dual-stack and IPv4-only records, a wildcard, and a dual-stack
	// NLB mirrored as ALIAS A and ALIAS AAAA.
	for _, s := range []struct{ name, host string }{{"web", "web"}, {"v4", "v4"}, {"apps", "*.apps"}} {
		if _, err := svcs.Create(ctx, dualStackService(ns, s.name, map[string]string{faultHostnameAnn: s.host + ".example.org"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setIngressIPs(t, c, ns, "web", "192.0.2.10", "2001:db8::10")
	setIngressIPs(t, c, ns, "v4", "192.0.2.11")
	setIngressIPs(t, c, ns, "apps", "192.0.2.12", "2001:db8::12")
	host := "k8s-faults-nlb-0123456789.elb.us-east-1.amazonaws.com"
	nlb.set(host+".", host+". 30 IN A 198.51.100.7", host+". 30 IN AAAA 2001:db8:51::7")
	if _, err := svcs.Create(ctx, dualStackNLBService(ns, "nlb", "nlb.example.org"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.SetLoadBalancerIngress(t, ns, "nlb", []corev1.LoadBalancerIngress{{Hostname: host}})
	want := []string{
		"web.example.org. A 192.0.2.10", "web.example.org. AAAA 2001:db8::10",
		txt("a-web.example.org.", ns, "web"), txt("aaaa-web.example.org.", ns, "web"),
		"v4.example.org. A 192.0.2.11", txt("a-v4.example.org.", ns, "v4"),
		"*.apps.example.org. A 192.0.2.12", "*.apps.example.org. AAAA 2001:db8::12",
		txt("a-*.apps.example.org.", ns, "apps"), txt("aaaa-*.apps.example.org.", ns, "apps"),
		"nlb.example.org. A ALIAS Z26RNL4JYFTOTI " + host, "nlb.example.org. AAAA ALIAS Z26RNL4JYFTOTI " + host,
		txt("a-nlb.example.org.", ns, "nlb"), txt("cname-nlb.example.org.", ns, "nlb"), txt("aaaa-nlb.example.org.", ns, "nlb"),
	}
	expectZone(t, r53, zoneID, 60*time.Second, want...)
	// A burst of changes right before the first restart. With the serial
	// bumped by one per change this ran it ~10s ahead of the clock, and the
	// restarted process, starting from the clock, answered an older serial
	// (found by this test; fixed by moving the serial past the clock only
	// when it was read since it last moved, see table.Serial).
	for _, ip := range []string{"192.0.2.20", "192.0.2.21", "192.0.2.10"} {
		setIngressIPs(t, c, ns, "web", ip, "2001:db8::10")
	}
	expectZone(t, r53, zoneID, 30*time.Second, want...)
	checks := []faultCheck{
		{"web.example.org.", dns.TypeA, dns.RcodeSuccess, []string{"A 192.0.2.10"}},
		{"nlb.example.org.", dns.TypeAAAA, dns.RcodeSuccess, []string{"AAAA 2001:db8:51::7"}},
		{"x.apps.example.org.", dns.TypeA, dns.RcodeSuccess, []string{"A 192.0.2.12"}},
	}
	faultWaitChecks(t, cd.Addr, checks, 30*time.Second)
	t.Logf("initial zone mirrored: %d records; proxy: %s", len(want), proxy.Summary())

	existing := map[string]bool{} // "name TYPE" of every record set in the zone
	for _, r := range zoneRecords(t, r53, zoneID) {
		f := strings.Fields(r)
		existing[f[0]+" "+f[1]] = true
	}

	const restarts = 3
	for round := 1; round <= restarts; round++ {
		s0 := soaSerial(t, cd.Addr)
		ahead := int64(s0) - time.Now().Unix()
		mark := len(proxy.Requests())
		stopped := time.Now()
		cd.Stop(t)
		cd = harness.StartCoreDNS(t, corefile, moto.Env...)
		faultWaitChecks(t, cd.Addr, checks, 30*time.Second)
		served := time.Since(stopped)
		s1 := soaSerial(t, cd.Addr)
		if s1 < s0 {
			t.Errorf("restart %d: SOA serial went backwards: %d before, %d after", round, s0, s1)
		}
		// The new leader's full sync, then time for any event-driven sync
		// (debounce 200ms) to follow.
		harness.Eventually(t, 60*time.Second, func() error {
			if !strings.Contains(cd.Log(), "Route 53 full sync of example.org.") {
				return fmt.Errorf("no full sync logged yet")
			}
			return nil
		})
		time.Sleep(2 * time.Second)
		expectZone(t, r53, zoneID, 5*time.Second, want...)

		actions := map[string]int{}
		var changes []string
		deletes, recreates := 0, 0
		for _, r := range proxy.Requests()[mark:] {
			actions[r.Action]++
			for _, ch := range r.Changes {
				changes = append(changes, ch.String())
				switch {
				case ch.Action == "DELETE":
					deletes++
				case ch.Action == "CREATE" && existing[ch.Name+" "+ch.Type]:
					recreates++
				}
			}
		}
		log := cd.Log()
		order := "the Service informer synced before the mirror started"
		if m, s := strings.Index(log, "Route 53 mirror started"), strings.Index(log, "Synced "); m >= 0 && (s < 0 || m < s) {
			order = "the mirror started before the Service informer synced"
		}
		t.Logf("restart %d: stopped and started, answering again after %s; serial %d -> %d (before the restart it ran %ds ahead of the clock); %s; Route 53 requests since: %v; changes: %d %v",
			round, served.Round(time.Millisecond), s0, s1, ahead, order, actions, len(changes), changes)
		if deletes != 0 || recreates != 0 {
			t.Errorf("restart %d churned Route 53: %d DELETE and %d CREATE of existing records: %v\nCoreDNS log:\n%s", round, deletes, recreates, changes, cd.Log())
		}
		if len(changes) != 0 {
			t.Errorf("restart %d: %d changes sent for a zone that was already in sync: %v", round, len(changes), changes)
		}
	}

	// Still alive after the restarts: a change lands, and the serial moves.
	s0 := soaSerial(t, cd.Addr)
	setIngressIPs(t, c, ns, "v4", "192.0.2.111")
	want[slices.Index(want, "v4.example.org. A 192.0.2.11")] = "v4.example.org. A 192.0.2.111"
	expectZone(t, r53, zoneID, 30*time.Second, want...)
	serialAbove(t, cd.Addr, s0)
	t.Logf("after %d restarts, a change landed in Route 53; proxy totals: %s; requests: %s", restarts, proxy.Stats(), proxy.Summary())
}
