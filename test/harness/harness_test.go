package harness

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

func TestRootAndBinDir(t *testing.T) {
	root := Root()
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("Root() = %s: %v", root, err)
	}
	if _, err := os.Stat(filepath.Join(root, RBACManifest)); err != nil {
		t.Fatalf("Root() = %s: %v", root, err)
	}
	t.Setenv("CLUSTERZONE_CACHE", "")
	if got, want := BinDir(), filepath.Join(root, ".cache", "bin"); got != want {
		t.Errorf("BinDir() = %s, want %s", got, want)
	}
	t.Setenv("CLUSTERZONE_CACHE", "/some/cache")
	if got := BinDir(); got != "/some/cache/bin" {
		t.Errorf("BinDir() with CLUSTERZONE_CACHE = %s", got)
	}
}

func TestFreePort(t *testing.T) {
	seen := map[int]bool{}
	for i := 0; i < 20; i++ {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d not free for TCP: %v", p, err)
		}
		l.Close()
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d not free for UDP: %v", p, err)
		}
		u.Close()
	}
}

// fatalTB records Fatalf instead of failing, to test the harness's own
// failures. Fatalf ends the calling goroutine like testing.T's does.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func runFatal(tb testing.TB, fn func(testing.TB)) string {
	f := &fatalTB{TB: tb}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.msg
}

func TestMissingBinariesFail(t *testing.T) {
	t.Setenv("CLUSTERZONE_CACHE", t.TempDir())
	msg := runFatal(t, func(tb testing.TB) { StartCluster(tb) })
	if !strings.Contains(msg, "make test-bins") || !strings.Contains(msg, "hack/testbins.sh") {
		t.Errorf("StartCluster without binaries: message %q does not say how to build them", msg)
	}
	t.Setenv(CoreDNSEnv, filepath.Join(t.TempDir(), "no-coredns"))
	msg = runFatal(t, func(tb testing.TB) { CoreDNSBinary(tb) })
	if !strings.Contains(msg, "make build") {
		t.Errorf("CoreDNSBinary without binary: message %q does not mention make build", msg)
	}
}

func TestEventually(t *testing.T) {
	n := 0
	Eventually(t, time.Second, func() error {
		if n++; n < 3 {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	msg := runFatal(t, func(tb testing.TB) {
		Eventually(tb, 200*time.Millisecond, func() error { return fmt.Errorf("still broken") })
	})
	if !strings.Contains(msg, "still broken") {
		t.Errorf("Eventually timeout message %q lacks the last error", msg)
	}
}

func TestSumMetric(t *testing.T) {
	text := `# HELP apiserver_longrunning_requests x
# TYPE apiserver_longrunning_requests gauge
apiserver_longrunning_requests{component="apiserver",group="",resource="services",scope="cluster",subresource="",verb="WATCH",version="v1"} 2
apiserver_longrunning_requests{component="apiserver",group="",resource="services",scope="namespace",subresource="",verb="WATCH",version="v1"} 1
apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="WATCH",version="v1"} 7
apiserver_longrunning_requests_other{resource="services",verb="WATCH"} 100
plain_metric 3.5
`
	if v, ok := SumMetric(text, "apiserver_longrunning_requests", map[string]string{"verb": "WATCH", "resource": "services"}); !ok || v != 3 {
		t.Errorf("services watches = %v, %v; want 3", v, ok)
	}
	if v, ok := SumMetric(text, "plain_metric", nil); !ok || v != 3.5 {
		t.Errorf("plain_metric = %v, %v", v, ok)
	}
	if _, ok := SumMetric(text, "apiserver_longrunning_requests", map[string]string{"resource": "nodes"}); ok {
		t.Errorf("nodes matched")
	}
}

func TestCorefileParsing(t *testing.T) {
	for _, tc := range []struct {
		corefile string
		port     int
		blocks   int
	}{
		{".:1053 {\n whoami\n}\n", 1053, 1},
		{"# comment {\n(snip) {\n log\n}\nimport other\nexample.org:2053 other.org:2053 {\n import snip\n file db { \n reload 1s\n }\n}\n.:3053 {\n whoami\n}\n", 2053, 2},
		{"dns://.:4053\n{\n whoami\n}\n", 4053, 1},
		{".:5053 { whoami }", 5053, 1},
	} {
		port, err := CorefilePort(tc.corefile)
		if err != nil || port != tc.port {
			t.Errorf("CorefilePort(%q) = %d, %v; want %d", tc.corefile, port, err, tc.port)
		}
		out := loopbackCorefile(tc.corefile)
		if n := strings.Count(out, "bind 127.0.0.1"); n != tc.blocks {
			t.Errorf("loopbackCorefile(%q) added %d binds, want %d:\n%s", tc.corefile, n, tc.blocks, out)
		}
		if got := serverBlocks(out); len(got) != tc.blocks {
			t.Errorf("loopbackCorefile(%q) broke the structure:\n%s", tc.corefile, out)
		}
	}
	if _, err := CorefilePort(". {\n whoami\n}\n"); err == nil {
		t.Errorf("CorefilePort accepted a key without port")
	}
	withBind := ".:53 {\n bind ::1\n}\n"
	if loopbackCorefile(withBind) != withBind {
		t.Errorf("loopbackCorefile changed a Corefile that has its own bind")
	}
}

// TestCluster exercises one real cluster: dual-stack ClusterIPs, the status
// subresource, RBAC of the clusterzone identity, watch counting, kubeconfig
// files, and an API server restart.
func TestCluster(t *testing.T) {
	start := time.Now()
	c := StartCluster(t)
	t.Logf("cluster ready in %v at %s", time.Since(start).Round(time.Millisecond), c.URL)
	ctx := context.Background()
	const ns = "harness"
	c.CreateNamespace(t, ns)

	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{
			Type:           corev1.ServiceTypeLoadBalancer,
			IPFamilyPolicy: ptr.To(corev1.IPFamilyPolicyRequireDualStack),
			IPFamilies:     []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
			Ports:          []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}},
		},
	}

	t.Run("DualStackClusterIPs", func(t *testing.T) {
		got, err := c.Admin.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create dual-stack service: %v", err)
		}
		if len(got.Spec.ClusterIPs) != 2 {
			t.Fatalf("clusterIPs = %v, want one IPv4 and one IPv6", got.Spec.ClusterIPs)
		}
		v4, v6 := netip.MustParsePrefix(ServiceCIDRv4), netip.MustParsePrefix(ServiceCIDRv6)
		a, err1 := netip.ParseAddr(got.Spec.ClusterIPs[0])
		b, err2 := netip.ParseAddr(got.Spec.ClusterIPs[1])
		if err1 != nil || err2 != nil || !a.Is4() || !v4.Contains(a) || !b.Is6() || !v6.Contains(b) {
			t.Fatalf("clusterIPs = %v, want [IPv4 in %s, IPv6 in %s]", got.Spec.ClusterIPs, v4, v6)
		}
		if got.Spec.ClusterIP != got.Spec.ClusterIPs[0] {
			t.Errorf("clusterIP %s != clusterIPs[0] %s", got.Spec.ClusterIP, got.Spec.ClusterIPs[0])
		}
	})

	t.Run("LoadBalancerIngressStatus", func(t *testing.T) {
		ingress := []corev1.LoadBalancerIngress{
			{IP: "192.0.2.10"},
			{IP: "2001:db8::10"},
			{Hostname: "web-123.elb.us-east-1.amazonaws.com"},
		}
		c.SetLoadBalancerIngress(t, ns, "web", ingress)
		got, err := c.Clusterzone.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get as clusterzone: %v", err)
		}
		gi := got.Status.LoadBalancer.Ingress
		if len(gi) != 3 || gi[0].IP != "192.0.2.10" || gi[1].IP != "2001:db8::10" || gi[2].Hostname != ingress[2].Hostname {
			t.Fatalf("status.loadBalancer.ingress = %+v", gi)
		}
	})

	t.Run("RBAC", func(t *testing.T) {
		cz := c.Clusterzone
		if _, err := cz.CoreV1().Services("").List(ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("clusterzone list services: %v", err)
		}
		if _, err := cz.CoreV1().Secrets("").List(ctx, metav1.ListOptions{}); !IsForbidden(err) {
			t.Errorf("clusterzone list secrets: err = %v, want Forbidden", err)
		}
		if _, err := cz.CoreV1().Services(ns).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "nope"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 1}}},
		}, metav1.CreateOptions{}); !IsForbidden(err) {
			t.Errorf("clusterzone create service: err = %v, want Forbidden", err)
		}
		ev := &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{GenerateName: "web.", Namespace: ns},
			InvolvedObject: corev1.ObjectReference{Kind: "Service", Namespace: ns, Name: "web", APIVersion: "v1"},
			Reason:         "Test", Message: "hello", Type: corev1.EventTypeNormal,
			Source: corev1.EventSource{Component: "clusterzone"},
		}
		if _, err := cz.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
			t.Errorf("clusterzone create event: %v", err)
		}
		lease := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: "clusterzone-test", Namespace: LeaseNamespace},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("a")},
		}
		l, err := cz.CoordinationV1().Leases(LeaseNamespace).Create(ctx, lease, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("clusterzone create lease in %s: %v", LeaseNamespace, err)
		}
		l.Spec.HolderIdentity = ptr.To("b")
		if _, err := cz.CoordinationV1().Leases(LeaseNamespace).Update(ctx, l, metav1.UpdateOptions{}); err != nil {
			t.Errorf("clusterzone update lease: %v", err)
		}
		if _, err := cz.CoordinationV1().Leases(LeaseNamespace).Get(ctx, l.Name, metav1.GetOptions{}); err != nil {
			t.Errorf("clusterzone get lease: %v", err)
		}
		lease.Namespace = ns
		if _, err := cz.CoordinationV1().Leases(ns).Create(ctx, lease, metav1.CreateOptions{}); !IsForbidden(err) {
			t.Errorf("clusterzone create lease in %s: err = %v, want Forbidden", ns, err)
		}
	})

	t.Run("Kubeconfig", func(t *testing.T) {
		for _, tc := range []struct {
			path      string
			canSecret bool
		}{{c.AdminKubeconfig, true}, {c.Kubeconfig, false}} {
			cfg, err := clientcmd.BuildConfigFromFlags("", tc.path)
			if err != nil {
				t.Fatalf("load %s: %v", tc.path, err)
			}
			cs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cs.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{}); err != nil {
				t.Errorf("%s: get service: %v", tc.path, err)
			}
			_, err = cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
			if tc.canSecret != (err == nil) {
				t.Errorf("%s: list secrets: %v", tc.path, err)
			}
		}
	})

	t.Run("WatchCount", func(t *testing.T) {
		base := c.WatchCount(t, "services")
		wctx, cancel := context.WithCancel(ctx)
		w, err := c.Clusterzone.CoreV1().Services("").Watch(wctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("clusterzone watch services: %v", err)
		}
		Eventually(t, 10*time.Second, func() error {
			if n := c.WatchCount(t, "services"); n != base+1 {
				return fmt.Errorf("WatchCount = %d, want %d", n, base+1)
			}
			return nil
		})
		w.Stop()
		cancel()
		Eventually(t, 10*time.Second, func() error {
			if n := c.WatchCount(t, "services"); n != base {
				return fmt.Errorf("WatchCount after stop = %d, want %d", n, base)
			}
			return nil
		})
		t.Logf("baseline services watches (the API server's own): %d", base)
	})

	t.Run("RestartAPIServer", func(t *testing.T) {
		t0 := time.Now()
		c.StopAPIServer(t)
		t.Logf("stopped in %v", time.Since(t0).Round(time.Millisecond))
		if _, err := c.Admin.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{}); err == nil {
			t.Fatalf("API server still answers after StopAPIServer")
		}
		t0 = time.Now()
		c.StartAPIServer(t)
		t.Logf("restarted in %v", time.Since(t0).Round(time.Millisecond))
		got, err := c.Clusterzone.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get service after restart: %v", err)
		}
		if len(got.Spec.ClusterIPs) != 2 || len(got.Status.LoadBalancer.Ingress) != 3 {
			t.Errorf("service changed across restart: %+v %+v", got.Spec.ClusterIPs, got.Status.LoadBalancer.Ingress)
		}
		if _, err := c.Clusterzone.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !IsForbidden(err) {
			t.Errorf("after restart, clusterzone list secrets: err = %v, want Forbidden", err)
		}
		c.KillAPIServer(t)
		c.StartAPIServer(t)
		if _, err := c.Admin.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{}); err != nil {
			t.Fatalf("get service after kill and restart: %v", err)
		}
	})
}

// corednsForTest returns a CoreDNS binary: $CLUSTERZONE_COREDNS, else the
// repository's ./coredns, else a standard CoreDNS built once per test binary
// from go.mod's github.com/coredns/coredns into <cache>/build/coredns-std
// (minutes the first time on a cold build cache; later `go build` finds the
// output up to date and returns in seconds).
func corednsForTest(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(CoreDNSEnv); p != "" {
		return CoreDNSBinary(t)
	}
	if st, err := os.Stat(filepath.Join(Root(), "coredns")); err == nil && !st.IsDir() {
		return CoreDNSBinary(t)
	}
	stdCoreDNS.once.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			stdCoreDNS.err = fmt.Errorf("no coredns binary and no go tool to build one: %w", err)
			return
		}
		out := filepath.Join(CacheDir(), "build", "coredns-std", "coredns")
		cmd := exec.Command(goBin, "build", "-mod=readonly", "-o", out, "github.com/coredns/coredns")
		cmd.Dir = Root()
		if b, err := cmd.CombinedOutput(); err != nil {
			stdCoreDNS.err = fmt.Errorf("building a standard CoreDNS: %w\n%s", err, b)
			return
		}
		stdCoreDNS.path = out
	})
	if stdCoreDNS.err != nil {
		t.Fatal(stdCoreDNS.err)
	}
	t.Setenv(CoreDNSEnv, stdCoreDNS.path)
	return CoreDNSBinary(t)
}

var stdCoreDNS struct {
	once sync.Once
	path string
	err  error
}

func TestCoreDNS(t *testing.T) {
	bin := corednsForTest(t)
	t.Logf("CoreDNS binary: %s", bin)
	port := FreePort(t)
	corefile := fmt.Sprintf(".:%d {\n    whoami\n    log\n}\n", port)
	c := StartCoreDNS(t, corefile)
	if c.Port != port || c.Addr != "127.0.0.1:"+strconv.Itoa(port) {
		t.Fatalf("Addr = %s, Port = %d; want port %d", c.Addr, c.Port, port)
	}
	if !strings.Contains(c.Corefile, "bind 127.0.0.1") {
		t.Errorf("Corefile lacks the loopback bind:\n%s", c.Corefile)
	}

	for _, proto := range []string{"udp", "tcp"} {
		r := Query(t, c.Addr, "example.org", dns.TypeA, proto)
		if r.Rcode != dns.RcodeSuccess {
			t.Errorf("%s: rcode %s", proto, dns.RcodeToString[r.Rcode])
		}
		// whoami answers with the client's address in the additional section.
		var found bool
		for _, rr := range r.Extra {
			if a, ok := rr.(*dns.A); ok && a.A.String() == "127.0.0.1" {
				found = true
			}
			if srv, ok := rr.(*dns.SRV); ok && !strings.EqualFold(srv.Hdr.Name, "_"+proto+".example.org.") {
				t.Errorf("%s: SRV %s does not name the transport", proto, srv)
			}
		}
		if !found {
			t.Errorf("%s: whoami reply lacks 127.0.0.1:\n%s", proto, r)
		}
	}

	out := Dig(t, "@127.0.0.1", "-p", strconv.Itoa(c.Port), "example.org", "A", "+norec")
	if !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, "127.0.0.1") {
		t.Errorf("dig output:\n%s", out)
	}

	// Nothing listens beyond loopback: the process binds 127.0.0.1 only.
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.IsLoopback() || ipn.IP.To4() == nil {
				continue
			}
			conn, err := net.DialTimeout("tcp", net.JoinHostPort(ipn.IP.String(), strconv.Itoa(c.Port)), time.Second)
			if err == nil {
				conn.Close()
				t.Errorf("CoreDNS answers on %s: it should bind 127.0.0.1 only", ipn.IP)
			}
		}
	}

	Eventually(t, 5*time.Second, func() error {
		if !strings.Contains(c.Log(), "example.org") {
			return fmt.Errorf("log plugin line not in output yet:\n%s", c.Log())
		}
		return nil
	})
	c.Stop(t)
	if !c.Exited() {
		t.Errorf("still running after Stop")
	}
	c.Stop(t) // idempotent
	if _, err := exchange(c.Addr, new(dns.Msg).SetQuestion("example.org.", dns.TypeA), "tcp"); err == nil {
		t.Errorf("still answering after Stop")
	}
}

func TestStartCoreDNSExitFails(t *testing.T) {
	corednsForTest(t)
	port := FreePort(t)
	msg := runFatal(t, func(tb testing.TB) {
		StartCoreDNS(tb, fmt.Sprintf(".:%d {\n    no_such_plugin_xyz\n}\n", port))
	})
	if !strings.Contains(msg, "coredns exited") || !strings.Contains(msg, "no_such_plugin_xyz") {
		t.Errorf("StartCoreDNS with a bad Corefile: message %q lacks the exit and the log", msg)
	}
}
