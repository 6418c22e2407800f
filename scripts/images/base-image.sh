#!/usr/bin/env bash
# Builds the Python base image the Dockerfiles take as PYTHON_IMAGE, for machines that cannot pull
# the public python:3.11-slim-bookworm: Debian bookworm from debootstrap (minbase) with python3 and
# venv, `python` on PATH like the official image, and the building machine's CA bundle (so pip and
# npm inside the build trust what this machine trusts). Also a Node base (NODE_IMAGE for the API's
# web stage): the same rootfs plus this machine's Node 20 install.
#
# Cached under $cache/images, keyed by what goes into each base (the suite, the packages, the code
# that builds it; not comments, not lib.sh): a second run prints the tags and does nothing. Needs root, debootstrap and buildah (make node-deps). Prints two lines:
#   PYTHON_IMAGE=localhost/trainyard/python-base:KEY
#   NODE_IMAGE=localhost/trainyard/node-base:KEY
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/images/lib.sh
source "$here/lib.sh"

SUITE=bookworm
PACKAGES=python3,python3-venv,ca-certificates,passwd
node_version=$(node --version 2>/dev/null || echo none)

mirror() {  # the Debian mirror this machine's apt uses (read at run time, never written down)
    { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '$1 == "URIs:" { print $2 }'
      grep -hs '^deb ' /etc/apt/sources.list | awk '{ print $2 }'; } | grep -v security | head -1
}

have() { buildah_ inspect --type image "$1" >/dev/null 2>&1; }

build_python_base() {
    local work rootfs ctr mnt start=$SECONDS
    work=$(mktemp -d "$images_dir/.base.XXXXXX")
    rootfs=$work/rootfs
    log "debootstrap $SUITE (minbase + $PACKAGES)"
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$(mirror)" >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; rm -rf "$work"; return 1; }
    ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$rootfs/etc/pip.conf"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    ctr=$(buildah_ from scratch)
    mnt=$(buildah_ mount "$ctr")
    cp -a "$rootfs/." "$mnt/"
    buildah_ umount "$ctr" >/dev/null
    buildah_ config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env LANG=C.UTF-8 --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
        --cmd python3 "$ctr"
    buildah_ commit --quiet --rm "$ctr" "$python_tag" >/dev/null
    rm -rf "$work"
    log "built $python_tag in $((SECONDS - start))s"
}

build_node_base() {
    local ctr mnt start=$SECONDS
    command -v node >/dev/null || { log "node is not installed: cannot build $node_tag"; return 1; }
    ctr=$(buildah_ from "$python_tag")
    mnt=$(buildah_ mount "$ctr")
    cp -a "$(readlink -f "$(command -v node)")" "$mnt/usr/local/bin/node"
    mkdir -p "$mnt/usr/local/lib"
    cp -a "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/.." "$mnt/usr/local/lib/node_modules"
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
    buildah_ umount "$ctr" >/dev/null
    buildah_ config --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt --cmd node "$ctr"
    buildah_ commit --quiet --rm "$ctr" "$node_tag" >/dev/null
    log "built $node_tag in $((SECONDS - start))s"
}

drop_older() {  # drop_older TAG: the earlier bases of TAG's repository (their layers stay while images use them)
    local old
    old=$(buildah_ images --noheading --format '{{.Name}}:{{.Tag}}' --filter "reference=${1%:*}" 2>/dev/null | grep -vxF "$1" || true)
    # shellcheck disable=SC2086 # one name per word
    [[ -z $old ]] || buildah_ rmi $old >/dev/null 2>&1 || true
}

# A new base invalidates every image's layer cache, the trainer's 6 GB torch layer included, so the
# key is what goes into it: `declare -f` prints the build functions' code without their comments.
key=$(inputs_key "$(declare -f build_python_base)" "$SUITE" "$PACKAGES")
python_tag=localhost/trainyard/python-base:$key
node_key=$(inputs_key "$key" "$(declare -f build_node_base)" "$node_version")
node_tag=localhost/trainyard/node-base:$node_key

mkdir -p "$images_dir"
have "$python_tag" || { build_python_base; drop_older "$python_tag"; }
have "$node_tag" || { build_node_base; drop_older "$node_tag"; }
echo "PYTHON_IMAGE=$python_tag"
echo "NODE_IMAGE=$node_tag"
