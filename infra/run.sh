#!/usr/bin/env bash
# Entry point behind `npm start`, `npm test`, `npm run stack|api|worker|ingest`.
# npm runs package scripts without node_modules, so a fresh clone only needs Node and npm:
# this script makes node_modules match the lockfile, then hands over to TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=3)?0:1)'; then
  echo "SafeShipper needs Node.js >= 20.3 (found $(node -v)). Install a newer Node.js and retry." >&2
  exit 2
fi

stamp=node_modules/.safeshipper-lockfile
# A second `npm start`/`npm test` started meanwhile waits for this one's `npm ci` instead of racing it.
exec 9>.npm-install.lock
flock -w 900 9 || { echo "another SafeShipper command has held .npm-install.lock for 15 minutes; if none is running, remove it and retry" >&2; exit 1; }
if ! cmp -s package-lock.json "$stamp" 2>/dev/null; then
  echo "▸ npm ci (first run or lockfile changed)"
  started=$SECONDS
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
  echo "✓ npm ci ($((SECONDS - started))s)"
fi
exec 9>&-

# The dev stack's settings (written by `stack up`) for processes run alone; the real environment wins.
load_stack_env() {
  [ -f .stack/stack.env ] || return 0
  while IFS='=' read -r key value; do
    [[ $key =~ ^[A-Z_][A-Z0-9_]*$ ]] || continue
    [ -z "${!key+x}" ] && export "$key=$value"
  done < .stack/stack.env
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  start) exec node --import tsx infra/start.ts "$@" ;;
  test) exec node --import tsx infra/test.ts "$@" ;;
  stack) exec node --import tsx infra/stack/cli.ts "$@" ;;
  api|worker|ingest) load_stack_env; exec node --import tsx services/main.ts "$cmd" ;;
  simulator) load_stack_env; exec node --import tsx iot-simulator/cli.ts "$@" ;;
  *) echo "usage: infra/run.sh start|test|stack up|down|status|api|worker|ingest|simulator" >&2; exit 2 ;;
esac
