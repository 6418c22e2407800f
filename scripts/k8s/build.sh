#!/usr/bin/env bash
# Builds the test control plane's binaries from the Go module proxy into a per-version cache:
# kube-apiserver and kube-controller-manager (wrapper module ./go.mod), etcd (wrapper module
# ./etcd/go.mod, kept apart so minimal version selection cannot move etcd's grpc/otel pins) and
# helm. Idempotent: a binary that exists is not built again. Prints the bin dir on success.
#
#   scripts/k8s/build.sh              build what is missing, print the k8s bin dir
#   scripts/k8s/build.sh --bin-dir    print the k8s bin dir only (no build)
#   scripts/k8s/build.sh --helm-dir   print the helm dir only (no build)
#   scripts/k8s/build.sh --node       build the node's binaries (kubelet, kube-scheduler, kube-proxy, kubectl,
#                                     containerd, shim, ctr, pause) if missing, print their dir
#   scripts/k8s/build.sh --node-dir   print the node's bin dir only (no build)
#   scripts/k8s/build.sh --regen K8S_VERSION ETCD_VERSION
#                                     rewrite the wrapper go.mod/go.sum files for new versions
#
# Versions are read from the wrapper go.mod files (the one place they live); helm's from HELM_VERSION.
# Cache root: $TRAINYARD_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/trainyard.
set -euo pipefail

HELM_VERSION=3.22.0
CONTAINERD_VERSION=2.4.2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${TRAINYARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trainyard}
export GOTOOLCHAIN=local CGO_ENABLED=0

log() { printf '[k8s-build] %s\n' "$*" >&2; }

required_version() {  # required_version GO_MOD MODULE -> version without the leading v
    [[ -f $1 ]] || return 0
    awk -v m="$2" '$1 == m && $2 ~ /^v/ { sub(/^v/, "", $2); print $2; exit }
                   $1 == "require" && $2 == m { sub(/^v/, "", $3); print $3; exit }' "$1"
}

k8s_version=$(required_version "$here/go.mod" k8s.io/kubernetes)
etcd_version=$(required_version "$here/etcd/go.mod" go.etcd.io/etcd/server/v3)
bin_dir=$cache/k8s-v$k8s_version-etcd-v$etcd_version/bin
helm_dir=$cache/helm-v$HELM_VERSION
# The node's binaries: kubelet, kube-scheduler and kubectl from the same wrapper module (so the same
# version), containerd 2.x (kubelet 1.37 asks the runtime for its cgroup driver over CRI, which
# containerd 1.x does not answer) and a static pause binary for the sandbox image.
node_dir=$cache/node-k8s-v$k8s_version-containerd-v$CONTAINERD_VERSION/bin

# Runs "$@" in the background and prints the elapsed time (and, given a -v log, the number of
# packages compiled so far) every 20 s until it ends; returns its exit status.
with_progress() {
    local label=$1 vlog=$2; shift 2
    local start=$SECONDS pid rc=0
    "$@" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        sleep 20 &
        wait $! || true
        kill -0 "$pid" 2>/dev/null || break
        local n=""
        [[ -n $vlog && -f $vlog ]] && n=", $(grep -c . "$vlog" || true) packages compiled"
        log "$label: $(( (SECONDS - start) / 60 ))m$(( (SECONDS - start) % 60 ))s elapsed$n"
    done
    wait "$pid" || rc=$?
    log "$label: finished in $(( (SECONDS - start) / 60 ))m$(( (SECONDS - start) % 60 ))s (exit $rc)"
    return "$rc"
}

stamp_ldflags() {  # the version variables the Kubernetes release build sets
    local v=$1 major minor
    major=${v%%.*}; minor=${v#*.}; minor=${minor%%.*}
    local date; date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    local flags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        flags+=" -X $pkg.gitVersion=v$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
        flags+=" -X $pkg.gitCommit=v$v-module-proxy -X $pkg.gitTreeState=clean"
        flags+=" -X $pkg.buildDate=$date"
    done
    printf '%s' "$flags"
}

build_k8s() {
    local out; out=$(mktemp -d "$bin_dir/.build.XXXXXX")
    local vlog=$out/go-build-v.log
    log "building kube-apiserver + kube-controller-manager v$k8s_version (one go build; a cold build takes tens of minutes on 2 cores)"
    # -v lists each package as it is compiled (into $vlog), so the progress line can count them.
    with_progress "kube-apiserver + kube-controller-manager" "$vlog" \
        bash -c 'cd "$1" && shift && exec go build "$@" 2>"'"$vlog"'"' _ "$here" \
        -v -trimpath -ldflags "$(stamp_ldflags "$k8s_version")" -o "$out/" \
        k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
        || { grep -v '^[a-z0-9._/-]*$' "$vlog" >&2 || true; rm -rf "$out"; return 1; }
    mv "$out/kube-apiserver" "$out/kube-controller-manager" "$bin_dir/"
    rm -rf "$out"
}

build_node_k8s() {  # kubelet, kube-scheduler, kube-proxy, kubectl: ~9 CPU-minutes and 2 GB RSS cold
    mkdir -p "$node_dir"
    local out; out=$(mktemp -d "$node_dir/.build.XXXXXX")
    local vlog=$out/go-build-v.log
    log "building kubelet + kube-scheduler + kube-proxy + kubectl v$k8s_version"
    with_progress "kubelet + kube-scheduler + kube-proxy + kubectl" "$vlog" \
        bash -c 'cd "$1" && shift && exec go build "$@" 2>"'"$vlog"'"' _ "$here" \
        -v -trimpath -ldflags "$(stamp_ldflags "$k8s_version")" -o "$out/" \
        k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-proxy \
        k8s.io/kubernetes/cmd/kubectl \
        || { grep -v '^[a-z0-9._/-]*$' "$vlog" >&2 || true; rm -rf "$out"; return 1; }
    mv "$out/kubelet" "$out/kube-scheduler" "$out/kube-proxy" "$out/kubectl" "$node_dir/"
    rm -rf "$out"
}

build_containerd() {  # containerd, its runc shim and ctr (~2 CPU-minutes cold)
    mkdir -p "$node_dir"
    local out; out=$(mktemp -d "$node_dir/.build.XXXXXX")
    local m=github.com/containerd/containerd/v2
    log "building containerd v$CONTAINERD_VERSION"
    with_progress "containerd" "" env GOBIN="$out" go install -trimpath -tags "no_btrfs no_devmapper no_zfs" \
        -ldflags "-s -w -X $m/version.Version=v$CONTAINERD_VERSION -X $m/version.Revision=module-proxy" \
        "$m/cmd/containerd@v$CONTAINERD_VERSION" "$m/cmd/containerd-shim-runc-v2@v$CONTAINERD_VERSION" \
        "$m/cmd/ctr@v$CONTAINERD_VERSION" || { rm -rf "$out"; return 1; }
    mv "$out/containerd" "$out/containerd-shim-runc-v2" "$out/ctr" "$node_dir/"
    rm -rf "$out"
}

build_pause() {  # the sandbox ("pause") process, from the same Kubernetes release's source
    local src
    src=$(cd "$here" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c
    command -v gcc >/dev/null || { log "gcc is needed to build the pause binary"; return 1; }
    mkdir -p "$node_dir"
    gcc -Os -static -DVERSION="v$k8s_version-trainyard" -o "$node_dir/.pause.tmp" "$src"
    mv "$node_dir/.pause.tmp" "$node_dir/pause"
}

build_etcd() {
    local out; out=$(mktemp -d "$bin_dir/.build.XXXXXX")
    log "building etcd v$etcd_version"
    with_progress "etcd" "" bash -c 'cd "$1/etcd" && go build -trimpath -ldflags "-s -w" -o "$2/etcd" go.etcd.io/etcd/server/v3' \
        _ "$here" "$out" || { rm -rf "$out"; return 1; }
    mv "$out/etcd" "$bin_dir/"
    rm -rf "$out"
}

build_helm() {
    # helm's Makefile stamps its own version and the Kubernetes version it assumes when offline
    # (client-go's minor + 1.x); `go install pkg@version` builds outside any module, so set both here.
    local gomod client_go major minor flags
    gomod=$(go mod download -json "helm.sh/helm/v3@v$HELM_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
    client_go=$(required_version "$gomod" k8s.io/client-go)
    major=$(( ${client_go%%.*} + 1 )); minor=${client_go#*.}; minor=${minor%%.*}
    flags="-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
    for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
        flags+=" -X $pkg.k8sVersionMajor=$major -X $pkg.k8sVersionMinor=$minor"
    done
    log "building helm v$HELM_VERSION"
    mkdir -p "$helm_dir"
    with_progress "helm" "" env GOBIN="$helm_dir" \
        go install -trimpath -ldflags "$flags" "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
}

regen() {  # regen K8S_VERSION ETCD_VERSION: rewrite both wrapper modules from the served go.mod
    local k=${1:?k8s version, e.g. 1.37.2} e=${2:?etcd version, e.g. 3.6.16}
    local staging=0.${k#*.} gomod m
    (
        cd "$here"
        rm -f go.mod go.sum
        go mod init trainyard.local/k8s-bins
        go mod edit -go=1.26.0
        gomod=$(go mod download -json "k8s.io/kubernetes@v$k" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
        # Every staging module k8s.io/kubernetes requires at v0.0.0 (and resolves with a local replace,
        # which consumers ignore) is replaced by its published v0.MINOR.PATCH release.
        for m in $(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }' "$gomod" | sort -u); do
            go mod edit -replace="$m=$m@v$staging"
        done
        go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@v$k" "k8s.io/kubernetes/cmd/kube-controller-manager@v$k" \
            "k8s.io/kubernetes/cmd/kubelet@v$k" "k8s.io/kubernetes/cmd/kube-scheduler@v$k" \
            "k8s.io/kubernetes/cmd/kube-proxy@v$k" "k8s.io/kubernetes/cmd/kubectl@v$k"
        go mod tidy
    )
    (
        mkdir -p "$here/etcd" && cd "$here/etcd"
        rm -f go.mod go.sum
        go mod init trainyard.local/k8s-bins/etcd
        go mod edit -go=1.26.0
        go get -tool "go.etcd.io/etcd/server/v3@v$e"
        go mod tidy
    )
}

case ${1:-} in
    --bin-dir) echo "$bin_dir"; exit 0 ;;
    --helm-dir) echo "$helm_dir"; exit 0 ;;
    --regen) shift; regen "$@"; exit 0 ;;
    --helm) [[ -x $helm_dir/helm ]] || build_helm; echo "$helm_dir/helm"; exit 0 ;;
    --node-dir) echo "$node_dir"; exit 0 ;;
    --node)  # the node's binaries only (make node-bins)
        command -v go >/dev/null || { log "go is not installed (need Go >= 1.26)"; exit 1; }
        [[ -x $node_dir/containerd && -x $node_dir/containerd-shim-runc-v2 && -x $node_dir/ctr ]] || build_containerd
        [[ -x $node_dir/pause ]] || build_pause
        [[ -x $node_dir/kubelet && -x $node_dir/kube-scheduler && -x $node_dir/kube-proxy && -x $node_dir/kubectl ]] \
            || build_node_k8s
        echo "$node_dir"; exit 0 ;;
    "") ;;
    *) echo "usage: $0 [--bin-dir | --helm-dir | --helm | --node | --node-dir | --regen K8S_VERSION ETCD_VERSION]" >&2; exit 2 ;;
esac

command -v go >/dev/null || { log "go is not installed (need Go >= 1.26)"; exit 1; }
mkdir -p "$bin_dir"
start=$SECONDS
[[ -x $bin_dir/kube-apiserver && -x $bin_dir/kube-controller-manager ]] || build_k8s
[[ -x $bin_dir/etcd ]] || build_etcd
[[ -x $helm_dir/helm ]] || build_helm
ln -sf "$helm_dir/helm" "$bin_dir/helm"
(( SECONDS - start > 2 )) && log "all built in $(( (SECONDS - start) / 60 ))m$(( (SECONDS - start) % 60 ))s; disk: $(du -sh "$bin_dir/.." "$helm_dir" | awk '{print $1}' | paste -sd+)"
echo "$bin_dir"
