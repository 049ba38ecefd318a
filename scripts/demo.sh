#!/usr/bin/env bash
# `make demo`, once the addon is built: a fresh in-memory DynamoDB Local and the demo app
# (bindings-node/examples/demo/app.js) at http://localhost:${PORT:-3000}. Ctrl-C stops both:
# the app closes its server, and dynamodb-local.sh stops DynamoDB Local on its way out.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if ! compgen -G 'bindings-node/connect-dynamodb.*.node' >/dev/null; then
  echo "demo: the addon is not built; run \`make demo\`, which builds it first" >&2
  exit 1
fi
if [[ ! -d bindings-node/node_modules/express-session ]]; then
  echo "demo: bindings-node's dev dependencies are missing; run \`npm ci\` in bindings-node/" >&2
  exit 1
fi

exec scripts/dynamodb-local.sh run -- node bindings-node/examples/demo/app.js
