package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestSerialReplicas runs two replicas on one kube-apiserver and checks the
// serial rule of the plugin README ("Serial") as a secondary behind both
// would see it: during a burst of 300 Service changes in about 1.5 s, with
// both SOAs polled all the time and transfers from one, no serial is ever
// ahead of the clock or below one served before; afterwards both replicas
// hold the same zone under serials at most a second apart; and after one
// replica restarts, its serial is above everything served before and, once
// it has announced its start in the serial Lease, both give the same serial.
func TestSerialReplicas(t *testing.T) {
	c := harness.StartCluster(t)
	ns := c.CreateNamespace(t, "serial")
	ctx := context.Background()
	svc := func(i int) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("s%d", i), Annotations: map[string]string{
				"external-dns.alpha.kubernetes.io/hostname": fmt.Sprintf("s%d.example.org", i)}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{{Port: 80}}},
		}
	}
	for i := range 100 {
		if _, err := c.Admin.CoreV1().Services(ns).Create(ctx, svc(i), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	corefile := func(port int) string {
		return fmt.Sprintf("example.org:%d {\n    clusterzone {\n        kubeconfig %s\n    }\n    transfer {\n        to *\n    }\n}\n", port, c.Kubeconfig)
	}
	portA, portB := harness.FreePort(t), harness.FreePort(t)
	a := harness.StartCoreDNS(t, corefile(portA))
	b := harness.StartCoreDNS(t, corefile(portB))
	for _, cd := range []*harness.CoreDNS{a, b} {
		waitName(t, cd.Addr, "s99.example.org.", true)
	}

	// The burst, with every serial served recorded.
	var mu sync.Mutex
	served := map[string]uint32{} // highest serial each poller was served
	var problems []string
	// Each poller asks one replica again and again: what it is served must
	// never go down.
	poll := func(id, addr string, stop <-chan struct{}, wg *sync.WaitGroup) {
		defer wg.Done()
		cl := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
		for {
			select {
			case <-stop:
				return
			default:
			}
			s, err := soaOf(cl, addr)
			now := uint32(time.Now().Unix())
			mu.Lock()
			switch {
			case err != nil:
			case s > now:
				problems = append(problems, fmt.Sprintf("%s served serial %d ahead of the clock %d", addr, s, now))
			case s < served[id]:
				problems = append(problems, fmt.Sprintf("%s: %s served serial %d after %d", id, addr, s, served[id]))
			default:
				served[id] = s
			}
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}
	stop := make(chan struct{})
	var pollers sync.WaitGroup
	for i, addr := range []string{a.Addr, b.Addr, a.Addr} {
		pollers.Add(1)
		go poll(fmt.Sprintf("poller %d", i), addr, stop, &pollers)
	}
	pollers.Add(1)
	go func() { // a secondary transferring from a all along
		defer pollers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if s, _, err := zoneOf(a.Addr); err == nil {
				mu.Lock()
				if now := uint32(time.Now().Unix()); s > now {
					problems = append(problems, fmt.Sprintf("transfer under serial %d ahead of the clock %d", s, now))
				}
				mu.Unlock()
			}
		}
	}()
	start := time.Now()
	for i := range 300 {
		var err error
		switch {
		case i%3 == 2: // a deletion: the change that carries no timestamp
			err = c.Admin.CoreV1().Services(ns).Delete(ctx, fmt.Sprintf("s%d", i/3), metav1.DeleteOptions{})
		default:
			_, err = c.Admin.CoreV1().Services(ns).Create(ctx, svc(100+i), metav1.CreateOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * 5 * time.Millisecond)))
	}
	burst := time.Since(start)
	for _, cd := range []*harness.CoreDNS{a, b} {
		waitName(t, cd.Addr, "s398.example.org.", true)
		waitName(t, cd.Addr, "s99.example.org.", false)
	}
	time.Sleep(1500 * time.Millisecond) // a serial waiting for the next second is out
	close(stop)
	pollers.Wait()
	for _, p := range problems {
		t.Error(p)
	}
	sa, za, err := zoneOf(a.Addr)
	if err != nil {
		t.Fatal(err)
	}
	sb, zb, err := zoneOf(b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if za != zb {
		t.Fatalf("the replicas hold different zones after the burst:\n%s\n---\n%s", za, zb)
	}
	t.Logf("burst of 300 changes in %v: serials %d (polled and transferred) and %d (polled); served up to %v", burst.Round(time.Millisecond), sa, sb, served)
	if d := int64(sa) - int64(sb); d < -1 || d > 1 {
		t.Errorf("same zone, serials %d and %d: more than a second apart", sa, sb)
	}

	// Restart a: above everything served before, then equal to b.
	highest := max(sa, sb)
	for _, s := range served {
		highest = max(highest, s)
	}
	a.Stop(t)
	// Restart in a later second than b's serial, so that the announcement
	// moves it.
	time.Sleep(time.Until(time.Unix(int64(sb)+1, 100_000_000)))
	a = harness.StartCoreDNS(t, corefile(portA))
	waitName(t, a.Addr, "s398.example.org.", true)
	cl := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	var ra, rb uint32
	harness.Eventually(t, 15*time.Second, func() error {
		if ra, err = soaOf(cl, a.Addr); err != nil {
			return err
		}
		if ra < highest {
			t.Fatalf("restarted replica serves serial %d, below %d served before", ra, highest)
		}
		if rb, err = soaOf(cl, b.Addr); err != nil {
			return err
		}
		if ra != rb {
			return fmt.Errorf("after the restart: serials %d (restarted) and %d", ra, rb)
		}
		return nil
	})
	if rb <= sb {
		t.Errorf("b's serial %d did not move to the restart's announcement (was %d)", rb, sb)
	}
	if _, za2, err := zoneOf(a.Addr); err != nil || za2 != zb {
		t.Errorf("restarted replica's zone differs (%v)", err)
	}
	lease, err := c.Admin.CoordinationV1().Leases("kube-system").Get(ctx, "clusterzone-serial", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("serial lease: %v", err)
	}
	if got := uint32(lease.Spec.RenewTime.Unix()); got != ra {
		t.Errorf("serial lease renewTime %d, serials %d", got, ra)
	}
	t.Logf("after the restart: both replicas at serial %d (highest served before %d, lease held by %s)", ra, highest, *lease.Spec.HolderIdentity)
}

// waitName waits until addr answers name A (exists) or NXDOMAIN (!exists).
func waitName(t *testing.T, addr, name string, exists bool) {
	t.Helper()
	want := dns.RcodeNameError
	if exists {
		want = dns.RcodeSuccess
	}
	harness.Eventually(t, 30*time.Second, func() error {
		if m := harness.Query(t, addr, name, dns.TypeA, "udp"); m.Rcode != want {
			return fmt.Errorf("%s %s: %s", addr, name, dns.RcodeToString[m.Rcode])
		}
		return nil
	})
}

// soaOf asks addr for example.org.'s SOA.
func soaOf(cl *dns.Client, addr string) (uint32, error) {
	m := new(dns.Msg)
	m.SetQuestion("example.org.", dns.TypeSOA)
	r, _, err := cl.Exchange(m, addr)
	if err != nil {
		return 0, err
	}
	if len(r.Answer) != 1 {
		return 0, fmt.Errorf("SOA answer %v", r.Answer)
	}
	return r.Answer[0].(*dns.SOA).Serial, nil
}

// zoneOf transfers example.org. from addr and returns its serial and its
// records but the SOA, sorted, one per line.
func zoneOf(addr string) (uint32, string, error) {
	m := new(dns.Msg)
	m.SetAxfr("example.org.")
	tr := &dns.Transfer{}
	env, err := tr.In(m, addr)
	if err != nil {
		return 0, "", err
	}
	var serial uint32
	var lines []string
	for e := range env {
		if e.Error != nil {
			return 0, "", e.Error
		}
		for _, rr := range e.RR {
			if soa, ok := rr.(*dns.SOA); ok {
				serial = soa.Serial
				continue
			}
			lines = append(lines, rr.String())
		}
	}
	sort.Strings(lines)
	return serial, strings.Join(lines, "\n"), nil
}
