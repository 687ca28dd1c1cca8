// Package manifests is a source of Services, EndpointSlices and Nodes read
// from manifest files (YAML or JSON, multi-document, files or folders),
// reloaded when they change. It lets the plugin run with no cluster, for
// development and testing: a headless Service with the EndpointSlices its
// pods would have, a NodePort Service with the Nodes, serve as in a cluster.
package manifests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/source"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	"github.com/fsnotify/fsnotify"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Source watches manifest paths and feeds a source.Sink: on every reload,
// every object is upserted (changed or not) and those gone are deleted.
type Source struct {
	paths []string
	opts  translate.Options
	sink  source.Sink
	// OnError is told about files that cannot be read or parsed (their
	// Services are kept as they were).
	OnError func(err error)
	// OnWarning is told about files that lost Services: removed, emptied,
	// or edited (a truncated file must not drop Services without a word).
	OnWarning func(msg string)
	// Debounce is how long to wait after a file event before reloading.
	Debounce time.Duration

	current Objects // what the last reload delivered
	byFile  map[string]file
	// from is the file each object of current came from ("KIND KEY").
	from map[string]string
	// parsed counts the files read and parsed, for tests: a reload parses
	// only the files that changed.
	parsed int
}

// file is what a manifest file held when it was last read, and the file
// it was read from (a symlink's target: a ConfigMap volume swaps them).
type file struct {
	objs Objects
	info os.FileInfo
}

// unchanged reports whether fi is the same file, unmodified, as f was read
// from.
func (f file) unchanged(fi os.FileInfo) bool {
	return f.info != nil && os.SameFile(f.info, fi) && f.info.Size() == fi.Size() && f.info.ModTime().Equal(fi.ModTime())
}

// Objects are the objects of manifest files that the plugin reads.
type Objects struct {
	Services       []*corev1.Service
	EndpointSlices []*discoveryv1.EndpointSlice
	Nodes          []*corev1.Node
}

// New returns a source for paths (files or folders) that translates each
// Service with opts and feeds sink.
func New(paths []string, opts translate.Options, sink source.Sink) *Source {
	return &Source{paths: paths, opts: opts, sink: sink, Debounce: 100 * time.Millisecond, OnError: func(error) {}, OnWarning: func(string) {}, byFile: map[string]file{}}
}

// Load reads every manifest once, feeds the sink and marks it synced. An
// unreadable path is an error (at startup, a wrong path should fail loudly).
func (s *Source) Load() error {
	for _, p := range s.paths {
		if _, err := os.Stat(p); err != nil {
			return err
		}
	}
	s.reload()
	s.sink.MarkSynced()
	return nil
}

// Run watches the paths and reloads on change until ctx is done.
func (s *Source) Run(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	// Each folder path and the folder holding each path: editors replace
	// files, and a folder removed and created again is watched again when
	// it reappears in its parent.
	for _, p := range s.paths {
		dir := filepath.Clean(p)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			dir = filepath.Dir(dir)
		} else if err := w.Add(dir); err != nil {
			return err
		}
		if err := w.Add(filepath.Dir(dir)); err != nil && filepath.Dir(dir) != dir {
			return err
		}
	}
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if s.isPath(ev.Name) && ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					_ = w.Add(ev.Name) // a folder path created again
				}
			}
			if s.relevant(ev.Name) {
				timer = time.After(s.Debounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			s.OnError(err)
		case <-timer:
			timer = nil
			s.reload()
		}
	}
}

// isPath reports whether name is one of the paths.
func (s *Source) isPath(name string) bool {
	for _, p := range s.paths {
		if filepath.Clean(name) == filepath.Clean(p) {
			return true
		}
	}
	return false
}

// relevant reports whether a file event concerns one of the paths: the
// path itself, a manifest in a folder path, or the "..data" link a
// Kubernetes ConfigMap volume swaps to update every file at once.
func (s *Source) relevant(name string) bool {
	if s.isPath(name) {
		return true
	}
	for _, p := range s.paths {
		if filepath.Dir(name) == filepath.Clean(p) {
			return isManifest(name) || filepath.Base(name) == "..data"
		}
	}
	return false
}

func isManifest(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return !strings.HasPrefix(filepath.Base(name), ".")
	}
	return false
}

// reload reads every file and applies the difference.
func (s *Source) reload() {
	// seen is the file each object comes from ("KIND KEY" -> file).
	seen := map[string]string{}
	first := func(f, kind, key string) bool {
		if _, dup := seen[kind+" "+key]; dup {
			s.OnError(fmt.Errorf("%s: %s %s is defined twice; keeping the first", f, kind, key))
			return false
		}
		seen[kind+" "+key] = f
		return true
	}
	files, kept := s.files()
	present := make(map[string]bool, len(files))
	for _, f := range files {
		present[f] = true
	}
	for f := range s.byFile {
		if !present[f] && !kept(f) {
			if n := len(s.byFile[f].objs.Services); n > 0 {
				s.OnWarning(fmt.Sprintf("%s is gone: its %d Services are removed", f, n))
			}
			delete(s.byFile, f)
		}
	}
	all := slices.Clone(files)
	for f := range s.byFile {
		if kept(f) && !present[f] {
			all = append(all, f)
		}
	}
	sort.Strings(all)
	var objects Objects
	fresh := map[string]bool{} // the files parsed now
	for _, f := range all {
		objs := s.byFile[f].objs
		if !kept(f) {
			before := s.parsed
			objs = s.read(f)
			fresh[f] = s.parsed != before
		}
		for _, svc := range objs.Services {
			if first(f, "Service", svc.Namespace+"/"+svc.Name) {
				objects.Services = append(objects.Services, svc)
			}
		}
		for _, es := range objs.EndpointSlices {
			if first(f, "EndpointSlice", es.Namespace+"/"+es.Name) {
				objects.EndpointSlices = append(objects.EndpointSlices, es)
			}
		}
		for _, n := range objs.Nodes {
			if first(f, "Node", n.Name) {
				objects.Nodes = append(objects.Nodes, n)
			}
		}
	}
	for _, svc := range s.current.Services {
		if _, ok := seen["Service "+svc.Namespace+"/"+svc.Name]; !ok {
			s.sink.Delete(svc.Namespace + "/" + svc.Name)
		}
	}
	for _, es := range s.current.EndpointSlices {
		if _, ok := seen["EndpointSlice "+es.Namespace+"/"+es.Name]; !ok {
			s.sink.DeleteEndpoints(es.Namespace + "/" + es.Name)
		}
	}
	for _, n := range s.current.Nodes {
		if _, ok := seen["Node "+n.Name]; !ok {
			s.sink.DeleteNode(n.Name)
		}
	}
	s.current = objects
	// Only what comes from a file read now, or from another file than
	// before, is upserted: one edited file among thousands costs one file.
	changed := func(id string) bool {
		f := seen[id]
		was, ok := s.from[id]
		return fresh[f] || !ok || was != f
	}
	// Nodes and slices first: a Service is then joined with them at once.
	for _, n := range objects.Nodes {
		if changed("Node " + n.Name) {
			t := translate.FromNode(n)
			s.sink.UpsertNode(&t)
		}
	}
	for _, es := range objects.EndpointSlices {
		if changed("EndpointSlice " + es.Namespace + "/" + es.Name) {
			t := translate.FromEndpointSlice(es)
			s.sink.UpsertEndpoints(&t)
		}
	}
	for _, svc := range objects.Services {
		if changed("Service " + svc.Namespace + "/" + svc.Name) {
			res := translate.Service(svc, s.opts)
			s.sink.Upsert(&res)
		}
	}
	s.from = seen
}

// read returns the objects of manifest file f: what it held when last
// read if it has not changed, or if it cannot be read or parsed (reported).
// A file that loses Services says so.
func (s *Source) read(f string) Objects {
	prev, had := s.byFile[f]
	fi, err := os.Stat(f)
	if err != nil {
		s.OnError(err)
		return prev.objs
	}
	if had && prev.unchanged(fi) {
		return prev.objs
	}
	s.parsed++
	objs, err := ReadObjects(f)
	if err != nil {
		s.OnError(err)
		return prev.objs // keep what the file held before
	}
	s.byFile[f] = file{objs: objs, info: fi}
	if lost := lostServices(prev.objs.Services, objs.Services); len(lost) > 0 {
		what := "no longer holds"
		if fi.Size() == 0 {
			what = "is empty now; it no longer holds"
		}
		s.OnWarning(fmt.Sprintf("%s %s %d Services, which are removed: %s", f, what, len(lost), strings.Join(lost, ", ")))
	}
	return objs
}

// lostServices returns the keys of the Services of was that now lacks.
func lostServices(was, now []*corev1.Service) []string {
	keep := map[string]bool{}
	for _, svc := range now {
		keep[svc.Namespace+"/"+svc.Name] = true
	}
	var out []string
	for _, svc := range was {
		if k := svc.Namespace + "/" + svc.Name; !keep[k] {
			out = append(out, k)
		}
	}
	return out
}

// files lists the manifest files under the paths, sorted. kept reports
// whether a file read before lies under a path that cannot be read now
// (a folder being replaced): its objects are kept until it is back.
func (s *Source) files() (out []string, kept func(string) bool) {
	var missing []string
	for _, p := range s.paths {
		fi, err := os.Stat(p)
		if err != nil {
			s.OnError(fmt.Errorf("%v; keeping what it held", err))
			missing = append(missing, filepath.Clean(p))
			continue
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			s.OnError(fmt.Errorf("%v; keeping what it held", err))
			missing = append(missing, filepath.Clean(p))
			continue
		}
		for _, e := range entries {
			// A ConfigMap volume's files are symlinks into "..data".
			if (e.Type().IsRegular() || e.Type()&os.ModeSymlink != 0) && isManifest(e.Name()) {
				out = append(out, filepath.Join(p, e.Name()))
			}
		}
	}
	sort.Strings(out)
	kept = func(f string) bool {
		for _, m := range missing {
			if f == m || filepath.Dir(f) == m {
				return true
			}
		}
		return false
	}
	return out, kept
}

// ReadObjects parses the Services, EndpointSlices and Nodes in a manifest
// file. Documents of other kinds are ignored; a List's items are read. A
// namespaced object with no namespace is in "default".
func ReadObjects(path string) (Objects, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Objects{}, err
	}
	return ParseObjects(path, data)
}

// Parse parses the Services in manifest data; name is used in error messages.
func Parse(name string, data []byte) ([]*corev1.Service, error) {
	objs, err := ParseObjects(name, data)
	return objs.Services, err
}

// ParseObjects parses manifest data; name is used in error messages.
func ParseObjects(name string, data []byte) (Objects, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out Objects
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return Objects{}, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var head struct {
			Kind  string            `json:"kind"`
			Items []json.RawMessage `json:"items"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return Objects{}, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		docs := [][]byte{doc}
		if strings.HasSuffix(head.Kind, "List") {
			docs = docs[:0]
			for _, it := range head.Items {
				docs = append(docs, it)
			}
		}
		for _, d := range docs {
			if err := parseObject(d, &out); err != nil {
				return Objects{}, fmt.Errorf("%s: document %d: %w", name, i, err)
			}
		}
	}
}

// parseObject parses one document into out when it is of a kind the
// plugin reads, strictly (an unknown field is an error).
func parseObject(doc []byte, out *Objects) error {
	var head struct {
		Kind string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return err
	}
	var err error
	switch head.Kind {
	case "Service":
		out.Services, err = decode(doc, head.Kind, true, out.Services)
	case "EndpointSlice":
		out.EndpointSlices, err = decode(doc, head.Kind, true, out.EndpointSlices)
	case "Node":
		out.Nodes, err = decode(doc, head.Kind, false, out.Nodes)
	}
	return err
}

// decode parses doc strictly as a *T of kind and appends it to list; a
// namespaced object without a namespace is in "default".
func decode[T any, PT interface {
	*T
	metav1.Object
}](doc []byte, kind string, namespaced bool, list []PT) ([]PT, error) {
	obj := PT(new(T))
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return list, err
	}
	if obj.GetName() == "" {
		return list, fmt.Errorf("%s without metadata.name", kind)
	}
	if namespaced && obj.GetNamespace() == "" {
		obj.SetNamespace("default")
	}
	return append(list, obj), nil
}
