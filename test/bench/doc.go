// Package bench holds the benchmarks that need real components: the built
// ./coredns, dnsperf, and a real kube-apiserver + etcd from test/harness. It
// has no tests, so `go test ./test/bench/` (what `make test` runs) does
// nothing heavy; `make bench` (hack/bench.sh) runs the benchmarks one by one:
//
//	go test -run '^$' -bench BenchmarkServe -benchtime 1x -timeout 40m -v ./test/bench/ -args -results DIR
//
// BenchmarkServe: serving throughput and latency (dnsperf) of clusterzone
// (from manifests and from kube-apiserver), file, k8s_external and whoami
// over the same 10,000 names, run alternately.
// BenchmarkPropagation: API write returned -> new answer served, clusterzone
// and k8s_external polled on the same updates.
// BenchmarkHeap: heap and RSS at -scales Services (1,000, 10,000, 100,000),
// clusterzone vs the kubernetes plugin, less a whoami baseline.
// BenchmarkHeadless: 500 headless Services x 20 Pods, each Pod its own name
// (EndpointSlices from the real kube-controller-manager): heap and RSS of
// clusterzone vs ExternalDNS on the same cluster, and Pod readiness change ->
// clusterzone's answer changed.
// BenchmarkRoute53: clusterzone's Route 53 mirror vs ExternalDNS v0.20 (aws
// provider) on one API server and one moto_server, at -route53-scales
// dual-stack LoadBalancer Services: time and Route 53 calls to a complete
// hosted zone, per Service change, and while idle.
//
// Every benchmark logs a table and, with -results DIR, writes DIR/NAME.json
// for tool/benchreport. Flags are documented where they are defined
// (serve_test.go, propagation_test.go, heap_test.go, headless_test.go,
// route53_test.go).
//
// Missing components are a benchmark failure with a hint (`make build`,
// `make test-bins`, `make deps`), never a skip. Everything listens on
// 127.0.0.1.
package bench
