package manifests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/store"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"
)

type sink struct {
	mu     sync.Mutex
	svcs   map[string]*translate.Result
	synced bool
	other  []string // slice and node calls
}

func (s *sink) UpsertEndpoints(es *translate.EndpointSlice) {
	s.mu.Lock()
	s.other = append(s.other, "slice "+es.Key)
	s.mu.Unlock()
}
func (s *sink) DeleteEndpoints(key string) {
	s.mu.Lock()
	s.other = append(s.other, "-slice "+key)
	s.mu.Unlock()
}
func (s *sink) UpsertNode(n *translate.Node) {
	s.mu.Lock()
	s.other = append(s.other, "node "+n.Name)
	s.mu.Unlock()
}
func (s *sink) DeleteNode(name string) {
	s.mu.Lock()
	s.other = append(s.other, "-node "+name)
	s.mu.Unlock()
}

func (s *sink) Upsert(res *translate.Result) {
	s.mu.Lock()
	s.svcs[res.Key] = res
	s.mu.Unlock()
}
func (s *sink) Delete(key string) { s.mu.Lock(); delete(s.svcs, key); s.mu.Unlock() }
func (s *sink) MarkSynced()       { s.mu.Lock(); s.synced = true; s.mu.Unlock() }
func (s *sink) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.svcs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestParse(t *testing.T) {
	svcs, err := Parse("t", []byte(`
apiVersion: v1
kind: Service
metadata: {name: a}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ignored}
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Service, metadata: {name: b, namespace: x}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}
---
{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "d", "namespace": "y"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range svcs {
		keys = append(keys, s.Namespace+"/"+s.Name)
	}
	if want := "default/a x/b y/d"; joined(keys) != want {
		t.Errorf("got %v, want %s", keys, want)
	}
	for _, bad := range []string{
		"kind: Service\nmetadata: {namespace: x}\n",             // no name
		"kind: Service\nmetadata: {name: a}\nspec: {nope: 1}\n", // unknown field
		"kind: Service\nmetadata: [\n",                          // not YAML
	} {
		if _, err := Parse("t", []byte(bad)); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

func joined(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func TestLoadAndWatch(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		// Write and rename, as editors do.
		tmp := filepath.Join(dir, "."+name+".tmp")
		if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", "kind: Service\nmetadata: {name: a, annotations: {external-dns.alpha.kubernetes.io/hostname: a.example.org}}\nspec: {clusterIP: 10.0.0.1}\n")
	write("notes.txt", "kind: Service\nmetadata: {name: not-a-manifest}\n")
	s := &sink{svcs: map[string]*translate.Result{}}
	var errs []error
	var emu sync.Mutex
	opts := translate.Options{Prefixes: []string{translate.PrefixAlpha}, Zones: []string{"example.org."}, DefaultTTL: 60}
	src := New([]string{dir}, opts, s)
	src.OnError = func(err error) { emu.Lock(); errs = append(errs, err); emu.Unlock() }
	if err := src.Load(); err != nil {
		t.Fatal(err)
	}
	if !s.synced || joined(s.keys()) != "default/a" {
		t.Fatalf("after Load: synced %v keys %v", s.synced, s.keys())
	}
	// Translated with the source's options.
	if eps := s.svcs["default/a"].Endpoints; len(eps) != 1 || eps[0].Name != "a.example.org." || eps[0].TTL != 60 || fmt.Sprint(eps[0].External.IPs) != "[10.0.0.1]" {
		t.Errorf("default/a translated to %+v", eps)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Run(ctx)
	time.Sleep(100 * time.Millisecond) // let the watcher start

	wait := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for joined(s.keys()) != want {
			if time.Now().After(deadline) {
				t.Fatalf("keys %v, want %s", s.keys(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	write("b.yml", "kind: Service\nmetadata: {name: b, namespace: x}\n")
	wait("default/a x/b")
	// A broken edit keeps what the file held.
	write("b.yml", "kind: Service\nmetadata: [\n")
	time.Sleep(400 * time.Millisecond)
	wait("default/a x/b")
	emu.Lock()
	if len(errs) == 0 {
		t.Error("broken file not reported")
	}
	emu.Unlock()
	os.Remove(filepath.Join(dir, "a.yaml"))
	wait("x/b")
}

func TestLoadMissingPath(t *testing.T) {
	src := New([]string{"/nonexistent/manifests"}, translate.Options{}, &sink{svcs: map[string]*translate.Result{}})
	if err := src.Load(); err == nil {
		t.Error("no error for a missing path")
	}
}

// Headless and NodePort Services in manifests take their addresses from the
// EndpointSlices and Nodes written beside them, through the store and Join,
// as in a cluster.
func TestEndpointSlicesAndNodes(t *testing.T) {
	dir := t.TempDir()
	const doc = `
apiVersion: v1
kind: Service
metadata: {name: db, annotations: {external-dns.kubernetes.io/hostname: db.example.org}}
spec: {clusterIP: None}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: db-v4, labels: {kubernetes.io/service-name: db}}
addressType: IPv4
endpoints:
- {addresses: [10.244.0.5], hostname: db-0, nodeName: n1, conditions: {ready: true}}
- {addresses: [10.244.0.6], hostname: db-1, nodeName: n1, conditions: {ready: false}}
---
apiVersion: v1
kind: Service
metadata: {name: np, annotations: {external-dns.kubernetes.io/hostname: np.example.org}}
spec: {type: NodePort, clusterIP: 10.96.0.9, ports: [{port: 80, nodePort: 30080}]}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 10.0.0.1}, {type: ExternalIP, address: 203.0.113.1}]}
`
	if err := os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	zones := []string{"example.org."}
	opts := translate.Options{Prefixes: []string{translate.PrefixGA}, Zones: zones, DefaultTTL: 60}
	tb := table.New(zones, "me")
	src := New([]string{dir}, opts, store.New(opts, tb, nil, nil))
	if err := src.Load(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"db.example.org.":           "[10.244.0.5]",
		"db-0.db.example.org.":      "[10.244.0.5]",
		"np.example.org.":           "[203.0.113.1]",
		"_np._tcp.np.example.org.":  "[]",
		"db-1.db.example.org.":      "none",
		"nothing.here.example.org.": "none",
	} {
		a := tb.Lookup("example.org.", name, table.External)
		if a.Entry == nil {
			if want != "none" {
				t.Errorf("%s: not published", name)
			}
			continue
		}
		if got := fmt.Sprint(a.Entry.Set.External); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	a := tb.Lookup("example.org.", "_np._tcp.np.example.org.", table.External)
	if a.Entry == nil || a.Entry.Set.Refs == nil || fmt.Sprint(a.Entry.Set.Refs.SRV) != "[{0 50 30080 np.example.org.}]" {
		t.Errorf("SRV %+v", a.Entry)
	}
}
