// Package bench holds the benchmarks that need real components: the built
// ./coredns, and a real kube-apiserver + etcd from test/harness. It has no
// tests, so `go test ./test/bench/` (what `make test` runs) does nothing
// heavy; run the benchmarks explicitly (hack/bench.sh does, via `make bench`):
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 60m ./test/bench/
//
// BenchmarkPropagation measures the time from an API write returning to the
// new answer being served (p50, p99, max over many updates).
// BenchmarkHeap loads 10,000 annotated dual-stack LoadBalancer Services and
// compares, in one run and side by side, the heap of clusterzone with that of
// CoreDNS's kubernetes plugin watching the same Services, less the heap of
// the same binary serving only whoami.
//
// Flags (after -args): -updates N (propagation, default 200),
// -services N (heap, default 10000).
//
// Missing components are a benchmark failure with a hint (`make build`,
// `make test-bins`), never a skip. Everything listens on 127.0.0.1.
package bench
