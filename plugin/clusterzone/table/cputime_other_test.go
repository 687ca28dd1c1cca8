//go:build !unix

package table

import "time"

// cpuTime is not measured here: BenchmarkApply then reports no cpu-ns/op.
func cpuTime() time.Duration { return 0 }
