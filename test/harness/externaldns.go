package harness

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const (
	externalDNSStartTimeout = 60 * time.Second
	externalDNSStopGrace    = 10 * time.Second
)

// ExternalDNS is a real ExternalDNS process (the binary hack/testbins.sh
// builds, v0.20) started by StartExternalDNS, for tests and benchmarks that
// run it beside the plugin.
type ExternalDNS struct {
	// MetricsURL is "http://127.0.0.1:PORT", where it serves /healthz and
	// /metrics (--metrics-address).
	MetricsURL string
	// Args are the arguments it runs with (the caller's plus
	// --metrics-address).
	Args []string
	// Dir is its temporary working folder.
	Dir string
	// LogPath is the file that holds everything it printed.
	LogPath string

	proc *proc
	out  *syncBuffer
	once bool
}

// StartExternalDNS runs external-dns from BinDir with args plus
// --metrics-address=127.0.0.1:<FreePort>, and waits until GET /healthz on
// MetricsURL answers 200 (its metrics server starts before the sources and
// the provider, so this means the process is up, not that it has synced).
// The process is stopped by t.Cleanup; if the test failed, the tail of its
// output is logged. StartExternalDNSEnv adds environment entries.
//
// The caller passes every other flag. The ones a test typically needs (v0.20
// spellings; `external-dns --help` lists them all):
//
//	--kubeconfig=PATH           required here (or --server): keeps it off any
//	                            cluster of the machine's ~/.kube/config
//	--source=service            repeat for more sources (ingress, pod, node, ...)
//	--provider=inmemory         with --inmemory-zone=example.org (repeatable);
//	                            it logs "CREATE: <endpoint>" per change
//	--provider=aws              with Moto.Env plus AWS_ENDPOINT_URL_ROUTE_53 in
//	                            env; --aws-zone-type=public|private,
//	                            --aws-api-retries=N, --aws-batch-change-size=N,
//	                            --aws-batch-change-interval=D
//	--registry=noop             or txt with --txt-owner-id=ID (--txt-prefix)
//	--domain-filter=example.org restrict the zones it manages
//	--publish-internal-services also publish ClusterIP Services
//	--policy=sync               or upsert-only, create-only
//	--interval=1m --events      sync period; --events also syncs on changes
//	                            (--min-event-sync-interval=5s limits that)
//	--once / --dry-run          one sync then exit / log changes only
//	--log-level=debug           and --log-format=text|json
//
// With --once the process may exit (status 0) before /healthz has answered;
// StartExternalDNS then returns without failing, and Wait reports the exit.
//
// A missing binary fails the test with a hint to run `make test-bins`.
func StartExternalDNS(t testing.TB, args ...string) *ExternalDNS {
	t.Helper()
	return StartExternalDNSEnv(t, nil, args...)
}

// StartExternalDNSEnv is StartExternalDNS with extra environment entries
// ("KEY=value", e.g. Moto.Env and AWS_ENDPOINT_URL_ROUTE_53=<moto URL> for
// --provider=aws). The process inherits the test's environment, except that
// KUBECONFIG and any EXTERNAL_DNS_* variables (which would set flags) are
// cleared.
func StartExternalDNSEnv(t testing.TB, env []string, args ...string) *ExternalDNS {
	t.Helper()
	bin := requireBinary(t, "external-dns")
	hasCluster := false
	once := false
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "--metrics-address"):
			t.Fatalf("harness: StartExternalDNS sets --metrics-address itself (to a loopback port); drop %q", a)
		case strings.HasPrefix(a, "--kubeconfig=") || strings.HasPrefix(a, "--server="):
			hasCluster = true
		case a == "--once" || a == "--once=true":
			once = true
		}
	}
	if !hasCluster {
		t.Fatalf("harness: StartExternalDNS: pass --kubeconfig=PATH (e.g. Cluster.AdminKubeconfig) or --server=URL, " +
			"so external-dns cannot fall back to the machine's kubeconfig")
	}

	dir := t.TempDir()
	port := FreePort(t)
	e := &ExternalDNS{
		MetricsURL: fmt.Sprintf("http://127.0.0.1:%d", port),
		Args:       append(append([]string(nil), args...), fmt.Sprintf("--metrics-address=127.0.0.1:%d", port)),
		Dir:        dir,
		LogPath:    filepath.Join(dir, "external-dns.log"),
		out:        &syncBuffer{},
		once:       once,
	}
	procEnv := []string{"KUBECONFIG="}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "EXTERNAL_DNS_") {
			k, _, _ := strings.Cut(kv, "=")
			procEnv = append(procEnv, k+"=")
		}
	}
	procEnv = append(procEnv, env...)
	var err error
	e.proc, err = startProc("external-dns", e.LogPath, dir, bin, e.Args, procEnv, e.out)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Cleanup(func() {
		e.proc.stop(externalDNSStopGrace)
		if t.Failed() {
			t.Logf("harness: external-dns %s, output (end):\n%s", strings.Join(e.Args, " "), tailFile(e.LogPath, 60))
		}
	})

	hc := &http.Client{Timeout: 2 * time.Second}
	err = poll(externalDNSStartTimeout, func() error {
		if done, err := e.proc.exited(); done {
			if err == nil && e.once {
				return nil
			}
			return stopPolling{fmt.Errorf("external-dns exited: %v", describeExit(err))}
		}
		resp, err := hc.Get(e.MetricsURL + "/healthz")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/healthz: %d", resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("harness: external-dns did not start: %v\nargs: %s\noutput:\n%s", err, strings.Join(e.Args, " "), tailFile(e.LogPath, 60))
	}
	return e
}

// Log returns everything the process printed (stdout and stderr) so far.
func (e *ExternalDNS) Log() string { return e.out.String() }

// Stop stops the process now: SIGTERM, then SIGKILL after 10 seconds. It is
// safe to call more than once, and after the process has exited.
func (e *ExternalDNS) Stop(t testing.TB) {
	t.Helper()
	e.proc.stop(externalDNSStopGrace)
}

// Exited reports whether the process has ended.
func (e *ExternalDNS) Exited() bool {
	done, _ := e.proc.exited()
	return done
}

// Wait waits for the process to exit by itself (e.g. with --once) and
// returns its exit error (nil for status 0); it fails the test when the
// process is still running after timeout.
func (e *ExternalDNS) Wait(t testing.TB, timeout time.Duration) error {
	t.Helper()
	select {
	case <-e.proc.done:
		return e.proc.waitErr
	case <-time.After(timeout):
		t.Fatalf("harness: external-dns still running after %v; output (end):\n%s", timeout, tailFile(e.LogPath, 40))
		return nil
	}
}

// DesiredChanges returns the changes the AWS provider (--provider=aws)
// logged so far, in order: those it submitted, or with --dry-run would have
// submitted. See ExternalDNSDesiredChanges.
func (e *ExternalDNS) DesiredChanges() []FaultChange { return ExternalDNSDesiredChanges(e.Log()) }

// desiredChangeLine is a change of ExternalDNS v0.20's AWS provider, logged
// at info level (text format) before it submits a batch, and with --dry-run
// instead of submitting it:
//
//	time="..." level=info msg="Desired change: CREATE a-web.example.org TXT" profile=default zoneID=/hostedzone/Z1 zoneName=example.org.
var desiredChangeLine = regexp.MustCompile(`msg="Desired change: (CREATE|UPSERT|DELETE) (\S+) (\S+)"`)

// ExternalDNSDesiredChanges parses the "Desired change" lines of an
// ExternalDNS log (--provider=aws, --log-format=text) into changes with the
// name in FaultChange's form (lower case, trailing dot, '*' for Route 53's
// \052); the log gives no TTL or values. A batch ExternalDNS retries after a
// failure is logged, and returned, again.
func ExternalDNSDesiredChanges(log string) []FaultChange {
	var out []FaultChange
	for _, m := range desiredChangeLine.FindAllStringSubmatch(log, -1) {
		name := strings.ToLower(strings.ReplaceAll(m[2], `\052`, "*"))
		if !strings.HasSuffix(name, ".") {
			name += "."
		}
		out = append(out, FaultChange{Action: m[1], Name: name, Type: m[3]})
	}
	return out
}

// Pid returns the process id (for /proc/PID/status).
func (e *ExternalDNS) Pid() int { return e.proc.cmd.Process.Pid }

// Metrics returns its /metrics (Prometheus text format); parse it with
// SumMetric. A failed request fails the test.
func (e *ExternalDNS) Metrics(t testing.TB) string {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Get(e.MetricsURL + "/metrics")
	if err != nil {
		t.Fatalf("harness: external-dns GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("harness: external-dns GET /metrics: %d %v\n%s", resp.StatusCode, err, body)
	}
	return string(body)
}

// HeapBytes returns go_memstats_heap_alloc_bytes from its /metrics: the
// bytes of live and not yet collected heap objects. A missing metric fails
// the test.
func (e *ExternalDNS) HeapBytes(t testing.TB) float64 {
	t.Helper()
	return e.metric(t, "go_memstats_heap_alloc_bytes")
}

// RSSBytes returns process_resident_memory_bytes from its /metrics (Linux).
// A missing metric fails the test.
func (e *ExternalDNS) RSSBytes(t testing.TB) float64 {
	t.Helper()
	return e.metric(t, "process_resident_memory_bytes")
}

func (e *ExternalDNS) metric(t testing.TB, name string) float64 {
	t.Helper()
	v, ok := SumMetric(e.Metrics(t), name, nil)
	if !ok {
		t.Fatalf("harness: external-dns /metrics has no %s", name)
	}
	return v
}
