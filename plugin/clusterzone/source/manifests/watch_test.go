package manifests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"
)

// watched is a Source over one path, running, with its sink and reported
// errors.
type watched struct {
	src  *Source
	sink *sink
	mu   sync.Mutex
	errs []string
}

func watch(t *testing.T, path string) *watched {
	t.Helper()
	w := &watched{sink: &sink{svcs: map[string]*translate.Result{}}}
	opts := translate.Options{Prefixes: []string{translate.PrefixAlpha}, Zones: []string{"example.org."}, DefaultTTL: 60}
	w.src = New([]string{path}, opts, w.sink)
	w.src.Debounce = 20 * time.Millisecond
	w.src.OnError = func(err error) { w.mu.Lock(); w.errs = append(w.errs, err.Error()); w.mu.Unlock() }
	w.src.OnWarning = func(msg string) { w.mu.Lock(); w.errs = append(w.errs, msg); w.mu.Unlock() }
	if err := w.src.Load(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.src.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	time.Sleep(100 * time.Millisecond) // let the watcher start
	return w
}

// wait waits for the sink's Service keys, then for target (host name of
// Service key's first endpoint) when given.
func (w *watched) wait(t *testing.T, keys string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for joined(w.sink.keys()) != keys {
		if time.Now().After(deadline) {
			t.Fatalf("keys %v, want %s (errors: %v)", w.sink.keys(), keys, w.errors())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (w *watched) waitIP(t *testing.T, key, ip string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.sink.mu.Lock()
		r := w.sink.svcs[key]
		got := ""
		if r != nil && len(r.Endpoints) > 0 {
			got = fmt.Sprint(r.Endpoints[0].External.IPs)
		}
		w.sink.mu.Unlock()
		if got == "["+ip+"]" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %s, want [%s] (errors: %v)", key, got, ip, w.errors())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (w *watched) errors() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.errs...)
}

func svcDoc(name, ip string) string {
	return fmt.Sprintf("kind: Service\nmetadata: {name: %s, annotations: {external-dns.alpha.kubernetes.io/hostname: %s.example.org}}\nspec: {type: LoadBalancer, clusterIP: 10.96.0.1}\nstatus: {loadBalancer: {ingress: [{ip: %s}]}}\n---\n", name, name, ip)
}

func mustWrite(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConfigMapVolume updates a folder the way the kubelet updates a
// ConfigMap volume: the files are symlinks into "..data", itself a symlink
// to a timestamped folder; an update writes a new folder and renames a new
// "..data" link over the old one.
func TestConfigMapVolume(t *testing.T) {
	dir := t.TempDir()
	version := func(n int, body string) {
		t.Helper()
		ts := filepath.Join(dir, fmt.Sprintf("..2026_12_03_00_00_0%d.000", n))
		if err := os.Mkdir(ts, 0o755); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(ts, "services.yaml"), body)
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	version(1, svcDoc("web", "192.0.2.1"))
	if err := os.Symlink("..data/services.yaml", filepath.Join(dir, "services.yaml")); err != nil {
		t.Fatal(err)
	}
	w := watch(t, dir)
	w.wait(t, "default/web")
	w.waitIP(t, "default/web", "192.0.2.1")

	version(2, svcDoc("web", "192.0.2.2")+svcDoc("api", "192.0.2.3"))
	w.wait(t, "default/api default/web")
	w.waitIP(t, "default/web", "192.0.2.2")
}

// TestFolderRecreated: a watched folder removed and created again is
// watched again; while it is gone its Services are kept.
func TestFolderRecreated(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "manifests")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "a.yaml"), svcDoc("a", "192.0.2.1"))
	w := watch(t, dir)
	w.wait(t, "default/a")

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	w.wait(t, "default/a") // kept while the folder is gone
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "b.yaml"), svcDoc("b", "192.0.2.2"))
	w.wait(t, "default/b")
	// And it is watched: a later file is picked up.
	mustWrite(t, filepath.Join(dir, "c.yaml"), svcDoc("c", "192.0.2.3"))
	w.wait(t, "default/b default/c")
}

// TestFileRemovedRecreatedEmptied: a file removed and created again is read
// again; a file that becomes empty or loses Services says so.
func TestFileRemovedRecreatedEmptied(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "a.yaml")
	mustWrite(t, f, svcDoc("a", "192.0.2.1")+svcDoc("b", "192.0.2.2"))
	w := watch(t, dir)
	w.wait(t, "default/a default/b")

	mustWrite(t, f, svcDoc("a", "192.0.2.1"))
	w.wait(t, "default/a")
	if e := strings.Join(w.errors(), "\n"); !strings.Contains(e, "no longer holds 1 Services") || !strings.Contains(e, "default/b") {
		t.Errorf("losing a Service was not said: %q", e)
	}
	if err := os.Truncate(f, 0); err != nil {
		t.Fatal(err)
	}
	w.wait(t, "")
	if e := strings.Join(w.errors(), "\n"); !strings.Contains(e, "is empty now") || !strings.Contains(e, "default/a") {
		t.Errorf("emptying a file was not said: %q", e)
	}
	if err := os.Remove(f); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	mustWrite(t, f, svcDoc("c", "192.0.2.3"))
	w.wait(t, "default/c")
}

// TestReloadReadsOnlyChanged: with many files, one change parses one file
// and upserts only its Services.
func TestReloadReadsOnlyChanged(t *testing.T) {
	dir := t.TempDir()
	const n = 200
	for i := range n {
		mustWrite(t, filepath.Join(dir, fmt.Sprintf("s%03d.yaml", i)), svcDoc(fmt.Sprintf("s%03d", i), "192.0.2.1"))
	}
	src := New([]string{dir}, translate.Options{Prefixes: []string{translate.PrefixAlpha}, Zones: []string{"example.org."}}, &countingSink{sink: sink{svcs: map[string]*translate.Result{}}})
	if err := src.Load(); err != nil {
		t.Fatal(err)
	}
	cs := src.sink.(*countingSink)
	if src.parsed != n || cs.upserts != n {
		t.Fatalf("load parsed %d files and upserted %d Services, want %d and %d", src.parsed, cs.upserts, n, n)
	}
	src.parsed, cs.upserts = 0, 0
	mustWrite(t, filepath.Join(dir, "s042.yaml"), svcDoc("s042", "192.0.2.42"))
	src.reload()
	if src.parsed != 1 || cs.upserts != 1 {
		t.Errorf("one changed file: parsed %d files and upserted %d Services, want 1 and 1", src.parsed, cs.upserts)
	}
	if got := fmt.Sprint(cs.svcs["default/s042"].Endpoints[0].External.IPs); got != "[192.0.2.42]" {
		t.Errorf("s042 has %s", got)
	}
	src.parsed, cs.upserts = 0, 0
	src.reload()
	if src.parsed != 0 || cs.upserts != 0 {
		t.Errorf("nothing changed: parsed %d files and upserted %d Services, want none", src.parsed, cs.upserts)
	}
}

type countingSink struct {
	sink
	upserts int
}

func (c *countingSink) Upsert(res *translate.Result) { c.upserts++; c.sink.Upsert(res) }
