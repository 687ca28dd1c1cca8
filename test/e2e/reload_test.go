package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestReloadWithoutGap reloads the Corefile (the reload plugin, as
// deploy/server.yaml enables it) many times under a query loop: a reload
// that leaves clusterzone's configuration as it was keeps its source and
// table, so no query gets a SERVFAIL and the source is started once.
func TestReloadWithoutGap(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&b, "apiVersion: v1\nkind: Service\nmetadata: {name: s%d, namespace: n, annotations: {external-dns.alpha.kubernetes.io/hostname: s%d.example.org}}\nspec: {type: LoadBalancer, clusterIP: 10.96.0.1}\nstatus: {loadBalancer: {ingress: [{ip: 192.0.2.1}]}}\n---\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "services.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// Each revision changes the server block (the reload plugin ignores
	// comments), never the clusterzone block.
	corefile := func(n int) string {
		extra := ""
		if n%2 == 1 {
			extra = "errors"
		}
		return fmt.Sprintf(`example.org:%%d {
    reload 2s 1s
    %s
    clusterzone {
        manifests %s
    }
}
`, extra, dir)
	}
	port := harness.FreePort(t)
	cd := harness.StartCoreDNS(t, fmt.Sprintf(corefile(0), port))
	reloadUnderQueries(t, cd, port, corefile, 2000, 8)
	if n := strings.Count(cd.Log(), "Started the source and the record table"); n != 1 {
		t.Errorf("the source was started %d times over 8 reloads, want once", n)
	}
}

// reloadUnderQueries rewrites the Corefile of cd reloads times (revision n
// of corefile, its port a %d) while four clients query s0..s(names-1)
// .example.org A over UDP, and checks that every query got its answer: no
// SERVFAIL, no error.
func reloadUnderQueries(t *testing.T, cd *harness.CoreDNS, port int, corefile func(int) string, names, reloads int) {
	t.Helper()
	var queries, failures atomic.Int64
	var other sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				m := new(dns.Msg)
				m.SetQuestion(fmt.Sprintf("s%d.example.org.", (i*4+w)%names), dns.TypeA)
				r, _, err := c.Exchange(m, cd.Addr)
				queries.Add(1)
				switch {
				case err != nil:
					other.Store(err.Error(), true)
				case r.Rcode == dns.RcodeServerFailure:
					failures.Add(1)
				case r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1:
					other.Store(fmt.Sprintf("rcode %s, %d answers", dns.RcodeToString[r.Rcode], len(r.Answer)), true)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	before := strings.Count(cd.Log(), "Reloading complete")
	for n := 1; n <= reloads; n++ {
		body := fmt.Sprintf(corefile(n), port)
		body = strings.Replace(body, "example.org:"+fmt.Sprint(port)+" {", "example.org:"+fmt.Sprint(port)+" {\n    bind 127.0.0.1", 1)
		if err := os.WriteFile(cd.CorefilePath, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		want := before + n
		harness.Eventually(t, 30*time.Second, func() error {
			if got := strings.Count(cd.Log(), "Reloading complete"); got < want {
				return fmt.Errorf("%d reloads done, want %d", got, want)
			}
			return nil
		})
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d queries over %d reloads: %d SERVFAIL", queries.Load(), reloads, failures.Load())
	if f := failures.Load(); f != 0 {
		t.Errorf("%d of %d queries answered SERVFAIL across %d reloads, want 0", f, queries.Load(), reloads)
	}
	other.Range(func(k, _ any) bool { t.Errorf("unexpected reply: %v", k); return true })
}

// TestReloadWithoutGapKubernetes is TestReloadWithoutGap with the
// Kubernetes source, whose re-list after a restart is what answered
// SERVFAIL: the watches on the API server stay as many as before.
func TestReloadWithoutGapKubernetes(t *testing.T) {
	c := harness.StartCluster(t)
	ns := c.CreateNamespace(t, "reload")
	const names = 300
	var wg sync.WaitGroup
	errs := make(chan error, names)
	for w := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < names; i += 10 {
				svc := &corev1.Service{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("s%d", i), Annotations: map[string]string{"external-dns.alpha.kubernetes.io/hostname": fmt.Sprintf("s%d.example.org", i)}},
					Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{{Port: 80}}},
				}
				if _, err := c.Admin.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
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
	pprofPort := harness.FreePort(t)
	corefile := func(n int) string {
		extra := ""
		if n%2 == 1 {
			extra = "errors"
		}
		return fmt.Sprintf(`example.org:%%d {
    reload 2s 1s
    pprof 127.0.0.1:%d
    %s
    clusterzone {
        kubeconfig %s
    }
}
`, pprofPort, extra, c.Kubeconfig)
	}
	port := harness.FreePort(t)
	cd := harness.StartCoreDNS(t, fmt.Sprintf(corefile(0), port))
	harness.Eventually(t, 30*time.Second, func() error {
		if m := harness.Query(t, cd.Addr, fmt.Sprintf("s%d.example.org.", names-1), dns.TypeA, "udp"); m.Rcode != dns.RcodeSuccess {
			return fmt.Errorf("not loaded yet: %s", dns.RcodeToString[m.Rcode])
		}
		return nil
	})
	watches := c.WatchCount(t, "services")
	goroutines := func() int {
		t.Helper()
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/goroutine?debug=1", pprofPort))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var n int
		if _, err := fmt.Fscanf(resp.Body, "goroutine profile: total %d", &n); err != nil {
			t.Fatalf("reading the goroutine profile: %v", err)
		}
		return n
	}
	before := goroutines()
	reloadUnderQueries(t, cd, port, corefile, names, 6)
	// Goroutines settle after a reload (old servers' connections close).
	harness.Eventually(t, 20*time.Second, func() error {
		if after := goroutines(); after > before+10 {
			return fmt.Errorf("%d goroutines after the reloads, %d before", after, before)
		}
		return nil
	})
	if n := strings.Count(cd.Log(), "Started the source and the record table"); n != 1 {
		t.Errorf("the source was started %d times over 6 reloads, want once", n)
	}
	if w := c.WatchCount(t, "services"); w != watches {
		t.Errorf("Service watches on the API server: %d after the reloads, %d before", w, watches)
	}
}
