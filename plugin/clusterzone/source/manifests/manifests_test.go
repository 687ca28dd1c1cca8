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

	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"
)

type sink struct {
	mu     sync.Mutex
	svcs   map[string]*translate.Result
	synced bool
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
