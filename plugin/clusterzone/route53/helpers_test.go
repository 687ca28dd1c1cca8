package route53

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

const testOwner = "cz-test"

// startMoto starts moto_server (harness.StartMoto) and points this
// process's AWS SDK at its fake, static credentials, away from the machine's
// AWS configuration. It returns the URL of the harness.Route53Rules in front
// of moto, which gives it Route 53's rules: every test talks to that.
func startMoto(t *testing.T) string {
	t.Helper()
	return startMotoServer(t).URL
}

func startMotoServer(t *testing.T) *harness.Moto {
	t.Helper()
	m := harness.StartMoto(t)
	for _, kv := range m.Env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return m
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

// testTable is the plugin's record table, filled by the tests.
type testTable struct{ *table.Table }

func newTestTable(zones ...string) *testTable {
	return &testTable{table.New(zones, testOwner)}
}

// set replaces what the Service key ("namespace/name") publishes.
func (t *testTable) set(key string, sets ...table.RecordSet) {
	t.Apply(table.Owner{Key: key}, sets)
}

// del removes the Service key.
func (t *testTable) del(key string) { t.Delete(key) }

// lbSet is a load balancer's record set at name with addrs; ttl 0 means no
// ttl annotation.
func lbSet(name string, ttl uint32, addrs ...string) table.RecordSet {
	rs := table.RecordSet{Name: name, TTL: ttl, TTLSet: ttl > 0, Kind: table.KindLoadBalancer}
	if ttl == 0 {
		rs.TTL = 60 // the served zone's default, which the mirror does not use
	}
	for _, a := range addrs {
		rs.External = append(rs.External, netip.MustParseAddr(a))
	}
	return rs
}

// aliasSet is the record set of a load balancer known by hostname.
func aliasSet(name, host string, dual bool) table.RecordSet {
	return table.RecordSet{Name: name, TTL: 60, Kind: table.KindLoadBalancer, DualStack: dual, Aliases: []string{host}, External: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}
}

// The Route 53 actions the tests count.
const (
	changeCall = "ChangeResourceRecordSets"
	listCall   = "ListResourceRecordSets"
)

// faultProxy is a harness.FaultProxy between the SDK and moto, with a mark:
// counts, batches and rejections are those of requests received since the
// last reset (one received before it, still in flight then, is not).
type faultProxy struct {
	*harness.FaultProxy
	mark int
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	return &faultProxy{FaultProxy: harness.StartFaultProxy(t, target)}
}

// newProxiedZone starts moto behind Route 53's rules (startMoto), creates
// the hosted zone in it and starts a fault proxy in front of it: it returns
// the rules' URL, a client straight to it (to prefill and check the zone,
// counted by no fault proxy), the zone id, and the proxy the mirror under
// test goes through (fault proxy -> rules -> moto_server).
func newProxiedZone(t *testing.T, zone string) (moto string, direct *route53.Client, id string, proxy *faultProxy) {
	t.Helper()
	moto = startMoto(t)
	direct = newTestClient(t, moto)
	id = createZone(t, direct, zone)
	return moto, direct, id, newFaultProxy(t, moto)
}

// reset starts counting afresh.
func (p *faultProxy) reset() { p.mark = p.LastSeq() }

func (p *faultProxy) since() []harness.FaultRequest {
	var out []harness.FaultRequest
	for _, r := range p.Requests() {
		if r.Seq > p.mark {
			out = append(out, r)
		}
	}
	return out
}

// counts returns the requests of action seen since reset, and how many of
// them reached moto.
func (p *faultProxy) counts(action string) (seen, forwarded int) {
	for _, r := range p.since() {
		if r.Action != action {
			continue
		}
		seen++
		if r.Outcome == harness.OutcomeForwarded || r.Outcome == harness.OutcomeLostReply {
			forwarded++
		}
	}
	return seen, forwarded
}

// sentBatches returns every change batch sent since reset, faulted or not.
func (p *faultProxy) sentBatches() [][]harness.FaultChange {
	var out [][]harness.FaultChange
	for _, r := range p.since() {
		if r.Action == changeCall {
			out = append(out, r.Changes)
		}
	}
	return out
}

// rejections describes the change batches moto answered with an error.
func (p *faultProxy) rejections() []string {
	var out []string
	for _, r := range p.since() {
		if r.Action == changeCall && r.Outcome == harness.OutcomeForwarded && r.Status/100 != 2 {
			out = append(out, fmt.Sprintf("HTTP %d for %v", r.Status, r.Changes))
		}
	}
	return out
}

// summary counts the requests since reset by action and by outcome, for logs.
func (p *faultProxy) summary() string {
	actions, outcomes := map[string]int{}, map[string]int{}
	for _, r := range p.since() {
		actions[r.Action]++
		outcomes[r.Outcome]++
	}
	return fmt.Sprintf("requests %v, outcomes %v", actions, outcomes)
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
		Zones:                []Zone{{Name: zone, ID: zoneID}},
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
