package harness

import (
	"strings"
	"testing"
)

func TestMissingHelmFails(t *testing.T) {
	t.Setenv("CLUSTERZONE_CACHE", t.TempDir())
	msg := runFatal(t, func(tb testing.TB) { HelmBinary(tb) })
	if !strings.Contains(msg, "make test-bins") || !strings.Contains(msg, "hack/testbins.sh helm") {
		t.Errorf("HelmBinary without helm: message %q does not say how to build it", msg)
	}
}
