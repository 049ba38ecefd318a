'use strict'
// Sessions at rest: encryptionKeys, idHashKey and compressThreshold through a real express app,
// the environment fallback, errors that never show a key, reencrypt() across a key rotation,
// UNREADABLE, and one table shared with connect-dynamodb 3.0.5.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { execFile } = require('node:child_process')
const http = require('node:http')
const util = require('node:util')
const session = require('express-session')
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb')
const connectDynamoDB = require('..')
const h = require('./helpers')

const Legacy = h.legacyModule()(session)

const { SessionStoreError } = connectDynamoDB
const K1 = crypto.randomBytes(32)
const K2 = crypto.randomBytes(32)
const ID_KEY = crypto.randomBytes(48)
/** A session id's table key with hashed ids: the prefix and 43 characters of base64url. */
const HASHED_KEY = /^sess:[A-Za-z0-9_-]{43}$/

const call = (fn) => new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))))
const plain = (sess) => JSON.parse(JSON.stringify(sess))

function legacyStore(table) {
  const client = new DynamoDBClient({ endpoint: h.endpoint, region: 'us-east-1', credentials: { ...h.credentials } })
  return new Legacy({ table, client, initialized: true })
}

/** The forms a key may take in an error message or an inspect output. */
function forms(key) {
  const b64 = key.toString('base64')
  return [
    b64,
    b64.replace(/=+$/, ''),
    key.toString('base64url'),
    key.toString('hex'),
    key.toString('hex').toUpperCase(),
  ]
}

function assertNoKey(text, keys, what) {
  for (const key of keys) {
    for (const form of forms(key)) assert.ok(!text.includes(form), `${what} shows a key: ${text}`)
    // Nor any 8-byte stretch of it.
    const hex = key.toString('hex')
    for (let i = 0; i + 16 <= hex.length; i += 2) assert.ok(!text.includes(hex.slice(i, i + 16)), `${what}: ${text}`)
  }
}

/** The stored `sess` of an item as bytes; fails unless it is binary. */
function binarySess(item) {
  assert.ok(item.sess.B instanceof Uint8Array, `sess is binary: ${util.inspect(item.sess)}`)
  return Buffer.from(item.sess.B)
}

function listen(server) {
  return new Promise((resolve) => {
    const s = server.listen(0, '127.0.0.1', () => resolve(s))
  })
}

/** A browser-like client: keeps the cookie between requests. */
function client(base) {
  let cookie = ''
  return async (path) => {
    const res = await fetch(base + path, { headers: { cookie }, redirect: 'manual' })
    const set = res.headers.get('set-cookie')
    if (set) cookie = set.split(';')[0]
    return { status: res.status, text: await res.text(), cookie }
  }
}

/** The session id in an express-session cookie (`connect.sid=s%3A<sid>.<signature>`). */
function sidOf(cookie) {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1))
  return value.slice(2, value.lastIndexOf('.'))
}

test('express with encryption, hashed ids and compression: login, read back by cookie, logout; nothing in clear at rest', async () => {
  const table = h.uniqueTable('at-rest-express')
  const store = h.localStore(table, {
    encryptionKeys: [K1],
    idHashKey: ID_KEY.toString('base64'),
    compressThreshold: 16,
  })
  const express = require('express')
  const app = express()
  app.use(session({ store, secret: 'test secret', resave: false, saveUninitialized: false }))
  app.get('/login', (req, res) => {
    req.session.user = 'ada-lovelace'
    req.session.note = 'analytical engine notes'.repeat(20)
    res.end('logged in')
  })
  app.get('/whoami', (req, res) => res.end(req.session.user ?? 'anonymous'))
  app.get('/logout', (req, res) => req.session.destroy(() => res.end('bye')))
  const server = await listen(http.createServer(app))
  try {
    const browser = client(`http://127.0.0.1:${server.address().port}`)
    const login = await browser('/login')
    assert.equal(login.text, 'logged in')
    const sid = sidOf(login.cookie)
    assert.ok(sid.length > 10, sid)
    assert.equal((await browser('/whoami')).text, 'ada-lovelace')

    const keys = await h.rawKeys(table)
    assert.equal(keys.length, 1)
    const [key] = keys
    assert.notEqual(key, `sess:${sid}`)
    assert.match(key, HASHED_KEY)
    assert.ok(!key.includes(sid))
    const item = await h.rawGet(table, key)
    const sess = binarySess(item)
    assert.equal(sess[0], 1, 'format 1')
    assert.equal(sess[1], 0x03, 'compressed and encrypted')
    for (const clear of ['ada-lovelace', 'analytical', 'cookie', sid]) {
      assert.ok(!sess.includes(Buffer.from(clear)), `${clear} is not in the stored bytes`)
    }
    // The listings give the hash, not the session id.
    assert.deepEqual(await store.ids(), [key.slice('sess:'.length)])
    assert.equal(store.getParsedSession({ Item: item }).user, 'ada-lovelace')

    assert.equal((await browser('/logout')).text, 'bye')
    assert.equal(await store.get(sid), null)
    assert.equal((await browser('/whoami')).text, 'anonymous')
    assert.equal(await store.length(), 0)
  } finally {
    server.close()
    store.close()
  }
})

/** Runs `script` in a child Node process with `env` added to the environment; resolves to its stdout. */
function child(script, env) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', script],
      { cwd: __dirname, env: { ...process.env, ...env } },
      (err, stdout, stderr) => (err ? reject(Object.assign(err, { stderr })) : resolve(stdout)),
    )
  })
}

/** A child's script: saves session `sid` through a store with `options` on `table`, or prints the error. */
function saveScript(table, sid, options) {
  return `
    const h = require('./helpers')
    const fail = (err) => console.log(JSON.stringify({ code: err.code, message: err.message }))
    try {
      const store = h.localStore(${JSON.stringify(table)}, ${JSON.stringify(options)})
      store.set(${JSON.stringify(sid)}, h.sessionData({ user: 'ada' })).then(() => console.log('saved'), fail)
    } catch (err) {
      fail(err)
    }`
}

test('without encryptionKeys the keys come from CONNECT_DYNAMODB_ENCRYPTION_KEYS; encryptionKeys: [] turns encryption off', async () => {
  const table = h.uniqueTable('at-rest-env')
  await h.createTable(table)
  const env = { CONNECT_DYNAMODB_ENCRYPTION_KEYS: `${K2.toString('base64')},${K1.toString('base64')}` }
  assert.equal(await child(saveScript(table, 'from-env', { initialized: true }), env), 'saved\n')
  assert.equal(await child(saveScript(table, 'off', { initialized: true, encryptionKeys: [] }), env), 'saved\n')

  const encrypted = await h.rawGet(table, 'sess:from-env')
  assert.ok(!binarySess(encrypted).includes(Buffer.from('ada')))
  assert.equal(typeof (await h.rawGet(table, 'sess:off')).sess.S, 'string', 'stored in clear')
  // Encrypted with the environment's first key: this process reads it with that key only.
  assert.equal((await h.localStore(table, { initialized: true, encryptionKeys: [K2] }).get('from-env')).user, 'ada')
  await assert.rejects(h.localStore(table, { initialized: true, encryptionKeys: [K1] }).get('from-env'), {
    code: 'UNREADABLE',
  })

  // A bad key in the environment: INVALID_CONFIG naming the option, not showing the key.
  const short = crypto.randomBytes(20)
  for (const bad of [short.toString('base64'), `${K1.toString('base64')}!*`]) {
    const out = JSON.parse(
      await child(saveScript(table, 'bad', { initialized: true }), { CONNECT_DYNAMODB_ENCRYPTION_KEYS: bad }),
    )
    assert.equal(out.code, 'INVALID_CONFIG')
    assert.match(out.message, /^invalid option `encryptionKeys`: key 1 /)
    assertNoKey(out.message, [short, K1], 'the message')
  }
  assert.equal((await h.rawGet(table, 'sess:bad')) ?? null, null)
  // idHashKey from CONNECT_DYNAMODB_ID_HASH_KEY too, and `idHashKey: false` turns it off.
  const idEnv = { CONNECT_DYNAMODB_ID_HASH_KEY: ID_KEY.toString('base64') }
  assert.equal(await child(saveScript(table, 'hashed', { initialized: true, encryptionKeys: [] }), idEnv), 'saved\n')
  assert.equal(
    await child(saveScript(table, 'unhashed', { initialized: true, encryptionKeys: [], idHashKey: false }), idEnv),
    'saved\n',
  )
  const keys = await h.rawKeys(table)
  assert.ok(keys.includes('sess:unhashed'))
  assert.ok(!keys.includes('sess:hashed'))
  assert.equal(keys.filter((k) => HASHED_KEY.test(k)).length, 1)
})

test('bad keys and thresholds: INVALID_CONFIG naming the option, never showing the key', () => {
  const short = crypto.randomBytes(31)
  const long = crypto.randomBytes(65)
  const cases = [
    [{ encryptionKeys: [short] }, 'encryptionKeys'],
    [{ encryptionKeys: [short.toString('base64')] }, 'encryptionKeys'],
    [{ encryptionKeys: [K1, new Uint8Array(short)] }, 'encryptionKeys'],
    [{ encryptionKeys: [K1, K1.toString('base64')] }, 'encryptionKeys'],
    [{ encryptionKeys: [`${K1.toString('base64')}!`] }, 'encryptionKeys'],
    [{ encryptionKeys: Array.from({ length: 17 }, () => crypto.randomBytes(32)) }, 'encryptionKeys'],
    [{ encryptionKeys: K1 }, 'encryptionKeys'],
    [{ encryptionKeys: [42] }, 'encryptionKeys'],
    [{ idHashKey: short }, 'idHashKey'],
    [{ idHashKey: long.toString('base64url') }, 'idHashKey'],
    [{ idHashKey: 'not base64 at all' }, 'idHashKey'],
    [{ idHashKey: true }, 'idHashKey'],
    [{ compressThreshold: -1 }, 'compressThreshold'],
    [{ compressThreshold: 1.5 }, 'compressThreshold'],
    [{ compressThreshold: 16 * 1024 * 1024 + 1 }, 'compressThreshold'],
    [{ compressThreshold: 'big' }, 'compressThreshold'],
  ]
  for (const [options, option] of cases) {
    assert.throws(
      () => new h.Store(options),
      (err) => {
        assert.ok(err instanceof SessionStoreError)
        assert.equal(err.code, 'INVALID_CONFIG')
        assert.ok(err.message.startsWith(`invalid option \`${option}\`: `), err.message)
        assertNoKey(`${err.message} ${util.inspect(err)}`, [short, long, K1], 'the error')
        return true
      },
      util.inspect(options),
    )
  }
  // The limits are the core's: 16 MiB and 0 are valid thresholds, 64 bytes a valid hash key.
  new h.Store({ compressThreshold: 16 * 1024 * 1024, idHashKey: crypto.randomBytes(64) })
  new h.Store({ compressThreshold: 0, encryptionKeys: [], idHashKey: false })
})

test('no key in util.inspect of the store or its options', async () => {
  const table = h.uniqueTable('at-rest-inspect')
  const hashKey = crypto.randomBytes(32)
  const store = h.localStore(table, {
    encryptionKeys: [K1, K2.toString('base64')],
    idHashKey: hashKey,
    compressThreshold: 100,
  })
  await store.set('s', h.sessionData({ user: 'ada' }))
  const shown = [
    util.inspect(store, { showHidden: true, depth: Number.POSITIVE_INFINITY, getters: true }),
    util.inspect(store._options, { showHidden: true, depth: Number.POSITIVE_INFINITY, getters: true }),
    util.inspect(store._options.config, { showHidden: true, depth: Number.POSITIVE_INFINITY, getters: true }),
    JSON.stringify(store._options.clientConfig),
  ].join('\n')
  assertNoKey(shown, [K1, K2, hashKey], 'inspect')
  store.close()
})

test('reencrypt: sessions of key K1 rewritten under K2 by a store with [K2, K1], then read with K2 alone', async () => {
  const table = h.uniqueTable('at-rest-reencrypt')
  const a = h.localStore(table, { encryptionKeys: [K1], compressThreshold: 64 })
  const sids = ['one', 'two', 'three']
  for (const sid of sids) await a.set(sid, h.sessionData({ user: sid, note: 'x'.repeat(100) }))
  // One session from before encryption was on, and one destroyed (a tombstone).
  const clear = h.localStore(table, { encryptionKeys: [], initialized: true })
  await clear.set('clear', h.sessionData({ user: 'clear' }))
  await a.set('gone', h.sessionData({ user: 'gone' }))
  await a.destroy('gone')

  const c = h.localStore(table, { encryptionKeys: [K2], initialized: true })
  await assert.rejects(c.get('one'), (err) => {
    assert.ok(err instanceof SessionStoreError)
    assert.equal(err.code, 'UNREADABLE')
    assert.equal(err.retryable, false)
    assertNoKey(err.message, [K1, K2], 'UNREADABLE')
    return true
  })
  // Listings leave out what they cannot read.
  assert.deepEqual(await c.ids(), ['clear'])

  const b = h.localStore(table, { encryptionKeys: [K2, K1.toString('base64')], initialized: true })
  const report = await b.reencrypt()
  assert.deepEqual(
    { rewritten: report.rewritten, unreadable: report.unreadable },
    { rewritten: sids.length + 1, unreadable: 0 },
  )
  assert.ok(report.scanned >= sids.length + 2, `scanned ${report.scanned}`)
  // Nothing left to do; the callback form too.
  assert.deepEqual(await call((cb) => b.reencrypt(cb)), { scanned: report.scanned, rewritten: 0, unreadable: 0 })

  for (const sid of [...sids, 'clear']) {
    assert.equal((await c.get(sid)).user, sid)
    assert.ok(binarySess(await h.rawGet(table, `sess:${sid}`)).length > 0)
  }
  assert.equal(await c.get('gone'), null)
  assert.equal(await c.length(), sids.length + 1)
  await assert.rejects(a.get('one'), { code: 'UNREADABLE' })

  // A store lacking the key counts those sessions as unreadable and leaves them.
  const other = h.localStore(table, { encryptionKeys: [crypto.randomBytes(32)], initialized: true })
  const left = await other.reencrypt()
  assert.equal(left.rewritten, 0)
  assert.equal(left.unreadable, sids.length + 1)
  assert.equal((await c.get('one')).user, 'one')

  // Without keys there is nothing to re-encrypt with.
  await assert.rejects(clear.reencrypt(), (err) => {
    assert.equal(err.code, 'INVALID_CONFIG')
    assert.match(err.message, /^invalid option `encryptionKeys`: /)
    return true
  })
  const err = await new Promise((resolve) => clear.reencrypt((e, value) => resolve([e, value])))
  assert.equal(err[0].code, 'INVALID_CONFIG')
  for (const store of [a, b, c, clear, other]) store.close()
})

test('decryptOnly: encryption turned on in two deploys, no process meets a session it cannot read', async () => {
  const table = h.uniqueTable('at-rest-decrypt-only')
  const before = h.localStore(table, { encryptionKeys: [] })
  await before.set('a', h.sessionData({ user: 'a' }))
  // Deploy 1: every process gets the key, to decrypt only; what they write stays readable.
  const reading = h.localStore(table, { encryptionKeys: [K1], decryptOnly: true, initialized: true })
  await reading.set('b', h.sessionData({ user: 'b' }))
  assert.equal(typeof (await h.rawGet(table, 'sess:b')).sess.S, 'string')
  assert.equal((await before.get('b')).user, 'b')
  await assert.rejects(reading.reencrypt(), (err) => {
    assert.equal(err.code, 'INVALID_CONFIG')
    assert.match(err.message, /^invalid option `decryptOnly`: /)
    return true
  })
  // Deploy 2: encrypt; the processes of deploy 1 read what it writes.
  const writing = h.localStore(table, { encryptionKeys: [K1], initialized: true })
  await writing.set('c', h.sessionData({ user: 'c' }))
  binarySess(await h.rawGet(table, 'sess:c'))
  for (const sid of ['a', 'b', 'c']) {
    assert.equal((await reading.get(sid)).user, sid)
    assert.equal((await writing.get(sid)).user, sid)
  }
  // Without keys it is a mistake, and it is a boolean.
  for (const options of [{ encryptionKeys: [], decryptOnly: true }, { decryptOnly: 'yes' }]) {
    assert.throws(
      () => new h.Store(options),
      (err) => {
        assert.equal(err.code, 'INVALID_CONFIG')
        assert.match(err.message, /^invalid option `decryptOnly`: /)
        return true
      },
    )
  }
  for (const store of [before, reading, writing]) store.close()
})

test('connect-dynamodb 3.0.5 and encryption: no session for it, its plaintext save read here and encrypted again', async () => {
  const table = h.uniqueTable('at-rest-compat-enc')
  await h.createTable(table)
  const legacy = legacyStore(table)
  const store = h.localStore(table, { encryptionKeys: [K1], initialized: true })
  await store.set('s', h.sessionData({ user: 'ada' }))
  binarySess(await h.rawGet(table, 'sess:s'))
  assert.equal(await call((cb) => legacy.get('s', cb)), null, 'no session, no error')

  // 3.0.5 saves over it in clear; read here, and encrypted by this store's next save.
  const theirs = h.sessionData({ user: 'bob', flash: 'from 3.x' })
  await call((cb) => legacy.set('s', theirs, cb))
  assert.equal(typeof (await h.rawGet(table, 'sess:s')).sess.S, 'string')
  const loaded = await store.get('s')
  assert.deepEqual(loaded, plain(theirs))
  loaded.seen = true
  await store.set('s', loaded)
  assert.ok(!binarySess(await h.rawGet(table, 'sess:s')).includes(Buffer.from('bob')))
  assert.equal((await store.get('s')).seen, true)
  assert.equal(await call((cb) => legacy.get('s', cb)), null)
  // 3.0.5's destroy still ends it.
  await call((cb) => legacy.destroy('s', cb))
  assert.equal(await store.get('s'), null)
  store.close()
})

test('connect-dynamodb 3.0.5 and hashed ids: neither finds the sessions of the other', async () => {
  const table = h.uniqueTable('at-rest-compat-hash')
  await h.createTable(table)
  const legacy = legacyStore(table)
  const store = h.localStore(table, { idHashKey: ID_KEY, encryptionKeys: [], initialized: true })
  await store.set('ours', h.sessionData({ user: 'ada' }))
  assert.equal(await call((cb) => legacy.get('ours', cb)), null)
  await call((cb) => legacy.set('theirs', h.sessionData({ user: 'bob' }), cb))
  assert.equal(await store.get('theirs'), null)
  const keys = await h.rawKeys(table)
  assert.ok(keys.includes('sess:theirs'))
  assert.ok(!keys.includes('sess:ours'))
  assert.equal(keys.filter((k) => HASHED_KEY.test(k)).length, 1)
  // 3.0.5's item is not a hashed key: this store's listings skip nothing it can read.
  assert.equal((await store.get('ours')).user, 'ada')
  store.close()
})

test('connect-dynamodb 3.0.5 and compression alone: a compressed session is no session for it, a short one is read', async () => {
  const table = h.uniqueTable('at-rest-compat-zip')
  await h.createTable(table)
  const legacy = legacyStore(table)
  const store = h.localStore(table, { compressThreshold: 200, encryptionKeys: [], idHashKey: false, initialized: true })
  const big = h.sessionData({ user: 'ada', note: 'y'.repeat(500) })
  await store.set('big', big)
  const sess = binarySess(await h.rawGet(table, 'sess:big'))
  assert.deepEqual([sess[0], sess[1]], [1, 0x01], 'format 1, compressed, not encrypted')
  assert.ok(sess.length < 200)
  assert.equal(await call((cb) => legacy.get('big', cb)), null, 'no session, no error')
  assert.deepEqual(await store.get('big'), plain(big))
  // Below the threshold the session is stored as connect-dynamodb 3.x stores it.
  const small = h.sessionData({ user: 'ada' })
  await store.set('small', small)
  assert.equal(typeof (await h.rawGet(table, 'sess:small')).sess.S, 'string')
  assert.deepEqual(await call((cb) => legacy.get('small', cb)), plain(small))
  store.close()
})
