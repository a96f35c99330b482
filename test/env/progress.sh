# Sourced by the long builds (build-control-plane.sh, k8s-wrapper.sh): a first run compiles for
# 10-30 minutes, and `go build` prints nothing while it compiles. Instead of that silence:
#
#   with_progress WHAT LOG CMD...
#
# runs CMD (a command or a shell function) with its output in LOG and says on stderr what it is
# doing, where the log is, how long it has run and how much it has written (every PROGRESS_INTERVAL
# whole seconds, default 30), and how it ended; on a failure, the end of the log. Returns CMD's
# exit status.
#   PROGRESS_PREFIX   what each line starts with (default "[build]")
#   PROGRESS_POLL     how often, in seconds, it looks whether CMD ended (default 1)

progress_elapsed() {
  local s=$1
  if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

with_progress() {
  local what="$1" log="$2"
  shift 2
  local prefix="${PROGRESS_PREFIX:-[build]}" every="${PROGRESS_INTERVAL:-30}" poll="${PROGRESS_POLL:-1}"
  local start=$SECONDS last=$SECONDS pid rc=0
  mkdir -p "$(dirname "$log")"
  printf '%s %s (log: %s)\n' "$prefix" "$what" "$log" >&2
  "$@" >"$log" 2>&1 </dev/null &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep "$poll"
    if kill -0 "$pid" 2>/dev/null && ((SECONDS - last >= every)); then
      last=$SECONDS
      printf '%s %s: %s elapsed, %d lines of output (log: %s)\n' "$prefix" "$what" "$(progress_elapsed $((SECONDS - start)))" "$(wc -l <"$log")" "$log" >&2
    fi
  done
  wait "$pid" || rc=$?
  if ((rc == 0)); then
    printf '%s %s: done in %s\n' "$prefix" "$what" "$(progress_elapsed $((SECONDS - start)))" >&2
  else
    printf '%s %s: FAILED (exit %d) after %s; the end of %s:\n' "$prefix" "$what" "$rc" "$(progress_elapsed $((SECONDS - start)))" "$log" >&2
    tail -n 20 "$log" | sed 's/^/    /' >&2
  fi
  return "$rc"
}
