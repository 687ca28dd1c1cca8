package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/coredns/caddy/caddyfile"
	"github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/core/plugin" // dnsserver.Directives of every standard plugin
	"github.com/miekg/dns"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// manifestSet is a set of Kubernetes objects keyed "Kind namespace/name".
type manifestSet map[string]map[string]any

func (m manifestSet) keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// get converts the object key into a typed object, failing the test when it
// is missing or holds a field the type does not know.
func (m manifestSet) get(t *testing.T, key string, into any) {
	t.Helper()
	u, ok := m[key]
	if !ok {
		t.Fatalf("no %s among %v", key, m.keys())
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u, into, true); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
}

// parseManifests reads multi-document YAML (a file of deploy/ or helm
// template's output) into m.
func parseManifests(t *testing.T, m manifestSet, where, text string) {
	t.Helper()
	for i, doc := range docSep.Split(text, -1) {
		var u map[string]any
		if err := yaml.Unmarshal([]byte(doc), &u); err != nil {
			t.Fatalf("%s document %d: %v\n%s", where, i, err, doc)
		}
		if len(u) == 0 {
			continue
		}
		o := unstructured.Unstructured{Object: u}
		key := o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
		if _, dup := m[key]; dup {
			t.Fatalf("%s: %s twice", where, key)
		}
		m[key] = u
	}
}

func chartDir() string { return filepath.Join(harness.Root(), "deploy", "helm", "clusterzone") }

// helmTemplate renders the chart as release in namespace with helm template
// and extra arguments (-f FILE, --set ...), and writes the output to a file
// for kubectl. It fails the test when helm fails.
func helmTemplate(t *testing.T, release, namespace string, args ...string) (manifestSet, string) {
	t.Helper()
	full := append([]string{"template", release, chartDir(), "--namespace", namespace}, args...)
	stdout, stderr, err := harness.Helm(t, full...)
	if err != nil {
		t.Fatalf("helm %s: %v\nstderr:\n%s\nstdout:\n%s", strings.Join(full, " "), err, stderr, stdout)
	}
	if strings.TrimSpace(stderr) != "" {
		t.Errorf("helm %s warned:\n%s", strings.Join(full, " "), stderr)
	}
	m := manifestSet{}
	parseManifests(t, m, "helm template", stdout)
	file := filepath.Join(t.TempDir(), release+".yaml")
	if err := os.WriteFile(file, []byte(stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	return m, file
}

// corefileLines parses a Corefile as CoreDNS does (caddyfile.Parse with
// CoreDNS's directives and clusterzone) and returns each server block's keys
// and, per directive, its lines with nested blocks indented by two spaces:
// "clusterzone {", "  owner-id ID", ..., "}".
func corefileLines(t *testing.T, corefile string) (keys [][]string, directives []map[string][]string) {
	t.Helper()
	valid := append(slices.Clone(dnsserver.Directives), "clusterzone")
	blocks, err := caddyfile.Parse("Corefile", strings.NewReader(corefile), valid)
	if err != nil {
		t.Fatalf("the rendered Corefile does not parse: %v\n%s", err, corefile)
	}
	for _, b := range blocks {
		keys = append(keys, b.Keys)
		dirs := map[string][]string{}
		for name, toks := range b.Tokens {
			var lines []string
			depth := 0
			for i := 0; i < len(toks); {
				j := i
				for j < len(toks) && toks[j].Line == toks[i].Line {
					j++
				}
				d := depth
				if toks[i].Text == "}" {
					d--
				}
				var texts []string
				for _, tok := range toks[i:j] {
					texts = append(texts, tok.Text)
					switch tok.Text {
					case "{":
						depth++
					case "}":
						depth--
					}
				}
				lines = append(lines, strings.Repeat("  ", d)+strings.Join(texts, " "))
				i = j
			}
			dirs[name] = lines
		}
		directives = append(directives, dirs)
	}
	return keys, directives
}

// normalizeCorefile drops comments, blank lines and indentation.
func normalizeCorefile(s string) string {
	var out []string
	for _, line := range strings.Split(stripComments(s), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// sortedRules returns rules in a canonical order (each rule's lists sorted).
func sortedRules(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		for _, l := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.ResourceNames, r.NonResourceURLs} {
			sort.Strings(l)
		}
		b, _ := json.Marshal(r)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

// TestHelmChart checks the chart in deploy/helm/clusterzone: helm lint with
// the default values and with ci/route53-values.yaml; with the default
// values, as release clusterzone in kube-system, helm template renders the
// same objects as deploy/server.yaml and deploy/rbac.yaml (the same names,
// RBAC rules, Corefile, pod spec with its security contexts, probes and
// ports, Service and PodDisruptionBudget); with the Route 53 values the
// rendered Corefile, parsed as CoreDNS parses it, holds what the values say;
// invalid values fail with a message; and every rendered object is accepted
// by a real API server (kubectl apply --dry-run=server of the defaults,
// where deploy/rbac.yaml's objects exist, and a server-side apply of the
// Route 53 release into its own namespace); and helm install, upgrade and
// uninstall of the Route 53 values work against that API server.
func TestHelmChart(t *testing.T) {
	chart := chartDir()
	r53Values := filepath.Join(chart, "ci", "route53-values.yaml")

	t.Run("Lint", func(t *testing.T) {
		for _, args := range [][]string{{"lint", "--strict", chart}, {"lint", "--strict", chart, "-f", r53Values}} {
			stdout, stderr, err := harness.Helm(t, args...)
			if err != nil || strings.Contains(stdout, "[WARNING]") || strings.Contains(stdout, "[ERROR]") {
				t.Errorf("helm %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout, stderr)
			}
		}
	})

	defaults, defaultsFile := helmTemplate(t, "clusterzone", "kube-system")
	r53, r53File := helmTemplate(t, "dns", "dns-system", "-f", r53Values)

	t.Run("DefaultsEqualDeploy", func(t *testing.T) {
		deploy := manifestSet{}
		for _, f := range []string{"server.yaml", "rbac.yaml"} {
			data, err := os.ReadFile(filepath.Join(harness.Root(), "deploy", f))
			if err != nil {
				t.Fatal(err)
			}
			parseManifests(t, deploy, f, string(data))
		}
		if !slices.Equal(defaults.keys(), deploy.keys()) {
			t.Fatalf("helm template renders %v, deploy/ holds %v", defaults.keys(), deploy.keys())
		}
		for key, u := range defaults {
			labels := (&unstructured.Unstructured{Object: u}).GetLabels()
			if labels["app.kubernetes.io/name"] != "clusterzone" {
				t.Errorf("%s: labels %v, want app.kubernetes.io/name=clusterzone as in deploy/", key, labels)
			}
		}

		// RBAC: the same rules, bound to the same ServiceAccount.
		for _, key := range []string{"ClusterRole /clusterzone", "Role kube-system/clusterzone-leader-election"} {
			var got, want rbacv1.ClusterRole // the same fields as a Role
			defaults.get(t, key, &got)
			deploy.get(t, key, &want)
			if g, w := sortedRules(got.Rules), sortedRules(want.Rules); !slices.Equal(g, w) {
				t.Errorf("%s rules:\n chart  %v\n deploy %v", key, g, w)
			}
		}
		for _, key := range []string{"ClusterRoleBinding /clusterzone", "RoleBinding kube-system/clusterzone-leader-election"} {
			var got, want rbacv1.RoleBinding // the same fields as a ClusterRoleBinding
			defaults.get(t, key, &got)
			deploy.get(t, key, &want)
			if !equality.Semantic.DeepEqual(got.RoleRef, want.RoleRef) || !equality.Semantic.DeepEqual(got.Subjects, want.Subjects) {
				t.Errorf("%s: roleRef %+v subjects %+v, deploy/ %+v %+v", key, got.RoleRef, got.Subjects, want.RoleRef, want.Subjects)
			}
		}
		var gotSA, wantSA corev1.ServiceAccount
		defaults.get(t, "ServiceAccount kube-system/clusterzone", &gotSA)
		deploy.get(t, "ServiceAccount kube-system/clusterzone", &wantSA)
		if len(gotSA.Annotations) != 0 || len(wantSA.Annotations) != 0 {
			t.Errorf("ServiceAccount annotations %v, deploy/ %v: want none by default", gotSA.Annotations, wantSA.Annotations)
		}

		// The Corefile: the same directives (deploy/'s comments aside).
		var gotCM, wantCM corev1.ConfigMap
		defaults.get(t, "ConfigMap kube-system/clusterzone", &gotCM)
		deploy.get(t, "ConfigMap kube-system/clusterzone", &wantCM)
		if g, w := normalizeCorefile(gotCM.Data["Corefile"]), normalizeCorefile(wantCM.Data["Corefile"]); g != w {
			t.Errorf("Corefile differs from deploy/server.yaml's:\nchart:\n%s\ndeploy:\n%s", g, w)
		}
		corefileLines(t, gotCM.Data["Corefile"])

		// The Deployment: the same pod spec, apart from the selector labels
		// (the chart adds app.kubernetes.io/instance).
		var got, want appsv1.Deployment
		defaults.get(t, "Deployment kube-system/clusterzone", &got)
		deploy.get(t, "Deployment kube-system/clusterzone", &want)
		podLabels := got.Spec.Template.Labels
		if !selects(got.Spec.Selector.MatchLabels, podLabels) || !selects(want.Spec.Selector.MatchLabels, podLabels) {
			t.Errorf("pod labels %v: not selected by the chart's selector %v or deploy/'s %v", podLabels, got.Spec.Selector.MatchLabels, want.Spec.Selector.MatchLabels)
		}
		for _, d := range []*appsv1.Deployment{&got, &want} {
			for i := range d.Spec.Template.Spec.TopologySpreadConstraints {
				c := &d.Spec.Template.Spec.TopologySpreadConstraints[i]
				if d == &got && (c.LabelSelector == nil || !selects(c.LabelSelector.MatchLabels, podLabels)) {
					t.Errorf("topology spread constraint %s does not select the pods", c.TopologyKey)
				}
				c.LabelSelector = nil
			}
		}
		if !equality.Semantic.DeepEqual(got.Spec.Template.Spec, want.Spec.Template.Spec) {
			g, _ := yaml.Marshal(got.Spec.Template.Spec)
			w, _ := yaml.Marshal(want.Spec.Template.Spec)
			t.Errorf("pod spec differs from deploy/server.yaml's:\nchart:\n%s\ndeploy:\n%s", g, w)
		}
		if !equality.Semantic.DeepEqual(got.Spec.Template.Annotations, want.Spec.Template.Annotations) {
			t.Errorf("pod annotations %v, deploy/ %v", got.Spec.Template.Annotations, want.Spec.Template.Annotations)
		}
		if !equality.Semantic.DeepEqual(got.Spec.Replicas, want.Spec.Replicas) || !equality.Semantic.DeepEqual(got.Spec.Strategy, want.Spec.Strategy) ||
			!equality.Semantic.DeepEqual(got.Spec.RevisionHistoryLimit, want.Spec.RevisionHistoryLimit) {
			t.Errorf("replicas %v strategy %+v revisionHistoryLimit %v, deploy/ %v %+v %v", *got.Spec.Replicas, got.Spec.Strategy, got.Spec.RevisionHistoryLimit,
				*want.Spec.Replicas, want.Spec.Strategy, want.Spec.RevisionHistoryLimit)
		}

		var gotSvc, wantSvc corev1.Service
		defaults.get(t, "Service kube-system/clusterzone", &gotSvc)
		deploy.get(t, "Service kube-system/clusterzone", &wantSvc)
		if !selects(gotSvc.Spec.Selector, podLabels) {
			t.Errorf("Service selector %v does not select the pods %v", gotSvc.Spec.Selector, podLabels)
		}
		gotSvc.Spec.Selector, wantSvc.Spec.Selector = nil, nil
		if !equality.Semantic.DeepEqual(gotSvc.Spec, wantSvc.Spec) {
			t.Errorf("Service spec %+v, deploy/ %+v", gotSvc.Spec, wantSvc.Spec)
		}

		var gotPDB, wantPDB policyv1.PodDisruptionBudget
		defaults.get(t, "PodDisruptionBudget kube-system/clusterzone", &gotPDB)
		deploy.get(t, "PodDisruptionBudget kube-system/clusterzone", &wantPDB)
		if !selects(gotPDB.Spec.Selector.MatchLabels, podLabels) || !equality.Semantic.DeepEqual(gotPDB.Spec.MinAvailable, wantPDB.Spec.MinAvailable) {
			t.Errorf("PodDisruptionBudget %+v, deploy/ %+v", gotPDB.Spec, wantPDB.Spec)
		}
	})

	t.Run("Route53Values", func(t *testing.T) {
		wantKeys := []string{
			"ClusterRole /dns-clusterzone", "ClusterRoleBinding /dns-clusterzone",
			"ConfigMap dns-system/dns-clusterzone", "Deployment dns-system/dns-clusterzone",
			"PodDisruptionBudget dns-system/dns-clusterzone",
			"Role dns-system/dns-clusterzone-leader-election", "RoleBinding dns-system/dns-clusterzone-leader-election",
			"Service dns-system/dns-clusterzone", "ServiceAccount dns-system/dns-clusterzone",
		}
		if !slices.Equal(r53.keys(), wantKeys) {
			t.Fatalf("helm template renders %v, want %v", r53.keys(), wantKeys)
		}
		var cm corev1.ConfigMap
		r53.get(t, "ConfigMap dns-system/dns-clusterzone", &cm)
		corefile := cm.Data["Corefile"]
		keys, dirs := corefileLines(t, corefile)
		if len(keys) != 1 || !slices.Equal(keys[0], []string{"example.org:1053", "example.net:1053"}) {
			t.Fatalf("server blocks %v, want one for example.org:1053 and example.net:1053\n%s", keys, corefile)
		}
		want := map[string][]string{
			"bufsize":    {"bufsize 1232"},
			"errors":     {"errors"},
			"health":     {"health :8080 {", "  lameduck 5s", "}"},
			"ready":      {"ready :8181"},
			"prometheus": {"prometheus :9153"},
			"reload":     {"reload"},
			"log":        {"log"},
			"transfer":   {"transfer {", "  to 10.0.0.53", "}"},
			"clusterzone": {
				"clusterzone {",
				"  owner-id prod-eu-west-1",
				"  ttl 120",
				"  namespaces team-a team-b",
				"  labels dns=public",
				"  addresses external",
				"  service-types LoadBalancer NodePort",
				"  events off",
				"  ns ns1.example.org 203.0.113.53",
				"  annotation-prefix external-dns.alpha.kubernetes.io/",
				"  route53 {",
				"    zone example.org public",
				"    zone example.net Z0123456789ABCDEFGHIJ",
				"    policy sync",
				"    region eu-west-1",
				"    interval 5m",
				"    txt-prefix cz-",
				"    batch-size 500",
				"  }",
				"}",
			},
		}
		for name, lines := range want {
			if !slices.Equal(dirs[0][name], lines) {
				t.Errorf("directive %s:\n got  %q\n want %q\nCorefile:\n%s", name, dirs[0][name], lines, corefile)
			}
		}
		for name := range dirs[0] {
			if _, ok := want[name]; !ok {
				t.Errorf("unexpected directive %s in\n%s", name, corefile)
			}
		}

		var sa corev1.ServiceAccount
		r53.get(t, "ServiceAccount dns-system/dns-clusterzone", &sa)
		if got := sa.Annotations["eks.amazonaws.com/role-arn"]; got != "arn:aws:iam::123456789012:role/clusterzone-route53" {
			t.Errorf("ServiceAccount annotations %v: no IRSA role", sa.Annotations)
		}
		var d appsv1.Deployment
		r53.get(t, "Deployment dns-system/dns-clusterzone", &d)
		pod := d.Spec.Template.Spec
		if *d.Spec.Replicas != 3 || pod.ServiceAccountName != sa.Name || pod.PriorityClassName != "system-cluster-critical" ||
			pod.Containers[0].Image != "registry.example.com/dns/clusterzone:v1.2.3" ||
			pod.Containers[0].Resources.Limits.Memory().String() != "512Mi" || pod.Containers[0].Resources.Requests.Cpu().String() != "200m" {
			t.Errorf("Deployment: replicas %d, serviceAccountName %s, priorityClassName %q, image %s, resources %+v",
				*d.Spec.Replicas, pod.ServiceAccountName, pod.PriorityClassName, pod.Containers[0].Image, pod.Containers[0].Resources)
		}
		var svc corev1.Service
		r53.get(t, "Service dns-system/dns-clusterzone", &svc)
		var ports []string
		for _, p := range svc.Spec.Ports {
			ports = append(ports, fmt.Sprintf("%d/%s", p.Port, p.Protocol))
		}
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || !slices.Equal(ports, []string{"53/UDP", "53/TCP"}) ||
			svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal ||
			!slices.Equal(svc.Spec.LoadBalancerSourceRanges, []string{"192.0.2.0/24"}) ||
			svc.Annotations["service.beta.kubernetes.io/aws-load-balancer-type"] != "external" {
			t.Errorf("Service: type %s, ports %v, externalTrafficPolicy %s, sourceRanges %v, annotations %v",
				svc.Spec.Type, ports, svc.Spec.ExternalTrafficPolicy, svc.Spec.LoadBalancerSourceRanges, svc.Annotations)
		}
		for _, key := range []string{"ClusterRoleBinding /dns-clusterzone", "RoleBinding dns-system/dns-clusterzone-leader-election"} {
			var b rbacv1.RoleBinding
			r53.get(t, key, &b)
			if len(b.Subjects) != 1 || b.Subjects[0].Name != sa.Name || b.Subjects[0].Namespace != "dns-system" {
				t.Errorf("%s subjects %+v, want the ServiceAccount dns-system/%s", key, b.Subjects, sa.Name)
			}
		}
	})

	t.Run("InvalidValues", func(t *testing.T) {
		// values.schema.json rejects most mistakes; the templates' own checks
		// back it up (helm --skip-schema-validation) and catch the rest.
		zone := []string{"--set", "route53.enabled=true", "--set", "route53.zones[0].name=example.org"}
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--set", "route53.enabled=true"}, "route53.enabled needs at least one entry"},
			{append(zone, "--set", "route53.zones[0].type=public", "--set", "route53.zones[0].id=Z1"), "give an id or a type, not both"},
			{append(zone, "--set", "route53.zones[0].type=secret"), "/route53/zones/0/type': value must be one of 'public', 'private'"},
			{append(zone, "--set", "route53.zones[0].type=secret", "--skip-schema-validation"), `type "secret", want public or private`},
			{append(zone, "--set", "route53.policy=delete-all"), "/route53/policy': value must be one of 'sync', 'upsert-only', 'create-only'"},
			{append(zone, "--set", "route53.policy=delete-all", "--skip-schema-validation"), "want sync, upsert-only or create-only"},
			{[]string{"--set", "route53.zone=example.org"}, "additional properties 'zone' not allowed"},
			{[]string{"--set", "clusterzone.namespace=team-a"}, "additional properties 'namespace' not allowed"},
			{[]string{"--set", "zones=null"}, "missing property 'zones'"},
			{[]string{"--set", "zones=null", "--skip-schema-validation"}, "give at least one zone"},
			{[]string{"--set", "ownerId="}, "/ownerId': minLength"},
			{[]string{"--set", "ownerId=", "--skip-schema-validation"}, "ownerId is required"},
			{[]string{"--set", "ownerId=a=b"}, "/ownerId': 'a=b' does not match"},
			{[]string{"--set", "bufsize=100"}, "/bufsize'"},
		} {
			args := append([]string{"template", "x", chart}, c.args...)
			stdout, stderr, err := harness.Helm(t, args...)
			if err == nil || !strings.Contains(stderr, c.want) {
				t.Errorf("helm %s: err %v, want a failure saying %q\nstderr:\n%s\nstdout:\n%s", strings.Join(args, " "), err, c.want, stderr, stdout)
			}
		}
	})

	t.Run("Numbers", func(t *testing.T) {
		// Numbers in values files reach the templates as float64: they must
		// still be written as integers (not 3.6e+06).
		values := filepath.Join(t.TempDir(), "values.yaml")
		if err := os.WriteFile(values, []byte("clusterzone:\n  ttl: 3600000\nbufsize: 4096\ncontainerPorts:\n  dns: 10053\nreplicas: 1000000\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		m, _ := helmTemplate(t, "clusterzone", "kube-system", "-f", values)
		var cm corev1.ConfigMap
		m.get(t, "ConfigMap kube-system/clusterzone", &cm)
		keys, dirs := corefileLines(t, cm.Data["Corefile"])
		if len(keys) != 1 || !slices.Equal(keys[0], []string{"example.org:10053"}) || !slices.Equal(dirs[0]["bufsize"], []string{"bufsize 4096"}) ||
			!slices.Contains(dirs[0]["clusterzone"], "  ttl 3600000") {
			t.Errorf("Corefile:\n%s", cm.Data["Corefile"])
		}
		var d appsv1.Deployment
		m.get(t, "Deployment kube-system/clusterzone", &d)
		if *d.Spec.Replicas != 1000000 || d.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort != 10053 {
			t.Errorf("replicas %d, ports %+v", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Ports)
		}
	})

	c := harness.StartCluster(t)
	t.Run("Served", func(t *testing.T) {
		// The default rendering's Corefile, run by the built coredns against
		// the harness's API server: only its ports (to free loopback ones)
		// and the kubeconfig (in a pod: the in-cluster configuration) differ.
		var cm corev1.ConfigMap
		defaults.get(t, "ConfigMap kube-system/clusterzone", &cm)
		port := harness.FreePort(t)
		cf := regexp.MustCompile(`:1053 \{`).ReplaceAllString(cm.Data["Corefile"], fmt.Sprintf(":%d {", port))
		cf = regexp.MustCompile(`(?m)^(\s*(?:health|ready|prometheus)) :\d+`).ReplaceAllStringFunc(cf, func(m string) string {
			return strings.SplitN(m, " :", 2)[0] + fmt.Sprintf(" 127.0.0.1:%d", harness.FreePort(t))
		})
		cf = strings.Replace(cf, "clusterzone {", "clusterzone {\n            kubeconfig "+c.Kubeconfig, 1)
		cd := harness.StartCoreDNS(t, cf)
		ns := c.CreateNamespace(t, "helm-served")
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{"external-dns.alpha.kubernetes.io/hostname": "web.example.org"}},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}},
		}
		if _, err := c.Admin.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		c.SetLoadBalancerIngress(t, ns, "web", []corev1.LoadBalancerIngress{{IP: "192.0.2.80"}})
		harness.Eventually(t, 30*time.Second, func() error {
			m := harness.Query(t, cd.Addr, "web.example.org.", dns.TypeA, "udp")
			if len(m.Answer) != 1 || !strings.Contains(m.Answer[0].String(), "192.0.2.80") {
				return fmt.Errorf("web.example.org A answered %v (rcode %s)", m.Answer, dns.RcodeToString[m.Rcode])
			}
			return nil
		})
	})
	t.Run("APIServer", func(t *testing.T) {
		// The defaults in kube-system, where the harness already created
		// deploy/rbac.yaml's objects: a server dry run, as for deploy/.
		stdout, stderr, err := c.Kubectl(t, "apply", "--dry-run=server", "--validate=strict", "-o", "name", "-f", defaultsFile)
		if err != nil {
			t.Fatalf("kubectl apply --dry-run=server of the default chart: %v\nstderr:\n%s\nstdout:\n%s", err, stderr, stdout)
		}
		for _, line := range strings.Split(stderr, "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.Contains(line, "missing the kubectl.kubernetes.io/last-applied-configuration annotation") {
				t.Errorf("kubectl warned: %s", line)
			}
		}
		if n := len(strings.Fields(stdout)); n != len(defaults) {
			t.Errorf("kubectl accepted %d objects, the chart renders %d:\n%s", n, len(defaults), stdout)
		}

		// The Route 53 release in its own namespace, stored for real.
		c.CreateNamespace(t, "dns-system")
		stdout, stderr, err = c.Kubectl(t, "apply", "--server-side", "--field-manager=helm-test", "--validate=strict", "-o", "name", "-f", r53File)
		if err != nil || strings.TrimSpace(stderr) != "" {
			t.Fatalf("kubectl apply --server-side of the Route 53 values: %v\nstderr:\n%s\nstdout:\n%s", err, stderr, stdout)
		}
		if n := len(strings.Fields(stdout)); n != len(r53) {
			t.Errorf("kubectl applied %d objects, the chart renders %d:\n%s", n, len(r53), stdout)
		}
		stdout, stderr, err = c.Kubectl(t, "-n", "dns-system", "get", "serviceaccount/dns-clusterzone", "configmap/dns-clusterzone", "-o", "json")
		if err != nil {
			t.Fatalf("kubectl get: %v\n%s", err, stderr)
		}
		var list struct {
			Items []map[string]any `json:"items"`
		}
		if err := json.Unmarshal([]byte(stdout), &list); err != nil || len(list.Items) != 2 {
			t.Fatalf("kubectl get: %v\n%s", err, stdout)
		}
		var sa corev1.ServiceAccount
		var cm, rendered corev1.ConfigMap
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(list.Items[0], &sa); err != nil {
			t.Fatal(err)
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(list.Items[1], &cm); err != nil {
			t.Fatal(err)
		}
		r53.get(t, "ConfigMap dns-system/dns-clusterzone", &rendered)
		if sa.Annotations["eks.amazonaws.com/role-arn"] == "" || cm.Data["Corefile"] != rendered.Data["Corefile"] {
			t.Errorf("stored ServiceAccount annotations %v; stored Corefile:\n%s", sa.Annotations, cm.Data["Corefile"])
		}
	})

	t.Run("HelmInstall", func(t *testing.T) {
		// What a user runs: helm install, upgrade and uninstall against the
		// API server (no controllers run, so helm does not --wait for pods).
		// Release edge: the harness's deploy/rbac.yaml already holds the
		// cluster-scoped names of a release called clusterzone.
		kc := "--kubeconfig=" + c.AdminKubeconfig
		helm := func(args ...string) string {
			t.Helper()
			// --debug: the cause of a failure, with its trace, in stderr (a
			// failed install once printed nothing without it).
			stdout, stderr, err := harness.Helm(t, append(args, kc, "--debug")...)
			if err != nil {
				t.Fatalf("helm %s: %v\nstderr:\n%s\nstdout:\n%s", strings.Join(args, " "), err, stderr, stdout)
			}
			return stdout
		}
		out := helm("install", "edge", chart, "--namespace", "team-dns", "--create-namespace", "-f", r53Values)
		for _, want := range []string{"STATUS: deployed", "serves example.org, example.net from the Service", "team-dns/edge-clusterzone", "Route 53 mirror: policy sync"} {
			if !strings.Contains(out, want) {
				t.Errorf("helm install output lacks %q:\n%s", want, out)
			}
		}
		out = helm("upgrade", "edge", chart, "--namespace", "team-dns", "--reuse-values", "--set", "route53.policy=upsert-only", "--set", "replicas=4")
		if !strings.Contains(out, "REVISION: 2") {
			t.Errorf("helm upgrade output:\n%s", out)
		}
		cmJSON, stderr, err := c.Kubectl(t, "-n", "team-dns", "get", "configmap/edge-clusterzone", "-o", "jsonpath={.data.Corefile}")
		if err != nil || !strings.Contains(cmJSON, "policy upsert-only") || strings.Contains(cmJSON, "policy sync") {
			t.Errorf("Corefile after helm upgrade (%v %s):\n%s", err, stderr, cmJSON)
		}
		replicas, _, _ := c.Kubectl(t, "-n", "team-dns", "get", "deploy/edge-clusterzone", "-o", "jsonpath={.spec.replicas}")
		if replicas != "4" {
			t.Errorf("replicas after helm upgrade: %q, want 4", replicas)
		}
		helm("uninstall", "edge", "--namespace", "team-dns")
		left, stderr, err := c.Kubectl(t, "get", "deploy,svc,cm,sa,role,rolebinding,pdb", "-n", "team-dns", "-l", "app.kubernetes.io/instance=edge", "-o", "name")
		if err != nil || strings.TrimSpace(left) != "" {
			t.Errorf("after helm uninstall (%v %s): %s", err, stderr, left)
		}
		left, _, _ = c.Kubectl(t, "get", "clusterrole,clusterrolebinding", "-l", "app.kubernetes.io/instance=edge", "-o", "name")
		if strings.TrimSpace(left) != "" {
			t.Errorf("after helm uninstall: %s", left)
		}
	})
}
