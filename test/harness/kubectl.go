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

// KubectlEnv names an environment variable that, when set, is the path of
// the kubectl binary Kubectl runs instead of the one on $PATH.
const KubectlEnv = "CLUSTERZONE_KUBECTL"

const kubectlTimeout = 2 * time.Minute

// KubectlBinary returns the kubectl to run: $CLUSTERZONE_KUBECTL when set,
// else kubectl from $PATH. It fails the test, saying how to get kubectl, when
// there is none.
func KubectlBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(KubectlEnv); p != "" {
		if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			t.Fatalf("harness: $%s=%s is not an executable kubectl (%v)", KubectlEnv, p, err)
		}
		return p
	}
	p, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("harness: kubectl not found on $PATH (%v). Install it: "+
			"https://kubernetes.io/docs/tasks/tools/#kubectl (for example "+
			"`curl -fsSLo /usr/local/bin/kubectl https://dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubectl && chmod +x /usr/local/bin/kubectl`, "+
			"or the kubectl package from https://pkgs.k8s.io), or set $%s to a kubectl binary", err, KubectlEnv)
	}
	return p
}

// Kubectl runs kubectl with args against the cluster as the admin identity
// (--kubeconfig AdminKubeconfig, a throw-away --cache-dir, nothing read from
// the user's ~/.kube) and returns its standard output and standard error. err
// is non-nil when kubectl could not run or exited with a non-zero status; the
// test is not failed, so that callers can expect failures. A missing kubectl
// fails the test (see KubectlBinary).
func (c *Cluster) Kubectl(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin := KubectlBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), kubectlTimeout)
	defer cancel()
	full := append([]string{
		"--kubeconfig=" + c.AdminKubeconfig,
		"--cache-dir=" + filepath.Join(t.TempDir(), "kube-cache"),
		"--request-timeout=60s",
	}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.AdminKubeconfig, "HOME="+t.TempDir())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}
