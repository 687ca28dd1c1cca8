package harness

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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

// CountingProxy is a reverse proxy in front of an AWS endpoint that counts
// Route 53 requests by action.
type CountingProxy struct {
	// URL is the proxy's address, to use as the endpoint override.
	URL string

	mu      sync.Mutex
	counts  map[string]int
	changes []Route53Change
}

// Route53Change is one change of a ChangeResourceRecordSets request.
type Route53Change struct {
	Action string // CREATE, UPSERT or DELETE
	Name   string // the record set's name as sent (FQDN, Route 53 escapes such as \052 kept)
	Type   string // A, AAAA, TXT...
}

// String formats the change as "ACTION NAME TYPE".
func (c Route53Change) String() string { return c.Action + " " + c.Name + " " + c.Type }

// ParseChangeBatch returns the changes in the XML body of a
// ChangeResourceRecordSets request.
func ParseChangeBatch(body []byte) ([]Route53Change, error) {
	var req struct {
		Changes []struct {
			Action string
			Set    struct {
				Name string
				Type string
			} `xml:"ResourceRecordSet"`
		} `xml:"ChangeBatch>Changes>Change"`
	}
	if err := xml.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("harness: ChangeResourceRecordSets body: %v", err)
	}
	out := make([]Route53Change, 0, len(req.Changes))
	for _, c := range req.Changes {
		out = append(out, Route53Change{Action: c.Action, Name: c.Set.Name, Type: c.Set.Type})
	}
	return out, nil
}

// StartCountingProxy starts a counting proxy to target on loopback.
func StartCountingProxy(t testing.TB, target string) *CountingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &CountingProxy{counts: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		action := Route53Action(r)
		var changes []Route53Change
		if action == "ChangeResourceRecordSets" {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if changes, err = ParseChangeBatch(body); err != nil {
				t.Errorf("%v", err)
			}
		}
		p.mu.Lock()
		p.counts[action]++
		p.changes = append(p.changes, changes...)
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	p.URL = "http://" + l.Addr().String()
	return p
}

// Count returns how many requests of action (e.g. "ChangeResourceRecordSets") passed.
func (p *CountingProxy) Count(action string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[action]
}

// Counts returns a copy of every count.
func (p *CountingProxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// Changes returns every change sent through the proxy so far, in order.
func (p *CountingProxy) Changes() []Route53Change {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Route53Change(nil), p.changes...)
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
