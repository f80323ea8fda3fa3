# SPDX-License-Identifier: Apache-2.0
# Bash completion for lockscope. Subcommands and flags are read from
# `lockscope --help` / `lockscope SUBCOMMAND --help`, so they follow the binary.
# Install: source this file, or copy it to
# /usr/share/bash-completion/completions/lockscope.

_lockscope_help_flags() {
  "$1" "${@:2}" --help 2>/dev/null | grep -oE '^[[:space:]]+(-[a-zA-Z],)?--[a-z0-9-]+' |
    tr ',' '\n' | tr -d ' '
}

_lockscope() {
  local cur prev words cword
  if declare -F _init_completion >/dev/null; then
    _init_completion || return
  else
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  fi
  local bin="${words[0]}" sub="" i
  for ((i = 1; i < cword; i++)); do
    case "${words[i]}" in
      -*) ;;
      *) sub="${words[i]}"; break ;;
    esac
  done
  if [[ -z "$sub" ]]; then
    local subs
    subs=$("$bin" --help 2>/dev/null | awk '/^Subcommands:/{s=1;next} s&&/^  [a-z]/{print $1}')
    COMPREPLY=($(compgen -W "$subs -v --verbose --version --help" -- "$cur"))
    return
  fi
  case "$prev" in
    -f|--format)
      COMPREPLY=($(compgen -W "text markdown json svg html folded pprof" -- "$cur")); return ;;
    -m|--metric|--metrics)
      COMPREPLY=($(compgen -W "pool_lock_hold_ns wakeups_under_pool_lock
        rq_lock_nested_under_pool_lock pool_lock_wait_ns rq_lock_wait_ns
        kick_pool_under_pool_lock wq_queue_latency_ns wq_exec_ns kworker_wakeups" -- "$cur"))
      return ;;
    --scope)
      COMPREPLY=($(compgen -W "cpu smt cache_shard cache numa system" -- "$cur")); return ;;
    -o|--output|--btf|--gate-file)
      COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --alpha|--sequential|--max-boots|--max-loss|--boots)
      return ;;  # a number
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_lockscope_help_flags "$bin" "$sub")" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _lockscope lockscope
