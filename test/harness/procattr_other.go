//go:build !linux

package harness

import "os/exec"

// setProcAttr is a no-op outside Linux (no parent-death signal there).
func setProcAttr(cmd *exec.Cmd) {}
