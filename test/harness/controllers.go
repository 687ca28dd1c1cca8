package harness

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// EndpointSliceControllerName is the name kube-controller-manager gives
	// the EndpointSlice controller in /healthz?verbose, logs and metrics.
	EndpointSliceControllerName = "endpointslice-controller"

	kcmStartTimeout = 120 * time.Second
)

// StartControllerManager runs the real kube-controller-manager (from BinDir)
// against the cluster with only the EndpointSlice controller
// (--controllers=endpointslice), so that Services with a selector get
// EndpointSlices for the Pods a test writes with CreatePod. It runs with the
// admin identity (--kubeconfig=AdminKubeconfig,
// --use-service-account-credentials=false), without leader election, with a
// raised client rate limit (--kube-api-qps=200 --kube-api-burst=400: tests
// create dozens of pods) and the default update batching
// (--endpointslice-updates-batch-period=0: every change is written at once).
// It serves HTTPS on 127.0.0.1 only (ControllerManagerURL, a self-signed
// certificate under Dir; /healthz and /metrics are open to anonymous
// requests) and logs to ControllerManagerLog.
//
// It returns once the controller is running: /healthz?verbose lists
// EndpointSliceControllerName, which happens when the controller has been
// built, just before its informers start. Objects created from then on are
// picked up by its first list or by its watches, so a test can create
// Services and Pods right away and poll with WaitEndpointSlices.
//
// No other controller runs: in particular there is no garbage collector, so
// the EndpointSlices of a deleted Service stay (delete them yourself if it
// matters), and no node lifecycle or pod GC controller, so Node and Pod
// status is exactly what the test writes. The process is stopped by
// t.Cleanup (registered after StartCluster's, so it stops before the API
// server); if the test failed, the tail of its log is logged.
//
// A missing binary fails the test with a hint to run `make test-bins`.
func (c *Cluster) StartControllerManager(t testing.TB) {
	t.Helper()
	bin := requireBinary(t, "kube-controller-manager")
	c.mu.Lock()
	if c.kcm != nil {
		if done, _ := c.kcm.exited(); !done {
			c.mu.Unlock()
			t.Fatalf("harness: StartControllerManager: kube-controller-manager is already running")
		}
	}
	c.mu.Unlock()

	port := FreePort(t)
	c.ControllerManagerURL = fmt.Sprintf("https://127.0.0.1:%d", port)
	c.ControllerManagerLog = filepath.Join(c.Dir, "kube-controller-manager.log")
	args := []string{
		"--kubeconfig=" + c.AdminKubeconfig,
		"--controllers=endpointslice",
		"--leader-elect=false",
		"--use-service-account-credentials=false",
		// Only used with --allocate-node-cidrs; kept equal to the API
		// server's so the configuration is consistent.
		"--service-cluster-ip-range=" + ServiceCIDRv4 + "," + ServiceCIDRv6,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(c.Dir, "kube-controller-manager-certs"),
		// No --authentication-kubeconfig: every request is anonymous, and
		// only these paths are authorized.
		"--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		"--profiling=false",
		"--v=2",
	}
	p, err := startProc("kube-controller-manager", c.ControllerManagerLog, c.Dir, bin, args, nil, nil)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	c.mu.Lock()
	c.kcm = p
	c.mu.Unlock()
	logPath := c.ControllerManagerLog
	t.Cleanup(func() {
		p.stop(stopGrace)
		if t.Failed() {
			t.Logf("harness: kube-controller-manager log (%s), last lines:\n%s", logPath, tailFile(logPath, 60))
		}
	})

	hc := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			// Its own self-signed certificate, on loopback.
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback test process
			DisableKeepAlives: true,
		},
	}
	want := "[+]" + EndpointSliceControllerName + " ok"
	err = poll(kcmStartTimeout, func() error {
		if done, err := p.exited(); done {
			return stopPolling{fmt.Errorf("kube-controller-manager exited: %v", describeExit(err))}
		}
		resp, err := hc.Get(c.ControllerManagerURL + "/healthz?verbose")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			return fmt.Errorf("/healthz?verbose: %d, want 200 listing %q:\n%s", resp.StatusCode, want, body)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("harness: kube-controller-manager not ready: %v\nkube-controller-manager log:\n%s", err, tailFile(c.ControllerManagerLog, 60))
	}
}
