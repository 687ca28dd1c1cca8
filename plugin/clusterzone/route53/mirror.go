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
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"

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

// Mirror keeps Route 53 hosted zones in step with a Source.
type Mirror struct {
	cfg    Config
	src    Source
	client *route53.Client
	plan   planner
	zones  []*zoneState // most specific first
	twins  bool         // a private hosted zone beside a public one of its name

	limiter *rate.Limiter
	retryer aws.RetryerV2

	mu      sync.Mutex
	pending map[string]struct{}
	notify  chan struct{}

	runMu sync.Mutex // one Run at a time
}

// New returns a Mirror of src into the hosted zones of cfg, through client.
// Zero values in cfg take their defaults (see DefaultConfig). Every zone
// needs its id (DiscoverZones finds them); one without is left out with an
// error. It does no I/O; Run does the work.
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
	if r := cfg.ClusterRouting; r != nil && r.SetIdentifier == "" {
		c := *r
		c.SetIdentifier = cfg.OwnerID
		cfg.ClusterRouting = &c
	}
	m := &Mirror{
		cfg:     cfg,
		src:     src,
		client:  client,
		plan:    planner{owner: cfg.OwnerID, policy: cfg.Policy, naming: cfg.Naming},
		limiter: rate.NewLimiter(rate.Limit(cfg.RateLimit), 1),
		retryer: newRetryer(retryBase),
		pending: map[string]struct{}{},
		notify:  make(chan struct{}, 1),
	}
	public := map[string]bool{}
	for _, z := range cfg.Zones {
		if z.ID == "" {
			log.Errorf("Route 53 zone %s has no hosted zone id (DiscoverZones was not run); leaving it out", z.Name)
			continue
		}
		zs := newZoneState(normName(z.Name), strings.TrimPrefix(z.ID, "/hostedzone/"), z.Type == ZonePrivate)
		m.zones = append(m.zones, zs)
		if !zs.private {
			public[zs.name] = true
		}
	}
	for _, z := range m.zones {
		z.twin = z.private && public[z.name]
		m.twins = m.twins || z.twin
	}
	sort.Slice(m.zones, func(i, j int) bool {
		if len(m.zones[i].name) != len(m.zones[j].name) {
			return len(m.zones[i].name) > len(m.zones[j].name)
		}
		return m.zones[i].private && !m.zones[j].private || m.zones[i].name < m.zones[j].name
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
		if m.zoneFor(n, false) == nil && m.zoneFor(n, true) == nil {
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
		kind := "public"
		if z.private {
			kind = "private"
		}
		zones = append(zones, z.name+" ("+z.id+", "+kind+")")
		z.reset()
	}
	mode := ""
	if m.cfg.DryRun {
		mode = ", dry run"
	}
	log.Infof("Route 53 mirror started for %s as owner %q (policy %s%s)", strings.Join(zones, ", "), m.plan.owner, m.cfg.Policy, mode)
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
	want, problems := m.wanted(z, m.entries(z, func(v table.View) []*table.Entry { return m.src.EntriesUnder(z.name, v) }))

	// Every record the table wants, every record this owner holds, and
	// every ownership TXT of this owner left without its record.
	keys := slices.Collect(maps.Keys(want))
	keys = append(keys, slices.Collect(maps.Keys(z.owned))...)
	keys = append(keys, orphans...)
	units, err := m.planAndApply(ctx, z, want, keys, problems)
	if err != nil {
		return fmt.Errorf("zone %s (%s): %w", z.name, z.id, err)
	}
	log.Infof("Route 53 full sync of %s: %d record sets listed in %s, %d records owned, %d changes in %s",
		z.label(), len(sets), listed.Round(time.Millisecond), len(z.owned), countChanges(units), time.Since(start).Round(time.Millisecond))
	return nil
}

// planAndApply plans keys against the view, reports the problems (with
// those of building want) and applies the plan.
func (m *Mirror) planAndApply(ctx context.Context, z *zoneState, want map[rrKey]*desired, keys []rrKey, problems []problem) ([]*unit, error) {
	keys = everyType(keys)
	units, planned := m.plan.plan(z, want, keys)
	m.report(z, keys, append(problems, planned...))
	err := m.apply(ctx, z, units)
	ownedRecords.WithLabelValues(z.label()).Set(float64(len(z.owned)))
	if err == nil {
		lastSync.WithLabelValues(z.label()).SetToCurrentTime()
	}
	return units, err
}

// everyType returns keys with every type a name may have in the mirror's
// hands (A, AAAA, CNAME) for each name in keys: a name that moves between
// them is planned as a whole.
func everyType(keys []rrKey) []rrKey {
	out := make([]rrKey, 0, 3*len(keys))
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if !seen[k.name] {
			seen[k.name] = true
			out = append(out, rrKey{k.name, "A"}, rrKey{k.name, "AAAA"}, rrKey{k.name, "CNAME"})
		}
	}
	return out
}

// entries returns what the table holds for zone z, from get (all of a
// zone, or some names): the external addresses of the names that belong to
// it, or for the private one of twins the internal addresses (external
// where a name has none, so that no name disappears inside the VPC).
func (m *Mirror) entries(z *zoneState, get func(table.View) []*table.Entry) []sourced {
	var out []sourced
	seen := map[string]bool{}
	if z.twin {
		for _, e := range get(table.Internal) {
			if m.zoneFor(e.Set.Name, true) == z {
				out = append(out, sourced{e, table.Internal})
				seen[e.Set.Name] = true
			}
		}
	}
	for _, e := range get(table.External) {
		if !seen[e.Set.Name] && m.zoneFor(e.Set.Name, z.private) == z {
			out = append(out, sourced{e, table.External})
		}
	}
	return out
}

// wanted returns the record sets z gets from entries.
func (m *Mirror) wanted(z *zoneState, entries []sourced) (map[rrKey]*desired, []problem) {
	return recordBuilder{
		ttl:                  m.cfg.TTL,
		internalOK:           z.private || m.cfg.PublishInternal,
		evaluateTargetHealth: m.cfg.EvaluateTargetHealth,
		clusterRouting:       m.cfg.ClusterRouting,
		preferCNAME:          m.cfg.PreferCNAME,
		zone:                 z.name,
		zoneID:               z.id,
	}.build(entries)
}

// load replaces the view of z with a listing and works out what this owner
// owns. It returns the records named by ownership TXTs of this owner, which
// may have lost their record.
func (m *Mirror) load(z *zoneState, sets []types.ResourceRecordSet) (txtRecords []rrKey) {
	z.load(sets)
	keys := map[rrKey]bool{}
	for name, byType := range z.sets {
		for typ := range byType {
			keys[rrKey{name, typ}] = true
		}
	}
	for k := range z.routed {
		keys[k] = true
	}
	for k := range keys {
		switch k.typ {
		case "A", "AAAA", "CNAME":
			if m.plan.owns(z, k) {
				z.owned[k] = true
			}
		case "TXT":
			if !slices.ContainsFunc(z.at(k.name, "TXT"), func(rs *types.ResourceRecordSet) bool {
				labels, _ := z.heritageLabelsAt(k.name, setID(rs))
				return labels.Owner() == m.plan.owner
			}) {
				continue
			}
			for _, r := range m.plan.naming.RecordsOf(k.name, "A", "AAAA", "CNAME") {
				// "cname-NAME" is a CNAME's TXT, and an ALIAS A record's
				// up to ExternalDNS v0.21: the name is planned whole.
				if m.zoneFor(r.Name, z.private) == z {
					txtRecords = append(txtRecords, rrKey{r.Name, r.Type})
				}
			}
		}
	}
	return txtRecords
}

// syncNames brings the records at names in line with the table, against
// the view: no listing.
func (m *Mirror) syncNames(ctx context.Context, names []string) error {
	start := time.Now()
	defer func() { syncDuration.WithLabelValues("event").Observe(time.Since(start).Seconds()) }()
	byZone := map[*zoneState][]string{}
	for _, n := range names {
		for _, private := range []bool{false, true} {
			if z := m.zoneFor(n, private); z != nil && z.loaded {
				byZone[z] = append(byZone[z], n) // zones not listed yet: the next full sync covers them
			}
		}
	}
	if len(byZone) == 0 {
		return nil
	}
	views := map[table.View][]*table.Entry{table.External: m.src.EntriesAt(names, table.External)}
	if m.twins {
		views[table.Internal] = m.src.EntriesAt(names, table.Internal)
	}
	var errs []string
	for _, z := range m.zones {
		ns := byZone[z]
		if len(ns) == 0 {
			continue
		}
		want, problems := m.wanted(z, m.entries(z, func(v table.View) []*table.Entry { return views[v] }))
		var keys []rrKey
		for _, n := range ns {
			keys = append(keys, rrKey{n, "A"})
		}
		if _, err := m.planAndApply(ctx, z, want, keys, problems); err != nil {
			errs = append(errs, fmt.Sprintf("zone %s (%s): %v", z.label(), z.id, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
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
				log.Infof("Route 53 dry run, zone %s: would %s", z.label(), describe(c))
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
	for _, b := range batches(units, m.cfg.BatchSize, z.id) {
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
		units := m.replan(z, b...)
		for _, nb := range batches(units, m.cfg.BatchSize, z.id) {
			if err := m.submit(ctx, z, nb, false); err != nil {
				return err
			}
		}
		return nil
	}
	if groups := nameGroups(b); len(groups) > 1 {
		log.Warningf("Route 53 rejected a batch of %d records in zone %s, splitting it: %v", len(b), z.name, err)
		mid := len(slices.Concat(groups[:len(groups)/2]...))
		if err := m.submit(ctx, z, b[:mid], mayRefresh); err != nil {
			return err
		}
		return m.submit(ctx, z, b[mid:], mayRefresh)
	}
	// One name's records.
	if mayRefresh {
		var names []string
		for _, u := range b {
			for _, n := range u.names() {
				if !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
		}
		rerr := m.refresh(ctx, z, names)
		switch {
		case rerr == nil:
			units := m.replan(z, b...)
			if len(units) == 0 {
				return nil
			}
			return m.submit(ctx, z, units, false)
		case errorKind(rerr) != "invalid_change":
			errorsCount.WithLabelValues("list").Inc()
			return rerr
		}
		// Route 53 will not even read the name: the record is bad.
	}
	for _, u := range b {
		errorsCount.WithLabelValues("invalid_change").Inc()
		z.rejected[u.key] = u.fingerprint()
		log.Errorf("Route 53 rejected %s %s in zone %s, leaving it out until it changes or the next full sync: %v (changes: %s)",
			u.key.name, u.key.typ, z.name, err, u.fingerprint())
	}
	return nil
}

// replan plans the records of units again, against a fresh view.
func (m *Mirror) replan(z *zoneState, units ...*unit) []*unit {
	want := map[rrKey]*desired{}
	keys := make([]rrKey, 0, len(units))
	for _, u := range units {
		keys = append(keys, u.key)
		if u.want != nil {
			want[u.key] = u.want
		}
	}
	out, problems := m.plan.plan(z, want, keys)
	m.report(z, keys, problems)
	return out
}

// staleView reports whether Route 53 rejected a batch because the view is
// out of date: a CREATE of a record that exists, a DELETE of one that does
// not (or with other values). err carries the batch's messages
// (withMessages).
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
	changes := batchChanges(b)
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := m.client.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(z.id),
		ChangeBatch: &types.ChangeBatch{
			Changes: changes,
			Comment: aws.String("clusterzone owner " + m.plan.owner),
		},
	}, m.callOptions)
	return withMessages(err)
}

// withMessages adds the messages of an InvalidChangeBatch to err: Route 53
// says what it rejected there (one message per problem), not in the error's
// text, which is only "ChangeBatch errors occurred".
func withMessages(err error) error {
	var icb *types.InvalidChangeBatch
	if errors.As(err, &icb) && len(icb.Messages) > 0 {
		return fmt.Errorf("%w: %s", err, strings.Join(icb.Messages, "; "))
	}
	return err
}

// applied records a batch Route 53 accepted in the view and the metrics.
func (m *Mirror) applied(z *zoneState, b []*unit) {
	for _, u := range b {
		for _, c := range u.changes {
			z.applyChange(c)
			changesCount.WithLabelValues(string(c.Action), string(c.ResourceRecordSet.Type)).Inc()
			log.Infof("Route 53 zone %s: %s", z.label(), describe(c))
		}
		m.updateOwned(z, u.key)
	}
}

func (m *Mirror) updateOwned(z *zoneState, k rrKey) {
	if m.plan.owns(z, k) {
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
		for _, t := range []string{"A", "AAAA", "CNAME"} {
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

// zoneFor is the one rule that picks the hosted zone of a name, for the
// full reconcile and the event-driven sync alike: the most specific zone,
// among the private or the public ones, that holds it; nil when none does.
func (m *Mirror) zoneFor(name string, private bool) *zoneState {
	for _, z := range m.zones {
		if z.private == private && z.contains(name) {
			return z
		}
	}
	return nil
}

// report logs each problem once (until it changes or goes away) and counts
// it under its kind (an empty kind is informational and not counted); the
// other keys planned have no problem now, and are logged afresh when they
// get one again.
func (m *Mirror) report(z *zoneState, keys []rrKey, problems []problem) {
	bad := map[rrKey]bool{}
	for _, p := range problems {
		bad[p.key] = true
		if z.reported[p.key] == p.msg {
			continue
		}
		z.reported[p.key] = p.msg
		if p.kind == "" {
			log.Infof("Route 53 zone %s: %s", z.label(), p.msg)
			continue
		}
		errorsCount.WithLabelValues(p.kind).Inc()
		log.Warningf("Route 53 zone %s: %s", z.label(), p.msg)
	}
	for _, k := range keys {
		if !bad[k] {
			delete(z.reported, k)
		}
	}
}

// backoff is the wait before a failed sync is tried again: the SDK
// retries' jittered exponential backoff, from loopBackoffMin to
// loopBackoffMax, by the number of failures in a row.
type backoff struct {
	delay    jitterBackoff
	failures int
}

func newBackoff() *backoff {
	return &backoff{delay: jitterBackoff{base: loopBackoffMin, max: loopBackoffMax}}
}

func (b *backoff) next() time.Duration {
	d, _ := b.delay.BackoffDelay(b.failures, nil)
	b.failures++
	return d
}

func (b *backoff) reset() { b.failures = 0 }
