package bench

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

var (
	r53Scales  = flag.String("route53-scales", "1000,10000", "BenchmarkRoute53: Service counts, ascending, comma-separated; loaded in turn into one API server")
	r53Changes = flag.Int("route53-changes", 5, "BenchmarkRoute53: Service changes timed per contender and scale (the median is reported)")
	r53Idle    = flag.Duration("route53-idle", time.Minute, "BenchmarkRoute53: the window with nothing changing in which idle Route 53 calls are counted")
	r53Timeout = flag.Duration("route53-timeout", 30*time.Minute, "BenchmarkRoute53: the most a contender may take to complete the hosted zone, or 5 minutes (whichever is longer) to apply one change; beyond it the benchmark fails")
)

const (
	r53NS    = "r53"
	r53Zone  = "example.org"
	r53Owner = "bench"
	// r53Settle is how long the counts keep running after a change is
	// visible (trailing requests of the same sync) and before an idle window.
	r53Settle = 2 * time.Second
	// r53Quiet is the pause before each timed change: longer than
	// ExternalDNS's --min-event-sync-interval (5 s by default), so that no
	// change waits for the sync of the previous one.
	r53Quiet = 6 * time.Second
)

// r53Report is route53.json.
type r53Report struct {
	Shape string
	// ExternalDNSArgs are ExternalDNS's flags less the per-run ones
	// (--kubeconfig, --zone-id-filter, --metrics-address);
	// ClusterzoneRoute53 is clusterzone's route53 block, the same way.
	ExternalDNSArgs    []string
	ClusterzoneRoute53 string
	Changes            int
	IdleSeconds        float64
	Scales             []r53Scale
}

// r53Scale is both contenders at one number of Services.
type r53Scale struct {
	Services      int
	CreateSeconds float64 // creating the Services added at this scale (and their LB status)
	Order         []string
	Clusterzone   r53Contender
	ExternalDNS   r53Contender
	// ExternalDNS / clusterzone: converge time, calls to converge, change
	// latency median, calls per change median, idle calls per minute (0 when
	// clusterzone's figure is 0).
	ConvergeRatio, ConvergeCallsRatio, ChangeLatencyRatio, ChangeCallsRatio, IdleCallsRatio float64
}

// r53Contender is what one contender did at one scale.
type r53Contender struct {
	// ConvergeSeconds: process start to every A, AAAA and ownership TXT of
	// every Service accepted by moto; ConvergeCalls: Route 53 requests sent
	// until then.
	ConvergeSeconds       float64
	ConvergeCalls         int
	ConvergeCallsByAction map[string]int
	// ConvergeBusySeconds is the part of ConvergeSeconds during which at
	// least one of its Route 53 requests was in flight (waiting on moto, the
	// emulator's own speed); the rest is the contender's.
	ConvergeBusySeconds float64
	// Records is how many record sets the zone held when checked (SOA and NS
	// not counted).
	Records int
	// One Service's IPv4 load-balancer ingress changed: status write returned
	// -> the new A value accepted by moto, and the requests sent from the
	// write until r53Settle after that.
	ChangeLatencyMs       []float64
	ChangeLatencyMedianMs float64
	// ChangeBusyMs: of each change's latency, the time with a Route 53
	// request in flight (as ConvergeBusySeconds).
	ChangeBusyMs        []float64
	ChangeBusyMedianMs  float64
	ChangeCalls         []int
	ChangeCallsMedian   float64
	ChangeCallsByAction map[string]int // all changes together
	// Idle: requests sent in IdleSeconds with nothing changing.
	IdleCalls          int
	IdleCallsPerMinute float64
	IdleCallsByAction  map[string]int
}

func r53Host(i int) string { return fmt.Sprintf("svc-%d.%s", i, r53Zone) }

// r53ChangedIPv4 is the IPv4 address of the k-th change (k >= 1).
func r53ChangedIPv4(k int) string { return fmt.Sprintf("100.64.%d.%d", k/256, k%256) }

func r53Ingress(v4 string, i int) []corev1.LoadBalancerIngress {
	return []corev1.LoadBalancerIngress{{IP: v4}, {IP: svcIPv6(i)}}
}

// r53Service is Service i: dual-stack LoadBalancer, no node ports (10,000 of
// them would not fit the node-port range), the hostname annotation.
func r53Service(i int) *corev1.Service {
	pol := corev1.IPFamilyPolicyRequireDualStack
	no := false
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d", i), Namespace: r53NS, Annotations: map[string]string{hostnameAnn: r53Host(i)}},
		Spec: corev1.ServiceSpec{
			Type:                          corev1.ServiceTypeLoadBalancer,
			AllocateLoadBalancerNodePorts: &no,
			IPFamilyPolicy:                &pol,
			IPFamilies:                    []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
			Ports:                         []corev1.ServicePort{{Name: "https", Port: 443}},
		},
	}
}

// BenchmarkRoute53 measures clusterzone's Route 53 mirror against the real
// ExternalDNS v0.20 (aws provider, txt registry), one after the other, on the
// same kube-apiserver and the same moto_server. At each of -route53-scales
// (1,000 then 10,000) dual-stack LoadBalancer Services (one IPv4 and one IPv6
// ingress address each, hostname annotation svc-N.example.org), each
// contender gets a fresh hosted zone example.org in moto and its own
// FaultProxy (no faults) in front of moto, which counts the Route 53 requests
// it sends (harness.Route53Action) and sees which changes moto accepted.
// Contenders alternate: clusterzone first at the first scale, ExternalDNS
// first at the next, and so on; only one runs at a time.
//
//   - clusterzone: the built ./coredns, `clusterzone { route53 { zone
//     example.org ID; endpoint PROXY; policy sync; lease ... } }`, otherwise
//     the mirror's defaults (debounce 1s, rate-limit 5, batch-size 1000,
//     interval 10m), RBAC of deploy/rbac.yaml;
//   - ExternalDNS: --source=service --provider=aws --registry=txt
//     --txt-owner-id=bench --zone-id-filter=ID --domain-filter=example.org
//     --policy=sync --events --interval=1m, otherwise its defaults
//     (--aws-batch-change-size=1000, --aws-batch-change-interval=1s,
//     --min-event-sync-interval=5s), AWS_ENDPOINT_URL_ROUTE_53=PROXY.
//
// Per contender:
//
//  1. Converge: from starting the process to the proxy having seen moto
//     accept every Service's A, AAAA and both ownership TXT (a-, aaaa-),
//     checked every 100 ms; then the zone is listed with
//     ListResourceRecordSets through a client of moto itself (not counted)
//     and must hold them. Calls: every request the contender sent until
//     then.
//  2. Changes, -route53-changes of them, each after a quiet r53Quiet: one
//     Service's IPv4 ingress address is changed (status subresource); from
//     the write returning to moto accepting the new A value (checked every
//     10 ms at the proxy, then read back), and the requests sent from the
//     write until r53Settle after that. The same Services for both.
//  3. Idle: the requests sent in -route53-idle with nothing changing.
//
// Nothing is asserted but that each contender completes the zone and applies
// each change within -route53-timeout.
func BenchmarkRoute53(b *testing.B) {
	var scales []int
	for _, f := range strings.Split(*r53Scales, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || (len(scales) > 0 && n <= scales[len(scales)-1]) {
			b.Fatalf("-route53-scales %q: want ascending positive counts", *r53Scales)
		}
		scales = append(scales, n)
	}
	if *r53Changes < 1 || *r53Idle <= 0 {
		b.Fatalf("-route53-changes %d -route53-idle %v: want at least one change and a positive window", *r53Changes, *r53Idle)
	}
	c := harness.StartCluster(b)
	c.CreateNamespace(b, r53NS)
	moto := harness.StartMoto(b)
	direct := harness.Route53Client(moto.URL)

	ednsFlags := []string{
		"--source=service",
		"--provider=aws",
		"--registry=txt",
		"--txt-owner-id=" + r53Owner,
		"--domain-filter=" + r53Zone,
		"--policy=sync",
		"--events",
		"--interval=" + ednsInterval,
	}
	report := r53Report{
		Shape:              "dual-stack LoadBalancer Services, status.loadBalancer.ingress one IPv4 + one IPv6, hostname annotation svc-N.example.org; one hosted zone example.org per contender and scale in one moto_server",
		ExternalDNSArgs:    ednsFlags,
		ClusterzoneRoute53: r53Block("ZONE_ID", "PROXY_URL", "LEASE"),
		Changes:            *r53Changes,
		IdleSeconds:        r53Idle.Seconds(),
	}
	want4 := []string{} // the current IPv4 ingress address of each Service
	changed := 0
	rng := rand.New(rand.NewPCG(5, 6))
	have := 0
	b.ResetTimer()
	for si, n := range scales {
		took := createServices(b, c, have, n, *loadWorkers, r53Service, func(ctx context.Context, cs kubernetes.Interface, i int, svc *corev1.Service) error {
			svc.Status.LoadBalancer.Ingress = r53Ingress(svcIPv4(i), i)
			_, err := cs.CoreV1().Services(r53NS).UpdateStatus(ctx, svc, metav1.UpdateOptions{})
			return err
		})
		for i := have; i < n; i++ {
			want4 = append(want4, svcIPv4(i))
		}
		b.Logf("%d Services with their load-balancer status (%d created in %v, %.0f per second)", n, n-have, took.Round(100*time.Millisecond), float64(n-have)/took.Seconds())
		have = n
		targets := rng.Perm(n)[:min(n, *r53Changes)]
		for len(targets) < *r53Changes {
			targets = append(targets, rng.IntN(n))
		}

		sc := r53Scale{Services: n, CreateSeconds: took.Seconds()}
		order := []string{"clusterzone", "externaldns"}
		if si%2 == 1 {
			slices.Reverse(order)
		}
		sc.Order = order
		for _, name := range order {
			zoneID := harness.CreateHostedZone(b, direct, r53Zone)
			proxy := harness.StartFaultProxy(b, moto.URL)
			var ct r53Contestant
			started := time.Now()
			if name == "clusterzone" {
				lease := fmt.Sprintf("%s/clusterzone-bench-%d", harness.LeaseNamespace, n)
				s := startServer(b, "clusterzone", r53Zone, fmt.Sprintf("    clusterzone {\n        kubeconfig %s\n        owner-id %s\n%s    }", c.Kubeconfig, r53Owner, r53Block(zoneID, proxy.URL, lease)), moto.Env...)
				ct = r53Contestant{name: name, exited: s.cd.Exited, log: s.cd.Log, stop: func() { s.cd.Stop(b) }}
			} else {
				args := append([]string{"--kubeconfig=" + c.AdminKubeconfig, "--zone-id-filter=" + zoneID}, ednsFlags...)
				e := harness.StartExternalDNSEnv(b, append(append([]string(nil), moto.Env...), "AWS_ENDPOINT_URL_ROUTE_53="+proxy.URL), args...)
				ct = r53Contestant{name: name, exited: e.Exited, log: e.Log, stop: func() { e.Stop(b) }}
			}
			ct.proxy, ct.zoneID, ct.direct, ct.svcs = proxy, zoneID, direct, c.Admin.CoreV1().Services(r53NS)
			res := ct.run(b, started, want4, targets, &changed)
			ct.stop()
			if name == "clusterzone" {
				sc.Clusterzone = res
			} else {
				sc.ExternalDNS = res
			}
		}
		cz, ed := sc.Clusterzone, sc.ExternalDNS
		sc.ConvergeRatio = ratio(ed.ConvergeSeconds, cz.ConvergeSeconds)
		sc.ConvergeCallsRatio = ratio(float64(ed.ConvergeCalls), float64(cz.ConvergeCalls))
		sc.ChangeLatencyRatio = ratio(ed.ChangeLatencyMedianMs, cz.ChangeLatencyMedianMs)
		sc.ChangeCallsRatio = ratio(ed.ChangeCallsMedian, cz.ChangeCallsMedian)
		sc.IdleCallsRatio = ratio(ed.IdleCallsPerMinute, cz.IdleCallsPerMinute)
		report.Scales = append(report.Scales, sc)
		writeResults(b, "route53", report) // after each scale: what was measured survives a later failure
	}
	b.StopTimer()

	b.ReportMetric(0, "ns/op")
	for _, sc := range report.Scales {
		b.ReportMetric(sc.Clusterzone.ConvergeSeconds, fmt.Sprintf("cz-converge-s@%d", sc.Services))
		b.ReportMetric(sc.ExternalDNS.ConvergeSeconds, fmt.Sprintf("edns-converge-s@%d", sc.Services))
		b.ReportMetric(sc.Clusterzone.ChangeCallsMedian, fmt.Sprintf("cz-calls/change@%d", sc.Services))
		b.ReportMetric(sc.ExternalDNS.ChangeCallsMedian, fmt.Sprintf("edns-calls/change@%d", sc.Services))
	}
	b.Logf("Route 53: clusterzone's mirror vs ExternalDNS v0.20 (aws provider), one kube-apiserver, one moto_server, one contender at a time:")
	b.Logf("  %9s %-12s %11s %9s %8s %14s %10s %13s %15s", "services", "contender", "converge s", "in R53 s", "calls", "change p50 ms", "in R53 ms", "calls/change", "idle calls/min")
	for _, sc := range report.Scales {
		for _, row := range []struct {
			name string
			r    r53Contender
		}{{"clusterzone", sc.Clusterzone}, {"externaldns", sc.ExternalDNS}} {
			b.Logf("  %9d %-12s %11.2f %9.2f %8d %14.0f %10.0f %13.1f %15.1f", sc.Services, row.name, row.r.ConvergeSeconds, row.r.ConvergeBusySeconds, row.r.ConvergeCalls,
				row.r.ChangeLatencyMedianMs, row.r.ChangeBusyMedianMs, row.r.ChangeCallsMedian, row.r.IdleCallsPerMinute)
		}
		b.Logf("  %9d %-12s %10.1fx %9s %7.1fx %13.1fx %10s %12.1fx %15s", sc.Services, "edns/cz", sc.ConvergeRatio, "", sc.ConvergeCallsRatio, sc.ChangeLatencyRatio, "", sc.ChangeCallsRatio, ratioText(sc.IdleCallsRatio, sc.Clusterzone.IdleCallsPerMinute))
	}
	for _, sc := range report.Scales {
		for _, row := range []struct {
			name string
			r    r53Contender
		}{{"clusterzone", sc.Clusterzone}, {"externaldns", sc.ExternalDNS}} {
			b.Logf("  %d %s: converge %s; changes %s (latencies ms %v, calls %v); idle %s", sc.Services, row.name,
				actions(row.r.ConvergeCallsByAction), actions(row.r.ChangeCallsByAction), row.r.ChangeLatencyMs, row.r.ChangeCalls, actions(row.r.IdleCallsByAction))
		}
	}
	b.Logf("  (ExternalDNS %s; clusterzone's route53 block: %s)", strings.Join(ednsFlags, " "), strings.Join(strings.Fields(report.ClusterzoneRoute53), " "))
	b.Logf("  (in R53: of that time, how long at least one Route 53 request was in flight, i.e. waiting on moto_server, whose own cost grows with the zone)")
	b.Logf("  (goal at 10,000 Services, reported, not asserted: clusterzone converges >= 5x faster and sends >= 10x fewer calls per change)")
}

// r53Block is clusterzone's route53 block (the syntax of test/e2e's
// route53Corefile), indented for inside `clusterzone { }`.
func r53Block(zoneID, endpoint, lease string) string {
	return fmt.Sprintf(`        route53 {
            zone %s %s
            endpoint %s
            region us-east-1
            policy sync
            lease %s
        }
`, r53Zone, zoneID, endpoint, lease)
}

// r53Contestant is one running contender and where it writes.
type r53Contestant struct {
	name   string
	proxy  *harness.FaultProxy
	zoneID string
	direct *route53.Client
	svcs   corev1client.ServiceInterface
	exited func() bool
	log    func() string
	stop   func()
}

// run measures a contender started at started: converge, changes (updating
// want4 and *changed), idle.
func (ct *r53Contestant) run(b *testing.B, started time.Time, want4 []string, targets []int, changed *int) r53Contender {
	b.Helper()
	ctx := context.Background()
	n := len(want4)
	var r r53Contender

	// 1. Converge.
	view := map[string][]string{}
	seen := 0
	for {
		reqs := ct.proxy.Requests()
		fresh := seen < len(reqs)
		for _, q := range reqs[seen:] {
			applyChanges(view, q)
		}
		seen = len(reqs)
		if fresh {
			if missing, first := r53Missing(view, want4); missing == 0 {
				break
			} else if time.Since(started) > *r53Timeout {
				b.Fatalf("%s: the hosted zone is not complete %v after the start: %d of %d records missing, e.g. %s; requests: %s\n%s",
					ct.name, *r53Timeout, missing, 4*n, first, ct.proxy.Summary(), tail(ct.log(), 30))
			}
		}
		if ct.exited() {
			b.Fatalf("%s exited before the zone was complete; requests: %s\n%s", ct.name, ct.proxy.Summary(), tail(ct.log(), 30))
		}
		if !fresh && time.Since(started) > *r53Timeout {
			missing, first := r53Missing(view, want4)
			b.Fatalf("%s: the hosted zone is not complete %v after the start: %d of %d records missing, e.g. %s; requests: %s\n%s",
				ct.name, *r53Timeout, missing, 4*n, first, ct.proxy.Summary(), tail(ct.log(), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
	converged := time.Since(started)
	counts := ct.proxy.Counts()
	r.ConvergeSeconds, r.ConvergeCalls, r.ConvergeCallsByAction = converged.Seconds(), sum(counts), counts
	r.ConvergeBusySeconds = roundTo(inFlight(ct.proxy.Requests(), started, started.Add(converged)).Seconds(), 6)
	listed, err := listZone(ctx, ct.direct, ct.zoneID)
	if err != nil {
		b.Fatalf("%s: listing the hosted zone: %v", ct.name, err)
	}
	if missing, first := r53Missing(listed, want4); missing > 0 {
		b.Fatalf("%s: moto accepted every record, yet listing the hosted zone misses %d, e.g. %s", ct.name, missing, first)
	}
	r.Records = len(listed)
	b.Logf("%s, %d Services: hosted zone complete %v after the start (%d record sets; a Route 53 request in flight for %.2f s of it), %d requests: %s",
		ct.name, n, converged.Round(10*time.Millisecond), r.Records, r.ConvergeBusySeconds, r.ConvergeCalls, ct.proxy.Summary())

	// 2. Changes.
	timeout := max(*r53Timeout, 5*time.Minute)
	var lats, busys []time.Duration
	r.ChangeCallsByAction = map[string]int{}
	for k, j := range targets {
		time.Sleep(r53Quiet + time.Duration(rand.IntN(500))*time.Millisecond)
		*changed++
		ip := r53ChangedIPv4(*changed)
		host := r53Host(j) + "."
		svc, err := ct.svcs.Get(ctx, fmt.Sprintf("svc-%d", j), metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		svc.Status.LoadBalancer.Ingress = r53Ingress(ip, j)
		mark := len(ct.proxy.Requests())
		before := ct.proxy.Counts()
		c0 := time.Now()
		if _, err := ct.svcs.UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err) // nothing else writes these Services: no conflict to retry
		}
		wrote := time.Now()
		want4[j] = ip
		var at time.Time
		for at.IsZero() {
			reqs := ct.proxy.Requests()
			for _, q := range reqs[mark:] {
				if !q.Applied() {
					continue
				}
				for _, ch := range q.Changes {
					if ch.Action != "DELETE" && ch.Name == host && ch.Type == "A" && slices.Equal(ch.Values, []string{ip}) {
						at = time.Now()
					}
				}
			}
			mark = len(reqs)
			if at.IsZero() {
				if ct.exited() {
					b.Fatalf("%s exited during change %d\n%s", ct.name, k, tail(ct.log(), 30))
				}
				if time.Since(wrote) > timeout {
					b.Fatalf("%s: change %d (%s A %s) not applied within %v; requests: %s\n%s", ct.name, k, host, ip, timeout, ct.proxy.Summary(), tail(ct.log(), 30))
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		if got, err := recordValues(ctx, ct.direct, ct.zoneID, host, types.RRTypeA); err != nil || !slices.Equal(got, []string{ip}) {
			b.Fatalf("%s: change %d: moto accepted %s A %s, yet the zone holds %v (%v)", ct.name, k, host, ip, got, err)
		}
		time.Sleep(r53Settle)
		d := delta(ct.proxy.Counts(), before)
		for a, v := range d {
			r.ChangeCallsByAction[a] += v
		}
		lat := at.Sub(wrote)
		lats = append(lats, lat)
		r.ChangeLatencyMs = append(r.ChangeLatencyMs, roundTo(ms(lat), 6))
		bz := inFlight(ct.proxy.Requests(), wrote, at)
		busys = append(busys, bz)
		r.ChangeBusyMs = append(r.ChangeBusyMs, roundTo(ms(bz), 6))
		r.ChangeCalls = append(r.ChangeCalls, sum(d))
		b.Logf("%s: change %d (%s -> %s): applied %v after the status write (write %v; a Route 53 request in flight for %v of it), %d requests: %s", ct.name, k, host, ip,
			lat.Round(time.Millisecond), wrote.Sub(c0).Round(time.Millisecond), bz.Round(time.Millisecond), sum(d), actions(d))
	}
	slices.Sort(lats)
	r.ChangeLatencyMedianMs = roundTo(medianDuration(lats), 6)
	slices.Sort(busys)
	r.ChangeBusyMedianMs = roundTo(medianDuration(busys), 6)
	calls := make([]float64, len(r.ChangeCalls))
	for i, v := range r.ChangeCalls {
		calls[i] = float64(v)
	}
	r.ChangeCallsMedian = median(calls)

	// 3. Idle.
	time.Sleep(r53Settle)
	before := ct.proxy.Counts()
	time.Sleep(*r53Idle)
	if ct.exited() {
		b.Fatalf("%s exited while idle\n%s", ct.name, tail(ct.log(), 30))
	}
	d := delta(ct.proxy.Counts(), before)
	r.IdleCalls, r.IdleCallsByAction = sum(d), d
	r.IdleCallsPerMinute = roundTo(float64(r.IdleCalls)*60/r53Idle.Seconds(), 4)
	b.Logf("%s: %d requests in %v idle: %s", ct.name, r.IdleCalls, *r53Idle, actions(d))
	return r
}

// applyChanges applies the changes moto accepted in q to view ("NAME TYPE"
// -> values, sorted).
func applyChanges(view map[string][]string, q harness.FaultRequest) {
	if q.Action != "ChangeResourceRecordSets" || !q.Applied() {
		return
	}
	for _, ch := range q.Changes {
		key := ch.Name + " " + ch.Type
		if ch.Action == "DELETE" {
			delete(view, key)
			continue
		}
		v := slices.Clone(ch.Values)
		slices.Sort(v)
		view[key] = v
	}
}

// r53Missing counts the records of want4's Services that view ("NAME TYPE"
// -> values) lacks or holds with other values: A, AAAA, and the ownership TXT
// of each (a-NAME, aaaa-NAME, owner r53Owner); first names one.
func r53Missing(view map[string][]string, want4 []string) (missing int, first string) {
	owner := "external-dns/owner=" + r53Owner + ","
	miss := func(what string) {
		if missing == 0 {
			first = what
		}
		missing++
	}
	for i, v4 := range want4 {
		name := r53Host(i) + "."
		if got := view[name+" A"]; len(got) != 1 || got[0] != v4 {
			miss(fmt.Sprintf("%s A %s (holds %v)", name, v4, got))
		}
		if got := view[name+" AAAA"]; len(got) != 1 || got[0] != svcIPv6(i) {
			miss(fmt.Sprintf("%s AAAA %s (holds %v)", name, svcIPv6(i), got))
		}
		for _, p := range []string{"a-", "aaaa-"} {
			if got := view[p+name+" TXT"]; len(got) != 1 || !strings.Contains(got[0], owner) {
				miss(fmt.Sprintf("%s%s TXT owner %s (holds %v)", p, name, r53Owner, got))
			}
		}
	}
	return missing, first
}

// listZone lists a hosted zone ("NAME TYPE" -> values, sorted, names
// lower-case with the trailing dot; SOA and NS left out).
func listZone(ctx context.Context, c *route53.Client, zoneID string) (map[string][]string, error) {
	out := map[string][]string{}
	p := route53.NewListResourceRecordSetsPaginator(c, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID), MaxItems: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, rr := range page.ResourceRecordSets {
			if rr.Type == types.RRTypeSoa || rr.Type == types.RRTypeNs {
				continue
			}
			var v []string
			for _, x := range rr.ResourceRecords {
				v = append(v, aws.ToString(x.Value))
			}
			slices.Sort(v)
			out[strings.ToLower(aws.ToString(rr.Name))+" "+string(rr.Type)] = v
		}
	}
	return out, nil
}

// recordValues reads one record set (name with the trailing dot).
func recordValues(ctx context.Context, c *route53.Client, zoneID, name string, typ types.RRType) ([]string, error) {
	out, err := c.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{
		HostedZoneId: aws.String(zoneID), StartRecordName: aws.String(name), StartRecordType: typ, MaxItems: aws.Int32(1),
	})
	if err != nil {
		return nil, err
	}
	var v []string
	for _, rr := range out.ResourceRecordSets {
		if strings.EqualFold(aws.ToString(rr.Name), name) && rr.Type == typ {
			for _, x := range rr.ResourceRecords {
				v = append(v, aws.ToString(x.Value))
			}
		}
	}
	slices.Sort(v)
	return v, nil
}

// inFlight is how much of [from, to] at least one of reqs was in flight
// (arrival to reply, FaultRequest.Took).
func inFlight(reqs []harness.FaultRequest, from, to time.Time) time.Duration {
	type span struct{ a, b time.Time }
	var spans []span
	for _, q := range reqs {
		a, b := q.Time, q.Time.Add(q.Took)
		if a.Before(from) {
			a = from
		}
		if b.After(to) {
			b = to
		}
		if b.After(a) {
			spans = append(spans, span{a, b})
		}
	}
	slices.SortFunc(spans, func(x, y span) int { return x.a.Compare(y.a) })
	var total time.Duration
	var end time.Time
	for _, s := range spans {
		if s.a.After(end) {
			total += s.b.Sub(s.a)
			end = s.b
		} else if s.b.After(end) {
			total += s.b.Sub(end)
			end = s.b
		}
	}
	return total
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// delta is after less before, per action, without the zeros.
func delta(after, before map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// actions formats per-action counts on one line, sorted.
func actions(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// ratio is a/b, or 0 when b is 0 (JSON has no infinity).
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return roundTo(a/b, 4)
}

func ratioText(r, denom float64) string {
	if denom == 0 {
		return "cz 0"
	}
	return fmt.Sprintf("%.1fx", r)
}

// medianDuration is the median of sorted d in milliseconds.
func medianDuration(sorted []time.Duration) float64 {
	v := make([]float64, len(sorted))
	for i, d := range sorted {
		v[i] = ms(d)
	}
	return median(v)
}
