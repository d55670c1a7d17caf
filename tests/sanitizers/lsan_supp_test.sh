#!/usr/bin/env bash
# tests/sanitizers/lsan.supp's second entry suppresses leaks by the name of a pplx template
# instantiation, so that the cpprestsdk cycle its first entry names is suppressed even when
# ASan's frame-pointer unwinder stops inside libcpprest, before _complete. It is as narrow as
# the first entry only while
#   1. in libcpprest, every call path into that instantiation starts in http_msg_base::_complete
#      (direct calls and jumps, read off objdump; the chain has no virtual calls), and
#   2. no binary of ours instantiates or calls it (our code chains no pplx task).
# Usage: lsan_supp_test.sh BUILD_DIR   (checks every executable there that links cpprestsdk)
set -euo pipefail
(($# == 1)) || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
supp=$here/lsan.supp

entry=$(sed -n 's/^leak:\(.*_ThenImpl.*\)$/\1/p' "$supp")
[[ -n $entry ]] || { echo "FAIL: $supp has no _ThenImpl entry" >&2; exit 1; }
root='web::http::details::http_msg_base::_complete('
# What the chain from _complete passes through on its way to the instantiation.
chain=('pplx::task<void>::then<std::function<void (pplx::task<void>)>&>('
       'pplx::task<unsigned char>::_ThenImpl<void, std::function<void (pplx::task<void>)>&>('
       'web::http::inline_continuation::~inline_continuation(')

bins=()
while IFS= read -r f; do
  readelf -d "$f" 2>/dev/null | grep 'NEEDED.*\[libcpprest\.so' >/dev/null && bins+=("$f")
done < <(find "$1" -path '*/CMakeFiles' -prune -o -type f -perm -u+x -print)
((${#bins[@]} > 0)) || { echo "FAIL: no executable under $1 links libcpprest" >&2; exit 1; }
lib=$(ldd "${bins[0]}" | awk '$1 ~ /^libcpprest\.so/ {print $3; exit}')
[[ -n $lib && -r $lib ]] || { echo "FAIL: ${bins[0]} does not find libcpprest" >&2; exit 1; }
echo "library: $lib; entry: $entry"

# "callee<TAB>caller" for every call or jump from one function to another.
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
objdump -d -C --no-show-raw-insn "$lib" | awk '
  function clean(s) { sub(/@@Base$/, "", s); sub(/\+0x[0-9a-f]+$/, "", s); sub(/@plt$/, "", s); return s }
  /^[0-9a-f]+ <.*>:$/ { fn = $0; sub(/^[0-9a-f]+ </, "", fn); sub(/>:$/, "", fn); fn = clean(fn); next }
  /\t(call|jmp) +[0-9a-f]+ <.*>$/ {
    t = $0; sub(/^.*\t(call|jmp) +[0-9a-f]+ </, "", t); sub(/>$/, "", t); t = clean(t)
    if (t != fn) print t "\t" fn
  }' | sort -u >"$edges"
echo "call edges read: $(wc -l <"$edges")"

in_chain() { local c; for c in "${chain[@]}"; do [[ $1 == *"$c"* ]] && return 0; done; return 1; }

# Walk the callers back from every function whose name holds the entry, up to _complete.
rc=0 reached_root=0
declare -A seen=()
mapfile -t todo < <(cut -f1 "$edges" | grep -F -- "$entry" | sort -u)
((${#todo[@]} > 0)) || { echo "FAIL: nothing in $lib calls a function named like the entry" >&2; exit 1; }
while ((${#todo[@]} > 0)); do
  fn=${todo[0]}; todo=("${todo[@]:1}")
  [[ -z ${seen[$fn]:-} ]] || continue
  seen[$fn]=1
  while IFS= read -r caller; do
    if [[ $caller == "$root"* ]]; then
      reached_root=1
    elif in_chain "$caller"; then
      todo+=("$caller")
    else
      echo "FAIL: $caller calls ${fn:0:120}... outside _complete's chain" >&2
      rc=1
    fi
  done < <(awk -F'\t' -v f="$fn" '$1 == f {print $2}' "$edges")
done
((reached_root)) || { echo "FAIL: no path from _complete reaches the entry: is the library the one the entry was written for?" >&2; rc=1; }
echo "functions on the chain: ${#seen[@]}; every path starts in _complete: $((rc == 0))"

for bin in "${bins[@]}"; do
  if nm -C "$bin" | grep -F -e "$entry" -e "${chain[0]%(}" >/dev/null; then
    echo "FAIL: $bin instantiates or calls the suppressed chain itself" >&2
    rc=1
  else
    echo "ok: $(basename "$bin") has none of it"
  fi
done
exit "$rc"
