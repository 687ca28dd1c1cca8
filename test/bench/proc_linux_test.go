//go:build linux

package bench

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes a child die with the benchmark binary.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
