#!/usr/bin/env bash
# `make images`: builds the trainer, API and operator images from their Dockerfiles.
#
#   scripts/images/build.sh [trainer|api|operator ...]     (default: all three)
#   scripts/images/build.sh base                           (only the debootstrap bases: make base-image)
#
# With docker or podman (when its engine answers) the Dockerfiles build as a user would build them.
# Otherwise buildah (`--isolation chroot`, storage in the cache, not /var) builds them on the base
# images scripts/images/base-image.sh makes from debootstrap, with the building machine's uv cache
# mounted for the trainer's third-party layer (torch) so nothing is downloaded twice; buildah's
# layer cache keeps that layer when only the project's sources change.
#
# Each built image is also saved as a docker-archive under $cache/images/archives, named by its
# image ID, for the test node to import into containerd (which skips an ID it already imported).
# Prints one line per image: NAME ARCHIVE SIZE_BYTES SECONDS, and keeps the lines of the images
# built last in $cache/images/archives/IMAGE_TAG.list (what the test node imports).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/images/lib.sh
source "$here/lib.sh"

IMAGE_REPO=${IMAGE_REPO:-trainyard}
IMAGE_TAG=${IMAGE_TAG:-dev}
declare -A DOCKERFILE=([trainer]=trainer-image/Dockerfile [api]=api/Dockerfile [operator]=operator/Dockerfile)
# What each Dockerfile COPYs from the build context (its inputs, besides the Dockerfile and the base).
declare -A SOURCES=([trainer]="requirements-dev.lock runstore client trainer-image"
                    [api]="requirements-dev.lock runstore api web" [operator]="requirements-dev.lock runstore operator")
names=("$@")
((${#names[@]})) || names=(trainer api operator)
# buildah (as root) keeps its blob-info cache in /var/lib/containers/cache and network configs in
# /run/containers whatever --root says: the path is fixed in containers/image. Remove those folders
# afterwards when this build created them, so that building leaves the machine as it found it.
created=()
for dir in /var/lib/containers /run/containers; do [[ -e $dir ]] || created+=("$dir"); done
trap 'for dir in "${created[@]}"; do rm -rf "$dir"; done' EXIT

if [[ ${1:-} == base ]]; then bash "$here/base-image.sh"; exit; fi
builder=$(pick_builder)
cd "$repo"

qualified() {  # the name a kubelet resolves `trainyard/x:tag` to (docker.io/...), kept when it names a registry
    local first=${1%%/*}
    if [[ $1 == */* && ( $first == *.* || $first == *:* || $first == localhost ) ]]; then echo "$1"; else echo "docker.io/$1"; fi
}

inputs_of() {  # inputs_of NAME EXTRA...: a key over the files the image is built from (tracked or new)
    local name=$1; shift
    git rev-parse --git-dir >/dev/null 2>&1 || { echo "no-git-$RANDOM$RANDOM"; return; }  # no key: always build
    # shellcheck disable=SC2086 # SOURCES holds a list of paths
    { printf '%s\n' "$@"; git ls-files -co --exclude-standard -z -- .dockerignore ${SOURCES[$name]} | sort -z \
        | xargs -0 sha256sum 2>/dev/null || true; } | sha256sum | cut -c1-16
}

build_one() {  # build_one NAME -> prints NAME ARCHIVE SIZE SECONDS
    local name=$1 start=$SECONDS id archive size ref key
    ref=$(qualified "$IMAGE_REPO/$1:$IMAGE_TAG")
    local dockerfile=${DOCKERFILE[$name]:?unknown image $name (trainer, api or operator)}
    case $builder in
        docker|podman)
            log "$builder build $ref"
            "$builder" build -f "$dockerfile" -t "$ref" . >&2
            id=$("$builder" image inspect --format '{{.Id}}' "$ref")
            id=${id#sha256:}
            archive=$images_dir/archives/$name-${id:0:16}.tar
            if [[ ! -f $archive ]]; then
                mkdir -p "$images_dir/archives"
                rm -f "$images_dir/archives/$name-"*.tar
                "$builder" save -o "$archive.tmp" "$ref" && mv "$archive.tmp" "$archive"
            fi
            echo "$name $archive $(stat -c %s "$archive") $((SECONDS - start))"
            return ;;
    esac
    local args=(--isolation chroot --layers -f "$dockerfile" -t "$ref")
    local base; base=$(bash "$here/base-image.sh")
    args+=(--build-arg "$(grep ^PYTHON_IMAGE= <<<"$base")" --build-arg "$(grep ^NODE_IMAGE= <<<"$base")")
    # Unchanged inputs and the image still there: skip buildah, whose layer-cache check alone reads
    # the trainer's 6 GB venv layer again (about 100 s).
    key=$(inputs_of "$name" "$ref" "$base")
    local stamp=$images_dir/archives/$name.inputs
    if [[ -f $stamp ]] && read -r old_key archive <"$stamp" && [[ $old_key == "$key" && -f $archive ]] \
        && buildah_ inspect --type image "$ref" >/dev/null 2>&1; then
        log "$ref is up to date (its inputs did not change)"
        echo "$name $archive $(stat -c %s "$archive") $((SECONDS - start))"
        return
    fi
    if [[ $name == trainer ]]; then
        local uv_cache; uv_cache=$(uv_cache_dir)
        [[ -n $uv_cache ]] && args+=(-v "$uv_cache:/host-uv-cache" --build-arg UV_CACHE_DIR=/host-uv-cache)
    fi
    # The archive of the previous build is out of date: it goes now, not after the new one is
    # written beside it (the trainer's is 6 GB).
    rm -f "$images_dir/archives/$name-"*.tar "$images_dir/archives/$name-"*.tar.tmp
    log "buildah build $ref"
    buildah_ bud "${args[@]}" . >"$images_dir/build-$name.log" 2>&1 \
        || { tail -30 "$images_dir/build-$name.log" >&2; explain_full_disk "$images_dir/build-$name.log"; return 1; }
    prune_stale trainer api operator  # the previous build's layers, before the archive is written
    id=$(buildah_ inspect --type image --format '{{.FromImageID}}' "$ref")
    archive=$images_dir/archives/$name-${id:0:16}.tar
    buildah_ push --quiet "$ref" "docker-archive:$archive.tmp:$ref" >"$images_dir/push-$name.log" 2>&1 \
        || { cat "$images_dir/push-$name.log" >&2; rm -f "$archive.tmp"; explain_full_disk "$images_dir/push-$name.log"; return 1; }
    mv "$archive.tmp" "$archive"
    size=$(stat -c %s "$archive")
    echo "$key $archive" >"$stamp"
    echo "$name $archive $size $((SECONDS - start))"
}

uv_cache_dir() {  # the uv cache `make install` filled, if any (torch is already in it)
    local uv; uv=$(ls "$cache"/uv-*/bin/uv 2>/dev/null | head -1)
    [[ -n $uv ]] && "$uv" cache dir 2>/dev/null || true
}


mkdir -p "$images_dir/archives"
list=$images_dir/archives/$IMAGE_TAG.list
for n in "${names[@]}"; do
    line=$(build_one "$n")
    echo "$line"
    { grep -v "^$n " "$list" 2>/dev/null || true; echo "$line"; } >"$list.tmp" && mv "$list.tmp" "$list"
done
exit 0
