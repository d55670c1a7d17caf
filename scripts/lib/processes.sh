# Sourced by scripts/kube-local.sh and scripts/kube-cluster.sh: a process named beyond its pid.
# Shell builtins only: both scripts' watchdogs call these every second, for a dozen control
# planes and thirty cluster nodes at once (a process per check was hundreds of forks a second).
# shellcheck shell=bash

# read_proc_start PID: PID's start time (field 22 of /proc/PID/stat, clock ticks since boot)
# into REPLY; fails if PID is gone or a zombie (exited, not yet reaped).
read_proc_start() {
  local stat fields
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }                      # fields after "(comm) ": state ppid ...
  read -r -a fields <<<"$stat"           # field 20 of the rest = field 22 (starttime)
  [[ ${fields[0]} != [ZX] ]] || return 1
  REPLY=${fields[19]}
}
proc_start() { read_proc_start "$1" && echo "$REPLY"; }
owner_alive() {                          # owner_alive "PID STARTTIME"
  local pid start
  read -r pid start <<<"$1"
  [[ -n ${pid:-} ]] || return 1
  read_proc_start "$pid" || return 1
  [[ -z ${start:-} || $REPLY == "$start" ]]
}
