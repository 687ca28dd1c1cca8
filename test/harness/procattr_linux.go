//go:build linux

package harness

import (
	"os/exec"
	"syscall"
)

// DieWithParent makes the child cmd die with the test binary (SIGKILL when the
// parent goes away), so a panicking or timed-out test leaves no servers.
func DieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
