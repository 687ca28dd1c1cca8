package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg     Config
		wantErr string
	}{
		{Config{}, ""},
		{Config{Labels: "app=web,tier in (a,b),!legacy"}, ""},
		{Config{Namespaces: []string{"default", "kube-system"}}, ""},
		{Config{Labels: "=web"}, "invalid label selector"},
		{Config{Labels: "app in (a"}, "invalid label selector"},
		{Config{Labels: "bad key!=x"}, "invalid label selector"},
		{Config{Namespaces: []string{""}}, "empty namespace"},
		{Config{Namespaces: []string{"Not_Valid"}}, "invalid namespace"},
	} {
		err := tc.cfg.Validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tc.cfg, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%+v: error %v, want one containing %q", tc.cfg, err, tc.wantErr)
		}
	}
}

func TestKey(t *testing.T) {
	same := []Config{
		{Kubeconfig: "/etc/kube/config", Namespaces: []string{"b", "a"}, Labels: "x=1,y=2"},
		{Kubeconfig: "/etc/kube/./config", Namespaces: []string{"a", "b", "a"}, Labels: " y = 2 , x=1"},
	}
	if a, b := same[0].Key(), same[1].Key(); a != b {
		t.Errorf("equivalent configs have keys %q and %q", a, b)
	}
	base := same[0]
	different := []Config{
		{Kubeconfig: "/etc/kube/other", Namespaces: base.Namespaces, Labels: base.Labels},
		{Kubeconfig: base.Kubeconfig, Context: "prod", Namespaces: base.Namespaces, Labels: base.Labels},
		{Kubeconfig: base.Kubeconfig, Namespaces: []string{"a"}, Labels: base.Labels},
		{Kubeconfig: base.Kubeconfig, Labels: base.Labels},
		{Kubeconfig: base.Kubeconfig, Namespaces: base.Namespaces, Labels: "x=1"},
		{Kubeconfig: base.Kubeconfig, Namespaces: base.Namespaces},
	}
	seen := map[string]int{base.Key(): -1}
	for i, c := range different {
		k := c.Key()
		if j, dup := seen[k]; dup {
			t.Errorf("configs %d and %d share key %q", i, j, k)
		}
		seen[k] = i
	}
}

const testKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: one
  cluster:
    server: https://one.example:6443
- name: two
  cluster:
    server: https://two.example:6443
users:
- name: alice
  user:
    token: alice-token
- name: bob
  user:
    token: bob-token
contexts:
- name: first
  context: {cluster: one, user: alice}
- name: second
  context: {cluster: two, user: bob, namespace: kube-system}
current-context: first
`

func writeKubeconfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(p, []byte(testKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRESTConfigExplicit(t *testing.T) {
	path := writeKubeconfig(t)

	cfg, err := RESTConfig(Config{Kubeconfig: path, Context: "second"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://two.example:6443" || cfg.BearerToken != "bob-token" {
		t.Errorf("context second: host %q token %q", cfg.Host, cfg.BearerToken)
	}
	if cfg.ContentType != runtime.ContentTypeProtobuf || !strings.HasPrefix(cfg.UserAgent, "coredns-clusterzone") {
		t.Errorf("content type %q user agent %q", cfg.ContentType, cfg.UserAgent)
	}

	cfg, err = RESTConfig(Config{Kubeconfig: path})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://one.example:6443" || cfg.BearerToken != "alice-token" {
		t.Errorf("current context: host %q token %q", cfg.Host, cfg.BearerToken)
	}

	if _, err := RESTConfig(Config{Kubeconfig: path, Context: "nope"}); err == nil {
		t.Error("unknown context accepted")
	}
	if _, err := RESTConfig(Config{Kubeconfig: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("missing kubeconfig accepted")
	}
}

func TestRESTConfigDefaultChain(t *testing.T) {
	path := writeKubeconfig(t)
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // not in a cluster
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBECONFIG", path)

	cfg, err := RESTConfig(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://one.example:6443" {
		t.Errorf("$KUBECONFIG: host %q", cfg.Host)
	}
	cfg, err = RESTConfig(Config{Context: "second"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://two.example:6443" {
		t.Errorf("$KUBECONFIG with context: host %q", cfg.Host)
	}

	t.Setenv("KUBECONFIG", "")
	if _, err := RESTConfig(Config{}); err == nil {
		t.Error("no configuration at all accepted")
	}
}
