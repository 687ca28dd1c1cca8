package harness

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Route53Rules is an HTTP proxy on loopback in front of moto_server that
// gives its Route 53 API the rules of the real Route 53 where moto is lax:
// where routing policies live, and in how a change batch is applied.
// StartMoto starts one in front of every moto_server, and Moto.URL is its
// URL: every client of Moto.URL (the plugin, ExternalDNS, a FaultProxy in
// front of it, tests checking the zone) goes through it.
//
// ChangeResourceRecordSets (POST /2013-04-01/hostedzone/ID/rrset) is checked
// against the zone as it is, as a whole, and either applied whole or
// rejected whole, as Route 53 does:
//   - record sets are keyed by (name, type, set identifier), names compared
//     case-insensitively, with or without the trailing dot, \DDD escapes
//     decoded (Route 53 answers names lower-case, '*' as \052);
//   - CREATE of an existing key, DELETE of a missing key or with other values
//     (TTL, records, alias target, routing fields, health check) are
//     rejected;
//   - UPSERT creates or replaces;
//   - at one (name, type) there is either one record set without a set
//     identifier or only record sets with one, all of one routing policy
//     (weighted, latency, failover, geolocation, geoproximity, multivalue
//     answer, IP-based); at most one PRIMARY and one SECONDARY failover set;
//   - a CNAME record set shares its name with no other record set (CNAME
//     sets of one routing policy aside) and is not at the zone apex;
//   - a set identifier needs exactly one routing policy and a routing policy
//     needs a set identifier; Failover is PRIMARY or SECONDARY; Weight is
//     0..255; exactly one of AliasTarget, TTL with ResourceRecords, or
//     TrafficPolicyInstanceId; the name is in the zone; at most 1000
//     ResourceRecord elements (UPSERT counting twice); one key is changed at
//     most once in a batch, DELETE followed by CREATE or UPSERT aside;
//   - an ALIAS to a record of the same hosted zone (its HostedZoneId is the
//     zone's) targets a name in the zone that holds a record set of the
//     ALIAS's type, there already or made earlier in the batch (Route 53
//     checks the changes in order: "Tried to create an alias that targets
//     ..., but that target was not found").
//
// Rejections are answered as Route 53 answers them: a batch that does not fit
// the zone with HTTP 400 and an <InvalidChangeBatch><Messages> body (the SDK
// returns *types.InvalidChangeBatch with one message per problem), a change
// that is malformed in itself with HTTP 400 ErrorResponse InvalidInput.
//
// Atomicity: the proxy holds a lock per hosted zone; a change batch holds it
// exclusively from its validation until moto holds the new state, and
// ListResourceRecordSets holds it shared while moto answers. A List therefore
// sees a batch entirely or not at all.
//
// Application on moto: moto's DELETE with a set identifier removes every
// record set of the zone with that identifier, its DELETE without one every
// record set with the name and type, and its CREATE checks against a journal
// rather than the zone. So the proxy does not forward the client's batch: it
// keeps the zone's record sets (read from moto when it first sees the zone),
// computes the zone after the batch, and sends moto an equivalent batch that
// its semantics apply exactly: DELETE of the keys that go, first, then
// UPSERT of the keys that are new or change and of every record set moto's
// DELETEs take along although it stays. With Verify on (the default) it then
// lists the zone from moto and compares it with the expected zone; a
// difference is repaired and fails the test (Mismatches has them).
//
// Listing: ListResourceRecordSets is answered from moto's listing, with
// Route 53's paging, and with the fields moto drops (geoproximity, IP-based
// routing, traffic policy instance) put back from the proxy's record sets,
// so that clients read back what Route 53 would hold.
//
// Everything else (GetChange, hosted zones, tags) is passed through. The proxy is closed by t.Cleanup.
type Route53Rules struct {
	// URL is "http://127.0.0.1:PORT".
	URL string

	t      testing.TB
	target *url.URL
	rp     *httputil.ReverseProxy
	hc     *http.Client
	srv    *http.Server
	wg     sync.WaitGroup

	mu         sync.Mutex
	zones      map[string]*rulesZone
	verify     bool
	closed     bool
	stats      Route53RulesStats
	mismatches []string
	rejected   []Route53Rejection
}

// Route53RulesStats counts what a Route53Rules did.
type Route53RulesStats struct {
	Batches  int // ChangeResourceRecordSets requests read
	Applied  int // batches applied
	Rejected int // batches rejected by the rules (InvalidChangeBatch or InvalidInput)
	MotoErr  int // batches moto rejected although the rules accepted them
	Calls    int // ChangeResourceRecordSets calls sent to moto
	Lists    int // ListResourceRecordSets requests passed through
	Verified int // batches after which moto's zone was compared with the expected one
	Repairs  int // times moto's zone differed from the expected one and was repaired
}

// Route53Rejection is a batch the rules rejected.
type Route53Rejection struct {
	ZoneID   string
	Code     string   // InvalidChangeBatch or InvalidInput
	Messages []string // the error messages
	Changes  []string // the batch, one "ACTION NAME TYPE [SetIdentifier]" per change
}

type rulesZone struct {
	lock   sync.RWMutex // held exclusively by a batch, shared by a List
	loaded bool
	id     string            // hosted zone id, without /hostedzone/
	name   string            // canonical zone name
	sets   map[rrsKey]rrsEnt // the zone's record sets, as moto holds them

	listMu  sync.Mutex
	listing []r53Set // moto's listing of the zone as it is, in Route 53's order; nil: not read yet
}

// rrsKey identifies a record set as Route 53 does.
type rrsKey struct{ name, typ, id string }

// rrsEnt is a record set: set is its form on the wire, as moto holds it.
type rrsEnt struct{ set r53Set }

// StartRoute53Rules starts a Route53Rules in front of motoURL (moto_server,
// not a proxy) on a free loopback port. StartMoto calls it. Verify is on,
// but for a benchmark (t is a *testing.B), where its listings would weigh
// in the measured times.
func StartRoute53Rules(t testing.TB, motoURL string) *Route53Rules {
	t.Helper()
	u, err := url.Parse(motoURL)
	if err != nil || u.Host == "" {
		t.Fatalf("harness: StartRoute53Rules: bad moto URL %q: %v", motoURL, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("harness: StartRoute53Rules: %v", err)
	}
	r := &Route53Rules{
		URL:    "http://" + l.Addr().String(),
		t:      t,
		target: u,
		rp:     httputil.NewSingleHostReverseProxy(u),
		hc:     &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 16}},
		zones:  map[string]*rulesZone{},
	}
	_, bench := t.(*testing.B)
	r.verify = !bench
	r.rp.ErrorHandler = func(w http.ResponseWriter, req *http.Request, err error) {
		w.WriteHeader(http.StatusBadGateway)
	}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serveHTTP), ReadTimeout: time.Minute}
	go r.srv.Serve(l)
	t.Cleanup(r.close)
	return r
}

func (r *Route53Rules) close() {
	r.srv.Close()
	r.wg.Wait()
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
}

// SetVerify turns on or off the comparison of moto's zone with the expected
// one after every batch (on by default). It costs a listing of the zone per
// batch; benchmarks turn it off.
func (r *Route53Rules) SetVerify(on bool) {
	r.mu.Lock()
	r.verify = on
	r.mu.Unlock()
}

// Stats returns what the proxy did so far.
func (r *Route53Rules) Stats() Route53RulesStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Rejections returns the batches the rules rejected, in order.
func (r *Route53Rules) Rejections() []Route53Rejection {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.rejected)
}

// Mismatches returns the differences found between moto's zone and the
// expected one after a batch (each also failed the test); none is expected.
func (r *Route53Rules) Mismatches() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.mismatches)
}

// Check lists zoneID from moto and compares it with the zone the rules
// expect; it returns the differences, none when moto is right.
func (r *Route53Rules) Check(zoneID string) ([]string, error) {
	z, err := r.zone(zoneID)
	if err != nil {
		return nil, err
	}
	z.lock.Lock()
	defer z.lock.Unlock()
	if err := r.load(zoneID, z); err != nil {
		return nil, err
	}
	listed, err := r.listMoto(zoneID)
	if err != nil {
		return nil, err
	}
	return diffZone(z.sets, listed), nil
}

func (r *Route53Rules) serveHTTP(w http.ResponseWriter, req *http.Request) {
	r.wg.Add(1)
	defer r.wg.Done()
	path := strings.TrimSuffix(req.URL.Path, "/")
	id, rest := hostedZonePath(path)
	switch {
	case id != "" && rest == "/rrset" && req.Method == http.MethodPost:
		r.change(w, req, id)
	case id != "" && rest == "/rrset" && req.Method == http.MethodGet:
		z, err := r.zone(id)
		if err != nil {
			r.rp.ServeHTTP(w, req)
			return
		}
		z.lock.RLock()
		defer z.lock.RUnlock()
		r.mu.Lock()
		r.stats.Lists++
		r.mu.Unlock()
		r.list(w, req, id, z)
	case id != "" && rest == "" && req.Method == http.MethodDelete:
		// DeleteHostedZone: forget the zone once moto answers.
		z, err := r.zone(id)
		if err == nil {
			z.lock.Lock()
			defer z.lock.Unlock()
		}
		r.rp.ServeHTTP(w, req)
		if err == nil {
			z.loaded = false
		}
	default:
		r.rp.ServeHTTP(w, req)
	}
}

// hostedZonePath splits "/2013-04-01/hostedzone/ID/rest" into ID and "/rest".
func hostedZonePath(path string) (id, rest string) {
	const p = "/2013-04-01/hostedzone/"
	if !strings.HasPrefix(path, p) {
		return "", ""
	}
	id, rest, _ = strings.Cut(path[len(p):], "/")
	if rest != "" {
		rest = "/" + rest
	}
	return id, rest
}

func (r *Route53Rules) zone(id string) (*rulesZone, error) {
	if id == "" {
		return nil, errors.New("no hosted zone id")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	z, ok := r.zones[id]
	if !ok {
		z = &rulesZone{id: strings.TrimPrefix(id, "/hostedzone/")}
		r.zones[id] = z
	}
	return z, nil
}

// load reads the zone from moto if the proxy does not know it yet. z.lock is
// held exclusively.
func (r *Route53Rules) load(id string, z *rulesZone) error {
	if z.loaded {
		return nil
	}
	var hz struct {
		Name string `xml:"HostedZone>Name"`
	}
	status, body, err := r.motoCall(http.MethodGet, "/2013-04-01/hostedzone/"+id, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return &motoError{status, body}
	}
	if err := xml.Unmarshal(body, &hz); err != nil {
		return fmt.Errorf("GetHostedZone %s: %v", id, err)
	}
	listed, err := r.listMoto(id)
	if err != nil {
		return err
	}
	z.name = canonName(hz.Name)
	z.sets = map[rrsKey]rrsEnt{}
	for _, s := range listed {
		z.sets[s.key()] = rrsEnt{s}
	}
	z.setListing(append([]r53Set{}, listed...))
	z.loaded = true
	return nil
}

// motoError is a non-2xx answer of moto, passed on to the client as is.
type motoError struct {
	status int
	body   []byte
}

func (e *motoError) Error() string { return fmt.Sprintf("moto: HTTP %d: %s", e.status, e.body) }

// motoCall sends one request straight to moto, not tied to any client's
// request (a batch is carried through even when its client goes away).
func (r *Route53Rules) motoCall(method, path string, body []byte) (int, []byte, error) {
	u := *r.target
	u.Path = path
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, u.String(), rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/xml")
	}
	// moto tells the service from the credential scope.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/route53/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := r.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// listMoto returns every record set of zone id as moto lists it.
func (r *Route53Rules) listMoto(id string) ([]r53Set, error) {
	var out []r53Set
	q := url.Values{"maxitems": {"1000000"}}
	for {
		u := *r.target
		u.Path = "/2013-04-01/hostedzone/" + id + "/rrset"
		u.RawQuery = q.Encode()
		status, body, err := r.motoGet(u.String())
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK {
			return nil, &motoError{status, body}
		}
		var page struct {
			Sets      []r53Set `xml:"ResourceRecordSets>ResourceRecordSet"`
			Truncated bool     `xml:"IsTruncated"`
			NextName  string   `xml:"NextRecordName"`
			NextType  string   `xml:"NextRecordType"`
		}
		if err := xml.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("ListResourceRecordSets %s: %v", id, err)
		}
		for _, s := range page.Sets {
			if s.AliasTarget != nil && s.TTL != nil && *s.TTL == 0 {
				s.TTL = nil // moto lists alias record sets with TTL 0, Route 53 without
			}
			out = append(out, s)
		}
		if !page.Truncated {
			return out, nil
		}
		q.Set("name", page.NextName)
		q.Set("type", page.NextType)
	}
}

func (r *Route53Rules) motoGet(u string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/route53/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := r.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// change handles ChangeResourceRecordSets.
func (r *Route53Rules) change(w http.ResponseWriter, req *http.Request, id string) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.stats.Batches++
	seq := r.stats.Batches
	r.mu.Unlock()
	var in struct {
		Changes []r53Change `xml:"ChangeBatch>Changes>Change"`
	}
	if err := xml.Unmarshal(body, &in); err != nil {
		writeRoute53Error(w, http.StatusBadRequest, "Sender", "MalformedXML", xmlEscape(err.Error()), seq)
		return
	}
	z, _ := r.zone(id)
	z.lock.Lock()
	defer z.lock.Unlock()
	if err := r.load(id, z); err != nil {
		var me *motoError
		if errors.As(err, &me) {
			// NoSuchHostedZone and the like: moto's answer.
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(me.status)
			w.Write(me.body)
			return
		}
		writeRoute53Error(w, http.StatusInternalServerError, "Receiver", "InternalFailure", xmlEscape(err.Error()), seq)
		return
	}

	after, code, msgs := validateBatch(z, in.Changes)
	if code != "" {
		r.mu.Lock()
		r.stats.Rejected++
		rej := Route53Rejection{ZoneID: id, Code: code, Messages: msgs}
		for _, c := range in.Changes {
			rej.Changes = append(rej.Changes, c.String())
		}
		r.rejected = append(r.rejected, rej)
		if !r.closed {
			shown := rej.Changes
			if len(shown) > 20 {
				shown = append(slices.Clone(shown[:20]), fmt.Sprintf("... %d more", len(rej.Changes)-20))
			}
			r.t.Logf("harness: Route53Rules: zone %s: rejected %s %q for the batch %q", id, code, msgs, shown)
		}
		r.mu.Unlock()
		reqID := fmt.Sprintf("route53-rules-%d", seq)
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Set("X-Amzn-Requestid", reqID)
		w.WriteHeader(http.StatusBadRequest)
		if code == "InvalidChangeBatch" {
			var b strings.Builder
			b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<InvalidChangeBatch xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Messages>`)
			for _, m := range msgs {
				b.WriteString("<Message>" + xmlEscape(m) + "</Message>")
			}
			b.WriteString("</Messages><RequestId>" + reqID + "</RequestId></InvalidChangeBatch>")
			io.WriteString(w, b.String())
			return
		}
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			code, xmlEscape(msgs[0]), reqID)
		return
	}

	status, respBody, err := r.apply(id, z, after)
	if err != nil {
		r.mu.Lock()
		r.stats.MotoErr++
		r.mu.Unlock()
		var me *motoError
		if errors.As(err, &me) {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(me.status)
			w.Write(me.body)
			return
		}
		writeRoute53Error(w, http.StatusInternalServerError, "Receiver", "InternalFailure", xmlEscape(err.Error()), seq)
		return
	}
	r.mu.Lock()
	r.stats.Applied++
	r.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	w.Write(respBody)
}

// apply makes moto hold after as zone z (which it holds as z.sets) and
// records it in z. On an error, moto is put back to z.sets.
func (r *Route53Rules) apply(id string, z *rulesZone, after map[rrsKey]rrsEnt) (int, []byte, error) {
	z.setListing(nil)
	calls := planMoto(z.sets, after)
	var status int
	var body []byte
	for i, c := range calls {
		r.mu.Lock()
		r.stats.Calls++
		r.mu.Unlock()
		var err error
		status, body, err = r.motoCall(http.MethodPost, "/2013-04-01/hostedzone/"+id+"/rrset", renderBatch(c))
		if err == nil && status/100 != 2 {
			err = &motoError{status, body}
		}
		if err != nil {
			// moto may have applied part of the batch (it applies a call
			// change by change) or of the calls: put it back.
			r.repair(id, z, z.sets, fmt.Sprintf("after moto failed call %d of %d (%v)", i+1, len(calls), err))
			return 0, nil, err
		}
	}
	if len(calls) == 0 {
		// Nothing changes (UPSERTs of what is there, a DELETE and CREATE of
		// the same): Route 53 accepts it all the same. moto answers every
		// change with this id and GetChange with INSYNC for any id.
		status = http.StatusOK
		body = []byte(xml.Header + `<ChangeResourceRecordSetsResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeInfo><Id>/change/C2682N5HXP0BZ4</Id><Status>INSYNC</Status><SubmittedAt>` +
			time.Now().UTC().Format(time.RFC3339) + `</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>`)
	}
	z.sets = after
	r.mu.Lock()
	verify := r.verify
	r.mu.Unlock()
	if verify {
		r.mu.Lock()
		r.stats.Verified++
		r.mu.Unlock()
		r.repair(id, z, after, "after a batch")
	}
	return status, body, nil
}

// repair lists zone id from moto and, where it differs from want, makes it
// equal; a difference found with why "after a batch" is a harness bug and
// fails the test.
func (r *Route53Rules) repair(id string, z *rulesZone, want map[rrsKey]rrsEnt, why string) {
	for attempt := 0; attempt < 3; attempt++ {
		listed, err := r.listMoto(id)
		if err != nil {
			r.fail(fmt.Sprintf("zone %s: listing moto %s: %v", id, why, err))
			return
		}
		diff := diffZone(want, listed)
		if len(diff) == 0 {
			z.setListing(listed)
			return
		}
		r.mu.Lock()
		r.stats.Repairs++
		r.mu.Unlock()
		if why == "after a batch" || attempt > 0 {
			r.fail(fmt.Sprintf("zone %s: moto's zone is not the expected one %s: %s", id, why, strings.Join(diff, "; ")))
		}
		have := map[rrsKey]rrsEnt{}
		dups := map[rrsKey]bool{}
		for _, s := range listed {
			if _, ok := have[s.key()]; ok {
				dups[s.key()] = true
			}
			have[s.key()] = rrsEnt{s}
		}
		// Keys moto holds twice: delete (all of them) and put back.
		for k := range dups {
			e := have[k]
			e.set.TTL = nil // differ from want, so that planMoto rewrites it
			have[k] = e
		}
		for _, c := range planMoto(have, want) {
			status, body, err := r.motoCall(http.MethodPost, "/2013-04-01/hostedzone/"+id+"/rrset", renderBatch(c))
			if err == nil && status/100 != 2 {
				err = &motoError{status, body}
			}
			if err != nil {
				r.fail(fmt.Sprintf("zone %s: repairing moto %s: %v", id, why, err))
			}
		}
	}
}

func (r *Route53Rules) fail(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mismatches = append(r.mismatches, msg)
	if !r.closed {
		r.t.Errorf("harness: Route53Rules: %s", msg)
	}
}

// diffZone describes how listed (moto's record sets) differs from want.
func diffZone(want map[rrsKey]rrsEnt, listed []r53Set) []string {
	var out []string
	seen := map[rrsKey]bool{}
	for _, s := range listed {
		k := s.key()
		if seen[k] {
			out = append(out, fmt.Sprintf("%s listed twice", k))
			continue
		}
		seen[k] = true
		w, ok := want[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s is in moto but should not be", k))
		case w.set.motoFingerprint() != s.motoFingerprint():
			out = append(out, fmt.Sprintf("%s is %s in moto, should be %s", k, s.motoFingerprint(), w.set.motoFingerprint()))
		}
	}
	for k := range want {
		if !seen[k] {
			out = append(out, fmt.Sprintf("%s is missing from moto", k))
		}
	}
	sort.Strings(out)
	return out
}

func (k rrsKey) String() string {
	if k.id != "" {
		return fmt.Sprintf("[%s %s %q]", presentName(k.name), k.typ, k.id)
	}
	return fmt.Sprintf("[%s %s]", presentName(k.name), k.typ)
}

// motoCallLimit is the most ResourceRecord elements one call to moto carries
// (moto, like Route 53, refuses more than 1000, UPSERT counting twice).
const motoCallLimit = 900

// planMoto returns the calls (each a list of changes) that turn moto's zone
// from have into want under moto's semantics: DELETE with a set identifier
// removes every record set with that identifier, DELETE without one every
// record set with the name (as moto stores it) and type, UPSERT replaces the
// record set with the same name, type and set identifier or adds one. The
// DELETEs come first, then UPSERTs of what is new, changed, or taken along
// by a DELETE although it stays.
func planMoto(have, want map[rrsKey]rrsEnt) [][]r53Change {
	var dels, ups []r53Change
	delIDs := map[string]bool{}
	type nameType struct{ name, typ string }
	delPlain := map[nameType]bool{}
	for k, h := range have {
		w, ok := want[k]
		if ok && w.set.Name == h.set.Name {
			continue // UPSERT (below) replaces it in place when it changes
		}
		dels = append(dels, r53Change{Action: "DELETE", Set: h.set})
		if k.id != "" {
			delIDs[k.id] = true
		} else {
			delPlain[nameType{h.set.Name, h.set.Type}] = true
		}
	}
	for k, w := range want {
		h, had := have[k]
		gone := false
		if had {
			// Taken along by a DELETE of another key?
			gone = (k.id != "" && delIDs[k.id]) || delPlain[nameType{h.set.Name, h.set.Type}] || h.set.Name != w.set.Name
		}
		if !had || gone || h.set.fingerprint() != w.set.fingerprint() || h.set.Name != w.set.Name {
			ups = append(ups, r53Change{Action: "UPSERT", Set: w.set})
		}
	}
	sortChanges(dels)
	sortChanges(ups)
	var calls [][]r53Change
	var cur []r53Change
	n := 0
	for _, c := range append(dels, ups...) {
		cost := max(len(c.Set.Records), 1)
		if c.Action == "UPSERT" {
			cost *= 2
		}
		if len(cur) > 0 && n+cost > motoCallLimit {
			calls = append(calls, cur)
			cur, n = nil, 0
		}
		cur = append(cur, c)
		n += cost
	}
	if len(cur) > 0 {
		calls = append(calls, cur)
	}
	return calls
}

func sortChanges(cs []r53Change) {
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i].Set.key(), cs[j].Set.key()
		if a.name != b.name {
			return a.name < b.name
		}
		if a.typ != b.typ {
			return a.typ < b.typ
		}
		return a.id < b.id
	})
}

// renderBatch renders changes as a ChangeResourceRecordSets request body.
func renderBatch(changes []r53Change) []byte {
	var req struct {
		XMLName xml.Name    `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ChangeResourceRecordSetsRequest"`
		Changes []r53Change `xml:"ChangeBatch>Changes>Change"`
	}
	req.Changes = changes
	b, err := xml.Marshal(&req)
	if err != nil {
		panic(err) // plain structs: cannot fail
	}
	return append([]byte(xml.Header), b...)
}

// The XML of Route 53's record sets and changes.
type (
	r53Change struct {
		Action string `xml:"Action"`
		Set    r53Set `xml:"ResourceRecordSet"`
	}
	r53Set struct {
		Name                    string           `xml:"Name"`
		Type                    string           `xml:"Type"`
		SetIdentifier           *string          `xml:"SetIdentifier,omitempty"`
		Weight                  *int64           `xml:"Weight,omitempty"`
		Region                  *string          `xml:"Region,omitempty"`
		GeoLocation             *r53Geo          `xml:"GeoLocation,omitempty"`
		Failover                *string          `xml:"Failover,omitempty"`
		MultiValueAnswer        *bool            `xml:"MultiValueAnswer,omitempty"`
		TTL                     *int64           `xml:"TTL,omitempty"`
		Records                 []r53Value       `xml:"ResourceRecords>ResourceRecord,omitempty"`
		AliasTarget             *r53Alias        `xml:"AliasTarget,omitempty"`
		HealthCheckID           *string          `xml:"HealthCheckId,omitempty"`
		TrafficPolicyInstanceID *string          `xml:"TrafficPolicyInstanceId,omitempty"`
		CidrRoutingConfig       *r53Cidr         `xml:"CidrRoutingConfig,omitempty"`
		GeoProximityLocation    *r53GeoProximity `xml:"GeoProximityLocation,omitempty"`
	}
	r53Value struct {
		Value string `xml:"Value"`
	}
	r53Geo struct {
		ContinentCode   *string `xml:"ContinentCode,omitempty"`
		CountryCode     *string `xml:"CountryCode,omitempty"`
		SubdivisionCode *string `xml:"SubdivisionCode,omitempty"`
	}
	r53Alias struct {
		HostedZoneID         string `xml:"HostedZoneId"`
		DNSName              string `xml:"DNSName"`
		EvaluateTargetHealth bool   `xml:"EvaluateTargetHealth"`
	}
	r53Cidr struct {
		CollectionID string `xml:"CollectionId"`
		LocationName string `xml:"LocationName"`
	}
	r53GeoProximity struct {
		AWSRegion      *string         `xml:"AWSRegion,omitempty"`
		LocalZoneGroup *string         `xml:"LocalZoneGroup,omitempty"`
		Coordinates    *r53Coordinates `xml:"Coordinates,omitempty"`
		Bias           *int64          `xml:"Bias,omitempty"`
	}
	r53Coordinates struct {
		Latitude  string `xml:"Latitude"`
		Longitude string `xml:"Longitude"`
	}
)

func (c r53Change) String() string {
	s := c.Action + " " + presentName(canonName(c.Set.Name)) + " " + c.Set.Type
	if c.Set.SetIdentifier != nil {
		s += " " + strconv.Quote(*c.Set.SetIdentifier)
	}
	return s
}

func (s r53Set) key() rrsKey {
	k := rrsKey{name: canonName(s.Name), typ: strings.ToUpper(s.Type)}
	if s.SetIdentifier != nil {
		k.id = *s.SetIdentifier
	}
	return k
}

// policy returns the routing policy of s ("" for simple routing) and how
// many routing policy fields it has.
func (s r53Set) policy() (string, int) {
	var kinds []string
	if s.Weight != nil {
		kinds = append(kinds, "weighted")
	}
	if s.Region != nil {
		kinds = append(kinds, "latency")
	}
	if s.Failover != nil {
		kinds = append(kinds, "failover")
	}
	if s.GeoLocation != nil {
		kinds = append(kinds, "geolocation")
	}
	if s.GeoProximityLocation != nil {
		kinds = append(kinds, "geoproximity")
	}
	if s.MultiValueAnswer != nil {
		kinds = append(kinds, "multivalue answer")
	}
	if s.CidrRoutingConfig != nil {
		kinds = append(kinds, "IP-based")
	}
	if len(kinds) == 0 {
		return "", 0
	}
	return kinds[0], len(kinds)
}

// fingerprint is everything of s that a DELETE must match, canonically.
func (s r53Set) fingerprint() string {
	var b strings.Builder
	b.WriteString(s.motoFingerprint())
	if s.CidrRoutingConfig != nil {
		fmt.Fprintf(&b, " cidr=%s/%s", s.CidrRoutingConfig.CollectionID, s.CidrRoutingConfig.LocationName)
	}
	if g := s.GeoProximityLocation; g != nil {
		fmt.Fprintf(&b, " geoproximity=%s/%s", deref(g.AWSRegion, ""), deref(g.LocalZoneGroup, ""))
		if g.Coordinates != nil {
			fmt.Fprintf(&b, "/%s,%s", g.Coordinates.Latitude, g.Coordinates.Longitude)
		}
		if g.Bias != nil {
			fmt.Fprintf(&b, "/bias=%d", *g.Bias)
		}
	}
	if s.TrafficPolicyInstanceID != nil {
		b.WriteString(" trafficpolicy=" + *s.TrafficPolicyInstanceID)
	}
	return b.String()
}

// motoFingerprint is fingerprint without the fields moto drops
// (geoproximity, IP-based routing, traffic policy instance).
func (s r53Set) motoFingerprint() string {
	var b strings.Builder
	if s.TTL != nil {
		fmt.Fprintf(&b, "ttl=%d", *s.TTL)
	}
	if len(s.Records) > 0 {
		var v []string
		for _, r := range s.Records {
			v = append(v, r.Value)
		}
		sort.Strings(v)
		fmt.Fprintf(&b, " values=%q", v)
	}
	if a := s.AliasTarget; a != nil {
		fmt.Fprintf(&b, " alias=%s/%s/%t", a.HostedZoneID, canonName(a.DNSName), a.EvaluateTargetHealth)
	}
	if s.Weight != nil {
		fmt.Fprintf(&b, " weight=%d", *s.Weight)
	}
	if s.Region != nil {
		b.WriteString(" region=" + *s.Region)
	}
	if s.Failover != nil {
		b.WriteString(" failover=" + *s.Failover)
	}
	if g := s.GeoLocation; g != nil {
		fmt.Fprintf(&b, " geo=%s/%s/%s", deref(g.ContinentCode, ""), deref(g.CountryCode, ""), deref(g.SubdivisionCode, ""))
	}
	if s.MultiValueAnswer != nil {
		fmt.Fprintf(&b, " multivalue=%t", *s.MultiValueAnswer)
	}
	if s.HealthCheckID != nil {
		b.WriteString(" healthcheck=" + *s.HealthCheckID)
	}
	return strings.TrimSpace(b.String())
}

// canonName is name as Route 53 compares it: \DDD and \X escapes decoded,
// lower-case, with the trailing dot.
func canonName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '\\' && i+3 < len(name) && isOctal(name[i+1:i+4]) {
			n, _ := strconv.ParseUint(name[i+1:i+4], 8, 8)
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		if c == '\\' && i+1 < len(name) {
			b.WriteByte(name[i+1])
			i++
			continue
		}
		b.WriteByte(c)
	}
	s := strings.ToLower(b.String())
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func isOctal(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '7' {
			return false
		}
	}
	return true
}

// presentName is a canonical name as Route 53 lists it: lower-case, every
// character but a-z, 0-9, '-', '_' and the dots as a \DDD octal escape
// ('*' as \052).
func presentName(canon string) string {
	var b strings.Builder
	for i := 0; i < len(canon); i++ {
		c := canon[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\%03o`, c)
		}
	}
	return b.String()
}

// unescapedChar returns the first character of name that Route 53 takes
// only as a \DDD escape (octal 0-40 and 177-377: controls, space, DEL and
// bytes above ASCII), if there is one.
func unescapedChar(name string) (byte, bool) {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '\\' {
			i++ // the escaped character, or the first digit of \DDD
			continue
		}
		if c <= 32 || c >= 127 {
			return c, true
		}
	}
	return 0, false
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// validateBatch checks changes against zone z as Route 53 does and returns
// the zone after them, or the error code (InvalidInput or InvalidChangeBatch)
// and messages.
func validateBatch(z *rulesZone, changes []r53Change) (map[rrsKey]rrsEnt, string, []string) {
	if len(changes) == 0 {
		return nil, "InvalidInput", []string{"1 validation error detected: Value '[]' at 'changeBatch.changes' failed to satisfy constraint: Member must have length greater than or equal to 1"}
	}
	// The change itself: InvalidInput, the first problem.
	records := 0
	for i := range changes {
		c := &changes[i]
		s := &c.Set
		s.Type = strings.ToUpper(s.Type)
		where := fmt.Sprintf("Change with [Action=%s, Name=%s, Type=%s, SetIdentifier=%s]", c.Action, s.Name, s.Type, deref(s.SetIdentifier, "null"))
		field := fmt.Sprintf("'changeBatch.changes.%d.member.resourceRecordSet", i+1)
		switch c.Action {
		case "CREATE", "UPSERT", "DELETE":
		default:
			return nil, "InvalidInput", []string{fmt.Sprintf("1 validation error detected: Value '%s' at 'changeBatch.changes.%d.member.action' failed to satisfy constraint: Member must satisfy enum value set: [DELETE, CREATE, UPSERT]", c.Action, i+1)}
		}
		if s.Failover != nil && *s.Failover != "PRIMARY" && *s.Failover != "SECONDARY" {
			return nil, "InvalidInput", []string{fmt.Sprintf("1 validation error detected: Value '%s' at %s.failover' failed to satisfy constraint: Member must satisfy enum value set: [SECONDARY, PRIMARY]", *s.Failover, field)}
		}
		if s.Weight != nil && *s.Weight > 255 {
			return nil, "InvalidInput", []string{fmt.Sprintf("1 validation error detected: Value '%d' at %s.weight' failed to satisfy constraint: Member must have value less than or equal to 255", *s.Weight, field)}
		}
		if s.Weight != nil && *s.Weight < 0 {
			return nil, "InvalidInput", []string{fmt.Sprintf("1 validation error detected: Value '%d' at %s.weight' failed to satisfy constraint: Member must have value greater than or equal to 0", *s.Weight, field)}
		}
		// TTL or records without the other count only next to another form.
		forms := 0
		if s.AliasTarget != nil {
			forms++
		}
		if s.TrafficPolicyInstanceID != nil {
			forms++
		}
		if (s.TTL != nil && len(s.Records) > 0) || (forms > 0 && (s.TTL != nil || len(s.Records) > 0)) {
			forms++
		}
		if forms != 1 {
			n := "none"
			if forms > 1 {
				n = "more than one"
			}
			return nil, "InvalidInput", []string{fmt.Sprintf("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found %s in %s", n, where)}
		}
		kind, nkinds := s.policy()
		switch {
		case s.SetIdentifier != nil && nkinds != 1:
			n := "none"
			if nkinds > 1 {
				n = "more than one"
			}
			return nil, "InvalidInput", []string{fmt.Sprintf("Invalid request: Expected exactly one of [Weight, Region, Failover, GeoLocation, MultiValueAnswer, GeoProximityLocation, or CidrRoutingConfig], but found %s in %s", n, where)}
		case s.SetIdentifier == nil && kind != "":
			return nil, "InvalidInput", []string{fmt.Sprintf("Invalid request: Missing field 'SetIdentifier' in %s", where)}
		}
		records += len(s.Records)
		if c.Action == "UPSERT" {
			records += len(s.Records)
		}
	}
	if records > 1000 {
		return nil, "InvalidChangeBatch", []string{"Number of records limit of 1000 exceeded."}
	}

	// The batch against the zone: InvalidChangeBatch, every problem.
	var msgs []string
	after := make(map[rrsKey]rrsEnt, len(z.sets)+len(changes))
	for k, v := range z.sets {
		after[k] = v
	}
	touched := map[string]bool{}     // names a CREATE or UPSERT writes
	added := map[rrsKey]bool{}       // keys a CREATE or UPSERT writes
	history := map[rrsKey][]string{} // actions per key, in order
	badSet := map[rrsKey]bool{}      // keys already reported as an invalid set of changes
	for _, c := range changes {
		s := c.Set
		k := s.key()
		desc := fmt.Sprintf("[name='%s', type='%s'", presentName(k.name), k.typ)
		if k.id != "" {
			desc += fmt.Sprintf(", set-identifier='%s'", k.id)
		}
		desc += "]"
		if ch, bad := unescapedChar(s.Name); bad {
			msgs = append(msgs, fmt.Sprintf("FATAL problem: UnsupportedCharacter (Value contains unsupported characters) encountered with '%c'", ch))
			continue
		}
		if k.name != z.name && !strings.HasSuffix(k.name, "."+z.name) {
			msgs = append(msgs, fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", presentName(k.name), presentName(z.name)))
			continue
		}
		if k.typ == "CNAME" && k.name == z.name && c.Action != "DELETE" {
			msgs = append(msgs, fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted at apex in zone %s", presentName(k.name), presentName(z.name)))
			continue
		}
		h := append(history[k], c.Action)
		history[k] = h
		if len(h) > 1 && !(len(h) == 2 && h[0] == "DELETE" && h[1] != "DELETE") {
			if !badSet[k] {
				badSet[k] = true
				msgs = append(msgs, fmt.Sprintf("The request contains an invalid set of changes for a resource record set '%s %s'", k.typ, presentName(k.name)))
			}
			continue
		}
		cur, exists := after[k]
		switch c.Action {
		case "CREATE":
			if exists {
				msgs = append(msgs, fmt.Sprintf("Tried to create resource record set %s but it already exists", desc))
				continue
			}
		case "DELETE":
			if !exists {
				msgs = append(msgs, fmt.Sprintf("Tried to delete resource record set %s but it was not found", desc))
				continue
			}
			if cur.set.fingerprint() != s.fingerprint() {
				msgs = append(msgs, fmt.Sprintf("Tried to delete resource record set %s but the values provided do not match the current values", desc))
				continue
			}
			delete(after, k)
			delete(added, k)
			continue
		}
		// CREATE or UPSERT: an ALIAS to a record of this zone needs it.
		if a := s.AliasTarget; a != nil && strings.TrimPrefix(a.HostedZoneID, "/hostedzone/") == z.id {
			target := canonName(a.DNSName)
			alias := fmt.Sprintf("Tried to create an alias that targets %s, type %s in zone %s", presentName(target), k.typ, z.id)
			if target != z.name && !strings.HasSuffix(target, "."+z.name) {
				msgs = append(msgs, alias+", but the alias target name does not lie within the target zone")
				continue
			}
			if !slices.ContainsFunc(slices.Collect(maps.Keys(after)), func(o rrsKey) bool { return o.name == target && o.typ == k.typ }) {
				msgs = append(msgs, alias+", but that target was not found")
				continue
			}
		}
		// CREATE or UPSERT: the record set as Route 53 holds it.
		s.Name = presentName(k.name)
		s.Type = k.typ
		if exists && canonName(cur.set.Name) == k.name {
			s.Name = cur.set.Name // moto replaces it in place
		}
		after[k] = rrsEnt{s}
		added[k] = true
		touched[k.name] = true
	}

	// The zone after the batch, at the names it writes.
	byName := map[string][]rrsKey{}
	for k := range after {
		if touched[k.name] {
			byName[k.name] = append(byName[k.name], k)
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		keys := byName[name]
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].typ != keys[j].typ {
				return keys[i].typ < keys[j].typ
			}
			return keys[i].id < keys[j].id
		})
		// CNAME exclusivity.
		hasCNAME, hasOther := false, false
		for _, k := range keys {
			if k.typ == "CNAME" {
				hasCNAME = true
			} else {
				hasOther = true
			}
		}
		if hasCNAME && hasOther {
			for _, k := range keys {
				if !added[k] {
					continue
				}
				if k.typ == "CNAME" {
					msgs = append(msgs, fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted as it conflicts with other records with the same DNS name in zone %s", presentName(name), presentName(z.name)))
				} else {
					msgs = append(msgs, fmt.Sprintf("RRSet of type %s with DNS name %s is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone %s", k.typ, presentName(name), presentName(z.name)))
				}
				break
			}
		}
		// Per type: one simple record set, or routed ones of one policy.
		byType := map[string][]rrsKey{}
		var types []string
		for _, k := range keys {
			if _, ok := byType[k.typ]; !ok {
				types = append(types, k.typ)
			}
			byType[k.typ] = append(byType[k.typ], k)
		}
		for _, typ := range types {
			msgs = append(msgs, checkGroup(name, typ, byType[typ], after, added)...)
		}
	}
	if len(msgs) > 0 {
		return nil, "InvalidChangeBatch", msgs
	}
	return after, "", nil
}

// checkGroup checks the record sets at one name and type after a batch.
func checkGroup(name, typ string, keys []rrsKey, after map[rrsKey]rrsEnt, added map[rrsKey]bool) []string {
	if len(keys) < 2 {
		return nil
	}
	var msgs []string
	// The policy of the record sets the batch leaves as they were, else of
	// the first one it writes.
	ref := ""
	refSet := false
	for _, pass := range []bool{false, true} {
		for _, k := range keys {
			if added[k] != pass {
				continue
			}
			p, _ := after[k].set.policy()
			ref, refSet = p, true
			break
		}
		if refSet {
			break
		}
	}
	failover := map[string]rrsKey{}
	geo := map[string]rrsKey{}
	for _, k := range keys {
		s := after[k].set
		p, _ := s.policy()
		if p != ref {
			if !added[k] {
				continue // reported at the set the batch writes
			}
			switch {
			case k.id == "":
				msgs = append(msgs, fmt.Sprintf("RRSet with DNS name %s, type %s cannot be created as other RRSets exist with the same name and type.", presentName(name), typ))
			case ref == "":
				msgs = append(msgs, fmt.Sprintf("RRSet with DNS name %s, type %s, SetIdentifier %s cannot be created as a non-%s set exists with the same name and type.", presentName(name), typ, k.id, p))
			default:
				msgs = append(msgs, fmt.Sprintf("RRSet with DNS name %s, type %s, SetIdentifier %s cannot be created as a non-%s set exists with the same name and type.", presentName(name), typ, k.id, p))
			}
			continue
		}
		if ref == "" && k.id == "" {
			continue // cannot happen: one key per name and type without set identifier
		}
		switch p {
		case "failover":
			if o, dup := failover[*s.Failover]; dup && (added[k] || added[o]) {
				msgs = append(msgs, fmt.Sprintf("RRSet with DNS name %s, type %s, SetIdentifier %s cannot be created as a failover %s set (SetIdentifier %s) exists with the same name and type.", presentName(name), typ, k.id, *s.Failover, o.id))
			}
			failover[*s.Failover] = k
		case "geolocation":
			g := s.GeoLocation
			loc := deref(g.ContinentCode, "") + "/" + deref(g.CountryCode, "") + "/" + deref(g.SubdivisionCode, "")
			if o, dup := geo[loc]; dup && (added[k] || added[o]) {
				msgs = append(msgs, fmt.Sprintf("RRSet with DNS name %s, type %s, SetIdentifier %s cannot be created as a geolocation set (SetIdentifier %s) exists with the same name, type and location.", presentName(name), typ, k.id, o.id))
			}
			geo[loc] = k
		}
	}
	return msgs
}

// setListing records moto's listing of the zone as it is now (nil:
// unknown), with the fields moto drops put back from z.sets.
func (z *rulesZone) setListing(listed []r53Set) {
	if listed != nil {
		listed = slices.Clone(listed)
		for i := range listed {
			if e, ok := z.sets[listed[i].key()]; ok && e.set.motoFingerprint() == listed[i].motoFingerprint() {
				listed[i].GeoProximityLocation, listed[i].CidrRoutingConfig, listed[i].TrafficPolicyInstanceID =
					e.set.GeoProximityLocation, e.set.CidrRoutingConfig, e.set.TrafficPolicyInstanceID
			}
		}
		sort.SliceStable(listed, func(i, j int) bool { return listOrder(listed[i].key(), listed[j].key()) < 0 })
	}
	z.listMu.Lock()
	z.listing = listed
	z.listMu.Unlock()
}

// getListing returns moto's listing of the zone, in Route 53's order, read
// from moto if it changed since. z.lock is held (shared at least).
func (r *Route53Rules) getListing(id string, z *rulesZone) ([]r53Set, error) {
	z.listMu.Lock()
	l := z.listing
	z.listMu.Unlock()
	if l != nil {
		return l, nil
	}
	listed, err := r.listMoto(id)
	if err != nil {
		return nil, err
	}
	if listed == nil {
		listed = []r53Set{}
	}
	z.setListing(listed)
	z.listMu.Lock()
	defer z.listMu.Unlock()
	return z.listing, nil
}

// listOrder compares record set keys in the order of
// ListResourceRecordSets: by name with the labels reversed, then type, then
// set identifier.
func listOrder(a, b rrsKey) int {
	if c := strings.Compare(reversedLabels(a.name), reversedLabels(b.name)); c != 0 {
		return c
	}
	if c := strings.Compare(a.typ, b.typ); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

func reversedLabels(canon string) string {
	l := strings.Split(strings.TrimSuffix(canon, "."), ".")
	slices.Reverse(l)
	return strings.Join(l, ".")
}

// list answers ListResourceRecordSets from moto's listing of the zone, with
// Route 53's paging: at most 300 record sets a page, and NextRecordName,
// NextRecordType and NextRecordIdentifier (which moto lacks: it cannot page
// through record sets of one name and type with set identifiers).
func (r *Route53Rules) list(w http.ResponseWriter, req *http.Request, id string, z *rulesZone) {
	q := req.URL.Query()
	name, typ, ident := q.Get("name"), strings.ToUpper(q.Get("type")), q.Get("identifier")
	maxItems := 300
	if v := q.Get("maxitems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			r.rp.ServeHTTP(w, req) // moto's InvalidInput
			return
		}
		maxItems = min(n, 300)
	}
	if (typ != "" && name == "") || (ident != "" && typ == "") {
		r.rp.ServeHTTP(w, req) // moto's InvalidInput
		return
	}
	if !z.loaded {
		z.lock.RUnlock() // load needs the zone exclusively
		z.lock.Lock()
		err := r.load(id, z)
		z.lock.Unlock()
		z.lock.RLock()
		if err != nil {
			writeMotoErr(w, err)
			return
		}
	}
	sets, err := r.getListing(id, z)
	if err != nil {
		writeMotoErr(w, err)
		return
	}
	i := 0
	if name != "" {
		from := rrsKey{canonName(name), typ, ident}
		i = sort.Search(len(sets), func(i int) bool { return listOrder(sets[i].key(), from) >= 0 })
	}
	end := min(i+maxItems, len(sets))
	out := struct {
		XMLName   xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListResourceRecordSetsResponse"`
		Sets      []r53Set `xml:"ResourceRecordSets>ResourceRecordSet"`
		Truncated bool     `xml:"IsTruncated"`
		NextName  string   `xml:"NextRecordName,omitempty"`
		NextType  string   `xml:"NextRecordType,omitempty"`
		NextID    string   `xml:"NextRecordIdentifier,omitempty"`
		MaxItems  int      `xml:"MaxItems"`
	}{Sets: sets[i:end], MaxItems: maxItems}
	if end < len(sets) {
		next := sets[end]
		out.Truncated, out.NextName, out.NextType = true, next.Name, next.Type
		out.NextID = deref(next.SetIdentifier, "")
	}
	b, err := xml.Marshal(&out)
	if err != nil {
		writeRoute53Error(w, http.StatusInternalServerError, "Receiver", "InternalFailure", xmlEscape(err.Error()), 0)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Write(append([]byte(xml.Header), b...))
}

// writeMotoErr answers an error of a call to moto: moto's answer if it
// answered, else 500.
func writeMotoErr(w http.ResponseWriter, err error) {
	var me *motoError
	if errors.As(err, &me) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(me.status)
		w.Write(me.body)
		return
	}
	writeRoute53Error(w, http.StatusInternalServerError, "Receiver", "InternalFailure", xmlEscape(err.Error()), 0)
}
