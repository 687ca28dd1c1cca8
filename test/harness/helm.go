package harness

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// HelmBinary returns the helm that hack/testbins.sh builds into BinDir
// (`hack/testbins.sh helm`, part of `make test-bins`). A missing binary fails
// the test with how to build it; it is never skipped.
func HelmBinary(t testing.TB) string {
	t.Helper()
	p := filepath.Join(BinDir(), "helm")
	st, err := os.Stat(p)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("harness: helm not found at %s (%v): run `make test-bins` or `hack/testbins.sh helm` "+
			"(builds helm from the Go module helm.sh/helm/v3 into .cache/bin, or $CLUSTERZONE_CACHE/bin)", p, err)
	}
	return p
}

// Helm runs helm with args, isolated from the user's helm configuration
// (throw-away HOME and HELM_*_HOME folders, no kubeconfig: only commands that
// need no cluster, such as lint and template) and returns its standard
// output and standard error. err is non-nil when helm could not run or
// exited with a non-zero status; the test is not failed, so that callers can
// expect failures. A missing helm fails the test (see HelmBinary).
func Helm(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin := HelmBinary(t)
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(),
		"HOME="+home,
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "no-kubeconfig"),
	)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}
