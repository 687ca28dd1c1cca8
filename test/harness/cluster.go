package harness

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/yaml"
)

const (
	// AdminUser is the name of the admin token user (group system:masters).
	AdminUser = "admin"
	// ClusterzoneUser is the name of the token user the plugin runs as in
	// tests. It is bound only to the roles in deploy/rbac.yaml.
	ClusterzoneUser = "clusterzone"
	// RBACManifest is the repository-relative path of the RBAC manifest whose
	// ClusterRoles and Roles StartCluster binds to ClusterzoneUser.
	RBACManifest = "deploy/rbac.yaml"
	// LeaseNamespace is the namespace tests use for leader-election leases;
	// deploy/rbac.yaml grants the lease permissions there.
	LeaseNamespace = "kube-system"
	// ServiceCIDRv4 and ServiceCIDRv6 are the service ClusterIP ranges of the
	// test cluster (--service-cluster-ip-range, dual-stack, IPv4 primary).
	ServiceCIDRv4 = "10.96.0.0/16"
	// ServiceCIDRv6 is the IPv6 service ClusterIP range; see ServiceCIDRv4.
	ServiceCIDRv6 = "fd00:10:96::/112"
)

// Timeouts for the components to come up. The machine these tests run on may
// be small and busy, so they are generous.
const (
	etcdStartTimeout      = 60 * time.Second
	apiserverStartTimeout = 180 * time.Second
	stopGrace             = 10 * time.Second
)

// Cluster is a real etcd plus kube-apiserver on 127.0.0.1, started by
// StartCluster. There is no scheduler or kubelet, and no controller manager
// unless a test starts one with StartControllerManager (which runs only the
// EndpointSlice controller): Services get ClusterIPs (allocated by the API
// server itself) but no EndpointSlices until then, and status.loadBalancer is
// only what a test sets with SetLoadBalancerIngress. Pods and Nodes are
// whatever CreatePod and CreateNode write, status included.
type Cluster struct {
	// URL is the API server's address, https://127.0.0.1:PORT.
	URL string
	// Port is the API server's secure port.
	Port int

	// Admin is a client with the admin identity (group system:masters).
	Admin kubernetes.Interface
	// AdminConfig is the admin's client configuration (bearer token, CA). It
	// has a high QPS limit; copy it (rest.CopyConfig) before changing it.
	AdminConfig *rest.Config
	// AdminKubeconfig is the path of a self-contained kubeconfig file for the
	// admin identity.
	AdminKubeconfig string
	// AdminToken is the admin's bearer token.
	AdminToken string

	// Kubeconfig is the path of a self-contained kubeconfig file for the
	// ClusterzoneUser identity, a bearer-token user bound only to the
	// ClusterRoles and Roles of deploy/rbac.yaml (RBAC is enforced).
	Kubeconfig string
	// ClusterzoneConfig is the client configuration for the same identity.
	ClusterzoneConfig *rest.Config
	// Clusterzone is a client with the same identity.
	Clusterzone kubernetes.Interface
	// ClusterzoneToken is that identity's bearer token.
	ClusterzoneToken string

	// CAFile is the path of the PEM CA that signed the API server's serving
	// certificate; CAData is its content.
	CAFile string
	// CAData is the PEM content of CAFile.
	CAData []byte

	// EtcdURL is etcd's client URL, http://127.0.0.1:PORT.
	EtcdURL string
	// Dir is the cluster's temporary folder (etcd data, keys, logs, kubeconfigs).
	Dir string
	// EtcdLog and APIServerLog are the paths of the processes' output (the
	// API server log is appended to across StopAPIServer/StartAPIServer).
	EtcdLog string
	// APIServerLog is the path of kube-apiserver's output; see EtcdLog.
	APIServerLog string

	// ControllerManagerLog is the path of kube-controller-manager's output
	// (StartControllerManager); empty until it is started.
	ControllerManagerLog string
	// ControllerManagerURL is kube-controller-manager's secure serving
	// address, https://127.0.0.1:PORT (self-signed certificate; /healthz and
	// /metrics need no credentials); empty until StartControllerManager.
	ControllerManagerURL string

	mu        sync.Mutex
	etcd      *proc
	apiserver *proc
	kcm       *proc
	apiArgs   []string
	pki       *pki
	http      *http.Client // trusts CAData, no auth
}

func requireBinary(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(BinDir(), name)
	st, err := os.Stat(p)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("harness: %s not found at %s (%v): run `make test-bins` or `hack/testbins.sh` "+
			"(builds etcd, kube-apiserver, kube-controller-manager and external-dns from Go modules "+
			"into .cache/bin, or $CLUSTERZONE_CACHE/bin; the Kubernetes binaries take about 15 minutes "+
			"the first time; `hack/testbins.sh kube` or `hack/testbins.sh external-dns` builds only those)", name, p, err)
	}
	return p
}

// StartCluster starts etcd and kube-apiserver on 127.0.0.1 in a fresh
// temporary folder, waits until the API server is ready (/readyz, the
// default and kube-system namespaces, the default/kubernetes Service and a
// Ready default ServiceCIDR), applies deploy/rbac.yaml and binds its roles to
// ClusterzoneUser. Both processes are stopped by t.Cleanup, kube-apiserver
// before etcd; if the test failed, the tails of their logs are logged.
//
// Missing binaries fail the test with a hint to run `make test-bins`.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	etcdBin := requireBinary(t, "etcd")
	requireBinary(t, "kube-apiserver")

	dir := t.TempDir()
	c := &Cluster{
		Dir:          dir,
		EtcdLog:      filepath.Join(dir, "etcd.log"),
		APIServerLog: filepath.Join(dir, "kube-apiserver.log"),
	}
	t.Cleanup(func() {
		c.mu.Lock()
		api, etcd := c.apiserver, c.etcd
		c.mu.Unlock()
		api.stop(stopGrace)
		etcd.stop(stopGrace)
		if t.Failed() {
			t.Logf("harness: kube-apiserver log (%s), last lines:\n%s", c.APIServerLog, tailFile(c.APIServerLog, 60))
			t.Logf("harness: etcd log (%s), last lines:\n%s", c.EtcdLog, tailFile(c.EtcdLog, 20))
		}
	})

	// etcd
	clientPort, peerPort := FreePort(t), FreePort(t)
	c.EtcdURL = fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	etcdArgs := []string{
		"--name=clusterzone-test",
		"--data-dir=" + filepath.Join(dir, "etcd-data"),
		"--listen-client-urls=" + c.EtcdURL,
		"--advertise-client-urls=" + c.EtcdURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=clusterzone-test=" + peerURL,
		"--initial-cluster-state=new",
		"--unsafe-no-fsync=true", // test data: no need to survive a power cut
		"--log-level=warn",
	}
	p, err := startProc("etcd", c.EtcdLog, dir, etcdBin, etcdArgs, nil, nil)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	c.mu.Lock()
	c.etcd = p
	c.mu.Unlock()
	if err := c.waitEtcd(); err != nil {
		t.Fatalf("harness: etcd did not become healthy: %v\netcd log:\n%s", err, tailFile(c.EtcdLog, 40))
	}

	// keys, tokens, kube-apiserver
	c.pki, err = writePKI(filepath.Join(dir, "pki"))
	if err != nil {
		t.Fatalf("harness: generating keys: %v", err)
	}
	c.CAFile, c.CAData = c.pki.caFile, c.pki.caPEM
	c.AdminToken, c.ClusterzoneToken = c.pki.adminToken, c.pki.czToken
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CAData)
	c.http = &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true},
	}

	c.Port = FreePort(t)
	c.URL = fmt.Sprintf("https://127.0.0.1:%d", c.Port)
	c.apiArgs = []string{
		"--etcd-servers=" + c.EtcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(c.Port),
		"--cert-dir=" + filepath.Join(dir, "apiserver-certs"), // unused: the files below win
		"--tls-cert-file=" + c.pki.certFile,
		"--tls-private-key-file=" + c.pki.keyFile,
		"--service-account-key-file=" + c.pki.saPubFile,
		"--service-account-signing-key-file=" + c.pki.saKeyFile,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--token-auth-file=" + c.pki.tokenFile,
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=" + ServiceCIDRv4 + "," + ServiceCIDRv6,
		// No other components: no flow-control bootstrap needed, no
		// Endpoints for the kubernetes Service (127.0.0.1 is not a valid
		// endpoint address, the reconciler would only log errors), no
		// ServiceAccount admission (nothing creates the token controller).
		"--enable-priority-and-fairness=false",
		"--endpoint-reconciler-type=none",
		"--disable-admission-plugins=ServiceAccount",
		"--allow-privileged=true",
		"--profiling=false",
	}
	c.StartAPIServer(t)

	c.AdminConfig = c.restConfig(c.AdminToken)
	c.ClusterzoneConfig = c.restConfig(c.ClusterzoneToken)
	if c.Admin, err = kubernetes.NewForConfig(c.AdminConfig); err != nil {
		t.Fatalf("harness: admin client: %v", err)
	}
	if c.Clusterzone, err = kubernetes.NewForConfig(c.ClusterzoneConfig); err != nil {
		t.Fatalf("harness: clusterzone client: %v", err)
	}
	c.AdminKubeconfig = filepath.Join(dir, "admin.kubeconfig")
	c.Kubeconfig = filepath.Join(dir, "clusterzone.kubeconfig")
	if err := c.writeKubeconfig(c.AdminKubeconfig, AdminUser, c.AdminToken); err != nil {
		t.Fatalf("harness: %v", err)
	}
	if err := c.writeKubeconfig(c.Kubeconfig, ClusterzoneUser, c.ClusterzoneToken); err != nil {
		t.Fatalf("harness: %v", err)
	}

	c.waitBootstrap(t)
	c.applyRBAC(t)
	return c
}

func (c *Cluster) waitEtcd() error {
	hc := &http.Client{Timeout: 2 * time.Second}
	return poll(etcdStartTimeout, func() error {
		if done, err := c.etcd.exited(); done {
			return stopPolling{fmt.Errorf("etcd exited: %v", describeExit(err))}
		}
		resp, err := hc.Get(c.EtcdURL + "/health")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"health":"true"`)) {
			return fmt.Errorf("etcd /health: %d %s", resp.StatusCode, body)
		}
		return nil
	})
}

func (c *Cluster) restConfig(token string) *rest.Config {
	return &rest.Config{
		Host:            c.URL,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), c.CAData...)},
		QPS:             200,
		Burst:           400,
		Timeout:         30 * time.Second,
	}
}

func (c *Cluster) writeKubeconfig(path, user, token string) error {
	cfg := clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{
			"clusterzone-test": {Server: c.URL, CertificateAuthorityData: c.CAData},
		},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{
			user: {Token: token},
		},
		Contexts: map[string]*clientcmdapi.Context{
			user: {Cluster: "clusterzone-test", AuthInfo: user, Namespace: "default"},
		},
		CurrentContext: user,
	}
	if err := clientcmd.WriteToFile(cfg, path); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	return nil
}

// StartAPIServer starts kube-apiserver (again) on the same port, with the
// same etcd, certificates and tokens, and waits for /readyz. StartCluster uses
// it for the first start; tests use it after StopAPIServer. It fails the test
// if kube-apiserver is already running.
func (c *Cluster) StartAPIServer(t testing.TB) {
	t.Helper()
	bin := requireBinary(t, "kube-apiserver")
	c.mu.Lock()
	if c.apiserver != nil {
		if done, _ := c.apiserver.exited(); !done {
			c.mu.Unlock()
			t.Fatalf("harness: StartAPIServer: kube-apiserver is already running")
		}
	}
	p, err := startProc("kube-apiserver", c.APIServerLog, c.Dir, bin, c.apiArgs, nil, nil)
	if err != nil {
		c.mu.Unlock()
		t.Fatalf("harness: %v", err)
	}
	c.apiserver = p
	c.mu.Unlock()

	err = poll(apiserverStartTimeout, func() error {
		if done, err := p.exited(); done {
			return stopPolling{fmt.Errorf("kube-apiserver exited: %v", describeExit(err))}
		}
		code, body, err := c.get("/readyz", c.pki.adminToken)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("/readyz: %d\n%s", code, body)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("harness: kube-apiserver not ready: %v\nkube-apiserver log:\n%s", err, tailFile(c.APIServerLog, 60))
	}
}

// StopAPIServer stops only kube-apiserver (SIGTERM, then SIGKILL after a
// grace period), to simulate an API server outage; etcd keeps running and
// StartAPIServer brings it back on the same port. Open watches are closed by
// the server's shutdown; clients see connection refused until the restart.
func (c *Cluster) StopAPIServer(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	p := c.apiserver
	c.mu.Unlock()
	p.stop(stopGrace)
}

// KillAPIServer stops kube-apiserver with SIGKILL (no graceful shutdown:
// connections are reset, not closed). Restart it with StartAPIServer.
func (c *Cluster) KillAPIServer(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	p := c.apiserver
	c.mu.Unlock()
	p.kill()
}

// get performs an authenticated GET on the API server and returns the status
// code and body.
func (c *Cluster) get(path, token string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, c.URL+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// waitBootstrap waits for the objects the API server creates for itself.
func (c *Cluster) waitBootstrap(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	err := poll(60*time.Second, func() error {
		for _, ns := range []string{"default", "kube-system"} {
			if _, err := c.Admin.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
				return fmt.Errorf("namespace %s: %w", ns, err)
			}
		}
		if _, err := c.Admin.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{}); err != nil {
			return fmt.Errorf("service default/kubernetes: %w", err)
		}
		cidr, err := c.Admin.NetworkingV1().ServiceCIDRs().Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("servicecidr kubernetes: %w", err)
		}
		if !apimeta.IsStatusConditionTrue(cidr.Status.Conditions, networkingv1.ServiceCIDRConditionReady) {
			return fmt.Errorf("servicecidr kubernetes not Ready: %v", cidr.Status.Conditions)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("harness: API server bootstrap: %v\nkube-apiserver log:\n%s", err, tailFile(c.APIServerLog, 60))
	}
}

var yamlDocSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// applyRBAC creates every object of deploy/rbac.yaml and binds each
// ClusterRole (ClusterRoleBinding) and Role (RoleBinding in its namespace) to
// ClusterzoneUser.
func (c *Cluster) applyRBAC(t testing.TB) {
	t.Helper()
	path := filepath.Join(Root(), RBACManifest)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("harness: reading %s: %v", path, err)
	}
	ctx := context.Background()
	subject := rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: ClusterzoneUser}
	for i, doc := range yamlDocSep.Split(string(data), -1) {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("harness: %s document %d: %v", path, i, err)
		}
		if meta.Kind == "" {
			continue // comments only
		}
		var create func() error
		switch meta.Kind {
		case "ServiceAccount":
			var o corev1.ServiceAccount
			create = strictThen(doc, &o, func() error {
				_, err := c.Admin.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, &o, metav1.CreateOptions{})
				return err
			})
		case "ClusterRole":
			var o rbacv1.ClusterRole
			create = strictThen(doc, &o, func() error {
				if _, err := c.Admin.RbacV1().ClusterRoles().Create(ctx, &o, metav1.CreateOptions{}); err != nil {
					return err
				}
				_, err := c.Admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
					ObjectMeta: metav1.ObjectMeta{Name: "harness-" + ClusterzoneUser + "-user-" + o.Name},
					RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: o.Name},
					Subjects:   []rbacv1.Subject{subject},
				}, metav1.CreateOptions{})
				return err
			})
		case "ClusterRoleBinding":
			var o rbacv1.ClusterRoleBinding
			create = strictThen(doc, &o, func() error {
				_, err := c.Admin.RbacV1().ClusterRoleBindings().Create(ctx, &o, metav1.CreateOptions{})
				return err
			})
		case "Role":
			var o rbacv1.Role
			create = strictThen(doc, &o, func() error {
				if _, err := c.Admin.RbacV1().Roles(o.Namespace).Create(ctx, &o, metav1.CreateOptions{}); err != nil {
					return err
				}
				_, err := c.Admin.RbacV1().RoleBindings(o.Namespace).Create(ctx, &rbacv1.RoleBinding{
					ObjectMeta: metav1.ObjectMeta{Name: "harness-" + ClusterzoneUser + "-user-" + o.Name, Namespace: o.Namespace},
					RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: o.Name},
					Subjects:   []rbacv1.Subject{subject},
				}, metav1.CreateOptions{})
				return err
			})
		case "RoleBinding":
			var o rbacv1.RoleBinding
			create = strictThen(doc, &o, func() error {
				_, err := c.Admin.RbacV1().RoleBindings(o.Namespace).Create(ctx, &o, metav1.CreateOptions{})
				return err
			})
		default:
			t.Fatalf("harness: %s document %d: kind %q is not handled by the harness", path, i, meta.Kind)
		}
		if err := create(); err != nil {
			t.Fatalf("harness: applying %s document %d (%s): %v", path, i, meta.Kind, err)
		}
	}
	// RBAC is enforced from the authorizer's informer cache: wait until the
	// new bindings are in effect.
	err = poll(30*time.Second, func() error {
		_, err := c.Clusterzone.CoreV1().Services("").List(ctx, metav1.ListOptions{Limit: 1})
		return err
	})
	if err != nil {
		t.Fatalf("harness: %s user cannot list services after applying %s: %v", ClusterzoneUser, RBACManifest, err)
	}
}

// strictThen decodes doc into o, rejecting unknown fields, then returns f;
// a decoding error is returned by the returned function.
func strictThen(doc string, o any, f func() error) func() error {
	if err := yaml.UnmarshalStrict([]byte(doc), o); err != nil {
		return func() error { return err }
	}
	return f
}

// CreateNamespace creates a namespace as admin and returns its name.
func (c *Cluster) CreateNamespace(t testing.TB, name string) string {
	t.Helper()
	_, err := c.Admin.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("harness: creating namespace %s: %v", name, err)
	}
	return name
}

// Metrics returns the API server's /metrics (Prometheus text format), read
// as admin.
func (c *Cluster) Metrics(t testing.TB) string {
	t.Helper()
	code, body, err := c.get("/metrics", c.AdminToken)
	if err != nil {
		t.Fatalf("harness: GET /metrics: %v", err)
	}
	if code != http.StatusOK {
		t.Fatalf("harness: GET /metrics: %d %s", code, body)
	}
	return string(body)
}

// WatchCount returns the number of WATCH requests for resource (e.g.
// "services") open on the API server right now: the sum of the gauge
// apiserver_longrunning_requests{verb="WATCH",resource=RESOURCE} over all its
// other labels (group, version, scope, subresource).
//
// The count includes the API server's own informers (it watches Services
// itself through its loopback client, for admission and IP repair), so
// compare against a baseline taken before starting the watcher under test,
// not against zero. The gauge drops as soon as a watch request ends.
func (c *Cluster) WatchCount(t testing.TB, resource string) int {
	t.Helper()
	v, _ := SumMetric(c.Metrics(t), "apiserver_longrunning_requests",
		map[string]string{"verb": "WATCH", "resource": resource})
	return int(v)
}

// SetLoadBalancerIngress sets status.loadBalancer.ingress of a Service
// through the "status" subresource, as a cloud controller does (retrying on
// conflicts), as admin.
func (c *Cluster) SetLoadBalancerIngress(t testing.TB, ns, name string, ingress []corev1.LoadBalancerIngress) {
	t.Helper()
	ctx := context.Background()
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		svc, err := c.Admin.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		svc.Status.LoadBalancer.Ingress = ingress
		_, err = c.Admin.CoreV1().Services(ns).UpdateStatus(ctx, svc, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("harness: setting load-balancer ingress of service %s/%s: %v", ns, name, err)
	}
}

// IsForbidden reports whether err is an API "403 Forbidden" error (RBAC
// denied the request).
func IsForbidden(err error) bool { return apierrors.IsForbidden(err) }

// SumMetric sums the samples of metric name in Prometheus text exposition
// format whose labels include every pair of match (nil matches all). found is
// false when no sample matched.
func SumMetric(text, name string, match map[string]string) (sum float64, found bool) {
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		var labels map[string]string
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.LastIndex(rest, "}")
			if end < 0 {
				continue
			}
			labels = parseLabels(rest[1:end])
			rest = rest[end+1:]
		case strings.HasPrefix(rest, " "):
		default:
			continue // another metric with this prefix
		}
		ok := true
		for k, v := range match {
			if labels[k] != v {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		sum += v
		found = true
	}
	return sum, found
}

// parseLabels parses `a="x",b="y"` (with \" \\ \n escapes in values).
func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for len(s) > 0 {
		s = strings.TrimLeft(s, ", ")
		eq := strings.Index(s, "=")
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return out
		}
		key := strings.TrimSpace(s[:eq])
		s = s[eq+2:]
		var val strings.Builder
		i := 0
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					val.WriteByte('\n')
				default:
					val.WriteByte(s[i])
				}
				continue
			}
			val.WriteByte(s[i])
		}
		out[key] = val.String()
		if i >= len(s) {
			return out
		}
		s = s[i+1:]
	}
	return out
}
