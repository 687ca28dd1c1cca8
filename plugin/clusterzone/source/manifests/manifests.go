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
	// Debounce is how long to wait after a file event before reloading.
	Debounce time.Duration

	current Objects // what the last reload delivered
	byFile  map[string]Objects
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
	return &Source{paths: paths, opts: opts, sink: sink, Debounce: 100 * time.Millisecond, OnError: func(error) {}, byFile: map[string]Objects{}}
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
	watched := map[string]bool{}
	for _, p := range s.paths {
		dir := p
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			dir = filepath.Dir(p) // editors replace files: watch the folder
		}
		if !watched[dir] {
			if err := w.Add(dir); err != nil {
				return err
			}
			watched[dir] = true
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

// relevant reports whether a file event concerns one of the paths.
func (s *Source) relevant(name string) bool {
	for _, p := range s.paths {
		if name == p || filepath.Dir(name) == filepath.Clean(p) {
			return isManifest(name) || name == p
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
	var all Objects
	seen := map[string]bool{}
	first := func(f, kind, key string) bool {
		if seen[kind+" "+key] {
			s.OnError(fmt.Errorf("%s: %s %s is defined twice; keeping the first", f, kind, key))
			return false
		}
		seen[kind+" "+key] = true
		return true
	}
	for _, f := range s.files() {
		objs, err := ReadObjects(f)
		if err != nil {
			s.OnError(err)
			objs = s.byFile[f] // keep what the file held before
		} else {
			s.byFile[f] = objs
		}
		for _, svc := range objs.Services {
			if first(f, "Service", svc.Namespace+"/"+svc.Name) {
				all.Services = append(all.Services, svc)
			}
		}
		for _, es := range objs.EndpointSlices {
			if first(f, "EndpointSlice", es.Namespace+"/"+es.Name) {
				all.EndpointSlices = append(all.EndpointSlices, es)
			}
		}
		for _, n := range objs.Nodes {
			if first(f, "Node", n.Name) {
				all.Nodes = append(all.Nodes, n)
			}
		}
	}
	for _, svc := range s.current.Services {
		if !seen["Service "+svc.Namespace+"/"+svc.Name] {
			s.sink.Delete(svc.Namespace + "/" + svc.Name)
		}
	}
	for _, es := range s.current.EndpointSlices {
		if !seen["EndpointSlice "+es.Namespace+"/"+es.Name] {
			s.sink.DeleteEndpoints(es.Namespace + "/" + es.Name)
		}
	}
	for _, n := range s.current.Nodes {
		if !seen["Node "+n.Name] {
			s.sink.DeleteNode(n.Name)
		}
	}
	s.current = all
	// Nodes and slices first: a Service is then joined with them at once.
	for _, n := range all.Nodes {
		t := translate.FromNode(n)
		s.sink.UpsertNode(&t)
	}
	for _, es := range all.EndpointSlices {
		t := translate.FromEndpointSlice(es)
		s.sink.UpsertEndpoints(&t)
	}
	for _, svc := range all.Services {
		res := translate.Service(svc, s.opts)
		s.sink.Upsert(&res)
	}
}

// files lists the manifest files under the paths, sorted.
func (s *Source) files() []string {
	var out []string
	for _, p := range s.paths {
		fi, err := os.Stat(p)
		if err != nil {
			s.OnError(err)
			continue
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			s.OnError(err)
			continue
		}
		for _, e := range entries {
			if !e.IsDir() && isManifest(e.Name()) {
				out = append(out, filepath.Join(p, e.Name()))
			}
		}
	}
	sort.Strings(out)
	return out
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
