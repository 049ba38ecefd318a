'use strict'
// Writes a session with the Node package (bindings-node, as an express app would through
// express-session) for test_node_interop.c to read from C.
//
//   node ffi/tests/node-writes-session.js OUT_DIR
//
// Needs DYNAMODB_ENDPOINT (DynamoDB Local) and the built addon (`make node-build`). Writes
// OUT_DIR/session.json (the JSON text the store was given) and prints
// "<table> <sid> <expires epoch seconds>" on one line.
const fs = require('node:fs')
const path = require('node:path')
const { createRequire } = require('node:module')

const root = path.resolve(__dirname, '..', '..')
const nodePackage = path.join(root, 'bindings-node')
// express-session is a dependency of the Node package's tests: resolve it from there.
const requireFromPackage = createRequire(path.join(nodePackage, 'package.json'))
const session = requireFromPackage('express-session')
const Cookie = requireFromPackage('express-session/session/cookie')
const connectDynamoDB = require(nodePackage)

async function main() {
  const outDir = process.argv[2]
  const endpoint = process.env.DYNAMODB_ENDPOINT
  if (!outDir || !endpoint) throw new Error('usage: DYNAMODB_ENDPOINT=... node node-writes-session.js OUT_DIR')
  const Store = connectDynamoDB(session)
  const table = `c-from-node-${process.pid}-${Date.now() % 100000}`
  const store = new Store({
    table,
    endpoint,
    region: 'us-east-1',
    accessKeyId: 'localtest',
    secretAccessKey: 'localtest',
    createTable: { billingMode: 'PAY_PER_REQUEST' },
  })
  const sid = 'node-written-sid'
  const sess = {
    cookie: new Cookie({ maxAge: 3_600_000, httpOnly: true, path: '/' }),
    user: { name: 'Ada', roles: ['admin'] },
    greeting: 'grüß dich ✓',
  }
  await store.set(sid, sess)
  store.close()
  fs.writeFileSync(path.join(outDir, 'session.json'), JSON.stringify(sess))
  process.stdout.write(`${table} ${sid} ${store.getExpiresValue(sess)}\n`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
