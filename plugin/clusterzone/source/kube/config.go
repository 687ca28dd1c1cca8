// Package kube is the live Kubernetes source of the clusterzone plugin:
// informers on Services, EndpointSlices and Nodes (one WATCH per kind for all
// namespaces, or one per configured namespace) that feed their translations
// to a source.Sink, plus an EventRecorder that writes core/v1 Events on
// Services.
//
// The informers have no periodic resync: the Sink hears about an object only
// when it changes. When the API server goes away, the reflector re-lists and
// re-watches by itself (with client-go's backoff) and the Sink keeps its last
// state meanwhile; nothing is deleted because of a watch error.
package kube

import (
	"errors"
	"fmt"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"

	clog "github.com/coredns/coredns/plugin/pkg/log"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

var log = clog.NewWithPlugin("clusterzone")

// Config selects the cluster and the Services a Source watches.
type Config struct {
	// Kubeconfig is the path of a kubeconfig file. When empty, the default
	// chain is used: the in-cluster configuration, then $KUBECONFIG, then
	// ~/.kube/config (client-go's loading rules).
	Kubeconfig string
	// Context is the kubeconfig context to use; empty means the file's
	// current context.
	Context string
	// Namespaces restricts the Source to these namespaces (one informer
	// each); empty means all namespaces (one informer).
	Namespaces []string
	// Labels is a label selector (e.g. "app=web,tier!=db"); only Services
	// that match it are watched. The API server does the filtering.
	Labels string
	// EndpointSlices watches EndpointSlices (headless and NodePort
	// Services with policy Local need them).
	EndpointSlices bool
	// Nodes watches Nodes (NodePort Services, and headless Services with
	// endpoints-type HostIP or NodeExternalIP, need them).
	Nodes bool
}

// Validate checks the configuration without contacting the cluster: the
// label selector must parse and every namespace must be a valid namespace
// name. It is meant for Corefile parse errors.
func (c Config) Validate() error {
	if _, err := labels.Parse(c.Labels); err != nil {
		return fmt.Errorf("invalid label selector %q: %w", c.Labels, err)
	}
	for _, ns := range c.Namespaces {
		if ns == "" {
			return errors.New("empty namespace name")
		}
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return fmt.Errorf("invalid namespace %q: %s", ns, strings.Join(errs, "; "))
		}
	}
	return nil
}

// Key returns a string that identifies what the configuration watches, so
// that server blocks with equal configurations can share one Source.
// Configurations that differ only in namespace order, duplicate namespaces
// or the spelling of an equivalent label selector have the same key.
func (c Config) Key() string {
	kubeconfig := c.Kubeconfig
	if kubeconfig != "" {
		kubeconfig = filepath.Clean(kubeconfig)
	}
	ns := "*"
	if n := c.namespaces(); len(n) > 0 {
		ns = strings.Join(n, ",")
	}
	return fmt.Sprintf("kubeconfig=%q context=%q namespaces=%q labels=%q endpointslices=%v nodes=%v", kubeconfig, c.Context, ns, c.selector(), c.EndpointSlices, c.Nodes)
}

// namespaces returns the configured namespaces sorted and without
// duplicates; nil means all namespaces.
func (c Config) namespaces() []string {
	if len(c.Namespaces) == 0 {
		return nil
	}
	ns := slices.Clone(c.Namespaces)
	slices.Sort(ns)
	return slices.Compact(ns)
}

// selector returns the label selector in canonical form, or the trimmed
// input when it does not parse (the API server then rejects it, and the
// Source never syncs; Validate reports it first).
func (c Config) selector() string {
	sel, err := labels.Parse(c.Labels)
	if err != nil {
		return strings.TrimSpace(c.Labels)
	}
	return sel.String()
}

// RESTConfig returns the client configuration for c: the explicit
// kubeconfig file (and context) when set, else the in-cluster configuration,
// else $KUBECONFIG or ~/.kube/config. The result asks for protobuf, like the
// CoreDNS kubernetes plugin does.
func RESTConfig(c Config) (*rest.Config, error) {
	var (
		cfg         *rest.Config
		inClusterEr error
	)
	if c.Kubeconfig == "" && c.Context == "" {
		cfg, inClusterEr = rest.InClusterConfig()
	}
	if cfg == nil {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if c.Kubeconfig != "" {
			rules.ExplicitPath = c.Kubeconfig
		}
		overrides := &clientcmd.ConfigOverrides{CurrentContext: c.Context}
		cc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
		if err != nil {
			if inClusterEr != nil && !errors.Is(inClusterEr, rest.ErrNotInCluster) {
				return nil, fmt.Errorf("kubernetes client configuration: in-cluster: %v; kubeconfig: %w", inClusterEr, err)
			}
			return nil, fmt.Errorf("kubernetes client configuration: %w", err)
		}
		cfg = cc
	}
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	cfg.UserAgent = fmt.Sprintf("coredns-clusterzone (%s/%s/%s)", goruntime.GOOS, goruntime.GOARCH, goruntime.Version())
	return cfg, nil
}
