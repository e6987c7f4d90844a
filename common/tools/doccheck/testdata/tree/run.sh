#!/usr/bin/env bash
# run.sh of the doccheck fixture: only its help matters to the checker.
case "${1:-help}" in
  help)
    cat <<'USAGE'
Fixture tree.

  ./run.sh v1 | v2                 narrated demo
  ./run.sh VARIANT serve [flags]   run that variant's dispatcher
  ./run.sh test                    the tests

VARIANT is v1 (relay) or v2 (fake).
USAGE
    ;;
  *) echo "fixture run.sh: $1 does nothing" >&2; exit 2 ;;
esac
