#!/usr/bin/env bash
# The images users build are the images tested: checks the docker-archives that
# scripts/build-images.sh wrote from the repository's own Dockerfiles (the images.build
# fixture), reading what the cluster's nodes import, and runs the binaries inside them.
# shellcheck disable=SC2317
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../lib/checks.sh
source "$ROOT/tests/lib/checks.sh"
OUT=${RR_CACHE_DIR:-/var/cache/rr-operator}/images
INSPECT=$ROOT/tests/images/inspect_archive.py

# The archives are opened in a storage of this check's own, never in the one the builds use
# (see built_manifests below). vfs: plain directories, nothing mounted to undo.
STORE=$(mktemp -d /tmp/rr-images-check.XXXXXX)
BUILDAH=(buildah --root "$STORE/root" --runroot "$STORE/run" --storage-driver vfs)
CONTAINERS=()
cleanup() {
  local c
  for c in "${CONTAINERS[@]}"; do "${BUILDAH[@]}" rm "$c" >/dev/null 2>&1; done
  CONTAINERS=()
}
trap 'cleanup; rm -rf "$STORE"' EXIT

# built_manifests: the manifest of each image as scripts/build-images.sh left it in buildah's
# storage. Its layer cache finds a step's image by that record; an archive imported over it
# (docker format) made the next build commit the last step again, under a new ID, so every
# archive, and every cluster's image seed keyed on them, changed after each check.
built_manifests() {
  local name
  for name in rr-operator rr-agent; do
    echo "$name:$(buildah inspect --type image "localhost/$name:dev" 2>&1 | jq -r .Manifest 2>&1 | sha256sum | cut -c1-12)"
  done | paste -sd' '
}
BUILT_BEFORE=$(built_manifests)

build_stage() { sed -n '/^FROM debian:bookworm AS build$/,/^FROM /p' "$ROOT/$1" | sed '$d'; }
stage_op=$(build_stage operator/image/Dockerfile)
stage_agent=$(build_stage reflector/image/Dockerfile)
if [[ -n $stage_op && $stage_op == "$stage_agent" ]]; then
  pass "both Dockerfiles share one build stage (compiled once with a layer cache)"
else
  fail "the build stages of operator/image/Dockerfile and reflector/image/Dockerfile differ:"
  diff <(echo "$stage_op") <(echo "$stage_agent")
fi

for name in rr-operator rr-agent; do
  [[ -s $OUT/$name.tar ]] || { fail "$OUT/$name.tar is missing (run scripts/build-images.sh)"; echo "PASSES=$PASSES FAILS=$FAILS"; exit 1; }
done

# expect DESCRIPTION COMMAND...: a PASS or FAIL line for whether COMMAND succeeds.
expect() {
  local description=$1; shift
  if "$@"; then pass "$description"; else fail "$description"; fi
}
# has FACTS LINE: FACTS (inspect_archive.py's output) holds LINE exactly.
has() { grep -qxF -- "$2" <<<"$1"; }

# check_archive NAME: the archive's config and files as the nodes will see them.
check_archive() {
  local name=$1 facts
  if ! facts=$(python3 "$INSPECT" "$OUT/$name.tar"); then fail "$name.tar cannot be read"; return; fi
  while IFS= read -r line; do echo "  $name.tar: $line"; done <<<"$facts"
  expect "$name.tar is tagged localhost/$name:dev" has "$facts" "tags=localhost/$name:dev"
  expect "$name's image config runs it as 65532:65532" has "$facts" "user=65532:65532"
  expect "$name.tar holds /usr/local/bin/$name" has "$facts" "file:/usr/local/bin/$name=present"
  # Multi-stage: neither the compiler nor the sources reach the runtime image.
  expect "$name.tar holds no compiler" has "$facts" "file:/usr/bin/g++=absent"
  expect "$name.tar holds no sources" has "$facts" "file:/src=absent"
  expect "$name.tar holds no man pages (slim base)" has "$facts" "man-pages=0"
}

# One working container per archive's image (made here, not in the $(...) subshells that
# run commands, so the cleanup sees them); in_image NAME CMD... runs CMD in it as the
# image's USER.
declare -A CONTAINER_OF=()
for name in rr-operator rr-agent; do
  if c=$("${BUILDAH[@]}" from --quiet "docker-archive:$OUT/$name.tar"); then
    CONTAINER_OF[$name]=$c; CONTAINERS+=("$c")
  else
    fail "buildah from docker-archive:$OUT/$name.tar"
  fi
done
in_image() {
  local name=$1; shift
  [[ -n ${CONTAINER_OF[$name]:-} ]] || return 99
  "${BUILDAH[@]}" run --isolation chroot "${CONTAINER_OF[$name]}" -- "$@"
}

check_archive rr-operator
check_archive rr-agent
expect "/usr/sbin/bird in rr-agent.tar carries exactly cap_net_bind_service+ep" \
  has "$(python3 "$INSPECT" "$OUT/rr-agent.tar")" "cap:/usr/sbin/bird=cap_net_bind_service+ep"

out=$(in_image rr-operator /usr/local/bin/rr-operator --help 2>&1); rc=$?
expect "rr-operator --help runs in the image (exit $rc)" [ "$rc" = 0 ]
expect "rr-operator --help prints its usage" grep -q "^usage: .*rr-operator" <<<"$out"
out=$(in_image rr-agent /usr/local/bin/rr-agent --help 2>&1); rc=$?
expect "rr-agent --help runs in the image (exit $rc)" [ "$rc" = 0 ]
expect "rr-agent --help prints its usage with --bird-config" grep -q -- "--bird-config" <<<"$out"
out=$(in_image rr-agent /usr/sbin/bird --version 2>&1); rc=$?
expect "bird --version in rr-agent reports BIRD 2 ('$out', exit $rc)" grep -q "^BIRD version 2\." <<<"$out"
for name in rr-operator rr-agent; do
  out=$(in_image "$name" id -u 2>&1)
  expect "processes in $name run as uid 65532 (id -u: '$out')" [ "$out" = 65532 ]
done
# Every shared library the binaries load is in the runtime stage.
for pair in rr-operator:/usr/local/bin/rr-operator rr-agent:/usr/local/bin/rr-agent rr-agent:/usr/sbin/bird; do
  out=$(in_image "${pair%%:*}" ldd "${pair#*:}" 2>&1); rc=$?
  missing=$(grep "not found" <<<"$out")
  # A failure that names no missing library says what ldd (or buildah run) printed instead.
  [[ $rc == 0 || -n $missing ]] || missing="output: ${out:0:400}"
  expect "${pair#*:} in ${pair%%:*} finds every shared library (exit $rc) $missing" [ "$rc" = 0 -a -z "$missing" ]
done

cleanup
built_after=$(built_manifests)
expect "the images as built are untouched in buildah's storage (before: $BUILT_BEFORE; after: $built_after)" \
  [ "$BUILT_BEFORE" = "$built_after" ]

tally images_test.sh
