'use strict'
// connect-dynamodb 3.0.5's public surface at run time (the type test is compat.test-d.ts), the
// core's lists as the Node face projects them, the testing clock, and the default timeouts.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const { DynamoDBClient, DescribeTableCommand, GetItemCommand } = require('@aws-sdk/client-dynamodb')
const connectDynamoDB = require('..')
const { ManualClock } = require('connect-dynamodb/testing')
const native = require('../native.js')
const h = require('./helpers')

const { SessionStoreError } = connectDynamoDB
const DTS = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8')

/** A store class whose table setup calls are counted, as a 3.x subclass or a test spy sees them. */
function spiedStore(table, options = {}) {
  const calls = { describe: 0, create: 0 }
  class Spied extends h.Store {
    describeSessionsTable(...args) {
      calls.describe += 1
      return super.describeSessionsTable(...args)
    }
    createSessionsTable(...args) {
      calls.create += 1
      return super.createSessionsTable(...args)
    }
  }
  return { store: new Spied({ table, endpoint: h.endpoint, region: 'us-east-1', ...h.credentials, ...options }), calls }
}

test("the ErrorCode union of index.d.ts is the core's list of error kinds", () => {
  const union = DTS.match(/type ErrorCode =([\s\S]*?)\n\n/)[1]
  const codes = [...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1])
  assert.deepEqual(
    codes,
    native.errorKinds().map((k) => k.code),
  )
  const retryable = native
    .errorKinds()
    .filter((k) => k.retryable)
    .map((k) => k.code)
  assert.deepEqual(retryable, ['THROTTLED', 'TIMEOUT', 'TRANSPORT'])
})

test('every configuration field of the core has a Node option to name in INVALID_CONFIG', () => {
  for (const { field, option } of native.optionNames()) assert.notEqual(option, '', field)
})

test("the defaults are the core's, and index.d.ts states them", () => {
  const d = native.defaults()
  const store = new h.Store()
  assert.deepEqual([store.table, store.prefix, store.hashKey], [d.table, d.prefix, d.hashKey])
  assert.deepEqual(
    [d.connectTimeout, d.attemptTimeout, d.operationTimeout, d.readCapacityUnits, d.writeCapacityUnits],
    [2000, 3000, 8000, 5, 5],
  )
  for (const option of [
    'table',
    'hashKey',
    'prefix',
    'ttl',
    'touchAfter',
    'connectTimeout',
    'attemptTimeout',
    'operationTimeout',
    'maxAttempts',
    'scanSegments',
    'readCapacityUnits',
    'writeCapacityUnits',
  ]) {
    const doc = DTS.match(new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*\\n\\s*${option}\\?:`))
    assert.ok(doc, option)
    const value = typeof d[option] === 'string' ? `\`${d[option]}\`` : String(d[option])
    assert.ok(doc[1].includes(`Default ${value}.`), `${option}: ${doc[1]} should say Default ${value}.`)
  }
})

test('errors from the addon are SessionStoreErrors with the per-error code and retryable, no JSON', async () => {
  assert.throws(
    () => new h.Store({ maxAttempts: 11 }),
    (err) =>
      err instanceof SessionStoreError &&
      err.code === 'INVALID_CONFIG' &&
      err.retryable === false &&
      err.message === 'invalid option `maxAttempts`: must be 1 to 10',
  )
  assert.throws(() => new h.Store({ readCapacityUnits: 40001 }), /invalid option `readCapacityUnits`: /)
  assert.throws(() => new h.Store({ createTable: { writeCapacityUnits: 0 } }), /invalid option `writeCapacityUnits`: /)
  assert.throws(() => new h.Store({ clock: {} }), /invalid option `clock`/)
  const port = await h.closedPort()
  const store = h.localStore(h.uniqueTable('refused'), { endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 })
  await assert.rejects(store.get('x'), (err) => {
    assert.ok(err instanceof SessionStoreError)
    assert.equal(err.code, 'TRANSPORT')
    assert.equal(err.retryable, true)
    assert.ok(err.cause instanceof Error)
    assert.ok(!err.message.includes('{'), err.message)
    return true
  })
  store.close()
})

test('store.client is a DynamoDBClient also when none was passed', async () => {
  const table = h.uniqueTable('client')
  await h.createTable(table)
  const store = h.localStore(table, { initialized: true })
  const client = store.client
  assert.ok(client instanceof DynamoDBClient)
  assert.equal(store.client, client, 'built once')
  const out = await client.send(new DescribeTableCommand({ TableName: store.table }))
  assert.equal(out.Table.TableName, table)
  const given = new DynamoDBClient({ endpoint: h.endpoint, region: 'us-east-1', credentials: { ...h.credentials } })
  assert.equal(h.localStore(table, { client: given, accessKeyId: undefined, secretAccessKey: undefined }).client, given)
})

test('initialize() goes through describeSessionsTable() and createSessionsTable(), once', async () => {
  const missing = spiedStore(h.uniqueTable('init'))
  await Promise.all([missing.store.initialize(), missing.store.get('a'), missing.store.set('b', h.sessionData())])
  assert.deepEqual(missing.calls, { describe: 1, create: 1 })
  assert.equal(missing.store.initialized, true)
  await missing.store.initialize()
  await missing.store.get('b')
  assert.deepEqual(missing.calls, { describe: 1, create: 1 }, 'none after the first initialize()')

  // The store's first use goes through initialize() too; an existing table is not created.
  const existing = spiedStore(missing.store.table)
  assert.ok(await existing.store.get('b'))
  assert.deepEqual(existing.calls, { describe: 1, create: 0 })

  const skipped = spiedStore(h.uniqueTable('init-skipped'), { initialized: true })
  await skipped.store.initialize()
  await assert.rejects(skipped.store.get('a'), { code: 'TABLE_NOT_FOUND' })
  assert.deepEqual(skipped.calls, { describe: 0, create: 0 })

  const checked = spiedStore(h.uniqueTable('init-checked'), { createTable: false })
  await assert.rejects(checked.store.get('a'), { code: 'TABLE_NOT_FOUND' })
  assert.deepEqual(checked.calls, { describe: 1, create: 0 })

  await assert.rejects(checked.store.describeSessionsTable(), { code: 'TABLE_NOT_FOUND' })
  assert.equal(await existing.store.describeSessionsTable(), undefined)
  assert.deepEqual(await existing.store.verifySessionsTable(), [])
})

test("a 3.x subclass's describeSessionsTable() through store.client works too", async () => {
  const table = h.uniqueTable('init-3x')
  let created = 0
  class Legacyish extends h.Store {
    describeSessionsTable() {
      return this.client.send(new DescribeTableCommand({ TableName: this.table }))
    }
    createSessionsTable() {
      created += 1
      return super.createSessionsTable()
    }
  }
  const store = new Legacyish({ table, endpoint: h.endpoint, region: 'us-east-1', ...h.credentials })
  await store.set('a', h.sessionData({ n: 1 }))
  assert.equal(created, 1)
  assert.equal((await store.get('a')).n, 1)
})

test('getParsedSession reads a GetItem output as the store reads its items', async () => {
  const clock = new ManualClock()
  const store = h.localStore(h.uniqueTable('parsed'), { clock, initialized: true })
  const now = clock.now() / 1000
  const item = (expires, sess = '{"user":"ada"}') => ({
    Item: { id: { S: 'sess:x' }, expires: { N: String(expires) }, sess: { S: sess } },
  })
  assert.equal(store.getParsedSession({ Item: {} }), null)
  assert.equal(store.getParsedSession({}), null)
  assert.deepEqual(store.getParsedSession(item(Math.ceil(now + 60))), { user: 'ada' })
  assert.deepEqual(store.getParsedSession(item((now + 60) * 1000)), { user: 'ada' }, 'milliseconds (<= 1.0.11)')
  assert.equal(store.getParsedSession(item(Math.floor(now - 1))), null, 'expired')
  assert.equal(store.getParsedSession(item(now + 60, 'not json')), null)
  assert.equal(
    store.getParsedSession({ Item: { id: { S: 'sess:x' }, expires: { N: String(now + 60) } } }),
    null,
    'ghost',
  )
  clock.advance(120_000)
  assert.equal(store.getParsedSession(item(Math.ceil(now + 60))), null, 'expired on the store clock')

  // A real GetItem output.
  const table = h.uniqueTable('parsed-real')
  await h.createTable(table)
  const real = h.localStore(table, { initialized: true })
  await real.set('s', h.sessionData({ real: true }))
  const output = await h.rawClient.send(new GetItemCommand({ TableName: table, Key: { id: { S: 'sess:s' } } }))
  assert.equal(real.getParsedSession(output).real, true)
})

test('touch reports the expiry it left stored, in the 3.x callback shape', async () => {
  const table = h.uniqueTable('touch-shape')
  const clock = new ManualClock()
  const store = h.localStore(table, { clock, ttl: 3600, touchAfter: 600 })
  const browserSession = { cookie: { originalMaxAge: null, expires: null, path: '/' }, n: 1 }
  await store.set('s', browserSession)
  const stored = async () => Number((await h.rawGet(table, 'sess:s')).expires.N)
  const first = await stored()
  assert.equal(first, store.getExpiresValue(browserSession))
  assert.equal(first, Math.ceil(clock.now() / 1000 + 3600))

  clock.advance(60_000)
  const throttled = await new Promise((resolve, reject) =>
    store.touch('s', browserSession, (err, result) => (err ? reject(err) : resolve(result))),
  )
  assert.deepEqual(throttled, { expires: first, outcome: 'throttled' })

  clock.advance(600_000)
  const updated = await store.touch('s', browserSession)
  assert.equal(updated.outcome, 'updated')
  assert.equal(updated.expires, await stored())
  assert.equal(updated.expires, Math.ceil(clock.now() / 1000 + 3600))
})

test('a ManualClock expires sessions without waiting', async () => {
  const clock = new ManualClock()
  const store = h.localStore(h.uniqueTable('clock'), { clock })
  await store.set('s', h.sessionData({ n: 1 }, 60_000))
  assert.equal((await store.get('s')).n, 1)
  clock.advance(58_000)
  assert.equal(await store.length(), 1)
  // The cookie expires 60 s after it was made, which the store rounds up to a whole second.
  clock.advance(3_000)
  assert.equal(await store.get('s'), null)
  assert.equal(await store.length(), 0)
  assert.equal((await store.reap()).deleted, 1)
  assert.throws(() => clock.advance(-1), { code: 'INVALID_ARGUMENT' })
})

test('a DynamoDB that accepts connections and never answers: TIMEOUT within 10 s, default timeouts', async () => {
  const held = []
  const silent = net.createServer((socket) => held.push(socket))
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve))
  try {
    const store = new h.Store({
      endpoint: `http://127.0.0.1:${silent.address().port}`,
      region: 'us-east-1',
      ...h.credentials,
    })
    const started = Date.now()
    await assert.rejects(store.get('x'), { code: 'TIMEOUT', retryable: true })
    const elapsed = Date.now() - started
    assert.ok(elapsed < 10_000, `${elapsed} ms`)
    store.close()
  } finally {
    for (const socket of held) socket.destroy()
    silent.close()
  }
})
