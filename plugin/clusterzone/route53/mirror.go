// Package route53 mirrors the records of the clusterzone plugin into Amazon
// Route 53 hosted zones, with ExternalDNS's TXT ownership registry.
//
// The mirror keeps a view of each hosted zone (one paginated listing at
// start and every Interval) and turns the plugin's change notifications into
// plans against that view, so that a change to one Service costs one
// ChangeResourceRecordSets call and no listing.
package route53

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go/middleware"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"golang.org/x/time/rate"
)

var log = clog.NewWithPlugin("clusterzone")

const (
	// requestTimeout bounds one API call, retries included.
	requestTimeout = 3 * time.Minute
	// listPageSize is the page size of a full listing (Route 53's maximum).
	listPageSize = 300
	// loopBackoffMin and loopBackoffMax bound the wait before a sync that
	// failed (after the SDK's own retries) is tried again.
	loopBackoffMin = time.Second
	loopBackoffMax = 2 * time.Minute
)

// Endpoint is one record set the plugin serves, as the mirror sees it.
type Endpoint struct {
	Name     string   // lower-case FQDN with trailing dot, e.g. "web.example.org." or "*.apps.example.org."
	Type     string   // "A" or "AAAA"
	TTL      int64    // seconds; 0 means 300
	Targets  []string // IP addresses as strings, sorted; ignored when Alias is set
	Alias    string   // an AWS load-balancer hostname: write an ALIAS record to it instead of Targets
	Resource string   // "service/<namespace>/<name>", for the ownership TXT
}

// Source is the plugin's record table as the mirror reads it.
type Source interface {
	// Endpoints returns everything the table holds under zone (a full
	// snapshot), for the full reconcile.
	Endpoints(zone string) []Endpoint
	// EndpointsAt returns what the table holds now at exactly these names;
	// a name with nothing returns nothing (it was deleted).
	EndpointsAt(names []string) []Endpoint
}

// Mirror keeps Route 53 hosted zones in step with a Source.
type Mirror struct {
	cfg    Config
	src    Source
	client *route53.Client
	reg    registry
	zones  []*zoneState // most specific first

	limiter *rate.Limiter
	retryer aws.RetryerV2

	mu      sync.Mutex
	pending map[string]struct{}
	notify  chan struct{}

	runMu sync.Mutex // one Run at a time
}

// New returns a Mirror of src into the hosted zones of cfg, through client.
// Zero values in cfg take their defaults (see DefaultConfig). It does no I/O;
// Run does the work.
func New(cfg Config, src Source, client *route53.Client) *Mirror {
	cfg = cfg.withDefaults()
	switch cfg.Policy {
	case PolicySync, PolicyUpsertOnly, PolicyCreateOnly:
	default:
		log.Errorf("Unknown route53 policy %q, using %s", cfg.Policy, DefaultPolicy)
		cfg.Policy = DefaultPolicy
	}
	if cfg.OwnerID == "" {
		log.Warningf("No owner id for the Route 53 mirror, using %q", "default")
		cfg.OwnerID = "default"
	}
	m := &Mirror{
		cfg:     cfg,
		src:     src,
		client:  client,
		reg:     newRegistry(cfg),
		limiter: rate.NewLimiter(rate.Limit(cfg.RateLimit), 1),
		retryer: newRetryer(retryBase),
		pending: map[string]struct{}{},
		notify:  make(chan struct{}, 1),
	}
	for name, id := range cfg.Zones {
		m.zones = append(m.zones, newZoneState(normName(name), strings.TrimPrefix(id, "/hostedzone/")))
	}
	sort.Slice(m.zones, func(i, j int) bool {
		if len(m.zones[i].name) != len(m.zones[j].name) {
			return len(m.zones[i].name) > len(m.zones[j].name)
		}
		return m.zones[i].name < m.zones[j].name
	})
	return m
}

// Changed tells the mirror that the table changed at names. It never blocks:
// the names are noted and synced together after the debounce delay.
func (m *Mirror) Changed(names []string) {
	added := false
	m.mu.Lock()
	for _, n := range names {
		n = normName(n)
		if m.zoneFor(n) == nil {
			continue
		}
		m.pending[n] = struct{}{}
		added = true
	}
	m.mu.Unlock()
	if !added {
		return
	}
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// takePending returns the pending names, sorted, and clears them.
func (m *Mirror) takePending() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.pending))
	for n := range m.pending {
		out = append(out, n)
	}
	clear(m.pending)
	sort.Strings(out)
	return out
}

// Run is the sync loop: a full reconcile at once and every Interval, and a
// debounced sync of the changed names in between. It returns when ctx is
// cancelled; cancelling ctx also aborts the request in flight.
func (m *Mirror) Run(ctx context.Context) {
	m.runMu.Lock()
	defer m.runMu.Unlock()

	zones := make([]string, 0, len(m.zones))
	for _, z := range m.zones {
		zones = append(zones, z.name+" ("+z.id+")")
		z.reset()
	}
	mode := ""
	if m.cfg.DryRun {
		mode = ", dry run"
	}
	log.Infof("Route 53 mirror started for %s as owner %q (policy %s%s)", strings.Join(zones, ", "), m.reg.owner, m.cfg.Policy, mode)
	defer log.Infof("Route 53 mirror stopped")

	full := time.NewTimer(0)
	defer full.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	armed := false
	arm := func(d time.Duration) {
		debounce.Reset(d)
		armed = true
	}
	fullBackoff, eventBackoff := newBackoff(), newBackoff()

	for {
		select {
		case <-ctx.Done():
			return

		case <-full.C:
			// The snapshot taken now covers every change noted so far.
			m.takePending()
			err := m.reconcile(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				d := fullBackoff.next()
				log.Errorf("Route 53 full sync failed, retrying in %s: %v", d.Round(time.Millisecond), err)
				full.Reset(d)
			} else {
				fullBackoff.reset()
				full.Reset(m.cfg.Interval)
			}
			if !armed && m.hasPending() {
				arm(m.cfg.Debounce)
			}

		case <-m.notify:
			if !armed {
				arm(m.cfg.Debounce)
			}

		case <-debounce.C:
			armed = false
			names := m.takePending()
			if len(names) == 0 {
				continue
			}
			err := m.syncNames(ctx, names)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				m.Changed(names)
				d := eventBackoff.next()
				log.Errorf("Route 53 sync of %d names failed, retrying in %s: %v", len(names), d.Round(time.Millisecond), err)
				arm(d)
				continue
			}
			eventBackoff.reset()
		}
	}
}

func (m *Mirror) hasPending() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pending) > 0
}

// reconcile lists every zone and brings it in line with the source.
func (m *Mirror) reconcile(ctx context.Context) error {
	start := time.Now()
	defer func() { syncDuration.WithLabelValues("full").Observe(time.Since(start).Seconds()) }()
	var errs []string
	for _, z := range m.zones {
		if err := m.reconcileZone(ctx, z); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func (m *Mirror) reconcileZone(ctx context.Context, z *zoneState) error {
	start := time.Now()
	sets, err := m.list(ctx, z)
	if err != nil {
		errorsCount.WithLabelValues("list").Inc()
		return fmt.Errorf("listing zone %s (%s): %w", z.name, z.id, err)
	}
	listed := time.Since(start)
	orphans := m.load(z, sets)
	want, skip := m.toDesired(z, m.src.Endpoints(z.name))

	// Every record the source wants, every record this owner holds, and
	// every ownership TXT of this owner left without its record.
	keys := map[rrKey]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range z.owned {
		keys[k] = true
	}
	for _, k := range orphans {
		keys[k] = true
	}
	for k := range skip {
		delete(keys, k)
	}
	units := m.plan(z, keys, want)
	err = m.apply(ctx, z, units)
	ownedRecords.WithLabelValues(z.name).Set(float64(len(z.owned)))
	if err != nil {
		return fmt.Errorf("zone %s (%s): %w", z.name, z.id, err)
	}
	lastSync.WithLabelValues(z.name).SetToCurrentTime()
	log.Infof("Route 53 full sync of %s: %d record sets listed in %s, %d records owned, %d changes in %s",
		z.name, len(sets), listed.Round(time.Millisecond), len(z.owned), countChanges(units), time.Since(start).Round(time.Millisecond))
	return nil
}

// load replaces the view of z with a listing and works out what this owner
// owns. It returns the records named by ownership TXTs of this owner, which
// may have lost their record.
func (m *Mirror) load(z *zoneState, sets []types.ResourceRecordSet) (txtRecords []rrKey) {
	z.load(sets)
	for name, byType := range z.sets {
		for typ := range byType {
			k := rrKey{name, typ}
			switch typ {
			case "A", "AAAA":
				if m.owns(z, k) {
					z.owned[k] = true
				}
			case "TXT":
				if labels, _ := z.heritageLabels(name); labels != nil && labels[ownerLabel] == m.reg.owner {
					for _, rk := range m.reg.recordsOf(name, "A", "AAAA") {
						if m.zoneFor(rk.name) == z {
							txtRecords = append(txtRecords, rk)
						}
					}
				}
			}
		}
	}
	return txtRecords
}

// syncNames brings the records at names in line with the source, against the
// view: no listing.
func (m *Mirror) syncNames(ctx context.Context, names []string) error {
	start := time.Now()
	defer func() { syncDuration.WithLabelValues("event").Observe(time.Since(start).Seconds()) }()
	byZone := map[*zoneState][]string{}
	var all []string
	for _, n := range names {
		z := m.zoneFor(n)
		if z == nil || !z.loaded {
			continue // the next full sync covers zones not listed yet
		}
		byZone[z] = append(byZone[z], n)
		all = append(all, n)
	}
	if len(all) == 0 {
		return nil
	}
	eps := m.src.EndpointsAt(all)
	var errs []string
	for _, z := range m.zones {
		ns := byZone[z]
		if len(ns) == 0 {
			continue
		}
		want, skip := m.toDesired(z, eps)
		keys := map[rrKey]bool{}
		for _, n := range ns {
			for _, t := range []string{"A", "AAAA"} {
				if k := (rrKey{n, t}); !skip[k] {
					keys[k] = true
				}
			}
		}
		units := m.plan(z, keys, want)
		err := m.apply(ctx, z, units)
		ownedRecords.WithLabelValues(z.name).Set(float64(len(z.owned)))
		if err != nil {
			errs = append(errs, fmt.Sprintf("zone %s (%s): %v", z.name, z.id, err))
			continue
		}
		lastSync.WithLabelValues(z.name).SetToCurrentTime()
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// plan returns the units for keys, in name order.
func (m *Mirror) plan(z *zoneState, keys map[rrKey]bool, want map[rrKey]*desired) []*unit {
	sorted := make([]rrKey, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.SortFunc(sorted, func(a, b rrKey) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.typ, b.typ)
	})
	var units []*unit
	for _, k := range sorted {
		if want[k] == nil && z.get(k.name, k.typ) == nil && m.txtShared(z, k, want) {
			continue
		}
		if u := m.planKey(z, k, want[k]); u != nil {
			units = append(units, u)
		}
	}
	return units
}

func countChanges(units []*unit) int {
	n := 0
	for _, u := range units {
		n += len(u.changes)
	}
	return n
}

// apply sends units to Route 53 in batches (or only logs them in dry-run
// mode). A batch Route 53 rejects for its content is split until the bad
// record is found; that record is reported and the rest still lands. Other
// errors (after the SDK's retries) stop the sync and are returned.
func (m *Mirror) apply(ctx context.Context, z *zoneState, units []*unit) error {
	if len(units) == 0 {
		return nil
	}
	if m.cfg.DryRun {
		for _, u := range units {
			for _, c := range u.changes {
				log.Infof("Route 53 dry run, zone %s: would %s", z.name, describe(c))
			}
		}
		return nil
	}
	// Units Route 53 rejected before, unchanged, are not sent again
	// until the next full sync.
	units = slices.DeleteFunc(slices.Clone(units), func(u *unit) bool {
		f, ok := z.rejected[u.key]
		return ok && f == u.fingerprint()
	})
	for _, b := range batches(units, m.cfg.BatchSize) {
		if err := m.submit(ctx, z, b, true); err != nil {
			return err
		}
	}
	return nil
}

// submit sends one batch. When Route 53 rejects its content it is bisected;
// a single rejected unit is planned once more against a fresh read of its
// names (the view may be stale) and, if rejected again, reported and left
// out.
func (m *Mirror) submit(ctx context.Context, z *zoneState, b []*unit, mayRefresh bool) error {
	err := m.change(ctx, z, b)
	if err == nil {
		m.applied(z, b)
		return nil
	}
	if errorKind(err) != "invalid_change" {
		errorsCount.WithLabelValues("change").Inc()
		return err
	}
	if mayRefresh && len(b) > 1 && staleView(err) {
		// The zone changed behind the view (or Route 53 applied an earlier
		// attempt whose answer was lost): read it again, plan these
		// records anew, and send what is still needed.
		log.Warningf("Route 53 rejected a batch of %d records in zone %s as out of date, reading the zone again: %v", len(b), z.name, err)
		sets, lerr := m.list(ctx, z)
		if lerr != nil {
			errorsCount.WithLabelValues("list").Inc()
			return lerr
		}
		m.load(z, sets)
		var units []*unit
		for _, u := range b {
			if nu := m.planKey(z, u.key, u.want); nu != nil {
				units = append(units, nu)
			}
		}
		for _, nb := range batches(units, m.cfg.BatchSize) {
			if err := m.submit(ctx, z, nb, false); err != nil {
				return err
			}
		}
		return nil
	}
	if len(b) > 1 {
		log.Warningf("Route 53 rejected a batch of %d records in zone %s, splitting it: %v", len(b), z.name, err)
		mid := len(b) / 2
		if err := m.submit(ctx, z, b[:mid], mayRefresh); err != nil {
			return err
		}
		return m.submit(ctx, z, b[mid:], mayRefresh)
	}
	u := b[0]
	if mayRefresh {
		rerr := m.refresh(ctx, z, u.names())
		switch {
		case rerr == nil:
			nu := m.planKey(z, u.key, u.want)
			if nu == nil {
				return nil
			}
			return m.submit(ctx, z, []*unit{nu}, false)
		case errorKind(rerr) != "invalid_change":
			errorsCount.WithLabelValues("list").Inc()
			return rerr
		}
		// Route 53 will not even read the name: the record is bad.
	}
	errorsCount.WithLabelValues("invalid_change").Inc()
	z.rejected[u.key] = u.fingerprint()
	log.Errorf("Route 53 rejected %s %s in zone %s, leaving it out until it changes or the next full sync: %v (changes: %s)",
		u.key.name, u.key.typ, z.name, err, u.fingerprint())
	return nil
}

// staleView reports whether Route 53 rejected a batch because the view is
// out of date: a CREATE of a record that exists, a DELETE of one that does
// not (or with other values).
func staleView(err error) bool {
	msg := err.Error()
	for _, s := range []string{"already exists", "not found", "do not match", "found none"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// change sends one ChangeResourceRecordSets call.
func (m *Mirror) change(ctx context.Context, z *zoneState, b []*unit) error {
	var changes []types.Change
	for _, u := range b {
		changes = append(changes, u.changes...)
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := m.client.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(z.id),
		ChangeBatch: &types.ChangeBatch{
			Changes: changes,
			Comment: aws.String("clusterzone owner " + m.reg.owner),
		},
	}, m.callOptions)
	return err
}

// applied records a batch Route 53 accepted in the view and the metrics.
func (m *Mirror) applied(z *zoneState, b []*unit) {
	for _, u := range b {
		for _, c := range u.changes {
			z.applyChange(c)
			changesCount.WithLabelValues(string(c.Action), string(c.ResourceRecordSet.Type)).Inc()
			log.Infof("Route 53 zone %s: %s", z.name, describe(c))
		}
		m.updateOwned(z, u.key)
	}
}

func (m *Mirror) updateOwned(z *zoneState, k rrKey) {
	if m.owns(z, k) {
		z.owned[k] = true
	} else {
		delete(z.owned, k)
	}
}

// list reads every record set of the zone.
func (m *Mirror) list(ctx context.Context, z *zoneState) ([]types.ResourceRecordSet, error) {
	var out []types.ResourceRecordSet
	p := route53.NewListResourceRecordSetsPaginator(m.client, &route53.ListResourceRecordSetsInput{
		HostedZoneId: aws.String(z.id),
		MaxItems:     aws.Int32(listPageSize),
	})
	for p.HasMorePages() {
		pctx, cancel := context.WithTimeout(ctx, requestTimeout)
		page, err := p.NextPage(pctx, m.callOptions)
		cancel()
		if err != nil {
			return nil, err
		}
		out = append(out, page.ResourceRecordSets...)
	}
	return out, nil
}

// refresh re-reads the record sets at names into the view.
func (m *Mirror) refresh(ctx context.Context, z *zoneState, names []string) error {
	for _, name := range names {
		in := &route53.ListResourceRecordSetsInput{
			HostedZoneId:    aws.String(z.id),
			StartRecordName: aws.String(name),
			MaxItems:        aws.Int32(20),
		}
		var found []types.ResourceRecordSet
		for {
			rctx, cancel := context.WithTimeout(ctx, requestTimeout)
			out, err := m.client.ListResourceRecordSets(rctx, in, m.callOptions)
			cancel()
			if err != nil {
				return fmt.Errorf("reading %s: %w", name, err)
			}
			past := false
			for _, rs := range out.ResourceRecordSets {
				if unescapeName(aws.ToString(rs.Name)) != name {
					past = true
					break
				}
				found = append(found, rs)
			}
			if past || !out.IsTruncated {
				break
			}
			in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier
		}
		z.replaceName(name, found)
		for _, t := range []string{"A", "AAAA"} {
			m.updateOwned(z, rrKey{name, t})
		}
	}
	return nil
}

// callOptions applies the mirror's retry policy and rate limit to a call.
func (m *Mirror) callOptions(o *route53.Options) {
	o.Retryer = m.retryer
	o.APIOptions = append(o.APIOptions, m.rateLimit)
}

// rateLimit adds a middleware that waits for the rate limiter before every
// attempt, retries included.
func (m *Mirror) rateLimit(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("clusterzoneRateLimit",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if err := m.limiter.Wait(ctx); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

// zoneFor returns the most specific zone holding name, or nil.
func (m *Mirror) zoneFor(name string) *zoneState {
	for _, z := range m.zones {
		if z.contains(name) {
			return z
		}
	}
	return nil
}

// report logs a problem with a record once (until it changes or goes away)
// and counts it under kind; an empty kind is informational and not counted.
func (m *Mirror) report(z *zoneState, k rrKey, kind, msg string) {
	if z.reported[k] == msg {
		return
	}
	z.reported[k] = msg
	if kind == "" {
		log.Infof("Route 53 zone %s: %s", z.name, msg)
		return
	}
	errorsCount.WithLabelValues(kind).Inc()
	log.Warningf("Route 53 zone %s: %s", z.name, msg)
}

// backoff is the wait before a failed sync is tried again: exponential with
// jitter, from loopBackoffMin to loopBackoffMax.
type backoff struct{ cur time.Duration }

func newBackoff() *backoff { return &backoff{} }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = loopBackoffMin
	} else {
		b.cur = min(2*b.cur, loopBackoffMax)
	}
	return b.cur/2 + time.Duration(rand.Int64N(int64(b.cur/2)+1))
}

func (b *backoff) reset() { b.cur = 0 }
