#!/usr/bin/env bash
# The image seed (scripts/lib/image-seed.sh) shared by clusters that start at once: a start
# that holds a seed keeps it while another start makes a seed of other archives (in CI the
# demo test's cluster once made one while the chaos suite and the shared cluster were
# copying theirs, and their nodes failed with "the image seed ... is gone"); seeds nobody
# holds are removed when a new one is made; a seed that exists is used as it is.
# Real containerd and ctr, archives from scripts/kube-images.sh, a seed directory of its own.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../lib/checks.sh
source "$ROOT/tests/lib/checks.sh"
WORK=$(mktemp -d /tmp/rr-seed-test.XXXXXX)
export WORK
HOLDER=
trap '[[ -n $HOLDER ]] && kill "$HOLDER" 2>/dev/null; rm -rf "$WORK"' EXIT

images=$("$ROOT/scripts/kube-images.sh" base) || { fail "scripts/kube-images.sh base"; tally image_seed_test.sh; exit 1; }
PAUSE=$(sed -n 's/^RR_PAUSE_TAR=//p' <<<"$images")
TOOLBOX=$(sed -n 's/^RR_TOOLBOX_TAR=//p' <<<"$images")

# with_seed_lib SCRIPT TAR...: SCRIPT in a shell of its own (as each cluster start is), with
# the lib sourced, a seed directory of this test's, and the TARs as "$@".
with_seed_lib() {
  SEEDS=$WORK/seeds bash -c 'set -euo pipefail
    log() { echo "$*" >&2; }; die() { echo "ERROR: $*" >&2; exit 1; }
    source "$RR_SEED_LIB"; '"$1" _ "${@:2}"
}
export RR_SEED_LIB=$ROOT/scripts/lib/image-seed.sh
# complete_seeds: the keys of the complete seeds there are.
complete_seeds() { for d in "$WORK"/seeds/*/; do [[ -f $d/complete ]] && basename "$d"; done 2>/dev/null | sort | paste -sd' '; }

# A start holds the seed of the pause archive, as a cluster does from before its control
# plane starts until its last node has copied it; this one copies only when told to.
mkfifo "$WORK/go"
with_seed_lib 'seed_acquire "$@"; basename "${SEED%/root}" >"$WORK/held"; read -r _ <"$WORK/go"
  seed_copy "$WORK/node-root"; seed_release; echo copied' "$PAUSE" >"$WORK/holder.out" 2>&1 &
HOLDER=$!
n=0; until [[ -s $WORK/held ]] || ! kill -0 "$HOLDER" 2>/dev/null || ((n++ > 600)); do sleep 0.1; done
first=$(cat "$WORK/held" 2>/dev/null)
if [[ -n $first ]]; then pass "a start holds the seed $first of the pause archive"
else fail "the first start did not get its seed: $(cat "$WORK/holder.out")"; fi

# Meanwhile another start makes the seed of other archives.
if out=$(with_seed_lib 'seed_acquire "$@"; basename "${SEED%/root}"; seed_release' "$PAUSE" "$TOOLBOX" 2>&1); then
  second=$(tail -n 1 <<<"$out")
  pass "a second start made the seed $second of two archives"
else fail "the second start: $out"; fi
expect_seeds="$(printf '%s\n' "$first" "${second:-}" | sort | paste -sd' ')"
if [[ $(complete_seeds) == "$expect_seeds" ]]; then pass "the held seed $first is still there, beside $second"
else fail "seeds after the second start: '$(complete_seeds)', expected '$expect_seeds'"; fi

# The first start copies the seed it holds.
timeout 30 bash -c 'echo go >"$1"' _ "$WORK/go"     # bounded: nobody may be reading
wait "$HOLDER"; rc=$?; HOLDER=
db=$WORK/node-root/io.containerd.metadata.v1.bolt/meta.db
if ((rc == 0)) && grep -qx copied "$WORK/holder.out" && [[ -s $db ]]; then
  pass "the first start copied its seed into a node's containerd root"
else fail "the first start's copy (exit $rc): $(cat "$WORK/holder.out")"; fi

# With nobody holding either, a seed of a third set replaces both; asking again for a seed
# that exists uses it as it is.
if out=$(with_seed_lib 'seed_acquire "$@"; basename "${SEED%/root}"; seed_release' "$TOOLBOX" 2>&1); then
  third=$(tail -n 1 <<<"$out")
  if [[ $(complete_seeds) == "$third" ]]; then pass "a third seed $third replaced the two nobody held"
  else fail "seeds after the third start: '$(complete_seeds)', expected '$third' alone"; fi
else fail "the third start: $out"; fi
if out=$(with_seed_lib 'seed_acquire "$@"; basename "${SEED%/root}"; seed_release' "$TOOLBOX" 2>&1) &&
   [[ $(tail -n 1 <<<"$out") == "${third:-}" ]] && ! grep -q "imported" <<<"$out"; then
  pass "the seed of the same archives is used again, not made again"
else fail "asking again for $third: $out"; fi

tally image_seed_test.sh
