'use strict'
// One table shared with the published connect-dynamodb 3.0.5, in both directions.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const session = require('express-session')
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb')
const Legacy = require('connect-dynamodb')(session)
const h = require('./helpers')

function legacyStore(table) {
  const client = new DynamoDBClient({ endpoint: h.endpoint, region: 'us-east-1', credentials: { ...h.credentials } })
  return new Legacy({ table, client, initialized: true })
}

const call = (fn) => new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))))

test('sessions written by connect-dynamodb 3.0.5 are read, touched and destroyed by this package', async () => {
  const table = h.uniqueTable('compat-old')
  await h.createTable(table)
  const legacy = legacyStore(table)
  const store = h.localStore(table, { initialized: true })
  const sess = h.sessionData({ passport: { user: 42 } })
  await call((cb) => legacy.set('old-sid', sess, cb))
  assert.deepEqual(await store.get('old-sid'), JSON.parse(JSON.stringify(sess)))
  const later = h.sessionData({ passport: { user: 42 } }, 7200_000)
  assert.equal((await store.touch('old-sid', later)).outcome, 'updated')
  await store.destroy('old-sid')
  assert.equal(await call((cb) => legacy.get('old-sid', cb)), null)
})

test('sessions written by this package are read and destroyed by connect-dynamodb 3.0.5', async () => {
  const table = h.uniqueTable('compat-new')
  await h.createTable(table)
  const legacy = legacyStore(table)
  const store = h.localStore(table, { initialized: true })
  const sess = h.sessionData({ cart: ['book'] })
  await store.set('new-sid', sess)
  assert.deepEqual(await call((cb) => legacy.get('new-sid', cb)), JSON.parse(JSON.stringify(sess)))
  await call((cb) => legacy.destroy('new-sid', cb))
  assert.equal(await store.get('new-sid'), null)
})

test('items with expires in milliseconds (connect-dynamodb <= 1.0.11) are read by expiry', async () => {
  const table = h.uniqueTable('compat-ms')
  await h.createTable(table)
  const store = h.localStore(table, { initialized: true })
  const sess = JSON.stringify(h.sessionData({ legacy: true }))
  await h.rawPut(table, {
    id: { S: 'sess:ms-live' },
    expires: { N: String(Date.now() + 600_000) },
    type: { S: 'connect-session' },
    sess: { S: sess },
  })
  await h.rawPut(table, {
    id: { S: 'sess:ms-old' },
    expires: { N: String(Date.now() - 600_000) },
    type: { S: 'connect-session' },
    sess: { S: sess },
  })
  assert.equal((await store.get('ms-live')).legacy, true)
  assert.equal(await store.get('ms-old'), null)
})
