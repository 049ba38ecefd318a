'use strict'
// Writes a session with the Node package (bindings-node, as an express app would through
// express-session) for test_node_interop.c to read from C.
//
//   node ffi/tests/node-writes-session.js OUT_DIR
//
// Needs DYNAMODB_ENDPOINT (DynamoDB Local) and the built addon (`make node-build`). Writes
// OUT_DIR/session.json (the JSON text the store was given) and prints
// "<table> <sid> <expires epoch seconds>" on one line.
//
// The store is given no key option: with CONNECT_DYNAMODB_ENCRYPTION_KEYS in the environment
// it encrypts with those keys (the core reads the variable), and the raw item's `sess` must
// then be binary, without the session's text; without it, `sess` must be the JSON text.
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
const { GetItemCommand } = requireFromPackage('@aws-sdk/client-dynamodb')
const { localClient } = require('./create-table-without-ttl')

/** Checks the raw item: encrypted when the environment has keys, the JSON text otherwise. */
async function checkRawItem(table, key, text) {
  const client = localClient()
  const { Item: item } = await client.send(
    new GetItemCommand({ TableName: table, Key: { id: { S: key } }, ConsistentRead: true }),
  )
  client.destroy()
  if (!item) throw new Error(`no item under ${key}`)
  if (process.env.CONNECT_DYNAMODB_ENCRYPTION_KEYS) {
    if (!item.sess?.B) throw new Error('the session is not binary although keys are in the environment')
    if (Buffer.from(item.sess.B).includes('Ada')) throw new Error('the encrypted session shows its text')
  } else if (item.sess?.S !== text) {
    throw new Error('the session is not stored as its JSON text')
  }
}

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
  await checkRawItem(table, `sess:${sid}`, JSON.stringify(sess))
  fs.writeFileSync(path.join(outDir, 'session.json'), JSON.stringify(sess))
  process.stdout.write(`${table} ${sid} ${store.getExpiresValue(sess)}\n`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
