package bench

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var resultsDir = flag.String("results", "", "write each benchmark's results as JSON into this folder (serve.json, propagation.json, heap.json, headless.json, route53.json); hack/bench.sh merges them")

// writeResults writes v as DIR/name.json when -results is set.
func writeResults(b *testing.B, name string, v any) {
	b.Helper()
	if *resultsDir == "" {
		return
	}
	if err := os.MkdirAll(*resultsDir, 0o755); err != nil {
		b.Fatal(err)
	}
	data, err := json.MarshalIndent(map[string]any{"benchmark": name, "finished": time.Now().UTC().Format(time.RFC3339), "results": v}, "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(*resultsDir, name+".json")
	if err := os.WriteFile(p, append(data, '\n'), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("results written to %s", p)
}
