package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/source"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"
	"github.com/clusterzone/clusterzone/test/harness"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
)

// recSink is a Sink that records every call.
type recSink struct {
	mu      sync.Mutex
	calls   []string // "upsert ns/name", "delete ns/name", "synced"
	svcs    map[string]*translate.Result
	deletes []string
	synced  int
	slices  map[string]*translate.EndpointSlice
	nodes   map[string]*translate.Node
}

func newRecSink() *recSink {
	return &recSink{svcs: map[string]*translate.Result{}, slices: map[string]*translate.EndpointSlice{}, nodes: map[string]*translate.Node{}}
}

func (r *recSink) UpsertEndpoints(es *translate.EndpointSlice) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "upsert slice "+es.Key)
	r.slices[es.Key] = es
}

func (r *recSink) DeleteEndpoints(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "delete slice "+key)
	delete(r.slices, key)
}

func (r *recSink) UpsertNode(n *translate.Node) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "upsert node "+n.Name)
	r.nodes[n.Name] = n
}

func (r *recSink) DeleteNode(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "delete node "+name)
	delete(r.nodes, name)
}

func (r *recSink) slice(key string) *translate.EndpointSlice {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.slices[key]
}

func (r *recSink) node(name string) *translate.Node {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nodes[name]
}

func (r *recSink) Upsert(res *translate.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "upsert "+res.Key)
	r.svcs[res.Key] = res
}

func (r *recSink) Delete(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "delete "+key)
	r.deletes = append(r.deletes, key)
	delete(r.svcs, key)
}

func (r *recSink) MarkSynced() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "synced")
	r.synced++
}

func (r *recSink) syncedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.synced
}

func (r *recSink) get(key string) *translate.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.svcs[key]
}

func (r *recSink) keys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var k []string
	for key := range r.svcs {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

func (r *recSink) callList() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func (r *recSink) deleted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.deletes)
}

func service(ns, name string, lbls map[string]string, ann map[string]string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   ns,
			Name:        name,
			UID:         types.UID("uid-" + ns + "-" + name),
			Labels:      lbls,
			Annotations: ann,
		},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeClusterIP,
			ClusterIP:  "10.0.0.1",
			ClusterIPs: []string{"10.0.0.1", "fd00::1"},
			Ports:      []corev1.ServicePort{{Name: "http", Port: 80}},
			Selector:   map[string]string{"app": name},
		},
	}
}

// testOpts are the translate options of the tests: ExternalDNS's prefixes,
// zone example.org.
var testOpts = translate.Options{
	Prefixes:    []string{translate.PrefixAlpha, translate.PrefixGA},
	Zones:       []string{"example.org."},
	DefaultTTL:  60,
	Controllers: translate.DefaultControllers,
}

// hostnameAnn is the ExternalDNS hostname annotation.
const hostnameAnn = translate.PrefixAlpha + translate.AnnotationHostname

// names returns the names res publishes.
func names(res *translate.Result) []string {
	if res == nil {
		return nil
	}
	var out []string
	for _, ep := range res.Endpoints {
		out = append(out, ep.Name)
	}
	return out
}

// start runs a Source until the test ends and waits for it to sync.
func start(t *testing.T, cfg Config, client *fake.Clientset, sink source.Sink) *Source {
	t.Helper()
	s := New(cfg, client, testOpts, sink)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return after its context was canceled")
		}
	})
	harness.Eventually(t, 10*time.Second, func() error {
		if !s.HasSynced() {
			return errors.New("source not synced")
		}
		return nil
	})
	return s
}

func hasKeys(sink *recSink, want ...string) func() error {
	return func() error {
		if got := sink.keys(); !slices.Equal(got, want) {
			return fmt.Errorf("sink has %v, want %v", got, want)
		}
		return nil
	}
}

func TestInitialListThenSynced(t *testing.T) {
	client := fake.NewClientset(
		service("a", "one", nil, map[string]string{hostnameAnn: "one.example.org"}),
		service("b", "two", nil, nil),
	)
	sink := newRecSink()
	start(t, Config{}, client, sink)

	calls := sink.callList()
	want := []string{"synced", "upsert a/one", "upsert b/two"}
	got := slices.Clone(calls)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Fatalf("calls = %v, want (in any order) %v", calls, want)
	}
	if calls[len(calls)-1] != "synced" {
		t.Errorf("MarkSynced was not called after the initial Upserts: %v", calls)
	}
	if n := sink.syncedCount(); n != 1 {
		t.Errorf("MarkSynced called %d times, want 1", n)
	}
	// The sink gets the translation (the informer's cache holds nothing else).
	res := sink.get("a/one")
	if res.UID != "uid-a-one" || len(res.Endpoints) != 1 || res.Endpoints[0].Name != "one.example.org." ||
		fmt.Sprint(res.Endpoints[0].Internal) != "[10.0.0.1 fd00::1]" {
		t.Errorf("sink got %+v, want one.example.org. with both ClusterIPs and the UID", res)
	}

	// One WATCH on services for all namespaces.
	var watches []string
	for _, a := range client.Actions() {
		if a.GetVerb() == "watch" {
			watches = append(watches, a.GetResource().Resource+"@"+a.GetNamespace())
		}
	}
	if !slices.Equal(watches, []string{"services@"}) {
		t.Errorf("watches = %q, want one cluster-wide services watch", watches)
	}
}

func TestEmptyClusterSyncs(t *testing.T) {
	sink := newRecSink()
	start(t, Config{}, fake.NewClientset(), sink)
	if got := sink.callList(); !slices.Equal(got, []string{"synced"}) {
		t.Errorf("calls = %v, want [synced]", got)
	}
}

func TestAddUpdateDelete(t *testing.T) {
	client := fake.NewClientset()
	sink := newRecSink()
	start(t, Config{}, client, sink)
	ctx := context.Background()
	svcs := client.CoreV1().Services("ns")

	ann := map[string]string{hostnameAnn: "web.example.org"}
	if _, err := svcs.Create(ctx, service("ns", "web", nil, ann), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 5*time.Second, hasKeys(sink, "ns/web"))

	svc, err := svcs.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Annotations[hostnameAnn] = "www.example.org"
	svc.Spec.Type = corev1.ServiceTypeLoadBalancer
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}}
	if _, err := svcs.Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 5*time.Second, func() error {
		got := sink.get("ns/web")
		if got == nil || !slices.Equal(names(got), []string{"www.example.org."}) ||
			fmt.Sprint(got.Endpoints[0].External.IPs) != "[192.0.2.1]" {
			return fmt.Errorf("update not delivered: %+v", got)
		}
		return nil
	})

	if err := svcs.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 5*time.Second, hasKeys(sink))
	if got := sink.deleted(); !slices.Equal(got, []string{"ns/web"}) {
		t.Errorf("deletes = %v, want [ns/web]", got)
	}
	want := []string{"synced", "upsert ns/web", "upsert ns/web", "delete ns/web"}
	if got := sink.callList(); !slices.Equal(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
}

func TestNamespaces(t *testing.T) {
	client := fake.NewClientset(
		service("a", "one", nil, nil),
		service("b", "two", nil, nil),
		service("c", "three", nil, nil),
	)
	sink := newRecSink()
	start(t, Config{Namespaces: []string{"b", "a", "b"}}, client, sink)
	if err := hasKeys(sink, "a/one", "b/two")(); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	for _, ns := range []string{"c", "b"} {
		if _, err := client.CoreV1().Services(ns).Create(ctx, service(ns, "new", nil, nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	harness.Eventually(t, 5*time.Second, hasKeys(sink, "a/one", "b/new", "b/two"))
	time.Sleep(200 * time.Millisecond)
	if err := hasKeys(sink, "a/one", "b/new", "b/two")(); err != nil {
		t.Fatalf("a Service outside the namespaces arrived: %v", err)
	}

	// One watch per namespace, none cluster-wide.
	var watches []string
	for _, a := range client.Actions() {
		if a.GetVerb() == "watch" {
			watches = append(watches, a.GetNamespace())
		}
	}
	sort.Strings(watches)
	if !slices.Equal(watches, []string{"a", "b"}) {
		t.Errorf("watched namespaces %q, want [a b]", watches)
	}
}

// The fake clientset filters List by label selector but not Watch, so this
// checks the initial list and that the selector reaches both requests; the
// real API server test checks the filtering of watch events.
func TestLabelSelector(t *testing.T) {
	client := fake.NewClientset(
		service("a", "web", map[string]string{"app": "web", "dns": "public"}, nil),
		service("a", "db", map[string]string{"app": "db", "dns": "public"}, nil),
		service("a", "nolabels", nil, nil),
	)
	sink := newRecSink()
	start(t, Config{Labels: "dns = public, app notin (db)"}, client, sink)
	if err := hasKeys(sink, "a/web")(); err != nil {
		t.Fatal(err)
	}

	verbs := map[string]string{}
	for _, a := range client.Actions() {
		var sel string
		switch a := a.(type) {
		case k8stesting.ListActionImpl:
			sel = a.ListOptions.LabelSelector
		case k8stesting.WatchActionImpl:
			sel = a.ListOptions.LabelSelector
		default:
			continue
		}
		verbs[a.GetVerb()] = sel
	}
	want := "app notin (db),dns=public"
	if verbs["list"] != want || verbs["watch"] != want {
		t.Errorf("selectors sent: %v, want %q for list and watch", verbs, want)
	}
}

func TestDeletedFinalStateUnknown(t *testing.T) {
	obj, err := Transformer(testOpts)(cache.DeletedFinalStateUnknown{Key: "ns/gone", Obj: service("ns", "gone", nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := obj.(cache.DeletedFinalStateUnknown); !ok || d.Obj.(*Translated).Key != "ns/gone" {
		t.Errorf("transformed %+v", obj)
	}
	translated, _ := Transformer(testOpts)(service("ns", "svc", nil, nil))
	es, _ := sliceTransform(&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "svc-abc"}})
	node, _ := nodeTransform(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}})
	for obj, want := range map[any]string{
		obj: "ns/gone", cache.DeletedFinalStateUnknown{Key: "ns/unknown"}: "ns/unknown",
		translated: "ns/svc", es: "ns/svc-abc", node: "node-1", "something else": "",
	} {
		if got := deletedKey(obj); got != want {
			t.Errorf("deletedKey(%T) = %q, want %q", obj, got, want)
		}
	}
}

// EndpointSlices and Nodes are watched only when the configuration asks,
// and reach the sink translated.
func TestEndpointSlicesAndNodes(t *testing.T) {
	ready := true
	client := fake.NewClientset(
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "db-x", Labels: map[string]string{discoveryv1.LabelServiceName: "db"}},
			AddressType: discoveryv1.AddressTypeIPv6,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"fd00::5"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}, {Type: corev1.NodeExternalIP, Address: "203.0.113.1"}, {Type: corev1.NodeHostName, Address: "n1"}}}},
	)
	sink := newRecSink()
	start(t, Config{EndpointSlices: true, Nodes: true}, client, sink)
	if es := sink.slice("a/db-x"); es == nil || es.Service != "a/db" || len(es.Endpoints) != 1 || es.Endpoints[0].Addr.String() != "fd00::5" || !es.Endpoints[0].Ready {
		t.Errorf("slice %+v", es)
	}
	if n := sink.node("n1"); n == nil || fmt.Sprint(n.Internal, n.External) != "[10.0.0.1] [203.0.113.1]" {
		t.Errorf("node %+v", n)
	}
	var watches []string
	for _, a := range client.Actions() {
		if a.GetVerb() == "watch" {
			watches = append(watches, a.GetResource().Resource)
		}
	}
	sort.Strings(watches)
	if !slices.Equal(watches, []string{"endpointslices", "nodes", "services"}) {
		t.Errorf("watches %v", watches)
	}

	if err := client.DiscoveryV1().EndpointSlices("a").Delete(context.Background(), "db-x", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 10*time.Second, func() error {
		if sink.slice("a/db-x") != nil {
			return fmt.Errorf("slice still there")
		}
		return nil
	})
}

// A watch that fails with "410 Gone" while the API server cannot list makes
// the reflector re-list; the Sink keeps its state meanwhile, and after the
// re-list only the Service that really went away is deleted.
func TestWatchErrorKeepsState(t *testing.T) {
	client := fake.NewClientset(
		service("ns", "stays", nil, nil),
		service("ns", "goes", nil, nil),
	)
	var (
		firstWatch = watch.NewFake()
		watches    atomic.Int32
		listFails  atomic.Bool
	)
	client.PrependWatchReactor("services", func(k8stesting.Action) (bool, watch.Interface, error) {
		if watches.Add(1) == 1 {
			return true, firstWatch, nil
		}
		return false, nil, nil
	})
	client.PrependReactor("list", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		if listFails.Load() {
			return true, nil, errors.New("connection refused")
		}
		return false, nil, nil
	})
	sink := newRecSink()
	start(t, Config{}, client, sink)
	if err := hasKeys(sink, "ns/goes", "ns/stays")(); err != nil {
		t.Fatal(err)
	}

	listFails.Store(true)
	firstWatch.Error(&metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonGone, Message: "too old"})
	// The reflector now retries its list, which fails, with backoff.
	harness.Eventually(t, 5*time.Second, func() error {
		n := 0
		for _, a := range client.Actions() {
			if a.GetVerb() == "list" {
				n++
			}
		}
		if n < 2 {
			return errors.New("no re-list attempted")
		}
		return nil
	})
	if err := hasKeys(sink, "ns/goes", "ns/stays")(); err != nil {
		t.Fatalf("state changed while the API server was failing: %v", err)
	}
	if err := client.CoreV1().Services("ns").Delete(context.Background(), "goes", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	listFails.Store(false)

	harness.Eventually(t, 10*time.Second, hasKeys(sink, "ns/stays"))
	if got := sink.deleted(); !slices.Equal(got, []string{"ns/goes"}) {
		t.Errorf("deletes = %v, want [ns/goes]", got)
	}
	// The new watch delivers changes again.
	harness.Eventually(t, 10*time.Second, func() error {
		if watches.Load() < 2 {
			return errors.New("not watching again yet")
		}
		return nil
	})
	if _, err := client.CoreV1().Services("ns").Create(context.Background(), service("ns", "after", nil, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 5*time.Second, hasKeys(sink, "ns/after", "ns/stays"))
	if n := sink.syncedCount(); n != 1 {
		t.Errorf("MarkSynced called %d times, want 1", n)
	}
}

func TestRunTwice(t *testing.T) {
	sink := newRecSink()
	s := start(t, Config{}, fake.NewClientset(), sink)
	done := make(chan struct{})
	go func() {
		s.Run(context.Background())
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a second Run did not return")
	}
	if got := sink.callList(); !slices.Equal(got, []string{"synced"}) {
		t.Errorf("calls = %v, want [synced]", got)
	}
}

func TestRunStopsBeforeSync(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("list", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("forbidden")
	})
	sink := newRecSink()
	s := New(Config{}, client, testOpts, sink)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() {
		s.Run(ctx)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was done")
	}
	if s.HasSynced() || len(sink.callList()) != 0 {
		t.Errorf("synced = %v, calls = %v; want nothing", s.HasSynced(), sink.callList())
	}
}

func TestScope(t *testing.T) {
	s := New(Config{Namespaces: []string{"b", "a"}, Labels: "x=y"}, fake.NewClientset(), testOpts, newRecSink())
	if !strings.Contains(s.scope, "namespaces a,b") || !strings.Contains(s.scope, "x=y") || len(s.informers) != 2 {
		t.Errorf("scope %q with %d informers", s.scope, len(s.informers))
	}
}
