// Package store joins the pieces between the sources and the record table:
// it keeps the translation of each Service, the EndpointSlices and Nodes
// that headless and NodePort Services take their addresses from (joined with
// translate.Join), resolves load-balancer and ExternalName hostnames through
// the resolver, applies the result to the table per Service, and reports bad
// input and conflicts. It is the source.Sink every source feeds.
package store

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"
)

// Resolver resolves load-balancer hostnames off the serving path.
type Resolver interface {
	// Addrs returns the current addresses of host without blocking; nil
	// while host has not been resolved yet.
	Addrs(host string) []netip.Addr
	// Watch starts keeping host fresh; Unwatch stops it.
	Watch(host string)
	Unwatch(host string)
}

// Observer is told about what the store does, for logs, metrics and events.
// Every method must be cheap and must not call back into the store.
type Observer interface {
	// Problem: part of the Service svc was invalid and was dropped.
	Problem(svc *translate.Result, p translate.Problem)
	// Skipped: the Service svc publishes nothing by choice (ignore or
	// controller annotation).
	Skipped(svc *translate.Result, reason string)
	// Conflict: a Service lost a name to another one. loser is the loser's
	// translation when the store still holds it, nil otherwise.
	Conflict(loser *translate.Result, c table.Conflict)
	// Applied: the table changed.
	Applied(ch table.Change)
}

// Store holds the last translation of every Service and keeps the table in
// step. It keeps the translations it is given (shared with the source, which
// must not modify them), not the Services.
type Store struct {
	opts     translate.Options
	table    *table.Table
	resolver Resolver
	obs      Observer
	synced   atomic.Bool

	mu      sync.Mutex
	results map[string]*translate.Result   // by namespace/name
	hosts   map[string]map[string]struct{} // LB hostname -> Service keys
	// slices are the EndpointSlices by key, bySvc the keys of each
	// Service's slices (by the Service's key).
	slices map[string]*translate.EndpointSlice
	bySvc  map[string]map[string]struct{}
	nodes  map[string]*translate.Node
	// nodeUsers are the Services whose Join reads Nodes.
	nodeUsers map[string]struct{}
	// joinProblems are the problems of each Service's last Join, so that a
	// problem is reported once per change, not on every re-join.
	joinProblems map[string][]translate.Problem
}

// New returns a store feeding t. resolver may be nil (hostnames are then
// not resolved); obs may be nil.
func New(opts translate.Options, t *table.Table, resolver Resolver, obs Observer) *Store {
	return &Store{
		opts: opts, table: t, resolver: resolver, obs: obs,
		results:      map[string]*translate.Result{},
		hosts:        map[string]map[string]struct{}{},
		slices:       map[string]*translate.EndpointSlice{},
		bySvc:        map[string]map[string]struct{}{},
		nodes:        map[string]*translate.Node{},
		nodeUsers:    map[string]struct{}{},
		joinProblems: map[string][]translate.Problem{},
	}
}

// Table returns the record table the store feeds.
func (s *Store) Table() *table.Table { return s.table }

// Options returns the translate options.
func (s *Store) Options() translate.Options { return s.opts }

// MarkSynced records that the source has delivered its first full state.
func (s *Store) MarkSynced() { s.synced.Store(true) }

// Synced reports whether the first full state has been loaded.
func (s *Store) Synced() bool { return s.synced.Load() }

// Upsert adds or updates the Service res is the translation of (made with
// translate.Service and the store's Options). res must not be modified
// afterwards. A translation equal to the one held changes nothing and reports
// nothing again.
func (s *Store) Upsert(res *translate.Result) {
	key := res.Key
	s.mu.Lock()
	prev := s.results[key]
	s.results[key] = res // also when equal: the source's copy is the one to keep
	if prev != nil && prev.Equal(res) {
		s.mu.Unlock()
		return
	}
	s.retrackHosts(key, prev, res)
	if res.Backed.NeedsNodes() {
		s.nodeUsers[key] = struct{}{}
	} else {
		delete(s.nodeUsers, key)
	}
	delete(s.joinProblems, key) // a changed Service reports its problems again
	ch, joinProblems := s.apply(key, res)
	s.mu.Unlock()

	if s.obs == nil {
		return
	}
	if res.Skipped != "" && (prev == nil || prev.Skipped != res.Skipped) {
		s.obs.Skipped(res, res.Skipped)
	}
	s.reportApplied(res, ch, append(slices.Clip(res.Problems), joinProblems...))
}

// reportApplied reports the problems of applying res and the change it made.
func (s *Store) reportApplied(res *translate.Result, ch table.Change, problems []translate.Problem) {
	if s.obs != nil {
		for _, p := range problems {
			s.obs.Problem(res, p)
		}
	}
	s.report(ch)
}

// Delete removes the Service with key "namespace/name".
func (s *Store) Delete(key string) {
	s.mu.Lock()
	prev := s.results[key]
	if prev == nil {
		s.mu.Unlock()
		return
	}
	delete(s.results, key)
	delete(s.nodeUsers, key)
	delete(s.joinProblems, key)
	s.retrackHosts(key, prev, nil)
	ch := s.table.Delete(key)
	s.mu.Unlock()
	s.report(ch)
}

// Keys returns the keys of every Service the store holds.
func (s *Store) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.results))
	for k := range s.results {
		out = append(out, k)
	}
	return out
}

// HostChanged is called by the resolver when the addresses of host changed;
// every Service using host is applied again.
func (s *Store) HostChanged(host string) {
	s.mu.Lock()
	keys := make([]string, 0, len(s.hosts[host]))
	for key := range s.hosts[host] {
		keys = append(keys, key)
	}
	s.reapply(keys)
}

// UpsertEndpoints adds or updates an EndpointSlice (shared with the source,
// which must not modify it); the Service it belongs to is joined again.
func (s *Store) UpsertEndpoints(es *translate.EndpointSlice) {
	s.mu.Lock()
	prev := s.slices[es.Key]
	s.slices[es.Key] = es
	if prev != nil && prev.Equal(es) {
		s.mu.Unlock()
		return
	}
	var keys []string
	if prev != nil && prev.Service != es.Service {
		s.unindexSlice(prev)
		keys = s.joining(keys, prev.Service)
	}
	if es.Service != "" {
		if s.bySvc[es.Service] == nil {
			s.bySvc[es.Service] = map[string]struct{}{}
		}
		s.bySvc[es.Service][es.Key] = struct{}{}
		keys = s.joining(keys, es.Service)
	}
	s.reapply(keys)
}

// joining appends key to keys when that Service takes addresses from its
// EndpointSlices (headless, NodePort): the slices of every other Service
// (most of a cluster's) change nothing it publishes. s.mu is held.
func (s *Store) joining(keys []string, key string) []string {
	if res := s.results[key]; res != nil && res.Backed != nil {
		keys = append(keys, key)
	}
	return keys
}

// DeleteEndpoints removes the EndpointSlice with key "namespace/name".
func (s *Store) DeleteEndpoints(key string) {
	s.mu.Lock()
	prev := s.slices[key]
	if prev == nil {
		s.mu.Unlock()
		return
	}
	delete(s.slices, key)
	s.unindexSlice(prev)
	s.reapply(s.joining(nil, prev.Service))
}

func (s *Store) unindexSlice(es *translate.EndpointSlice) {
	if m := s.bySvc[es.Service]; m != nil {
		delete(m, es.Key)
		if len(m) == 0 {
			delete(s.bySvc, es.Service)
		}
	}
}

// UpsertNode adds or updates a Node (shared with the source, which must not
// modify it); the Services that read Nodes are joined again.
func (s *Store) UpsertNode(n *translate.Node) {
	s.mu.Lock()
	prev := s.nodes[n.Name]
	s.nodes[n.Name] = n
	if prev != nil && prev.Equal(n) {
		s.mu.Unlock()
		return
	}
	s.reapply(s.nodeUserKeys())
}

// DeleteNode removes the Node named name.
func (s *Store) DeleteNode(name string) {
	s.mu.Lock()
	if _, ok := s.nodes[name]; !ok {
		s.mu.Unlock()
		return
	}
	delete(s.nodes, name)
	s.reapply(s.nodeUserKeys())
}

func (s *Store) nodeUserKeys() []string {
	keys := make([]string, 0, len(s.nodeUsers))
	for k := range s.nodeUsers {
		keys = append(keys, k)
	}
	return keys
}

// reapply applies the Services with these keys again (those the store holds
// and that take addresses from elsewhere), unlocks s.mu, and reports.
func (s *Store) reapply(keys []string) {
	type applied struct {
		res      *translate.Result
		ch       table.Change
		problems []translate.Problem
	}
	var done []applied
	for _, key := range keys {
		res := s.results[key]
		if res == nil {
			continue
		}
		ch, problems := s.apply(key, res)
		done = append(done, applied{res, ch, problems})
	}
	s.mu.Unlock()
	for _, a := range done {
		s.reportApplied(a.res, a.ch, a.problems)
	}
}

func (s *Store) report(ch table.Change) {
	if s.obs == nil {
		return
	}
	for _, c := range ch.Conflicts {
		s.mu.Lock()
		loser := s.results[c.Loser.Key]
		s.mu.Unlock()
		s.obs.Conflict(loser, c)
	}
	if len(ch.Names) > 0 {
		s.obs.Applied(ch)
	}
}

// apply joins res with its EndpointSlices and Nodes when it has Backed
// names, resolves it into record sets and applies them. It returns the
// change and the join's problems not reported before. s.mu is held.
func (s *Store) apply(key string, res *translate.Result) (table.Change, []translate.Problem) {
	endpoints := res.Endpoints
	var fresh []translate.Problem
	if res.Backed != nil {
		var eps []*translate.EndpointSlice
		for k := range s.bySvc[key] {
			eps = append(eps, s.slices[k])
		}
		joined, problems := translate.Join(res.Backed, eps, s.nodes)
		endpoints = mergeEndpoints(joined, res.Endpoints)
		fresh = newProblems(s.joinProblems[key], problems)
		if len(problems) > 0 {
			s.joinProblems[key] = problems
		} else {
			delete(s.joinProblems, key)
		}
	}
	sets := make([]table.RecordSet, 0, len(endpoints))
	for _, ep := range endpoints {
		rs := table.RecordSet{
			Name: ep.Name, TTL: ep.TTL, TTLSet: ep.TTLSet, DualStack: ep.DualStack, Kind: ep.Kind,
			ClusterIPOnly: ep.ClusterIPOnly,
			External:      s.resolve(ep.External),
			Internal:      ep.Internal,
			Aliases:       ep.External.Hostnames,
			AliasesOnly:   len(ep.External.IPs) == 0 && len(ep.External.Hostnames) > 0,
			AliasOptions:  ep.AliasOptions,
			Refs:          ep.Refs,
			Routing:       ep.Routing,
		}
		if ep.Everywhere {
			rs.Internal = rs.External
		}
		sets = append(sets, rs)
	}
	return s.table.Apply(table.Owner{Key: key, Created: res.Created.Unix()}, sets), fresh
}

// mergeEndpoints returns joined followed by the endpoints of other at names
// joined does not hold (a name listed as both hostname and
// internal-hostname of a NodePort Service publishes the node addresses).
func mergeEndpoints(joined, other []translate.Endpoint) []translate.Endpoint {
	if len(other) == 0 {
		return joined
	}
	out := slices.Clip(joined)
	for _, ep := range other {
		if !slices.ContainsFunc(joined, func(j translate.Endpoint) bool { return j.Name == ep.Name }) {
			out = append(out, ep)
		}
	}
	return out
}

// newProblems returns the problems of now that were not in was (a set: a
// slice of thousands of bad endpoints must not cost its square).
func newProblems(was, now []translate.Problem) []translate.Problem {
	if len(was) == 0 {
		return now
	}
	seen := make(map[translate.Problem]struct{}, len(was))
	for _, p := range was {
		seen[p] = struct{}{}
	}
	var out []translate.Problem
	for _, p := range now {
		if _, ok := seen[p]; !ok {
			out = append(out, p)
		}
	}
	return out
}

func (s *Store) resolve(a translate.Addrs) []netip.Addr {
	if len(a.Hostnames) == 0 || s.resolver == nil {
		return a.IPs
	}
	out := append([]netip.Addr(nil), a.IPs...)
	for _, h := range a.Hostnames {
		out = append(out, s.resolver.Addrs(h)...)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// retrackHosts updates which hostnames key depends on. s.mu is held.
func (s *Store) retrackHosts(key string, prev, cur *translate.Result) {
	if s.resolver == nil {
		return
	}
	was, now := hostsOf(prev), hostsOf(cur)
	for h := range now {
		if _, ok := was[h]; ok {
			continue
		}
		if s.hosts[h] == nil {
			s.hosts[h] = map[string]struct{}{}
			s.resolver.Watch(h)
		}
		s.hosts[h][key] = struct{}{}
	}
	for h := range was {
		if _, ok := now[h]; ok {
			continue
		}
		delete(s.hosts[h], key)
		if len(s.hosts[h]) == 0 {
			delete(s.hosts, h)
			s.resolver.Unwatch(h)
		}
	}
}

func hostsOf(r *translate.Result) map[string]struct{} {
	out := map[string]struct{}{}
	if r == nil {
		return out
	}
	for _, ep := range r.Endpoints {
		for _, h := range ep.External.Hostnames {
			out[h] = struct{}{}
		}
	}
	return out
}
