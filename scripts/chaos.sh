#!/usr/bin/env bash
# Chaos test: a real training whose actors, learner and reward server are
# killed with SIGKILL and restarted; the last stdout line is one JSON object
# with what was delivered, lost, duplicated and how fast things came back.
# Exits 1 when a criterion fails. See scripts/chaos.py for the options:
#
#   scripts/chaos.sh [--minutes 5] [--bin build/bin] [--seed S] [--actors 4]
#                    [--annotator auto|embedding|llm] [--out DIR] [--keep]
set -euo pipefail
exec /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/chaos.py" "$@"
