#!/usr/bin/env bash
# Builds the real components the end-to-end tests run against, from Go
# modules, into .cache/bin (ignored), and reuses them when present:
#   etcd            go.etcd.io/etcd/server/v3
#   kube-apiserver  k8s.io/kubernetes/cmd/kube-apiserver
#   kube-controller-manager  k8s.io/kubernetes/cmd/kube-controller-manager
#                   (same module; the EndpointSlice controller for headless
#                   and NodePort tests)
#   external-dns    sigs.k8s.io/external-dns (the peer the tests and make
#                   bench compare against; v0.20 is the newest that builds
#                   with Go 1.26)
#   helm            helm.sh/helm/v3/cmd/helm (lint and template of the chart
#                   in deploy/helm/clusterzone)
# k8s.io/kubernetes and etcd's server module both replace their sibling
# modules with local paths, so neither can be `go install`ed directly; each is
# built from a small generated module whose replace lines point the siblings
# at their published versions instead.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${CLUSTERZONE_CACHE:-$top/.cache}
bin=$cache/bin
K8S_VERSION=${K8S_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.7.2}
EXTERNAL_DNS_VERSION=${EXTERNAL_DNS_VERSION:-v0.20.0}
HELM_VERSION=${HELM_VERSION:-v3.22.0}
mkdir -p "$bin" "$cache/build"

stamp_ok() { [ -x "$bin/$1" ] && [ "$(cat "$bin/$1.version" 2>/dev/null)" = "$2" ]; }

build_etcd() {
  stamp_ok etcd "$ETCD_VERSION" && return 0
  echo "building etcd $ETCD_VERSION (once per machine, about a minute)..." >&2
  local d=$cache/build/etcd
  rm -rf "$d" && mkdir -p "$d" && cd "$d"
  cat > go.mod <<MOD
module clusterzone.local/build/etcd

go 1.26

require go.etcd.io/etcd/server/v3 $ETCD_VERSION

replace (
	go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 $ETCD_VERSION
	go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 $ETCD_VERSION
)
MOD
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
  go mod tidy >/dev/null
  go build -o "$bin/etcd" go.etcd.io/etcd/server/v3
  echo "$ETCD_VERSION" > "$bin/etcd.version"
}

# kube-apiserver and kube-controller-manager come from one generated module
# and are built together (they share most packages).
build_kube() {
  stamp_ok kube-apiserver "$K8S_VERSION" && stamp_ok kube-controller-manager "$K8S_VERSION" && return 0
  echo "building kube-apiserver and kube-controller-manager $K8S_VERSION (once per machine, about 15 minutes)..." >&2
  local d=$cache/build/kube staging
  rm -rf "$d" && mkdir -p "$d" && cd "$d"
  # The staging modules are published as k8s.io/<repo> v0.Y.Z for kubernetes v1.Y.Z.
  local minor=v0.${K8S_VERSION#v1.}
  # Read the staging list from k8s.io/kubernetes's own go.mod, through the module proxy.
  local gomod
  gomod=$(cd "$d" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  staging=$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod")
  [ -n "$staging" ] || { echo "could not read the staging modules of k8s.io/kubernetes $K8S_VERSION" >&2; exit 1; }
  {
    echo "module clusterzone.local/build/kube"
    echo
    echo "go 1.26"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    for m in $staging; do echo "	$m => $m $minor"; done
    echo ")"
  } > go.mod
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n)\n' > tools.go
  go mod tidy >/dev/null
  go build -o "$bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  echo "$K8S_VERSION" > "$bin/kube-apiserver.version"
  go build -o "$bin/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
  echo "$K8S_VERSION" > "$bin/kube-controller-manager.version"
}

build_external_dns() {
  stamp_ok external-dns "$EXTERNAL_DNS_VERSION" && return 0
  echo "building external-dns $EXTERNAL_DNS_VERSION (once per machine, a few minutes)..." >&2
  GOBIN="$bin" GOFLAGS=-mod=mod go install "sigs.k8s.io/external-dns@$EXTERNAL_DNS_VERSION"
  echo "$EXTERNAL_DNS_VERSION" > "$bin/external-dns.version"
}

build_helm() {
  stamp_ok helm "$HELM_VERSION" && return 0
  echo "building helm $HELM_VERSION (once per machine, a few minutes)..." >&2
  # The -X flags of helm's own Makefile: its version (else `helm version`
  # says v3.22 without the patch), and the Kubernetes version of its
  # k8s.io/client-go (0.Y.Z is 1.Y), which `helm lint` checks deprecated APIs
  # against and `helm template` assumes (else 1.20).
  local gomod minor h=helm.sh/helm/v3
  gomod=$(cd "$cache/build" && GOFLAGS=-mod=mod go mod download -json "$h@$HELM_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  minor=$(sed -n 's#^[[:space:]]*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$gomod")
  [ -n "$minor" ] || { echo "could not read k8s.io/client-go's version in helm $HELM_VERSION's go.mod" >&2; exit 1; }
  GOBIN="$bin" GOFLAGS=-mod=mod go install -ldflags "-X $h/internal/version.version=$HELM_VERSION \
    -X $h/pkg/lint/rules.k8sVersionMajor=1 -X $h/pkg/lint/rules.k8sVersionMinor=$minor \
    -X $h/pkg/chartutil.k8sVersionMajor=1 -X $h/pkg/chartutil.k8sVersionMinor=$minor" "$h/cmd/helm@$HELM_VERSION"
  echo "$HELM_VERSION" > "$bin/helm.version"
}

case "${1:-all}" in
  etcd) build_etcd ;;
  kube-apiserver|kube-controller-manager|kube) build_kube ;;
  external-dns) build_external_dns ;;
  helm) build_helm ;;
  all) build_etcd; build_kube; build_external_dns; build_helm ;;
  *) echo "usage: $0 [etcd|kube|external-dns|helm|all]" >&2; exit 2 ;;
esac
