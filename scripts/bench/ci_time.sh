#!/usr/bin/env bash
# The time of a CI run, phase by phase (docs/benchmarks.md "Build and test time"): a fresh clone of HEAD, then the
# steps of `.ci/run` one by one (make test = set-up, configure, build, suite; then make test-torch2 = the venv,
# configure, build, suite), each timed, and a table at the end.
#   scripts/bench/ci_time.sh cold [WORK]   nothing cached, as on a new machine: an empty ccache (WORK/ccache, filled
#                                          by this run; CCACHE_DISABLE=1 in the environment switches it off) and a
#                                          new venv (XDG_CACHE_HOME=WORK/cache: pip installs again)
#   scripts/bench/ci_time.sh warm [WORK]   as CI on a machine that ran it before: the ccache and venv of the last run
# The Debian packages are what the machine has: the debian-setup phase installs what is missing (apt, in its time).
# WORK defaults to /tmp/sgmim-ci-time. The clone is made anew each run in a folder of its own name
# (WORK/clone-<time>), as CI clones afresh, so a warm run shows what the cache gives a clone in another folder.
# The suites run with CI=true.
set -euo pipefail
MODE="${1:?usage: ci_time.sh cold|warm [WORK]}"
WORK="${2:-/tmp/sgmim-ci-time}"
SRC="$(git -C "$(dirname "$0")/../.." rev-parse --show-toplevel)"
case "$MODE" in
  cold) rm -rf "$WORK/ccache" "$WORK/cache" ;;
  warm) unset CCACHE_DISABLE ;;
  *) echo "ci_time: the mode is cold or warm, not '$MODE'" >&2; exit 2 ;;
esac
export CCACHE_DIR="$WORK/ccache"
command -v ccache > /dev/null && ccache -z > /dev/null || true  # the statistics at the end are this run's
export CI=true XDG_CACHE_HOME="$WORK/cache"
mkdir -p "$WORK"
rm -rf "$WORK"/clone-*
CLONE="$WORK/clone-$(date +%s)"
git clone --quiet "$SRC" "$CLONE"
cd "$CLONE"
echo "ci_time: $MODE run of $(git rev-parse --short HEAD) in $CLONE" >&2

declare -a NAMES SECONDS_TAKEN
phase() {  # $1 = name, rest = command; its output goes to WORK/<name>.log
  local name="$1" start=$SECONDS; shift
  if ! "$@" > "$WORK/$name.log" 2>&1; then
    echo "ci_time: phase $name failed; see $WORK/$name.log" >&2
    tail -n 30 "$WORK/$name.log" >&2
    exit 1
  fi
  NAMES+=("$name"); SECONDS_TAKEN+=($((SECONDS - start)))
  echo "ci_time: $name $((SECONDS - start)) s" >&2
}
JOBS="$(nproc)"
total_start=$SECONDS
phase debian-setup make setup
phase debian-configure make configure REQUIRE_ALL=ON
phase debian-build cmake --build build -j "$JOBS"
phase debian-suite bash -c "cd build && ctest -j $JOBS --output-on-failure --timeout 900"
phase torch2-venv make setup-torch2
phase torch2-configure make configure-torch2
phase torch2-build cmake --build build-torch2 -j "$JOBS"
phase torch2-suite bash -c "cd build-torch2 && ctest -j $JOBS --output-on-failure --timeout 900"
total=$((SECONDS - total_start))

printf '\n| phase | seconds |\n|---|---|\n'
for i in "${!NAMES[@]}"; do printf '| %s | %d |\n' "${NAMES[$i]}" "${SECONDS_TAKEN[$i]}"; done
printf '| **total** (%s, %d cores) | **%d** (%d min %d s) |\n' "$MODE" "$JOBS" "$total" $((total / 60)) $((total % 60))
grep -h "tests passed" "$WORK/debian-suite.log" "$WORK/torch2-suite.log"
[ "$MODE" = warm ] && ccache -s 2>/dev/null | grep -iE "hits|misses" | head -n 4 || true
