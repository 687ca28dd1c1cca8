package harness

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestExternalDNSDesiredChanges parses lines ExternalDNS v0.20 logged.
func TestExternalDNSDesiredChanges(t *testing.T) {
	log := `time="2026-12-03T08:53:08Z" level=info msg="Applying provider record filter for domains: [example.org. .example.org.]"
time="2026-12-03T08:53:08Z" level=info msg="Desired change: DELETE a-ing.example.org TXT" profile=default zoneID=/hostedzone/RCPW4S6IVFFVYUE8YBLODP zoneName=example.org.
time="2026-12-03T08:53:08Z" level=info msg="Desired change: CREATE *.apps.example.org A" profile=default zoneID=/hostedzone/RCPW4S6IVFFVYUE8YBLODP zoneName=example.org.
time="2026-12-03T08:53:08Z" level=info msg="Desired change: UPSERT Web.Example.org. AAAA" profile=default zoneID=/hostedzone/RCPW4S6IVFFVYUE8YBLODP zoneName=example.org.
time="2026-12-03T08:53:08Z" level=info msg="30 record(s) were successfully updated" profile=default zoneID=/hostedzone/RCPW4S6IVFFVYUE8YBLODP zoneName=example.org.
`
	var got []string
	for _, c := range ExternalDNSDesiredChanges(log) {
		got = append(got, c.String())
	}
	want := []string{"DELETE a-ing.example.org. TXT", "CREATE *.apps.example.org. A", "UPSERT web.example.org. AAAA"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestExternalDNSStarts runs the real ExternalDNS (inmemory provider) against
// a test cluster: it must serve its metrics and log the record it creates for
// an annotated Service.
func TestExternalDNSStarts(t *testing.T) {
	start := time.Now()
	c := StartCluster(t)
	ctx := context.Background()
	svc, err := c.Admin.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name:        "www",
			Annotations: map[string]string{"external-dns.alpha.kubernetes.io/hostname": "www.example.org"},
		},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "www"},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating service: %v", err)
	}

	edStart := time.Now()
	ed := StartExternalDNS(t,
		"--kubeconfig="+c.AdminKubeconfig,
		"--source=service",
		"--publish-internal-services", // a ClusterIP Service
		"--provider=inmemory",
		"--inmemory-zone=example.org",
		"--domain-filter=example.org",
		"--registry=noop",
		"--interval=1m",
		"--log-level=info",
	)
	t.Logf("external-dns healthy after %v", time.Since(edStart))

	want := "CREATE: www.example.org"
	WaitFor(t, 30*time.Second, "external-dns to log "+want, func() bool {
		for _, line := range strings.Split(ed.Log(), "\n") {
			if strings.Contains(line, want) && strings.Contains(line, " A ") && strings.Contains(line, svc.Spec.ClusterIP) {
				return true
			}
		}
		return false
	})
	t.Logf("record created %v after start", time.Since(edStart))
	for _, line := range strings.Split(ed.Log(), "\n") {
		if strings.Contains(line, "CREATE:") {
			t.Logf("external-dns: %s", line)
		}
	}

	heap, rss := ed.HeapBytes(t), ed.RSSBytes(t)
	if heap <= 0 || rss <= 0 {
		t.Errorf("heap = %v, rss = %v; want > 0", heap, rss)
	}
	t.Logf("external-dns heap %.1f MiB, RSS %.1f MiB", heap/(1<<20), rss/(1<<20))
	ed.Stop(t)
	if !ed.Exited() {
		t.Errorf("external-dns still running after Stop")
	}
	t.Logf("total %v", time.Since(start))
}
