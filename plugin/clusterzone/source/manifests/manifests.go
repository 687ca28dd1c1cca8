// Package manifests is a source of Services read from manifest files (YAML or
// JSON, multi-document, files or folders), reloaded when they change. It
// lets the plugin run with no cluster, for development and testing.
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

	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	"github.com/fsnotify/fsnotify"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Sink receives the translations of the Services.
type Sink interface {
	// Upsert adds or updates a Service's translation (on every reload,
	// changed or not).
	Upsert(res *translate.Result)
	// Delete removes the Service with key "namespace/name".
	Delete(key string)
	// MarkSynced is called once, after the first load.
	MarkSynced()
}

// Source watches manifest paths and feeds a Sink.
type Source struct {
	paths []string
	opts  translate.Options
	sink  Sink
	// OnError is told about files that cannot be read or parsed (their
	// Services are kept as they were).
	OnError func(err error)
	// Debounce is how long to wait after a file event before reloading.
	Debounce time.Duration

	current map[string]struct{} // keys of the Services loaded
	byFile  map[string][]*corev1.Service
}

// New returns a source for paths (files or folders) that translates each
// Service with opts and feeds sink.
func New(paths []string, opts translate.Options, sink Sink) *Source {
	return &Source{paths: paths, opts: opts, sink: sink, Debounce: 100 * time.Millisecond, OnError: func(error) {}, byFile: map[string][]*corev1.Service{}}
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
	seen := map[string]*corev1.Service{}
	for _, f := range s.files() {
		svcs, err := ReadFile(f)
		if err != nil {
			s.OnError(err)
			svcs = s.byFile[f] // keep what the file held before
		} else {
			s.byFile[f] = svcs
		}
		for _, svc := range svcs {
			key := svc.Namespace + "/" + svc.Name
			if _, dup := seen[key]; dup {
				s.OnError(fmt.Errorf("%s: Service %s is defined twice; keeping the first", f, key))
				continue
			}
			seen[key] = svc
		}
	}
	for key := range s.current {
		if _, ok := seen[key]; !ok {
			s.sink.Delete(key)
		}
	}
	s.current = make(map[string]struct{}, len(seen))
	for key, svc := range seen {
		s.current[key] = struct{}{}
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

// ReadFile parses the Services in a manifest file. Documents of other kinds
// are ignored; a List's items are read. A Service with no namespace is in
// "default".
func ReadFile(path string) ([]*corev1.Service, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses manifest data; name is used in error messages.
func Parse(name string, data []byte) ([]*corev1.Service, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*corev1.Service
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var head struct {
			Kind  string            `json:"kind"`
			Items []json.RawMessage `json:"items"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		docs := [][]byte{doc}
		if strings.HasSuffix(head.Kind, "List") {
			docs = docs[:0]
			for _, it := range head.Items {
				docs = append(docs, it)
			}
		}
		for _, d := range docs {
			svc, err := parseService(d)
			if err != nil {
				return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
			}
			if svc != nil {
				out = append(out, svc)
			}
		}
	}
}

func parseService(doc []byte) (*corev1.Service, error) {
	var head struct {
		Kind string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return nil, err
	}
	if head.Kind != "Service" {
		return nil, nil
	}
	svc := &corev1.Service{}
	if err := yaml.UnmarshalStrict(doc, svc); err != nil {
		return nil, err
	}
	if svc.Name == "" {
		return nil, fmt.Errorf("Service without metadata.name")
	}
	if svc.Namespace == "" {
		svc.Namespace = "default"
	}
	return svc, nil
}
