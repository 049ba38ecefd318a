'use strict'
// The store's own contract, against DynamoDB Local.
const { test, after } = require('node:test')
const assert = require('node:assert/strict')
const session = require('express-session')
const connectDynamoDB = require('..')
const h = require('./helpers')

const { SessionStoreError } = connectDynamoDB
const unhandled = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))
after(() => assert.deepEqual(unhandled, [], 'no promise was left rejected without a handler'))

test("every entry point gives the same store class, on express-session's Store", async () => {
  const fromSession = connectDynamoDB(session)
  const fromObject = connectDynamoDB({ session })
  assert.equal(fromSession, fromObject)
  assert.equal(connectDynamoDB.DynamoDBStore, fromSession)
  assert.equal(require('..').DynamoDBStore, fromSession)
  const esm = await import('connect-dynamodb')
  assert.equal(esm.DynamoDBStore, fromSession)
  assert.equal(esm.default, connectDynamoDB)
  assert.equal(esm.SessionStoreError, SessionStoreError)
  const store = h.localStore(h.uniqueTable('entry'))
  assert.ok(store instanceof session.Store)
  assert.ok(store instanceof require('node:events').EventEmitter)
  assert.throws(() => connectDynamoDB({}), TypeError)
})

test('an unknown or invalid option is an INVALID_CONFIG error naming it, at construction', () => {
  const cases = [
    [{ tabel: 'x' }, '`tabel`'],
    [{ table: 'no' }, '`table`'],
    [{ table: 42 }, '`table`'],
    [{ touchAfter: -1 }, '`touchAfter`'],
    [{ ttl: 'long' }, '`ttl`'],
    [{ reapInterval: 10 }, '`reapInterval`'],
    [{ readCapacityUnits: 0 }, '`readCapacityUnits`'],
    [{ scanSegments: 100 }, '`scanSegments`'],
    [{ region: 'Not A Region' }, '`region`'],
    [{ endpoint: 'localhost:8000' }, '`endpoint`'],
    [{ specialKeys: [{ name: 'userId', type: 'X' }] }, '`specialKeys[0]`'],
    [{ createTable: { billingMode: 'FREE' } }, '`createTable.billingMode`'],
    [{ client: {} }, '`client`'],
    [{ accessKeyId: 'onlyhalf' }, '`secretAccessKey`'],
    [{ consistentRead: 'yes' }, '`consistentRead`'],
    [{ tombstoneLifetime: -1 }, '`tombstoneLifetime`'],
    [{ tombstoneLifetime: '1h' }, '`tombstoneLifetime`'],
    [{ merge: 'theirs' }, '`merge`'],
    [{ merge: true }, '`merge`'],
    [{ absoluteTimeout: 0 }, '`absoluteTimeout`'],
    [{ absoluteTimeout: Number.POSITIVE_INFINITY }, '`absoluteTimeout`'],
    [{ userField: 'passport..user' }, '`userField`'],
    [{ userField: 42 }, '`userField`'],
    [{ userField: '' }, '`userField`'],
    [{ hashKey: 'user', userField: 'userId' }, '`hashKey`'],
  ]
  for (const [options, name] of cases) {
    assert.throws(
      () => new h.Store(options),
      (err) => err instanceof SessionStoreError && err.code === 'INVALID_CONFIG' && err.message.includes(name),
      JSON.stringify(options),
    )
  }
  // 3.x accepted capacity units as strings.
  assert.doesNotThrow(() => new h.Store({ readCapacityUnits: '10', writeCapacityUnits: 10 }))
  for (const merge of [false, 'off', 'mine', 'error', null, undefined])
    assert.doesNotThrow(() => new h.Store({ merge }))
  assert.doesNotThrow(
    () => new h.Store({ tombstoneLifetime: 0, absoluteTimeout: 8 * 3600_000, userField: 'passport.user' }),
  )
  // A 3.x table keyed `user` keeps working while userField is off.
  assert.doesNotThrow(() => new h.Store({ hashKey: 'user' }))
})

test('get, set, touch and destroy with promises and with callbacks', async () => {
  const table = h.uniqueTable('roundtrip')
  const store = h.localStore(table)
  const sess = h.sessionData({ user: 'ada', visits: 3, nested: { a: [1, 'é', null] } })
  await store.set('sid-1', sess)
  const got = await store.get('sid-1')
  assert.deepEqual(got, JSON.parse(JSON.stringify(sess)))

  const item = await h.rawGet(table, 'sess:sid-1')
  assert.equal(item.type.S, 'connect-session')
  assert.equal(Number(item.expires.N), Math.ceil(sess.cookie.expires.getTime() / 1000))

  await new Promise((resolve, reject) =>
    store.get('sid-1', (err, value) => {
      if (err) return reject(err)
      assert.equal(value.user, 'ada')
      resolve()
    }),
  )
  assert.equal(await store.get('missing'), null)
  await new Promise((resolve) =>
    store.get('missing', (err, value) => {
      assert.equal(err, null)
      assert.equal(value, null)
      resolve()
    }),
  )

  // Touch within touchAfter writes nothing; a later expiry writes.
  const touched = await store.touch('sid-1', sess)
  assert.equal(touched.outcome, 'throttled')
  // A throttled touch is decided on the calling thread: it settles before the next macrotask,
  // where a call through the addon's runtime settles only later.
  let settled = false
  const quick = store.touch('sid-1', sess).then((value) => {
    settled = true
    return value
  })
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(settled, true, 'a throttled touch does not wait for the runtime')
  assert.deepEqual(await quick, touched)
  const later = h.sessionData({ user: 'ada' }, 7200_000)
  assert.equal((await store.touch('sid-1', later)).outcome, 'updated')
  const moved = await h.rawGet(table, 'sess:sid-1')
  assert.equal(Number(moved.expires.N), Math.ceil(later.cookie.expires.getTime() / 1000))

  await new Promise((resolve, reject) => store.destroy('sid-1', (err) => (err ? reject(err) : resolve())))
  assert.equal(await store.get('sid-1'), null)
  // A touch after destroy is a quiet no-op and leaves the tombstone as it was, no ghost item.
  const tombstone = await h.rawGet(table, 'sess:sid-1')
  assert.equal(tombstone.sess.S, 'null')
  assert.equal(await store.touch('sid-1', later), null)
  assert.deepEqual(await h.rawGet(table, 'sess:sid-1'), tombstone)
})

test('sessions without a cookie expiry live for ttl: a number, or a function of the session', async () => {
  const table = h.uniqueTable('ttl')
  const browserSession = { cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' }, kind: 'short' }
  const numeric = h.localStore(table, { ttl: 600 })
  await numeric.set('a', browserSession)
  const a = Number((await h.rawGet(table, 'sess:a')).expires.N)
  assert.ok(Math.abs(a - (Date.now() / 1000 + 600)) < 5, `${a}`)

  const computed = h.localStore(table, { ttl: (s) => (s.kind === 'short' ? 60 : 3600) })
  await computed.set('b', browserSession)
  const b = Number((await h.rawGet(table, 'sess:b')).expires.N)
  assert.ok(Math.abs(b - (Date.now() / 1000 + 60)) < 5, `${b}`)

  // One day by default, as connect-dynamodb 3.x.
  const plain = h.localStore(table)
  await plain.set('c', browserSession)
  const c = Number((await h.rawGet(table, 'sess:c')).expires.N)
  assert.ok(Math.abs(c - (Date.now() / 1000 + 86400)) < 5, `${c}`)
  const withCookie = h.sessionData({}, 1000_000)
  assert.equal(plain.getExpiresValue(withCookie), Math.ceil(withCookie.cookie.expires.getTime() / 1000))
})

test('all, entries, ids, length and clear', async () => {
  const table = h.uniqueTable('listing')
  const store = h.localStore(table)
  const other = h.localStore(table, { prefix: 'other:' })
  for (let i = 0; i < 5; i++) await store.set(`s${i}`, h.sessionData({ i }))
  await other.set('x', h.sessionData({ other: true }))
  await h.rawPut(table, {
    id: { S: 'sess:expired' },
    expires: { N: String(Math.floor(Date.now() / 1000) - 10) },
    sess: { S: '{}' },
  })

  assert.equal(await store.length(), 5)
  assert.deepEqual((await store.ids()).sort(), ['s0', 's1', 's2', 's3', 's4'])
  const all = await store.all()
  assert.deepEqual(Object.keys(all).sort(), ['s0', 's1', 's2', 's3', 's4'])
  assert.equal(all.s3.i, 3)
  const entries = await store.entries()
  assert.equal(entries.length, 5)
  assert.ok(entries.every((e) => e.expires instanceof Date && e.expires > new Date()))
  await new Promise((resolve) =>
    store.length((err, n) => {
      assert.equal(err, null)
      assert.equal(n, 5)
      resolve()
    }),
  )

  await store.clear()
  assert.equal(await store.length(), 0)
  assert.deepEqual(await h.rawKeys(table), ['other:x'], 'other prefixes are left alone')
})

test('reap and the background reaper, which never keeps the process alive', async () => {
  const table = h.uniqueTable('reap')
  const store = h.localStore(table)
  await store.set('live', h.sessionData())
  const old = String(Math.floor(Date.now() / 1000) - 60)
  for (let i = 0; i < 3; i++)
    await h.rawPut(table, { id: { S: `sess:old${i}` }, expires: { N: old }, sess: { S: '{}' } })
  const report = await store.reap()
  assert.equal(report.deleted, 3)
  assert.deepEqual(await h.rawKeys(table), ['sess:live'])

  const background = h.localStore(table, { reapInterval: 1000 })
  await background.initialize()
  await h.rawPut(table, { id: { S: 'sess:old-again' }, expires: { N: old }, sess: { S: '{}' } })
  const deadline = Date.now() + 10_000
  while ((await h.rawKeys(table)).length > 1) {
    assert.ok(Date.now() < deadline, 'the background reaper did not run')
    await new Promise((r) => setTimeout(r, 200))
  }
  background.clearInterval()
})

test('failures are SessionStoreErrors with code, retryable and cause; callbacks run once', async () => {
  const table = h.uniqueTable('errors')
  const store = h.localStore(table, { specialKeys: [{ name: 'userId', type: 'S' }] })
  await store.initialize()

  const circular = h.sessionData({ userId: 'u' })
  circular.self = circular
  await assert.rejects(store.set('c', circular), { name: 'SessionStoreError', code: 'SERIALIZATION' })
  await assert.rejects(store.set('b', h.sessionData({ userId: 'u', big: 10n })), { code: 'SERIALIZATION' })
  await assert.rejects(store.set('m', h.sessionData({})), (err) => {
    assert.equal(err.code, 'INVALID_ARGUMENT')
    assert.match(err.message, /userId/)
    return true
  })
  await assert.rejects(store.set('big', h.sessionData({ userId: 'u', blob: 'x'.repeat(401 * 1024) })), {
    code: 'ITEM_TOO_LARGE',
    retryable: false,
  })
  await assert.rejects(store.get(''), { code: 'INVALID_ARGUMENT' })
  await assert.rejects(store.get(42), { code: 'INVALID_ARGUMENT' })
  assert.deepEqual(await h.rawKeys(table), [], 'nothing was written')

  // The special key is copied into its attribute.
  await store.set('u1', h.sessionData({ userId: 'user-7' }))
  assert.equal((await h.rawGet(table, 'sess:u1')).userId.S, 'user-7')
  const lenient = h.localStore(table, {
    specialKeys: [{ name: 'userId', type: 'S' }],
    skipThrowMissingSpecialKeys: true,
  })
  await lenient.set('nokey', h.sessionData({}))

  // A callback that throws is still called once: the throw surfaces as an uncaught exception,
  // not as a second call or an unhandled rejection.
  let calls = 0
  const thrown = new Promise((resolve) => {
    const listeners = process.listeners('uncaughtException')
    process.removeAllListeners('uncaughtException')
    process.once('uncaughtException', (err) => {
      for (const l of listeners) process.on('uncaughtException', l)
      resolve(err)
    })
  })
  store.get('missing', () => {
    calls += 1
    throw new Error('from the callback')
  })
  assert.equal((await thrown).message, 'from the callback')
  await new Promise((r) => setImmediate(r))
  assert.equal(calls, 1)
})

test('no session id or credential in an error message or its cause', async () => {
  const sid = 'SecretSessionId0123456789abcdef'
  // DynamoDB Local refuses access keys that are not letters and digits: an AUTH error.
  const store = h.localStore(h.uniqueTable('auth'), {
    accessKeyId: 'bad_key-AKID',
    secretAccessKey: 'SecretAccessKeyValue',
    initialized: true,
  })
  const missing = h.localStore(h.uniqueTable('nokey'), { initialized: true })
  const errors = []
  for (const attempt of [store.get(sid), store.set(sid, h.sessionData()), missing.touch(sid, h.sessionData())]) {
    errors.push(
      await attempt.then(
        () => assert.fail('expected a failure'),
        (err) => err,
      ),
    )
  }
  assert.deepEqual(
    errors.map((e) => e.code),
    ['AUTH', 'AUTH', 'TABLE_NOT_FOUND'],
  )
  for (const err of errors) {
    const texts = [err.message, String(err.cause?.message), JSON.stringify(err), String(err.stack)]
    for (const text of texts) {
      for (const secret of [sid, 'bad_key-AKID', 'SecretAccessKeyValue', 'localtest']) {
        assert.ok(!text.includes(secret), `${err.code}: ${secret} appears in ${text}`)
      }
    }
  }
})

test('a missing table without permission to create it is TABLE_NOT_FOUND', async () => {
  const store = h.localStore(h.uniqueTable('missing'), { createTable: false })
  await assert.rejects(store.get('x'), { code: 'TABLE_NOT_FOUND', retryable: false })
  const skipped = h.localStore(h.uniqueTable('missing'), { initialized: true })
  await assert.rejects(skipped.set('x', h.sessionData()), (err) => {
    assert.equal(err.code, 'TABLE_NOT_FOUND')
    assert.ok(err.cause instanceof Error, 'the SDK error is the cause')
    return true
  })
})

test('twenty concurrent first requests against a missing table create it once', async () => {
  const table = h.uniqueTable('race')
  const proxy = await h.countingProxy()
  try {
    const store = h.localStore(table, { endpoint: proxy.url, createTable: { billingMode: 'PAY_PER_REQUEST' } })
    const others = Array.from({ length: 4 }, () => h.localStore(table, { endpoint: proxy.url }))
    const results = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => store.set(`s${i}`, h.sessionData({ i }))),
      ...others.map((o) => o.get('s0')),
    ])
    assert.equal(results.length, 24)
    assert.equal(await store.length(), 20)
    assert.equal(proxy.counts.CreateTable >= 1 && proxy.counts.CreateTable <= 5, true)
    assert.equal(proxy.counts.DescribeTable >= 1, true)
  } finally {
    await proxy.close()
  }
})

test('DynamoDB down at the first request: TRANSPORT, then disconnect and connect events', async () => {
  const table = h.uniqueTable('down')
  await h.createTable(table)
  const proxy = await h.countingProxy()
  await proxy.down()
  const store = h.localStore(table, { endpoint: proxy.url, maxAttempts: 1, initialized: true })
  const disconnected = h.once(store, 'disconnect')
  await assert.rejects(store.get('x'), (err) => {
    assert.equal(err.code, 'TRANSPORT')
    assert.equal(err.retryable, true)
    return true
  })
  await disconnected
  const connected = h.once(store, 'connect')
  await proxy.up()
  // The store asks DynamoDB by itself, since express-session stops calling it meanwhile.
  await connected
  assert.equal(await store.get('x'), null)
  await proxy.close()

  // A DynamoDB that never answers: TIMEOUT within the configured time.
  const net = require('node:net')
  const held = []
  const silent = net.createServer((s) => held.push(s))
  await new Promise((r) => silent.listen(0, '127.0.0.1', r))
  const hung = h.localStore(table, {
    endpoint: `http://127.0.0.1:${silent.address().port}`,
    attemptTimeout: 300,
    maxAttempts: 1,
    initialized: true,
  })
  const started = Date.now()
  await assert.rejects(hung.get('x'), { code: 'TIMEOUT', retryable: true })
  assert.ok(Date.now() - started < 5000)
  hung.close()
  for (const s of held) s.destroy()
  silent.close()
})

test('a promise nobody waits on never becomes an unhandled rejection', async () => {
  const port = await h.closedPort()
  const store = h.localStore(h.uniqueTable('ignored'), {
    endpoint: `http://127.0.0.1:${port}`,
    maxAttempts: 1,
    initialized: true,
  })
  const disconnected = h.once(store, 'disconnect')
  // connect-dynamodb 3.x code calls destroy and touch without a callback and moves on.
  store.destroy('x')
  store.touch('x', h.sessionData())
  await disconnected
  await new Promise((r) => setImmediate(r))
  store.close()
  // The file's `after` hook asserts that no unhandledRejection was seen.
})

test('a client option lends its region, endpoint and refreshing credentials', async () => {
  const { DynamoDBClient } = require('@aws-sdk/client-dynamodb')
  const table = h.uniqueTable('client')
  let asked = 0
  const client = new DynamoDBClient({
    endpoint: h.endpoint,
    region: 'us-east-1',
    credentials: async () => {
      asked += 1
      // Credentials about to expire: the store must ask again before using them next.
      return { accessKeyId: 'fromclient', secretAccessKey: 'fromclient', expiration: new Date(Date.now() + 1000) }
    },
  })
  const store = new h.Store({ table, client })
  assert.equal(store.client, client)
  await store.set('a', h.sessionData({ via: 'client' }))
  assert.equal((await store.get('a')).via, 'client')
  assert.ok(asked >= 1)
  // Credentials this close to their expiry are refreshed before the next request.
  const before = asked
  await store.get('a')
  assert.ok(asked > before, 'expired credentials were refreshed through the client')
  assert.throws(() => new h.Store({ client, accessKeyId: 'a', secretAccessKey: 'b' }), { code: 'INVALID_CONFIG' })

  // A client without a region of its own: the store's `region` option is used.
  const regionless = new DynamoDBClient({ endpoint: h.endpoint, credentials: { ...h.credentials } })
  const saved = process.env.AWS_REGION
  delete process.env.AWS_REGION
  try {
    const store2 = new h.Store({ table, client: regionless, region: 'us-east-1' })
    assert.equal((await store2.get('a')).via, 'client')
  } finally {
    process.env.AWS_REGION = saved
  }
})

test('a pending call keeps the process alive until it settles; an idle store lets it exit', async () => {
  const table = h.uniqueTable('alive')
  const store = h.localStore(table)
  await store.set('a', h.sessionData({ n: 1 }))
  // In a child process whose only work, once the timer has fired, is the store's call: without
  // a reference held while a call is pending, Node would exit before the callback printed.
  const child = `
    const session = require('express-session')
    const Store = require(${JSON.stringify(require.resolve('..'))})(session)
    const store = new Store(${JSON.stringify({ table, endpoint: h.endpoint, region: 'us-east-1', ...h.credentials })})
    store.get('a', () => {
      setTimeout(() => {
        store.get('a', (err, sess) => console.log(JSON.stringify({ err: err && err.code, n: sess && sess.n })))
      }, 20)
    })`
  const { stdout } = await require('node:util').promisify(require('node:child_process').execFile)(
    process.execPath,
    ['-e', child],
    { encoding: 'utf8', timeout: 30_000 },
  )
  assert.deepEqual(JSON.parse(stdout), { err: null, n: 1 }, 'the call settled before the process exited')
})

test('many concurrent calls each settle with their own result', async () => {
  const table = h.uniqueTable('burst')
  const store = h.localStore(table)
  const ids = Array.from({ length: 200 }, (_, i) => `s${i}`)
  await Promise.all(ids.map((id, i) => store.set(id, h.sessionData({ i }))))
  const got = await Promise.all([...ids, 'missing'].map((id) => store.get(id)))
  assert.deepEqual(
    got.map((s) => (s ? s.i : null)),
    [...ids.map((_, i) => i), null],
  )
  // Rejections from the runtime (a session too large, found by the core) settle beside
  // resolutions in the same bursts.
  const big = h.sessionData({ blob: 'x'.repeat(401 * 1024) })
  const mixed = await Promise.allSettled(ids.slice(0, 40).flatMap((id) => [store.set(`${id}-big`, big), store.get(id)]))
  mixed.forEach((m, k) => {
    if (k % 2 === 0) assert.equal(m.status === 'rejected' && m.reason.code, 'ITEM_TOO_LARGE')
    else assert.equal(m.status === 'fulfilled' && m.value.i, k >> 1)
  })
})
