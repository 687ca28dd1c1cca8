package harness

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// FaultProxy is an HTTP reverse proxy on loopback in front of a Route 53
// endpoint (moto_server, see StartMoto) that injects the faults a Route 53
// client meets in production, and records what passes through it. Point the
// plugin's `route53 { endpoint ... }` at URL instead of at moto.
//
// Faults:
//   - Down/Up: an outage. Down closes the listening socket (new connections
//     are refused) and resets every open connection (requests in flight get
//     a TCP RST; the target may or may not have applied them, as with a real
//     outage). DownWith(FaultUnavailable) instead keeps accepting and answers
//     every request 503 ServiceUnavailable. Up listens again on the same port.
//     moto_server keeps its state (it is in memory, so stopping and starting
//     moto itself would lose the hosted zone): from the client's side a
//     proxy that is down is exactly what a Route 53 outage looks like.
//   - SetFaults(throttleShare, serverErrorShare): that share of requests is
//     answered, without reaching the target, with Route 53's throttling error
//     (HTTP 400, code Throttling, "Rate exceeded") or with HTTP 500
//     InternalFailure. SetActionFaults overrides the shares for one action.
//   - SetLostReplies(share): that share of requests is forwarded (the target
//     applies it) but the reply never reaches the client: its connection is
//     reset, as when a response is lost after Route 53 committed a change.
//   - FailNext(action, outcomes...): the next requests (of that action) get
//     exactly these outcomes, for faults that must happen rather than may.
//
// The draws are made from a random source with a fixed seed (SetSeed), so a
// given order of requests gets the same faults from run to run.
//
// Counts: Count and Counts give the requests the proxy read, per Route 53
// action (see Route53Action), faulted or not; Stats gives how many were
// forwarded and how many got each fault; Requests gives every request in
// order with its outcome and, for ChangeResourceRecordSets, its changes.
// Connections refused while the proxy is down never reach it and are not
// counted.
//
// A FaultProxy is safe for concurrent use. It is closed by t.Cleanup.
type FaultProxy struct {
	// URL is "http://127.0.0.1:PORT", the proxy's address; it is the same
	// across Down and Up.
	URL string

	addr string
	rp   *httputil.ReverseProxy
	t    testing.TB

	mu         sync.Mutex
	srv        *http.Server
	conns      map[net.Conn]struct{}
	closed     bool
	down       bool
	downMode   FaultMode
	shares     faultShares
	perAction  map[string]faultShares
	lostShare  float64
	forced     []forcedFault
	rng        *rand.Rand
	seq        int
	received   map[string]int
	stats      FaultStats
	requests   []FaultRequest
	downSince  time.Time
	downPeriod time.Duration
}

// FaultMode is how a FaultProxy that is down fails requests.
type FaultMode int

const (
	// FaultRefuse: connection refused for new connections, open connections
	// reset (TCP RST). This is what Down does.
	FaultRefuse FaultMode = iota
	// FaultUnavailable: every request is answered HTTP 503
	// ServiceUnavailable.
	FaultUnavailable
)

// Outcomes of a request, in FaultRequest.Outcome.
const (
	// OutcomeForwarded: passed to the target; Status is the target's answer
	// (502 when the target could not be reached or the client's connection
	// was reset by Down meanwhile; the target may still have applied it).
	OutcomeForwarded = "forwarded"
	// OutcomeThrottled: answered 400 Throttling by the proxy (SetFaults).
	OutcomeThrottled = "throttled"
	// OutcomePriorRequestNotComplete: answered 400 PriorRequestNotComplete
	// by the proxy, Route 53's other throttling error (FailNext only);
	// counted in FaultStats.Throttled.
	OutcomePriorRequestNotComplete = "prior_request_not_complete"
	// OutcomeServerError: answered 500 InternalFailure by the proxy (SetFaults).
	OutcomeServerError = "server_error"
	// OutcomeUnavailable: answered 503 ServiceUnavailable (DownWith(FaultUnavailable)).
	OutcomeUnavailable = "unavailable"
	// OutcomeReset: the connection was reset without forwarding (it raced
	// with Down).
	OutcomeReset = "reset"
	// OutcomeLostReply: forwarded (Status is the target's answer, which the
	// client never saw), then the connection was reset (SetLostReplies).
	OutcomeLostReply = "lost_reply"
)

// FaultChange is one change of a ChangeResourceRecordSets request.
type FaultChange struct {
	Action string   // CREATE, UPSERT or DELETE
	Name   string   // lower-case FQDN with the trailing dot; Route 53's \052 shown as '*'
	Type   string   // A, AAAA, TXT, ...
	TTL    int64    // 0 for ALIAS records
	Values []string // record values, or for an ALIAS record "ALIAS <zone id> <dns name>"
	// SetIdentifier is the record set's SetIdentifier ("" for simple
	// routing); Weight its Weight (nil when it has none).
	SetIdentifier string
	Weight        *int64
}

// String formats the change as "ACTION NAME TYPE".
func (c FaultChange) String() string { return c.Action + " " + c.Name + " " + c.Type }

// FaultRequest is one request the proxy read.
type FaultRequest struct {
	Seq     int           // 1, 2, ... in order of arrival
	Time    time.Time     // arrival
	Action  string        // Route53Action of the request
	Outcome string        // one of the Outcome constants
	Status  int           // HTTP status of the reply (the target's for forwarded and lost replies)
	Changes []FaultChange // the changes of a ChangeResourceRecordSets request, else nil
	// Took is from arrival to the reply written (or the connection reset):
	// the time the client waited on the proxy and the target.
	Took time.Duration
}

// Applied reports whether the request reached the target and the target
// accepted it (2xx), whether or not the client saw the reply.
func (r FaultRequest) Applied() bool {
	return (r.Outcome == OutcomeForwarded || r.Outcome == OutcomeLostReply) && r.Status/100 == 2
}

// FaultStats counts what a FaultProxy did.
type FaultStats struct {
	Received    int // requests read
	Forwarded   int // passed to the target (lost replies included)
	Throttled   int // answered 400 Throttling
	ServerError int // answered 500 InternalFailure
	Unavailable int // answered 503 while down in FaultUnavailable mode
	Reset       int // requests whose connection was reset without forwarding
	LostReplies int // forwarded, reply dropped, connection reset
	ConnsReset  int // open connections reset by Down
	Downs       int // calls to Down/DownWith that took the proxy down
	// DownFor is the total time the proxy has been down (so far).
	DownFor time.Duration
}

// String formats the stats on one line, for test logs.
func (s FaultStats) String() string {
	return fmt.Sprintf("received %d, forwarded %d, throttled %d, server errors %d, unavailable %d, reset %d, lost replies %d, connections reset %d, down %d times for %s",
		s.Received, s.Forwarded, s.Throttled, s.ServerError, s.Unavailable, s.Reset, s.LostReplies, s.ConnsReset, s.Downs, s.DownFor.Round(time.Millisecond))
}

type faultShares struct{ throttle, serverError float64 }

type forcedFault struct{ action, outcome string }

// StartFaultProxy starts a FaultProxy to target (e.g. Moto.URL) on a free
// loopback port, up and with no faults. It is closed by t.Cleanup.
func StartFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		t.Fatalf("harness: StartFaultProxy: bad target %q: %v", target, err)
	}
	// A port below the ephemeral range (FreePort), so that no outgoing
	// connection takes it while the proxy is down.
	port := FreePort(t)
	p := &FaultProxy{
		addr:      fmt.Sprintf("127.0.0.1:%d", port),
		t:         t,
		conns:     map[net.Conn]struct{}{},
		perAction: map[string]faultShares{},
		rng:       rand.New(rand.NewPCG(1, 2)),
		received:  map[string]int{},
	}
	p.URL = "http://" + p.addr
	p.rp = httputil.NewSingleHostReverseProxy(u)
	p.rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		// The target is unreachable or the client went away: 502, as a
		// load balancer in front of Route 53 would answer.
		w.WriteHeader(http.StatusBadGateway)
	}
	if err := p.listen(); err != nil {
		t.Fatalf("harness: StartFaultProxy: %v", err)
	}
	t.Cleanup(p.close)
	return p
}

// listen starts serving on p.addr. p.mu must not be held.
func (p *FaultProxy) listen() error {
	var l net.Listener
	err := poll(10*time.Second, func() error {
		var err error
		l, err = net.Listen("tcp", p.addr)
		return err
	})
	if err != nil {
		return fmt.Errorf("listening on %s: %w", p.addr, err)
	}
	srv := &http.Server{
		Handler:     http.HandlerFunc(p.serveHTTP),
		ReadTimeout: time.Minute,
		ConnState: func(c net.Conn, s http.ConnState) {
			p.mu.Lock()
			defer p.mu.Unlock()
			switch s {
			case http.StateNew:
				p.conns[c] = struct{}{}
			case http.StateClosed, http.StateHijacked:
				delete(p.conns, c)
			}
		},
	}
	p.mu.Lock()
	p.srv = srv
	p.mu.Unlock()
	go srv.Serve(l)
	return nil
}

func (p *FaultProxy) close() {
	p.mu.Lock()
	p.closed = true
	srv := p.srv
	p.srv = nil
	p.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Down takes the proxy down: the listening socket is closed, so new
// connections are refused, and every open connection is reset (requests in
// flight included). It is DownWith(FaultRefuse).
func (p *FaultProxy) Down() { p.DownWith(FaultRefuse) }

// DownWith takes the proxy down in the given mode (see FaultMode). Calling it
// while down switches the mode.
func (p *FaultProxy) DownWith(mode FaultMode) {
	p.mu.Lock()
	if !p.down {
		p.stats.Downs++
		p.downSince = time.Now()
	}
	p.down, p.downMode = true, mode
	var srv *http.Server
	var conns []net.Conn
	if mode == FaultRefuse && p.srv != nil {
		srv, p.srv = p.srv, nil
		for c := range p.conns {
			conns = append(conns, c)
		}
		clear(p.conns)
		p.stats.ConnsReset += len(conns)
	}
	relisten := mode == FaultUnavailable && p.srv == nil && !p.closed
	p.mu.Unlock()
	for _, c := range conns {
		resetConn(c)
	}
	if srv != nil {
		srv.Close()
	}
	if relisten {
		// From FaultRefuse to FaultUnavailable: accept connections again.
		if err := p.listen(); err != nil {
			p.t.Errorf("harness: FaultProxy.DownWith: %v", err)
		}
	}
}

// Up brings the proxy back on the same port after Down. It fails the test if
// the port cannot be bound again within 10 seconds.
func (p *FaultProxy) Up() {
	p.mu.Lock()
	if p.down {
		p.downPeriod += time.Since(p.downSince)
	}
	p.down = false
	relisten := p.srv == nil && !p.closed
	p.mu.Unlock()
	if relisten {
		if err := p.listen(); err != nil {
			p.t.Errorf("harness: FaultProxy.Up: %v", err)
		}
	}
}

// IsDown reports whether the proxy is down.
func (p *FaultProxy) IsDown() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.down
}

// SetFaults sets the share (0..1) of requests answered with Route 53's
// throttling error (HTTP 400, <Code>Throttling</Code>, "Rate exceeded") and
// the share answered with HTTP 500 InternalFailure, for every action without
// its own shares (SetActionFaults). Faulted requests never reach the target.
// SetFaults(0, 0) turns them off. Shares outside 0..1, or adding up to more
// than 1, fail the test.
func (p *FaultProxy) SetFaults(throttleShare, serverErrorShare float64) {
	p.t.Helper()
	if !p.validShares(throttleShare, serverErrorShare) {
		return
	}
	p.mu.Lock()
	p.shares = faultShares{throttleShare, serverErrorShare}
	p.mu.Unlock()
}

// SetActionFaults sets the fault shares (as SetFaults) for one Route 53
// action (e.g. "ChangeResourceRecordSets", "ListResourceRecordSets"; see
// Route53Action), overriding SetFaults for it.
func (p *FaultProxy) SetActionFaults(action string, throttleShare, serverErrorShare float64) {
	p.t.Helper()
	if !p.validShares(throttleShare, serverErrorShare) {
		return
	}
	p.mu.Lock()
	p.perAction[action] = faultShares{throttleShare, serverErrorShare}
	p.mu.Unlock()
}

func (p *FaultProxy) validShares(a, b float64) bool {
	p.t.Helper()
	if a < 0 || b < 0 || a > 1 || b > 1 || a+b > 1 {
		p.t.Errorf("harness: FaultProxy: fault shares %v and %v: each must be in 0..1 and their sum at most 1", a, b)
		return false
	}
	return true
}

// SetLostReplies sets the share (0..1) of the requests that are not faulted
// otherwise whose reply is lost: they are forwarded and applied by the
// target, then the client's connection is reset.
func (p *FaultProxy) SetLostReplies(share float64) {
	p.t.Helper()
	if share < 0 || share > 1 {
		p.t.Errorf("harness: FaultProxy.SetLostReplies: share %v not in 0..1", share)
		return
	}
	p.mu.Lock()
	p.lostShare = share
	p.mu.Unlock()
}

// SetSeed reseeds the random source that decides which requests get a fault.
func (p *FaultProxy) SetSeed(seed uint64) {
	p.mu.Lock()
	p.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	p.mu.Unlock()
}

// FailNext queues outcomes for the next requests of action ("" for any
// action), in order, one request each, ahead of the random faults:
// OutcomeThrottled, OutcomePriorRequestNotComplete, OutcomeServerError,
// OutcomeUnavailable, OutcomeReset
// (connection reset, not forwarded), OutcomeLostReply (forwarded, then the
// connection reset) or OutcomeForwarded (no fault). It makes a fault happen
// for sure, where SetFaults makes it likely. Calls add to the queue. It has
// no effect while the proxy is down.
func (p *FaultProxy) FailNext(action string, outcomes ...string) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range outcomes {
		switch o {
		case OutcomeThrottled, OutcomePriorRequestNotComplete, OutcomeServerError, OutcomeUnavailable, OutcomeReset, OutcomeLostReply, OutcomeForwarded:
			p.forced = append(p.forced, forcedFault{action, o})
		default:
			p.t.Errorf("harness: FaultProxy.FailNext: unknown outcome %q", o)
		}
	}
}

// Count returns how many requests of action (e.g.
// "ChangeResourceRecordSets") the proxy read, faulted or not.
func (p *FaultProxy) Count(action string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.received[action]
}

// Counts returns a copy of the per-action counts of Count.
func (p *FaultProxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.received))
	for k, v := range p.received {
		out[k] = v
	}
	return out
}

// Stats returns the totals of what the proxy did so far.
func (p *FaultProxy) Stats() FaultStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.DownFor = p.downPeriod
	if p.down {
		s.DownFor += time.Since(p.downSince)
	}
	return s
}

// Requests returns every request answered so far, in the order they were
// answered (a request still being forwarded is not in it yet). Take
// len(Requests()) as a mark and slice from it to look at what came after,
// or LastSeq to leave out requests received before the mark but answered
// after it.
func (p *FaultProxy) Requests() []FaultRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]FaultRequest(nil), p.requests...)
}

// LastSeq returns the Seq of the last request received (0 for none),
// answered or still being forwarded.
func (p *FaultProxy) LastSeq() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seq
}

// AppliedChanges returns the changes of the ChangeResourceRecordSets requests
// the target accepted (Applied), in order, from the request with index from
// in Requests() on.
func (p *FaultProxy) AppliedChanges(from int) []FaultChange {
	var out []FaultChange
	reqs := p.Requests()
	if from > len(reqs) {
		from = len(reqs)
	}
	for _, r := range reqs[from:] {
		if r.Action == "ChangeResourceRecordSets" && r.Applied() {
			out = append(out, r.Changes...)
		}
	}
	return out
}

// Summary returns the per-action counts, sorted, on one line, for logs.
func (p *FaultProxy) Summary() string {
	c := p.Counts()
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}

func (p *FaultProxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	action := Route53Action(r)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var changes []FaultChange
	if action == "ChangeResourceRecordSets" {
		if changes, err = parseFaultChanges(body); err != nil {
			p.t.Errorf("harness: FaultProxy: %v", err)
		}
	}

	p.mu.Lock()
	p.seq++
	req := FaultRequest{Seq: p.seq, Time: time.Now(), Action: action, Changes: changes}
	p.received[action]++
	p.stats.Received++
	sh, ok := p.perAction[action]
	if !ok {
		sh = p.shares
	}
	switch {
	case p.down && p.downMode == FaultUnavailable:
		req.Outcome = OutcomeUnavailable
		p.stats.Unavailable++
	case p.down:
		req.Outcome = OutcomeReset
		p.stats.Reset++
	case p.takeForced(action, &req):
	default:
		x := p.rng.Float64()
		switch {
		case x < sh.throttle:
			req.Outcome = OutcomeThrottled
			p.stats.Throttled++
		case x < sh.throttle+sh.serverError:
			req.Outcome = OutcomeServerError
			p.stats.ServerError++
		case p.lostShare > 0 && p.rng.Float64() < p.lostShare:
			req.Outcome = OutcomeLostReply
			p.stats.LostReplies++
			p.stats.Forwarded++
		default:
			req.Outcome = OutcomeForwarded
			p.stats.Forwarded++
		}
	}
	p.mu.Unlock()

	switch req.Outcome {
	case OutcomeUnavailable:
		req.Status = http.StatusServiceUnavailable
		writeRoute53Error(w, req.Status, "Receiver", "ServiceUnavailable", "Service Unavailable", req.Seq)
	case OutcomeThrottled:
		req.Status = http.StatusBadRequest
		writeRoute53Error(w, req.Status, "Sender", "Throttling", "Rate exceeded", req.Seq)
	case OutcomePriorRequestNotComplete:
		req.Status = http.StatusBadRequest
		writeRoute53Error(w, req.Status, "Sender", "PriorRequestNotComplete", "The request was rejected because Route 53 was still processing a prior request.", req.Seq)
	case OutcomeServerError:
		req.Status = http.StatusInternalServerError
		writeRoute53Error(w, req.Status, "Receiver", "InternalFailure", "We encountered an internal error. Please try again.", req.Seq)
	case OutcomeReset:
		hijackReset(w)
	case OutcomeLostReply:
		rec := httptest.NewRecorder()
		p.rp.ServeHTTP(rec, r)
		req.Status = rec.Code
		hijackReset(w)
	default:
		sw := &statusWriter{ResponseWriter: w}
		p.rp.ServeHTTP(sw, r)
		req.Status = sw.status
		if req.Status == 0 {
			req.Status = http.StatusOK
		}
	}

	req.Took = time.Since(req.Time)
	p.mu.Lock()
	p.requests = append(p.requests, req)
	p.mu.Unlock()
}

// takeForced applies the first FailNext outcome queued for action to req and
// counts it; it reports whether there was one. p.mu is held.
func (p *FaultProxy) takeForced(action string, req *FaultRequest) bool {
	for i, f := range p.forced {
		if f.action != "" && f.action != action {
			continue
		}
		p.forced = slices.Delete(p.forced, i, i+1)
		req.Outcome = f.outcome
		switch f.outcome {
		case OutcomeThrottled, OutcomePriorRequestNotComplete:
			p.stats.Throttled++
		case OutcomeServerError:
			p.stats.ServerError++
		case OutcomeUnavailable:
			p.stats.Unavailable++
		case OutcomeReset:
			p.stats.Reset++
		case OutcomeLostReply:
			p.stats.LostReplies++
			p.stats.Forwarded++
		case OutcomeForwarded:
			p.stats.Forwarded++
		}
		return true
	}
	return false
}

// writeRoute53Error writes an error in Route 53's REST-XML format, which the
// AWS SDK decodes into an API error with that code.
func writeRoute53Error(w http.ResponseWriter, status int, typ, code, msg string, seq int) {
	reqID := fmt.Sprintf("fault-proxy-%d", seq)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", reqID)
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		typ, code, msg, reqID)
}

// hijackReset takes the connection of w and resets it (TCP RST).
func hijackReset(w http.ResponseWriter) {
	c, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // closes the connection
	}
	resetConn(c)
}

// resetConn closes c with a TCP RST rather than a FIN.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// parseFaultChanges decodes the XML body of a ChangeResourceRecordSets
// request.
func parseFaultChanges(body []byte) ([]FaultChange, error) {
	var req struct {
		Changes []struct {
			Action string
			Set    struct {
				Name          string
				Type          string
				SetIdentifier string
				Weight        *int64
				TTL           int64
				Records       []string `xml:"ResourceRecords>ResourceRecord>Value"`
				Alias         *struct {
					HostedZoneID string `xml:"HostedZoneId"`
					DNSName      string
				} `xml:"AliasTarget"`
			} `xml:"ResourceRecordSet"`
		} `xml:"ChangeBatch>Changes>Change"`
	}
	if err := xml.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("ChangeResourceRecordSets body: %v", err)
	}
	out := make([]FaultChange, 0, len(req.Changes))
	for _, c := range req.Changes {
		name := strings.ToLower(strings.ReplaceAll(c.Set.Name, `\052`, "*"))
		if !strings.HasSuffix(name, ".") {
			name += "."
		}
		fc := FaultChange{Action: c.Action, Name: name, Type: c.Set.Type, TTL: c.Set.TTL, Values: c.Set.Records,
			SetIdentifier: c.Set.SetIdentifier, Weight: c.Set.Weight}
		if c.Set.Alias != nil {
			fc.Values = []string{"ALIAS " + c.Set.Alias.HostedZoneID + " " + c.Set.Alias.DNSName}
		}
		out = append(out, fc)
	}
	return out, nil
}
