package harness

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/route53"
)

// Moto is a moto_server (the Route 53 emulator) on loopback, behind a
// Route53Rules proxy that gives it Route 53's own rules.
type Moto struct {
	// URL is "http://127.0.0.1:PORT", the Route53Rules in front of
	// moto_server: what every Route 53 client of a test (the plugin, a
	// FaultProxy, ExternalDNS, the checks) points at.
	URL string
	// ServerURL is moto_server itself, lax where Route 53 is strict (see
	// Route53Rules); only tests of the rules layer use it.
	ServerURL string
	// Rules is the Route53Rules at URL.
	Rules *Route53Rules
	// Env are the environment entries that point the AWS SDK at fake,
	// static credentials and away from the machine's AWS configuration; pass
	// them to StartCoreDNS.
	Env []string
}

// StartMoto starts moto_server on a free loopback port and a Route53Rules in
// front of it (Moto.URL); both are stopped by t.Cleanup. It fails the test
// when moto_server is not installed.
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
	m.ServerURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	err = poll(60*time.Second, func() error {
		if done, err := p.exited(); done {
			return stopPolling{fmt.Errorf("moto_server exited: %v", describeExit(err))}
		}
		resp, err := http.Get(m.ServerURL + "/moto-api/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	if err != nil {
		t.Fatalf("harness: moto_server did not start: %v\n%s", err, tailFile(logPath, 40))
	}
	m.Rules = StartRoute53Rules(t, m.ServerURL)
	m.URL = m.Rules.URL
	return m
}

// Route53Action names the Route 53 REST API action of a request (the paths
// of the 2013-04-01 API; anything else as "METHOD PATH").
func Route53Action(r *http.Request) string {
	path := strings.TrimSuffix(r.URL.Path, "/")
	get := r.Method == http.MethodGet
	switch {
	case strings.HasSuffix(path, "/rrset") && r.Method == http.MethodPost:
		return "ChangeResourceRecordSets"
	case strings.HasSuffix(path, "/rrset") && get:
		return "ListResourceRecordSets"
	case strings.Contains(path, "/tags/hostedzone/") && get:
		return "ListTagsForResource"
	case strings.HasSuffix(path, "/tags/hostedzone") && r.Method == http.MethodPost:
		return "ListTagsForResources"
	case strings.Contains(path, "/change/"):
		return "GetChange"
	case strings.HasSuffix(path, "/hostedzonesbyname") && get:
		return "ListHostedZonesByName"
	case strings.HasSuffix(path, "/hostedzone") && get:
		return "ListHostedZones"
	case strings.Contains(path, "/hostedzone/") && get:
		return "GetHostedZone"
	}
	return r.Method + " " + path
}

// Route53Client returns a Route 53 client of endpoint (e.g. Moto.URL, not a
// FaultProxy in front of it) with moto's static credentials, for tests to set
// up and check hosted zones: its requests are counted by no FaultProxy (they
// do go through the Route53Rules at Moto.URL, as on Route 53).
func Route53Client(endpoint string) *route53.Client {
	return route53.New(route53.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

// CreateHostedZone creates a public hosted zone named name through c and
// returns its id (without the /hostedzone/ prefix). Moto, like Route 53,
// allows several zones of the same name.
func CreateHostedZone(t testing.TB, c *route53.Client, name string) string {
	t.Helper()
	out, err := c.CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{
		Name: aws.String(name), CallerReference: aws.String(fmt.Sprint(time.Now().UnixNano())),
	})
	if err != nil {
		t.Fatalf("harness: creating hosted zone %s: %v", name, err)
	}
	return strings.TrimPrefix(aws.ToString(out.HostedZone.Id), "/hostedzone/")
}
