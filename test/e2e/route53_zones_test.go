package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/miekg/dns"
)

func zonesCorefile(port int, dir, endpoint, zones string) string {
	return fmt.Sprintf(`example.org:%d {
    clusterzone {
        manifests %s
        owner-id e2e
        route53 {
            endpoint %s
            policy sync
            interval 2s
            debounce 100ms
%s
        }
    }
}
`, port, dir, endpoint, zones)
}

// TestRoute53ZonesFoundByName runs the built coredns with hosted zones
// given by name: an ambiguous one stops it at startup with an error that
// names the candidates; a private zone found by type and a public hosted
// zone below the served zone are written, each with the names that belong
// to it, through many full reconciles. (TestMirrorChildZone in
// plugin/clusterzone/route53 checks a public zone below a public one.)
func TestRoute53ZonesFoundByName(t *testing.T) {
	moto := harness.StartMoto(t)
	r53 := r53Client(moto.URL)
	pub1, pub2 := createHostedZone(t, r53, "example.org"), createHostedZone(t, r53, "example.org")
	out, err := r53.CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{
		Name: aws.String("example.org"), CallerReference: aws.String(fmt.Sprint(time.Now().UnixNano())),
		HostedZoneConfig: &types.HostedZoneConfig{PrivateZone: true},
		VPC:              &types.VPC{VPCId: aws.String("vpc-0123456789abcdef0"), VPCRegion: types.VPCRegionUsEast1},
	})
	if err != nil {
		t.Fatal(err)
	}
	private := strings.TrimPrefix(aws.ToString(out.HostedZone.Id), "/hostedzone/")
	child := createHostedZone(t, r53, "internal.example.org")
	dir := copyExamples(t)

	// Ambiguous: two public hosted zones and a private one named
	// example.org. CoreDNS must not start.
	corefile := zonesCorefile(harness.FreePort(t), dir, moto.URL, "            zone example.org")
	path := t.TempDir() + "/Corefile"
	if err := os.WriteFile(path, []byte(strings.Replace(corefile, "    clusterzone {", "    bind 127.0.0.1\n    clusterzone {", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.CoreDNSBinary(t), "-conf", path)
	cmd.Env = append(os.Environ(), moto.Env...)
	log, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("coredns kept running with an ambiguous hosted zone:\n%s", log)
	}
	if err == nil {
		t.Fatalf("coredns exited 0 with an ambiguous hosted zone:\n%s", log)
	}
	for _, want := range []string{"example.org. is ambiguous", pub1 + " (public)", pub2 + " (public)", private + " (private)", "zone example.org. public|private"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("startup error does not say %q:\n%s", want, log)
		}
	}

	// Found by name: the private example.org and the public
	// internal.example.org below the served zone.
	cd := harness.StartCoreDNS(t, zonesCorefile(harness.FreePort(t), dir, moto.URL, "            zone example.org private\n            zone internal.example.org"), moto.Env...)
	expectIn := func(zoneID string, want ...string) {
		t.Helper()
		harness.Eventually(t, 30*time.Second, func() error {
			got := strings.Join(zoneRecords(t, r53, zoneID), "\n")
			for _, w := range want {
				if !strings.Contains(got, w) {
					return fmt.Errorf("zone %s lacks %q; it holds\n%s", zoneID, w, got)
				}
			}
			return nil
		})
	}
	// examples/manifests: web.example.org is a dual-stack load balancer,
	// web.internal.example.org its internal-hostname (ClusterIPs).
	expectIn(private, "web.example.org. A 192.0.2.10", "web.example.org. AAAA 2001:db8::10")
	expectIn(child, "web.internal.example.org. A 10.96.0.10", "web.internal.example.org. AAAA fd00:10:96::a",
		`a-web.internal.example.org. TXT "heritage=external-dns,external-dns/owner=e2e,external-dns/resource=service/shop/web"`)
	// Served as before: the table still answers for the child's names.
	if m := harness.Query(t, cd.Addr, "web.internal.example.org.", dns.TypeA, "udp"); len(m.Answer) != 1 {
		t.Errorf("web.internal.example.org A answered %v", m.Answer)
	}
	// Names are placed among the public and the private hosted zones
	// separately: the private example.org also holds the names below the
	// public internal.example.org, because inside the VPC the private zone
	// answers for everything below it (a public zone does not fill in).
	expectIn(private, "web.internal.example.org. A 10.96.0.10")
	// Several full reconciles later (every 2 s): all still there, and no
	// change sent since.
	time.Sleep(7 * time.Second)
	expectIn(child, "web.internal.example.org. A 10.96.0.10")
	expectIn(private, "web.example.org. A 192.0.2.10", "web.internal.example.org. A 10.96.0.10")
	for _, id := range []string{pub1, pub2} {
		if got := zoneRecords(t, r53, id); len(got) > 2 {
			t.Errorf("public zone %s, not configured, was written: %v", id, got)
		}
	}
}
