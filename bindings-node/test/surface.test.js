'use strict'
// connect-dynamodb 3.0.5's public surface at run time (the type test is compat.test-d.ts), the
// core's lists as the Node face projects them, the testing clock, and the default timeouts.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const { DynamoDBClient, DescribeTableCommand, GetItemCommand } = require('@aws-sdk/client-dynamodb')
const connectDynamoDB = require('..')
const { ManualClock } = require('connect-dynamodb/testing')
const native = require('../native.js')
const { OPTIONS, CREATE_TABLE_OPTIONS } = require('../lib/options')
const h = require('./helpers')

const { SessionStoreError } = connectDynamoDB
const ROOT = path.join(__dirname, '..')
const DTS = fs.readFileSync(path.join(ROOT, 'index.d.ts'), 'utf8')

/**
 * A store class whose table setup calls are counted, as a 3.x subclass or a test spy sees them:
 * `calls` counts describeSessionsTable() and createSessionsTable(), `initializeCalls.count`
 * initialize().
 */
function spiedStore(table, options = {}) {
  const calls = { describe: 0, create: 0 }
  const initializeCalls = { count: 0 }
  class Spied extends h.Store {
    initialize(...args) {
      initializeCalls.count += 1
      return super.initialize(...args)
    }
    describeSessionsTable(...args) {
      calls.describe += 1
      return super.describeSessionsTable(...args)
    }
    createSessionsTable(...args) {
      calls.create += 1
      return super.createSessionsTable(...args)
    }
  }
  return {
    store: new Spied({ table, endpoint: h.endpoint, region: 'us-east-1', ...h.credentials, ...options }),
    calls,
    initializeCalls,
  }
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
  // A SessionStoreError made without `retryable` takes its code's default.
  for (const code of codes) {
    assert.equal(new SessionStoreError(code, 'm').retryable, retryable.includes(code), code)
  }
  assert.equal(new SessionStoreError('THROTTLED', 'm', { retryable: false }).retryable, false)
  assert.equal(new SessionStoreError('INVALID_CONFIG', 'm', { retryable: true }).retryable, true)
})

test('every configuration field of the core names a Node option in INVALID_CONFIG', () => {
  for (const { field, option } of native.optionNames()) {
    const [top, inner] = option.split(/[.[]/)
    assert.ok(OPTIONS.includes(top), `${field}: \`${option}\` is not an option`)
    if (inner !== undefined) {
      assert.equal(top, 'createTable', `${field}: ${option}`)
      assert.ok(CREATE_TABLE_OPTIONS.includes(inner), `${field}: \`${option}\` is not an option of createTable`)
    }
  }
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
    'tombstoneLifetime',
  ]) {
    const value = typeof d[option] === 'string' ? `\`${d[option]}\`` : String(d[option])
    assert.ok(docOf(option).includes(`Default ${value}.`), `${option}: ${docOf(option)} should say Default ${value}.`)
  }
  // Tombstones on for an hour; merged saves, the absolute timeout and the user index off.
  assert.equal(d.tombstoneLifetime, 3600_000)
  assert.equal(d.merge, 'off')
  assert.ok(docOf('merge').includes('Default off (`false`).'))
  for (const option of ['absoluteTimeout', 'userField']) {
    assert.equal(d[option], undefined, option)
    assert.ok(docOf(option).includes('Default none.'), option)
  }
})

/** The JSDoc of an option in index.d.ts. */
function docOf(option) {
  const doc = DTS.match(new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*\\n\\s*${option}\\?:`))
  assert.ok(doc, option)
  return doc[1]
}

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
  // A capacity given inside `createTable` is named there, by the core's check and the whole-number one.
  assert.throws(
    () => new h.Store({ createTable: { writeCapacityUnits: 0 } }),
    /invalid option `createTable\.writeCapacityUnits`: /,
  )
  assert.throws(
    () => new h.Store({ createTable: { readCapacityUnits: 2.5 } }),
    (err) =>
      err.code === 'INVALID_CONFIG' && err.message.startsWith('invalid option `createTable.readCapacityUnits`: '),
  )
  assert.throws(
    () => new h.Store({ writeCapacityUnits: 0, createTable: { readCapacityUnits: 5 } }),
    (err) => err.code === 'INVALID_CONFIG' && err.message.startsWith('invalid option `writeCapacityUnits`: '),
  )
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
  assert.equal(existing.initializeCalls.count, 1)

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

test("the store's first use calls this.initialize(): a 3.x subclass's or a replaced initialize runs", async () => {
  // Replaced on the instance, as 3.x users skip the check on Lambda: no DescribeTable.
  const table = h.uniqueTable('init-replaced')
  await h.createTable(table)
  const replaced = spiedStore(table)
  let replacement = 0
  replaced.store.initialize = async () => {
    replacement += 1
  }
  await replaced.store.set('a', h.sessionData({ n: 1 }))
  assert.equal((await replaced.store.get('a')).n, 1)
  assert.equal(replacement, 1)
  assert.deepEqual(replaced.calls, { describe: 0, create: 0 })
  assert.equal(replaced.initializeCalls.count, 0)

  // A subclass that skips the table setup: nothing is created for the missing table.
  let skipped = 0
  class Skipping extends h.Store {
    initialize() {
      skipped += 1
      this.initialized = true
      return Promise.resolve()
    }
  }
  const skipping = new Skipping({
    table: h.uniqueTable('init-subclass'),
    endpoint: h.endpoint,
    region: 'us-east-1',
    ...h.credentials,
  })
  await assert.rejects(skipping.get('a'), { code: 'TABLE_NOT_FOUND' })
  assert.equal(skipped, 1)

  // A subclass calling the default: one initialize() for racing first calls, then none; the
  // table setup as without the subclass.
  const counted = spiedStore(h.uniqueTable('init-counted'))
  await Promise.all([counted.store.get('a'), counted.store.set('b', h.sessionData())])
  assert.equal(counted.initializeCalls.count, 1)
  assert.deepEqual(counted.calls, { describe: 1, create: 1 })
  assert.ok(await counted.store.get('b'))
  assert.equal(counted.initializeCalls.count, 1)
  assert.deepEqual(counted.calls, { describe: 1, create: 1 })
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

  // A throttled touch of a 3.0.3+ item with a fractional expires reports it in whole seconds,
  // rounded up, as the store writes them.
  const fractional = Math.floor(clock.now() / 1000) + 3600.25
  await h.rawPut(table, {
    id: { S: 'sess:legacy' },
    expires: { N: String(fractional) },
    type: { S: 'connect-session' },
    sess: { S: JSON.stringify(browserSession) },
  })
  assert.equal((await store.get('legacy')).n, 1)
  assert.deepEqual(await store.touch('legacy', browserSession), {
    expires: Math.ceil(fractional),
    outcome: 'throttled',
  })
})

test('a ManualClock expires sessions without waiting', async () => {
  const clock = new ManualClock()
  const store = h.localStore(h.uniqueTable('clock'), { clock })
  // The cookie expires 60 s after the clock's now (not the system's, which moves on), which the
  // store rounds up to a whole second: between 60 and 61 s from now.
  await store.set('s', { cookie: { expires: new Date(clock.now() + 60_000) }, n: 1 })
  assert.equal((await store.get('s')).n, 1)
  clock.advance(58_000)
  assert.equal(await store.length(), 1)
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

test('index.d.ts compiles without the optional peer @aws-sdk/client-dynamodb (skipLibCheck false)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'connect-dynamodb-types-'))
  try {
    // The package's types, copied where @aws-sdk/client-dynamodb cannot be found; @types linked.
    const pkg = path.join(dir, 'node_modules', 'connect-dynamodb')
    fs.mkdirSync(pkg, { recursive: true })
    for (const file of ['package.json', 'index.d.ts', 'native.d.ts', 'testing.d.ts']) {
      fs.copyFileSync(path.join(ROOT, file), path.join(pkg, file))
    }
    fs.symlinkSync(path.join(ROOT, 'node_modules', '@types'), path.join(dir, 'node_modules', '@types'), 'dir')
    assert.throws(() => require.resolve('@aws-sdk/client-dynamodb', { paths: [dir] }), { code: 'MODULE_NOT_FOUND' })
    fs.writeFileSync(
      path.join(dir, 'use.ts'),
      [
        "import connectDynamoDB = require('connect-dynamodb')",
        "import session from 'express-session'",
        'const Store = connectDynamoDB(session)',
        "const store = new Store({ client: { send: async () => ({}), config: { region: 'eu-west-1' } } })",
        '// Without the SDK, store.client is the structural type (or null), not any.',
        'const client: connectDynamoDB.DynamoDBClientLike | null = store.client',
        '// @ts-expect-error: a client is no number',
        'const wrong: number = store.client',
        "const parsed = store.getParsedSession({ Item: { expires: { N: '1' }, sess: { S: '{}' } } })",
        'void client, wrong, parsed',
        '',
      ].join('\n'),
    )
    const compilerOptions = {
      strict: true,
      noEmit: true,
      module: 'commonjs',
      target: 'es2022',
      esModuleInterop: true,
      skipLibCheck: false,
      types: ['node'],
    }
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['use.ts'] }))
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
    try {
      execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8', stdio: 'pipe' })
    } catch (err) {
      assert.fail(`tsc failed:\n${err.stdout}${err.stderr}`)
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
