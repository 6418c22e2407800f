# Shared by scripts/images/*.sh: the cache location, the builder and buildah's storage.
# Images and layers live outside the repository, under $cache/images, keyed by their inputs.
cache=${TRAINYARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trainyard}
images_dir=$cache/images

log() { printf '[images] %s\n' "$*" >&2; }

# buildah keeps its storage in the cache, not in /var/lib/containers.
buildah_() { buildah --root "$images_dir/storage" --runroot "$images_dir/run" --storage-driver overlay "$@"; }

# The builder `make images` uses: docker or podman when its engine answers, else buildah.
# TRAINYARD_IMAGE_BUILDER overrides the choice.
pick_builder() {
    if [[ -n ${TRAINYARD_IMAGE_BUILDER:-} ]]; then echo "$TRAINYARD_IMAGE_BUILDER"; return; fi
    if command -v docker >/dev/null && docker info >/dev/null 2>&1; then echo docker; return; fi
    if command -v podman >/dev/null && podman info >/dev/null 2>&1; then echo podman; return; fi
    if command -v buildah >/dev/null; then echo buildah; return; fi
    log "no image builder: install docker, podman or buildah (make node-deps installs buildah)"
    return 1
}

# A short hash of files' contents and extra strings: the cache key of what they produce.
inputs_key() {
    { for f in "$@"; do if [[ -f $f ]]; then sha256sum <"$f"; else printf '%s\n' "$f"; fi; done; } \
        | sha256sum | cut -c1-16
}
