//go:build !linux

package harness

import "os/exec"

// DieWithParent is a no-op outside Linux (no parent-death signal there).
func DieWithParent(cmd *exec.Cmd) {}
