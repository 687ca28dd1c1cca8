package route53

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

const testOwner = "cz-test"

// startMoto starts a moto_server on a free loopback port for the test and
// returns its URL. The AWS SDK is pointed at static fake credentials and
// kept away from the machine's AWS configuration.
func startMoto(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("moto_server is not on PATH (%v): install it: pip install 'moto[server]'", err)
	}
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	if os.Getenv("AWS_PROFILE") != "" {
		t.Setenv("AWS_PROFILE", "default")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	for attempt := 0; attempt < 3; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("moto-%d.log", attempt)))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
		cmd.Stdout, cmd.Stderr = logf, logf
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "AWS_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting moto_server: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				deadline = time.Time{}
				continue
			default:
			}
			resp, err := http.Get(base + "/moto-api/")
			if err == nil {
				resp.Body.Close()
				t.Cleanup(func() {
					cmd.Process.Kill()
					<-exited
					logf.Close()
					if t.Failed() {
						b, _ := os.ReadFile(logf.Name())
						if len(b) > 4000 {
							b = b[len(b)-4000:]
						}
						t.Logf("moto_server log (end):\n%s", b)
					}
				})
				return base
			}
			time.Sleep(100 * time.Millisecond)
		}
		cmd.Process.Kill()
		<-exited
		logf.Close()
		b, _ := os.ReadFile(logf.Name())
		t.Logf("moto_server on port %d did not come up: %s", port, b)
	}
	t.Fatalf("moto_server did not start")
	return ""
}

// newTestClient returns a client through NewClient pointed at endpoint.
func newTestClient(t *testing.T, endpoint string) *route53.Client {
	t.Helper()
	c, err := NewClient(context.Background(), Config{Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// createZone creates a hosted zone and returns its id.
func createZone(t *testing.T, c *route53.Client, name string) string {
	t.Helper()
	out, err := c.CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{
		Name:            aws.String(name),
		CallerReference: aws.String(fmt.Sprintf("%s-%d", name, time.Now().UnixNano())),
	})
	if err != nil {
		t.Fatalf("creating zone %s: %v", name, err)
	}
	return strings.TrimPrefix(aws.ToString(out.HostedZone.Id), "/hostedzone/")
}

// prefill writes record sets with CREATE, straight to moto.
func prefill(t *testing.T, c *route53.Client, zoneID string, sets ...types.ResourceRecordSet) {
	t.Helper()
	var changes []types.Change
	for i := range sets {
		changes = append(changes, types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: &sets[i]})
	}
	_, err := c.ChangeResourceRecordSets(context.Background(), &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zoneID),
		ChangeBatch:  &types.ChangeBatch{Changes: changes},
	})
	if err != nil {
		t.Fatalf("prefill: %v", err)
	}
}

func aRecord(name, typ string, ttl int64, values ...string) types.ResourceRecordSet {
	rs := types.ResourceRecordSet{Name: aws.String(name), Type: types.RRType(typ), TTL: aws.Int64(ttl)}
	for _, v := range values {
		rs.ResourceRecords = append(rs.ResourceRecords, types.ResourceRecord{Value: aws.String(v)})
	}
	return rs
}

func txtRecord(name, owner, resource string) types.ResourceRecordSet {
	return aRecord(name, "TXT", 300, fmt.Sprintf(`"heritage=external-dns,external-dns/owner=%s,external-dns/resource=%s"`, owner, resource))
}

// listZone returns every record set of the zone, straight from moto.
func listZone(t *testing.T, c *route53.Client, zoneID string) map[rrKey]types.ResourceRecordSet {
	t.Helper()
	out := map[rrKey]types.ResourceRecordSet{}
	p := route53.NewListResourceRecordSetsPaginator(c, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID), MaxItems: aws.Int32(300)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("listing: %v", err)
		}
		for _, rs := range page.ResourceRecordSets {
			k := rrKey{unescapeName(aws.ToString(rs.Name)), string(rs.Type)}
			if _, dup := out[k]; dup {
				t.Errorf("record set %v listed twice", k)
			}
			out[k] = rs
		}
	}
	return out
}

func values(rs types.ResourceRecordSet) []string {
	var out []string
	for _, rr := range rs.ResourceRecords {
		out = append(out, aws.ToString(rr.Value))
	}
	slices.Sort(out)
	return out
}

// fakeSource is a record table in a map.
type fakeSource struct {
	mu  sync.Mutex
	eps map[rrKey]Endpoint
}

func newFakeSource(eps ...Endpoint) *fakeSource {
	s := &fakeSource{eps: map[rrKey]Endpoint{}}
	s.set(eps...)
	return s
}

func (s *fakeSource) set(eps ...Endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ep := range eps {
		s.eps[rrKey{ep.Name, ep.Type}] = ep
	}
}

func (s *fakeSource) del(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.eps {
		if k.name == name {
			delete(s.eps, k)
		}
	}
}

func (s *fakeSource) Endpoints(zone string) []Endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Endpoint
	for k, ep := range s.eps {
		if k.name == zone || strings.HasSuffix(k.name, "."+zone) {
			out = append(out, ep)
		}
	}
	return out
}

func (s *fakeSource) EndpointsAt(names []string) []Endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Endpoint
	for k, ep := range s.eps {
		if slices.Contains(names, k.name) {
			out = append(out, ep)
		}
	}
	return out
}

// sentChange is one change of a ChangeResourceRecordSets call the proxy saw.
type sentChange struct {
	Action string   `xml:"Action"`
	Name   string   `xml:"ResourceRecordSet>Name"`
	Type   string   `xml:"ResourceRecordSet>Type"`
	Values []string `xml:"ResourceRecordSet>ResourceRecords>ResourceRecord>Value"`
}

type changeRequest struct {
	Changes []sentChange `xml:"ChangeBatch>Changes>Change"`
}

var rrsetPath = regexp.MustCompile(`^/2013-04-01/hostedzone/[^/]+/rrset/?$`)

// faultProxy sits between the SDK and moto: it counts requests by action,
// keeps the change batches, and answers a share of the requests with Route
// 53's throttling errors or HTTP 500 instead of forwarding them.
type faultProxy struct {
	srv   *httptest.Server
	proxy *httputil.ReverseProxy

	mu          sync.Mutex
	throttle    float64 // share answered 400 Throttling / PriorRequestNotComplete
	serverError float64 // share answered 500
	lost        float64 // share of change batches applied by moto whose answer is replaced by a 500
	throttleAcc float64
	serverAcc   float64
	lostAcc     float64
	throttleN   int
	requests    map[string]int
	forwarded   map[string]int
	faults      map[string]int
	batches     [][]sentChange // every change batch sent (forwarded or not)
	rejected    []string       // error responses moto gave to forwarded change batches
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{
		proxy:     httputil.NewSingleHostReverseProxy(u),
		requests:  map[string]int{},
		forwarded: map[string]int{},
		faults:    map[string]int{},
	}
	p.srv = httptest.NewServer(p) // loopback
	t.Cleanup(p.srv.Close)
	return p
}

func (p *faultProxy) URL() string { return p.srv.URL }

func (p *faultProxy) setFaults(throttle, serverError float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.throttle, p.serverError = throttle, serverError
	// Start just short of a throttling fault, so the next request gets one,
	// and the first server error comes soon after.
	p.throttleAcc, p.serverAcc = 0, 0
	if throttle > 0 {
		p.throttleAcc = 1 - throttle + 1e-9
	}
	if serverError > 0 {
		p.serverAcc = 1 - 2*serverError + 1e-9
	}
}

// setLost makes a share of the forwarded change batches lose their answer:
// moto applies them, the client gets HTTP 500 (and retries).
func (p *faultProxy) setLost(share float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lost, p.lostAcc = share, 0
	if share > 0 {
		p.lostAcc = 1 - share
	}
}

func (p *faultProxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests, p.forwarded, p.faults = map[string]int{}, map[string]int{}, map[string]int{}
	p.batches, p.rejected = nil, nil
}

// counts returns the requests seen and forwarded for action ("change",
// "list", "other").
func (p *faultProxy) counts(action string) (seen, forwarded int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests[action], p.forwarded[action]
}

func (p *faultProxy) summary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("ChangeResourceRecordSets %d (%d reached moto), ListResourceRecordSets %d (%d reached moto), other %d; faults injected: %v; change batches rejected by moto: %d",
		p.requests["change"], p.forwarded["change"], p.requests["list"], p.forwarded["list"], p.requests["other"], p.faults, len(p.rejected))
}

func (p *faultProxy) sentBatches() [][]sentChange {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.batches)
}

func (p *faultProxy) rejections() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.rejected)
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	action := "other"
	if rrsetPath.MatchString(r.URL.Path) {
		switch r.Method {
		case http.MethodPost:
			action = "change"
		case http.MethodGet:
			action = "list"
		}
	}
	if action == "change" {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var req changeRequest
		if err := xml.Unmarshal(body, &req); err == nil {
			p.mu.Lock()
			p.batches = append(p.batches, req.Changes)
			p.mu.Unlock()
		}
	}
	p.mu.Lock()
	p.requests[action]++
	fault := ""
	if action != "other" {
		// Exact shares, spread evenly (and the first request faulted), so
		// that even a sync of a few requests meets every fault.
		p.throttleAcc += p.throttle
		p.serverAcc += p.serverError
		switch {
		case p.throttleAcc >= 1:
			p.throttleAcc--
			p.throttleN++
			fault = "Throttling"
			if p.throttleN%2 == 0 {
				fault = "PriorRequestNotComplete"
			}
		case p.serverAcc >= 1:
			p.serverAcc--
			fault = "500"
		}
	}
	if fault != "" {
		p.faults[fault]++
	} else {
		p.forwarded[action]++
	}
	p.mu.Unlock()

	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", "fault-injected")
	switch fault {
	case "Throttling":
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `<?xml version="1.0"?>
<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>fault-injected</RequestId></ErrorResponse>`)
		return
	case "PriorRequestNotComplete":
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `<?xml version="1.0"?>
<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>PriorRequestNotComplete</Code><Message>The request was rejected because Route 53 was still processing a prior request.</Message></Error><RequestId>fault-injected</RequestId></ErrorResponse>`)
		return
	case "500":
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `<?xml version="1.0"?>
<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>We encountered an internal error. Please try again.</Message></Error><RequestId>fault-injected</RequestId></ErrorResponse>`)
		return
	}
	if action != "change" {
		p.proxy.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	p.proxy.ServeHTTP(rec, r)
	p.mu.Lock()
	if rec.Code >= 400 {
		p.rejected = append(p.rejected, rec.Body.String())
	}
	lost := false
	if rec.Code == http.StatusOK && p.lost > 0 {
		if p.lostAcc += p.lost; p.lostAcc >= 1 {
			p.lostAcc--
			p.faults["lost answer"]++
			lost = true
		}
	}
	p.mu.Unlock()
	if lost {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `<?xml version="1.0"?>
<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>We encountered an internal error. Please try again.</Message></Error><RequestId>fault-injected</RequestId></ErrorResponse>`)
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// syncedSince reports whether zone had a successful sync after since.
func syncedSince(zone string, since time.Time) func() bool {
	return func() bool {
		return metricValue(lastSync.WithLabelValues(zone)) >= float64(since.UnixNano())/1e9
	}
}

// runMirror runs m until the test ends (or stop is called) and returns stop.
func runMirror(t *testing.T, m *Mirror) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Errorf("Run did not return after its context was cancelled")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// testConfig is a mirror configuration for one zone behind endpoint.
func testConfig(zone, zoneID, endpoint, policy string) Config {
	return Config{
		Zones:                map[string]string{zone: zoneID},
		Endpoint:             endpoint,
		Policy:               policy,
		Interval:             time.Hour,
		Debounce:             20 * time.Millisecond,
		OwnerID:              testOwner,
		EvaluateTargetHealth: true,
		RateLimit:            50,
	}
}

// metricValue reads a gauge or counter.
func metricValue(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return 0
	}
	if m.Gauge != nil {
		return m.GetGauge().GetValue()
	}
	return m.GetCounter().GetValue()
}
