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

prune_stale() {  # remove the unnamed images no current build of the named images uses: prune_stale NAME...
    # Every change of an image's inputs leaves the layer-cache images of its previous build behind,
    # unnamed: after a lock change that is another 6 GB venv layer. The layer cache of what is built now
    # is every image the last build of each image made or reused, as its log names them ("--> ID", also
    # those of a multi-stage build's earlier stages, which no final image is built on): kept; the rest go.
    local name id used=() stale=() before
    for name in "$@"; do
        [[ -f $images_dir/build-$name.log ]] || return 0  # an image never built here: nothing is known unused
        mapfile -t -O "${#used[@]}" used < <(grep -oE '^--> (Using cache )?[0-9a-f]{11,64}' \
            "$images_dir/build-$name.log" | awk '{print substr($NF, 1, 11)}')
    done
    local keep=" ${used[*]} "
    before=$(du -sm "$images_dir/storage" | cut -f1)
    for id in $(buildah_ images -a --noheading --format '{{.ID}} {{.Name}}' | awk '$2 == "<none>" {print $1}' | sort -u); do
        [[ $keep == *" ${id:0:11} "* ]] || stale+=("$id")
    done
    ((${#stale[@]})) || return 0
    buildah_ rmi "${stale[@]}" >/dev/null 2>&1 || true  # one still in use (a running build) stays
    log "removed ${#stale[@]} stale layer-cache images: $((before - $(du -sm "$images_dir/storage" | cut -f1))) MB freed"
}

explain_full_disk() {  # explain_full_disk LOG: after a failed build, say so plainly when the disk was full
    grep -q 'no space left on device' "$1" 2>/dev/null || return 0
    log "the build ran out of disk space under $images_dir (now $(df -h --output=avail "$images_dir" | tail -1 | tr -d ' ') free)."
    log "a trainer build that rebuilds its torch layer needs about 12 GB free (buildah holds the 6 GB twice"
    log "until it commits the layer), then 6 GB for the archive the node imports."
    log "what the cache holds: $(du -sh "$cache"/* 2>/dev/null | sort -rh | head -5 | awk '{printf "%s %s; ", $2, $1}')"
    log "free space, or build elsewhere with TRAINYARD_CACHE=/a/larger/disk; images from earlier builds are"
    log "removed by each build, and \`rm -rf $images_dir\` drops them all (the next build starts cold)."
}
