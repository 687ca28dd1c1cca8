package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/miekg/dns"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// deployObject is one object of the manifests in deploy/.
type deployObject struct {
	Kind, Namespace, Name string
	File                  string
}

func (o deployObject) String() string {
	return fmt.Sprintf("%s %s/%s (%s)", o.Kind, o.Namespace, o.Name, o.File)
}

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// readDeployObjects reads every object of the *.yaml files in dir, as kubectl
// apply -f dir does.
func readDeployObjects(t *testing.T, dir string) []deployObject {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", dir, err)
	}
	var out []deployObject
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range docSep.Split(string(data), -1) {
			var u map[string]any
			if err := yaml.Unmarshal([]byte(doc), &u); err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			if len(u) == 0 {
				continue
			}
			o := unstructured.Unstructured{Object: u}
			out = append(out, deployObject{Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName(), File: filepath.Base(f)})
		}
	}
	return out
}

// TestDeployManifests applies every manifest in deploy/ to a real API server
// with `kubectl apply --dry-run=server` (admission, defaulting and strict
// schema validation of every field, nothing persisted) and checks that each
// object is accepted and that the objects fit together: the Deployment runs
// two non-root replicas with a read-only root file system under the
// ServiceAccount that the ClusterRoleBinding and the lease RoleBinding name,
// its probes and the Service reach the ports the Corefile listens on, the
// PodDisruptionBudget selects its pods, and the RBAC grants only what the
// plugin uses. Then it runs the ConfigMap's Corefile (ports moved to free
// loopback ones) with the built binary as the RBAC-restricted identity of
// deploy/rbac.yaml and waits for /health, /ready and an authoritative SOA.
func TestDeployManifests(t *testing.T) {
	dir := filepath.Join(harness.Root(), "deploy")
	want := readDeployObjects(t, dir)
	c := harness.StartCluster(t)

	stdout, stderr, err := c.Kubectl(t, "apply", "--dry-run=server", "--validate=strict", "-o", "json", "-f", dir)
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=server -f deploy/: %v\nstderr:\n%s\nstdout:\n%s", err, stderr, stdout)
	}
	for _, line := range strings.Split(stderr, "\n") {
		// The RBAC objects already exist (the harness created them without
		// kubectl); kubectl says it will patch in its annotation. Anything
		// else (a deprecated API, an unknown field) is a finding.
		if line = strings.TrimSpace(line); line != "" && !strings.Contains(line, "missing the kubectl.kubernetes.io/last-applied-configuration annotation") {
			t.Errorf("kubectl warned: %s", line)
		}
	}
	got := map[string]map[string]any{}
	var list struct {
		Kind  string           `json:"kind"`
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatalf("kubectl output is not JSON: %v\n%s", err, stdout)
	}
	items := list.Items
	if list.Kind != "List" {
		var one map[string]any
		_ = json.Unmarshal([]byte(stdout), &one)
		items = []map[string]any{one}
	}
	for _, it := range items {
		u := unstructured.Unstructured{Object: it}
		got[u.GetKind()+" "+u.GetNamespace()+"/"+u.GetName()] = it
	}
	for _, o := range want {
		if got[o.Kind+" "+o.Namespace+"/"+o.Name] == nil {
			t.Errorf("%s: not in kubectl's output", o)
		}
	}
	if len(items) != len(want) {
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Errorf("kubectl returned %d objects, deploy/ holds %d: %v", len(items), len(want), keys)
	}
	t.Logf("kubectl apply --dry-run=server accepted %d objects: %v", len(want), want)

	// The objects as the API server would store them (defaults applied).
	var (
		deploy appsv1.Deployment
		svc    corev1.Service
		cm     corev1.ConfigMap
		pdb    policyv1.PodDisruptionBudget
		sa     corev1.ServiceAccount
		crs    []rbacv1.ClusterRole
		crbs   []rbacv1.ClusterRoleBinding
		roles  []rbacv1.Role
		rbs    []rbacv1.RoleBinding
		counts = map[string]int{}
	)
	for _, it := range items {
		kind, _ := it["kind"].(string)
		counts[kind]++
		var into any
		switch kind {
		case "Deployment":
			into = &deploy
		case "Service":
			into = &svc
		case "ConfigMap":
			into = &cm
		case "PodDisruptionBudget":
			into = &pdb
		case "ServiceAccount":
			into = &sa
		case "ClusterRole":
			crs = append(crs, rbacv1.ClusterRole{})
			into = &crs[len(crs)-1]
		case "ClusterRoleBinding":
			crbs = append(crbs, rbacv1.ClusterRoleBinding{})
			into = &crbs[len(crbs)-1]
		case "Role":
			roles = append(roles, rbacv1.Role{})
			into = &roles[len(roles)-1]
		case "RoleBinding":
			rbs = append(rbs, rbacv1.RoleBinding{})
			into = &rbs[len(rbs)-1]
		default:
			t.Errorf("unexpected kind %s in deploy/", kind)
			continue
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(it, into, true); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
	}
	for _, k := range []string{"Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "ServiceAccount"} {
		if counts[k] != 1 {
			t.Fatalf("deploy/ holds %d objects of kind %s, want 1 (%v)", counts[k], k, counts)
		}
	}

	ns := deploy.Namespace
	pod := deploy.Spec.Template.Spec
	t.Run("Deployment", func(t *testing.T) {
		if deploy.Spec.Replicas == nil || *deploy.Spec.Replicas != 2 {
			t.Errorf("replicas %v, want 2", deploy.Spec.Replicas)
		}
		if pod.ServiceAccountName != sa.Name || sa.Namespace != ns {
			t.Errorf("serviceAccountName %s in %s, ServiceAccount %s/%s", pod.ServiceAccountName, ns, sa.Namespace, sa.Name)
		}
		psc := pod.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
			t.Errorf("pod securityContext %+v: want runAsNonRoot and a non-zero runAsUser", psc)
		}
		if len(pod.Containers) != 1 {
			t.Fatalf("%d containers, want 1", len(pod.Containers))
		}
		ctr := pod.Containers[0]
		sc := ctr.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 || (sc.Privileged != nil && *sc.Privileged) {
			t.Errorf("container securityContext %+v: want a read-only root fs, no privilege escalation, every capability dropped", sc)
		}
		podNS := false
		for _, e := range ctr.Env {
			if e.Name == "POD_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace" {
				podNS = true
			}
		}
		if !podNS {
			t.Errorf("no POD_NAMESPACE from metadata.namespace: the Route 53 lease would not be in the pod's namespace")
		}
		for name, probe := range map[string]*corev1.Probe{"/health": ctr.LivenessProbe, "/ready": ctr.ReadinessProbe} {
			if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != name {
				t.Errorf("probe for %s: %+v", name, probe)
				continue
			}
			want := map[string]int32{"/health": 8080, "/ready": 8181}[name]
			if p := containerPort(ctr, probe.HTTPGet.Port, corev1.ProtocolTCP); p != want {
				t.Errorf("%s probe port %s is container port %d, want %d (the Corefile's)", name, probe.HTTPGet.Port.String(), p, want)
			}
		}
		if pdb.Namespace != ns || pdb.Spec.Selector == nil || !selects(pdb.Spec.Selector.MatchLabels, deploy.Spec.Template.Labels) ||
			pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1 {
			t.Errorf("PodDisruptionBudget %s/%s %+v does not keep a replica of the Deployment's pods", pdb.Namespace, pdb.Name, pdb.Spec)
		}
		cmMounted := false
		for _, v := range pod.Volumes {
			if v.ConfigMap != nil && v.ConfigMap.Name == cm.Name && cm.Namespace == ns {
				cmMounted = true
			}
		}
		if !cmMounted || cm.Data["Corefile"] == "" {
			t.Errorf("the ConfigMap %s/%s with a Corefile is not mounted", cm.Namespace, cm.Name)
		}
	})

	t.Run("Service", func(t *testing.T) {
		if svc.Namespace != ns || !selects(svc.Spec.Selector, deploy.Spec.Template.Labels) {
			t.Errorf("Service %s/%s selector %v does not select the Deployment's pods %v", svc.Namespace, svc.Name, svc.Spec.Selector, deploy.Spec.Template.Labels)
		}
		for _, proto := range []corev1.Protocol{corev1.ProtocolUDP, corev1.ProtocolTCP} {
			found := false
			for _, p := range svc.Spec.Ports {
				if p.Port == 53 && p.Protocol == proto {
					found = true
					if cp := containerPort(pod.Containers[0], p.TargetPort, proto); cp != 1053 {
						t.Errorf("Service port 53/%s targets container port %d, want 1053 (the Corefile's)", proto, cp)
					}
				}
			}
			if !found {
				t.Errorf("Service has no port 53/%s: %+v", proto, svc.Spec.Ports)
			}
		}
	})

	t.Run("RBAC", func(t *testing.T) {
		isSA := func(s rbacv1.Subject) bool {
			return s.Kind == rbacv1.ServiceAccountKind && s.Name == sa.Name && s.Namespace == sa.Namespace
		}
		bound := map[string]bool{}
		for _, b := range crbs {
			if slices.ContainsFunc(b.Subjects, isSA) {
				bound["ClusterRole/"+b.RoleRef.Name] = true
			}
		}
		for _, b := range rbs {
			if slices.ContainsFunc(b.Subjects, isSA) {
				bound["Role/"+b.Namespace+"/"+b.RoleRef.Name] = true
			}
		}
		verbs := map[string][]string{} // resource -> verbs over every role
		for _, r := range crs {
			if !bound["ClusterRole/"+r.Name] {
				t.Errorf("ClusterRole %s is not bound to ServiceAccount %s/%s", r.Name, sa.Namespace, sa.Name)
			}
			for _, rule := range r.Rules {
				checkRule(t, "ClusterRole "+r.Name, rule, map[string][]string{"services": {"get", "list", "watch"}, "events": {"create", "patch"},
					"endpointslices": {"list", "watch"}, "nodes": {"list", "watch"}})
				for _, res := range rule.Resources {
					verbs[res] = append(verbs[res], rule.Verbs...)
				}
			}
		}
		leaseRole := false
		for _, r := range roles {
			if !bound["Role/"+r.Namespace+"/"+r.Name] {
				t.Errorf("Role %s/%s is not bound to ServiceAccount %s/%s", r.Namespace, r.Name, sa.Namespace, sa.Name)
			}
			for _, rule := range r.Rules {
				checkRule(t, "Role "+r.Namespace+"/"+r.Name, rule, map[string][]string{"leases": {"get", "list", "watch", "create", "update"}})
				if r.Namespace == ns && slices.Contains(rule.Resources, "leases") {
					leaseRole = true
				}
			}
		}
		for res, want := range map[string][]string{"services": {"list", "watch"}, "events": {"create", "patch"},
			"endpointslices": {"list", "watch"}, "nodes": {"list", "watch"}} {
			for _, v := range want {
				if !slices.Contains(verbs[res], v) {
					t.Errorf("no ClusterRole grants %s on %s, which the plugin uses", v, res)
				}
			}
		}
		if !leaseRole {
			t.Errorf("no Role for leases in the Deployment's namespace %s (the Route 53 leader's lease)", ns)
		}
	})

	t.Run("Corefile", func(t *testing.T) {
		// The ConfigMap's Corefile, with the in-pod ports replaced by free
		// loopback ports; it must name exactly the ports the Deployment exposes.
		corefile := cm.Data["Corefile"]
		ports := map[string]int{}
		for _, r := range []struct{ old, format, name string }{
			{":1053 {", ":%d {", "dns"},
			{"health :8080", "health 127.0.0.1:%d", "health"},
			{"ready :8181", "ready 127.0.0.1:%d", "ready"},
			{"prometheus :9153", "prometheus 127.0.0.1:%d", "metrics"},
		} {
			if strings.Count(corefile, r.old) != 1 {
				t.Fatalf("the Corefile does not hold %q exactly once (update this test with the manifest):\n%s", r.old, corefile)
			}
			ports[r.name] = harness.FreePort(t)
			corefile = strings.Replace(corefile, r.old, fmt.Sprintf(r.format, ports[r.name]), 1)
		}
		zone := strings.TrimSpace(strings.SplitN(strings.TrimSpace(stripComments(cm.Data["Corefile"])), ":", 2)[0])
		// Not in a pod: no in-cluster configuration, so the plugin uses
		// $KUBECONFIG, the identity bound to deploy/rbac.yaml's roles.
		dns1 := harness.StartCoreDNS(t, corefile, "KUBECONFIG="+c.Kubeconfig, "KUBERNETES_SERVICE_HOST=", "KUBERNETES_SERVICE_PORT=")
		hc := &http.Client{Timeout: 2 * time.Second}
		for _, path := range []string{fmt.Sprintf("http://127.0.0.1:%d/health", ports["health"]), fmt.Sprintf("http://127.0.0.1:%d/ready", ports["ready"])} {
			harness.Eventually(t, 60*time.Second, func() error {
				resp, err := hc.Get(path)
				if err != nil {
					return err
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("GET %s: %s", path, resp.Status)
				}
				return nil
			})
		}
		for _, proto := range []string{"udp", "tcp"} {
			r := harness.Query(t, dns1.Addr, zone, dns.TypeSOA, proto)
			if r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) != 1 {
				t.Errorf("SOA %s over %s: %v", zone, proto, r)
			}
		}
	})
}

// checkRule fails unless rule names only core or coordination resources of
// allowed, with a subset of their allowed verbs, and no wildcard.
func checkRule(t *testing.T, where string, rule rbacv1.PolicyRule, allowed map[string][]string) {
	t.Helper()
	if len(rule.NonResourceURLs) > 0 || len(rule.ResourceNames) > 0 {
		t.Errorf("%s: unexpected rule %+v", where, rule)
	}
	for _, g := range rule.APIGroups {
		if g != "" && g != "coordination.k8s.io" && g != "discovery.k8s.io" {
			t.Errorf("%s: API group %q", where, g)
		}
	}
	for _, res := range rule.Resources {
		ok, found := allowed[res]
		if !found {
			t.Errorf("%s: resource %q is not one the plugin uses", where, res)
			continue
		}
		for _, v := range rule.Verbs {
			if !slices.Contains(ok, v) {
				t.Errorf("%s: verb %q on %s is not one the plugin needs (%v)", where, v, res, ok)
			}
		}
	}
}

// containerPort resolves a probe's or a Service's target port (a number or a
// port name) against the container's ports of protocol proto; 0 when none.
func containerPort(ctr corev1.Container, p intstr.IntOrString, proto corev1.Protocol) int32 {
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range ctr.Ports {
		if cp.Name == p.StrVal && cp.Protocol == proto {
			return cp.ContainerPort
		}
	}
	return 0
}

// selects reports whether a non-empty selector matches labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// stripComments removes "#" comments from a Corefile.
func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestDockerfile checks what can be checked of the image without building it
// (no registry access here): a static build, a distroless or scratch final
// stage, and the non-root user the Deployment expects.
func TestDockerfile(t *testing.T) {
	root := harness.Root()
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	var froms []string
	user := ""
	for _, line := range strings.Split(df, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && strings.EqualFold(f[0], "FROM") {
			froms = append(froms, line)
		}
		if len(f) >= 2 && strings.EqualFold(f[0], "USER") {
			user = f[1]
		}
	}
	if len(froms) < 2 {
		t.Errorf("want a multi-stage build, found FROM lines %q", froms)
	} else if last := froms[len(froms)-1]; !strings.Contains(last, "distroless/static") && !strings.Contains(last, "scratch") {
		t.Errorf("final stage %q: want distroless static or scratch", last)
	}
	if !strings.Contains(df, "CGO_ENABLED=0") || !strings.Contains(df, "./cmd/coredns") {
		t.Errorf("the build stage must build ./cmd/coredns with CGO_ENABLED=0")
	}

	raw, err := os.ReadFile(filepath.Join(root, "deploy", "server.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var deploy *appsv1.Deployment
	for _, doc := range docSep.Split(string(raw), -1) {
		var d appsv1.Deployment
		if yaml.Unmarshal([]byte(doc), &d) == nil && d.Kind == "Deployment" {
			deploy = &d
		}
	}
	if deploy == nil || deploy.Spec.Template.Spec.SecurityContext == nil || deploy.Spec.Template.Spec.SecurityContext.RunAsUser == nil {
		t.Fatalf("deploy/server.yaml: no Deployment with a pod runAsUser")
	}
	uid := fmt.Sprint(*deploy.Spec.Template.Spec.SecurityContext.RunAsUser)
	if u, _, _ := strings.Cut(user, ":"); u != uid || uid == "0" {
		t.Errorf("Dockerfile USER %q, Deployment runAsUser %s: want the same non-root uid", user, uid)
	}
}
