#!/usr/bin/env bash
# Every test source is compiled, once per test executable: cmake/TestCompile.cmake replaces a
# test executable's sources with generated batch files that #include them, so a source the
# batching dropped would leave its tests unregistered without a word.
#
#   tests/tooling/test_batches_test.sh SOURCE_DIR BUILD_DIR
# Fails when a *_test.cpp under SOURCE_DIR/tests is neither included by a batch nor compiled
# on its own (compile_commands.json), when a batch includes a file that does not exist, or when
# one executable's batches include a source twice.
set -euo pipefail
src=$(cd "$1" && pwd) build=$(cd "$2" && pwd)
fail() { echo "test_batches: $*" >&2; exit 1; }
[[ -f $build/compile_commands.json ]] || fail "no compile_commands.json in $build"

mapfile -t batches < <(find "$build" -path '*/unity/*' -name 'batch*.cpp' | sort)
# Only the batches the current configuration lists: a stale one (a folder that lost sources)
# is in no compile command.
listed=()
for b in "${batches[@]}"; do grep -F -- "$b" "$build/compile_commands.json" >/dev/null && listed+=("$b"); done
((${#listed[@]})) || fail "no batch files in $build (RR_UNITY_BATCH <= 1?)"

declare -A included=()
for b in "${listed[@]}"; do
  dir=$(dirname "$b") target=$(basename "$(dirname "$b")")
  while IFS= read -r rel; do
    file=$(realpath -m "$dir/$rel")
    [[ -f $file ]] || fail "$b includes $rel, which does not exist"
    key="$target:$file"
    [[ -z ${included[$key]:-} ]] || fail "$target's batches include $file twice"
    included[$key]=1
    included[any:$file]=1
  done < <(sed -n 's/^#include "\(.*\)"$/\1/p' "$b")
done

missing=0 count=0
while IFS= read -r t; do
  count=$((count + 1))
  [[ -n ${included[any:$t]:-} ]] && continue
  grep -F -- "\"$t\"" "$build/compile_commands.json" >/dev/null && continue
  echo "test_batches: $t is compiled by no test executable" >&2
  missing=$((missing + 1))
done < <(find "$src/tests" -name '*_test.cpp' | sort)
((missing == 0)) || exit 1
echo "test_batches: ${#listed[@]} batches; all $count test sources compiled"
