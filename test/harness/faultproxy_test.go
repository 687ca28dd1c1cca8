package harness

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// fakeRoute53 answers every ChangeResourceRecordSets call with success and
// counts what reached it.
func fakeRoute53(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		n.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>
<ChangeResourceRecordSetsResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeInfo><Id>/change/C1</Id><Status>PENDING</Status><SubmittedAt>2020-01-01T00:00:00Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>`)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// change sends one ChangeResourceRecordSets call through endpoint, without
// retries.
func change(endpoint string) error {
	c := route53.New(route53.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String("Z1"),
		ChangeBatch: &types.ChangeBatch{Changes: []types.Change{
			{Action: types.ChangeActionCreate, ResourceRecordSet: &types.ResourceRecordSet{
				Name: aws.String(`\052.Apps.example.org.`), Type: types.RRTypeA, TTL: aws.Int64(60),
				ResourceRecords: []types.ResourceRecord{{Value: aws.String("192.0.2.1")}},
			}},
			{Action: types.ChangeActionDelete, ResourceRecordSet: &types.ResourceRecordSet{
				Name: aws.String("nlb.example.org"), Type: types.RRTypeAaaa,
				AliasTarget: &types.AliasTarget{HostedZoneId: aws.String("Z26RNL4JYFTOTI"), DNSName: aws.String("x.elb.us-east-1.amazonaws.com")},
			}},
		}},
	})
	return err
}

func apiCode(err error) (string, int) {
	var ae smithy.APIError
	var re *smithyhttp.ResponseError
	code, status := "", 0
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}

func TestFaultProxy(t *testing.T) {
	target, reached := fakeRoute53(t)
	p := StartFaultProxy(t, target.URL)

	if err := change(p.URL); err != nil {
		t.Fatalf("through a healthy proxy: %v", err)
	}
	reqs := p.Requests()
	if len(reqs) != 1 || reqs[0].Outcome != OutcomeForwarded || reqs[0].Status != 200 || !reqs[0].Applied() {
		t.Fatalf("requests %+v", reqs)
	}
	got := []string{}
	for _, c := range reqs[0].Changes {
		got = append(got, c.String()+" "+strings.Join(c.Values, ","))
	}
	want := "CREATE *.apps.example.org. A 192.0.2.1|DELETE nlb.example.org. AAAA ALIAS Z26RNL4JYFTOTI x.elb.us-east-1.amazonaws.com"
	if strings.Join(got, "|") != want {
		t.Errorf("changes %q, want %q", strings.Join(got, "|"), want)
	}

	// Random faults at 100%: Route 53's throttling error, then a 500.
	p.SetFaults(1, 0)
	if code, status := apiCode(change(p.URL)); code != "Throttling" || status != 400 {
		t.Errorf("throttled: code %q status %d, want Throttling 400", code, status)
	}
	p.SetFaults(0, 1)
	if code, status := apiCode(change(p.URL)); code != "InternalFailure" || status != 500 {
		t.Errorf("server error: code %q status %d, want InternalFailure 500", code, status)
	}
	p.SetFaults(0, 0)
	p.FailNext("ChangeResourceRecordSets", OutcomePriorRequestNotComplete)
	if code, status := apiCode(change(p.URL)); code != "PriorRequestNotComplete" || status != 400 {
		t.Errorf("forced PriorRequestNotComplete: code %q status %d, want PriorRequestNotComplete 400", code, status)
	}

	// Forced: a lost reply reaches the target, the client sees a reset.
	before := reached.Load()
	p.FailNext("ListResourceRecordSets", OutcomeThrottled) // another action: not used here
	p.FailNext("ChangeResourceRecordSets", OutcomeLostReply)
	if err := change(p.URL); err == nil || !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "EOF") {
		t.Errorf("lost reply: err %v, want a connection reset", err)
	}
	if reached.Load() != before+1 {
		t.Errorf("lost reply: the target got %d requests, want 1", reached.Load()-before)
	}
	if err := change(p.URL); err != nil {
		t.Errorf("after the forced fault: %v", err)
	}

	// Down: refused; Up: back on the same URL.
	p.Down()
	if err := change(p.URL); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("down: err %v, want connection refused", err)
	}
	p.DownWith(FaultUnavailable)
	if code, status := apiCode(change(p.URL)); code != "ServiceUnavailable" || status != 503 {
		t.Errorf("unavailable: code %q status %d, want ServiceUnavailable 503", code, status)
	}
	p.Up()
	if err := change(p.URL); err != nil {
		t.Errorf("up again: %v", err)
	}

	st := p.Stats()
	if st.Throttled != 2 || st.ServerError != 1 || st.LostReplies != 1 || st.Unavailable != 1 || st.Downs != 1 || st.Forwarded != 4 {
		t.Errorf("stats: %s", st)
	}
	if n := p.Count("ChangeResourceRecordSets"); n != 8 {
		t.Errorf("Count(ChangeResourceRecordSets) = %d, want 8 (the refused one never arrived)", n)
	}
	if n := len(p.AppliedChanges(0)); n != 8 {
		t.Errorf("%d applied changes, want 8 (4 requests of 2)", n)
	}
	t.Logf("%s; %s", st, p.Summary())
}

func TestRoute53Action(t *testing.T) {
	for _, c := range []struct{ method, path, want string }{
		{"POST", "/2013-04-01/hostedzone/Z1/rrset/", "ChangeResourceRecordSets"},
		{"GET", "/2013-04-01/hostedzone/Z1/rrset", "ListResourceRecordSets"},
		{"GET", "/2013-04-01/hostedzone", "ListHostedZones"},
		{"GET", "/2013-04-01/hostedzonesbyname", "ListHostedZonesByName"},
		{"GET", "/2013-04-01/hostedzone/Z1", "GetHostedZone"},
		{"GET", "/2013-04-01/tags/hostedzone/Z1", "ListTagsForResource"},
		{"POST", "/2013-04-01/tags/hostedzone", "ListTagsForResources"},
		{"GET", "/2013-04-01/change/C1", "GetChange"},
		{"DELETE", "/2013-04-01/hostedzone/Z1", "DELETE /2013-04-01/hostedzone/Z1"},
	} {
		r := httptest.NewRequest(c.method, "http://127.0.0.1"+c.path, nil)
		if got := Route53Action(r); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.method, c.path, got, c.want)
		}
	}
}

func TestParseFaultChangesRouting(t *testing.T) {
	body := `<?xml version="1.0" encoding="UTF-8"?>
<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes>
<Change><Action>UPSERT</Action><ResourceRecordSet><Name>web.example.org</Name><Type>A</Type><SetIdentifier>cluster-a</SetIdentifier><Weight>0</Weight><TTL>300</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>
<Change><Action>CREATE</Action><ResourceRecordSet><Name>simple.example.org.</Name><Type>A</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.2</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>
</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`
	got, err := parseFaultChanges([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d changes, want 2: %+v", len(got), got)
	}
	if got[0].SetIdentifier != "cluster-a" || got[0].Weight == nil || *got[0].Weight != 0 || got[0].Name != "web.example.org." {
		t.Errorf("weighted change: %+v", got[0])
	}
	if got[1].SetIdentifier != "" || got[1].Weight != nil {
		t.Errorf("simple change: %+v", got[1])
	}
}
