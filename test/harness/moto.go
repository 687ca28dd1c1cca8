package harness

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Moto is a moto_server (the Route 53 emulator) on loopback.
type Moto struct {
	// URL is "http://127.0.0.1:PORT".
	URL string
	// Env are the environment entries that point the AWS SDK at fake,
	// static credentials and away from the machine's AWS configuration; pass
	// them to StartCoreDNS.
	Env []string
}

// StartMoto starts moto_server on a free loopback port; it is stopped by
// t.Cleanup. It fails the test when moto_server is not installed.
func StartMoto(t testing.TB) *Moto {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("harness: moto_server is not on PATH (%v): install it with pip install 'moto[server]' (or run hack/deps.sh)", err)
	}
	dir := t.TempDir()
	m := &Moto{Env: []string{
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=", "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PROFILE=",
	}}
	port := FreePort(t)
	logPath := filepath.Join(dir, "moto.log")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	p, err := startProc("moto_server", logPath, dir, bin, []string{"-H", "127.0.0.1", "-p", fmt.Sprint(port)}, env, nil)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Cleanup(func() {
		p.stop(5 * time.Second)
		if t.Failed() {
			t.Logf("harness: moto_server log (end):\n%s", tailFile(logPath, 40))
		}
	})
	m.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	err = poll(60*time.Second, func() error {
		if done, err := p.exited(); done {
			return stopPolling{fmt.Errorf("moto_server exited: %v", describeExit(err))}
		}
		resp, err := http.Get(m.URL + "/moto-api/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	if err != nil {
		t.Fatalf("harness: moto_server did not start: %v\n%s", err, tailFile(logPath, 40))
	}
	return m
}

// Route53Action names the Route 53 REST API action of a request.
func Route53Action(r *http.Request) string {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case strings.HasSuffix(path, "/rrset") && r.Method == http.MethodPost:
		return "ChangeResourceRecordSets"
	case strings.HasSuffix(path, "/rrset") && r.Method == http.MethodGet:
		return "ListResourceRecordSets"
	case strings.Contains(path, "/hostedzone") && r.Method == http.MethodGet:
		return "GetHostedZone"
	case strings.Contains(path, "/change/"):
		return "GetChange"
	}
	return r.Method + " " + path
}
