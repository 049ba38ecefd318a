'use strict'
// How a session ends, against DynamoDB Local: tombstones (a late save never resurrects a
// destroyed session), the absolute timeout, and a user's sessions listed and ended; and the
// load token that merged saves carry from `get` to `set`. The real
// apps (express) for these and for merged saves are in apps.test.js; connect-dynamodb 3.0.5 on
// the same table is in compat.test.js.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const execFile = require('node:util').promisify(require('node:child_process').execFile)
const { ManualClock } = require('connect-dynamodb/testing')
const h = require('./helpers')

const MINUTE = 60_000
const HOUR = 60 * MINUTE

/** A session whose cookie expires `ms` after the clock's now (not the system's). */
function onClock(clock, extra = {}, ms = HOUR) {
  return { cookie: { originalMaxAge: ms, expires: new Date(clock.now() + ms), path: '/' }, ...extra }
}

test('destroy leaves a tombstone: a late set writes nothing and succeeds, get and touch find nothing', async () => {
  const table = h.uniqueTable('tombstone')
  const proxy = await h.countingProxy({ record: true })
  try {
    const store = h.localStore(table, { endpoint: proxy.url })
    await store.initialize()
    await store.set('s', h.sessionData({ user: 'ada' }))

    // A new session: one conditional PutItem.
    proxy.reset()
    await store.set('fresh', h.sessionData({ n: 1 }))
    assert.deepEqual({ ...proxy.counts }, { PutItem: 1 })
    assert.match(proxy.requests[0].body.ConditionExpression, /ended/, 'the write is conditional on no tombstone')

    // Logout: one PutItem, the tombstone, which 3.x reads as `null` and TTL removes.
    proxy.reset()
    await store.destroy('s')
    assert.deepEqual({ ...proxy.counts }, { PutItem: 1 })
    const tombstone = await h.rawGet(table, 'sess:s')
    assert.equal(tombstone.sess.S, 'null')
    assert.equal(tombstone.type.S, 'connect-session')
    const now = Date.now() / 1000
    assert.ok(Math.abs(Number(tombstone.ended.N) - now) < 5)
    assert.ok(Math.abs(Number(tombstone.expires.N) - (now + 3600)) < 5, 'the default tombstone lives an hour')

    // The late save of a request that loaded the session before the logout: a quiet success
    // (the callback gets no error), and nothing is written.
    proxy.reset()
    await new Promise((resolve, reject) =>
      store.set('s', h.sessionData({ user: 'ada', cart: ['book'] }), (err) => (err ? reject(err) : resolve())),
    )
    assert.deepEqual({ ...proxy.counts }, { PutItem: 1 }, 'the refused write, which returns the tombstone')
    assert.equal(await store.set('s', h.sessionData({ user: 'ada' })), undefined)
    assert.deepEqual(await h.rawGet(table, 'sess:s'), tombstone, 'the tombstone is left as it was')
    assert.equal(await store.get('s'), null)
    proxy.reset()
    assert.equal(await store.touch('s', h.sessionData({}, 7200_000)), null)
    assert.deepEqual({ ...proxy.counts }, { UpdateItem: 1 })
    assert.deepEqual(await h.rawGet(table, 'sess:s'), tombstone, 'touch does not revive it')
    assert.deepEqual(await store.ids(), ['fresh'])
    assert.equal(await store.length(), 1)
    assert.deepEqual(Object.keys(await store.all()), ['fresh'])

    // regenerate: the old id is destroyed, the new one works as any new session.
    proxy.reset()
    await store.set('s-regenerated', h.sessionData({ user: 'ada' }))
    assert.deepEqual({ ...proxy.counts }, { PutItem: 1 })
    assert.equal((await store.get('s-regenerated')).user, 'ada')
    // Destroying again, or an id never seen, is no error.
    await store.destroy('s')
    await store.destroy('never-seen')
    assert.equal(await store.get('never-seen'), null)
  } finally {
    await proxy.close()
  }
})

test('tombstoneLifetime: 0 turns tombstones off: destroy is one DeleteItem, and a late set writes again (3.x)', async () => {
  const table = h.uniqueTable('no-tombstone')
  const proxy = await h.countingProxy()
  try {
    const store = h.localStore(table, { endpoint: proxy.url, tombstoneLifetime: 0 })
    await store.set('s', h.sessionData({ user: 'ada' }))
    proxy.reset()
    await store.destroy('s')
    assert.deepEqual({ ...proxy.counts }, { DeleteItem: 1 })
    assert.equal(await h.rawGet(table, 'sess:s'), undefined)
    assert.equal(await store.touch('s', h.sessionData()), null)
    assert.equal(await h.rawGet(table, 'sess:s'), undefined, 'touch still never re-creates a session')
    // What tombstones are for: without them the late save brings the session back.
    await store.set('s', h.sessionData({ user: 'ada', late: true }))
    assert.equal((await store.get('s')).late, true)
  } finally {
    await proxy.close()
  }
})

test('a tombstone ends after tombstoneLifetime, on the store clock', async () => {
  const clock = new ManualClock()
  const table = h.uniqueTable('tombstone-end')
  const store = h.localStore(table, { clock, tombstoneLifetime: MINUTE })
  await store.set('s', onClock(clock, { n: 1 }))
  await store.destroy('s')
  const tombstone = await h.rawGet(table, 'sess:s')
  assert.equal(Number(tombstone.expires.N), Math.ceil(clock.now() / 1000 + 60))
  await store.set('s', onClock(clock, { n: 2 }))
  assert.equal(await store.get('s'), null)
  clock.advance(61_000)
  await store.set('s', onClock(clock, { n: 3 }))
  assert.equal((await store.get('s')).n, 3)
  assert.equal((await h.rawGet(table, 'sess:s')).ended, undefined)
})

test('absoluteTimeout: a session kept active is refused once older than the limit; regenerate starts fresh', async () => {
  const clock = new ManualClock()
  const table = h.uniqueTable('absolute')
  const store = h.localStore(table, { clock, absoluteTimeout: 2 * HOUR, touchAfter: 0 })
  const started = clock.now()
  await store.set('s', onClock(clock, { n: 0 }))
  const created = Number((await h.rawGet(table, 'sess:s')).created.N)
  assert.equal(created, Math.floor(started / 1000))

  // Active all the time: a save and a touch every 20 minutes, each asking for an hour more.
  for (let i = 1; i <= 5; i++) {
    clock.advance(20 * MINUTE)
    const sess = await store.get('s')
    assert.equal(sess.n, i - 1, `still served after ${i * 20} minutes`)
    await store.set('s', onClock(clock, { n: i }))
    assert.equal((await store.touch('s', onClock(clock))).outcome, 'updated')
    const item = await h.rawGet(table, 'sess:s')
    assert.equal(Number(item.created.N), created, 'set and touch keep the creation time')
    assert.ok(Number(item.expires.N) <= created + 2 * 3600, 'set and touch never extend past the limit')
  }
  const [entry] = await store.entries()
  assert.equal(entry.expires.getTime(), (created + 2 * 3600) * 1000, 'the expiry is capped at the limit')

  // Two hours after creation: refused, though the last touch asked for an hour more.
  clock.set((created + 2 * 3600) * 1000 + 1000)
  assert.equal(await store.get('s'), null)
  const before = await h.rawGet(table, 'sess:s')
  await store.set('s', onClock(clock, { n: 99 }))
  assert.equal(await store.touch('s', onClock(clock)), null)
  assert.deepEqual(await h.rawGet(table, 'sess:s'), before, 'neither set nor touch wrote')
  assert.equal(await store.get('s'), null)
  assert.deepEqual(await store.ids(), [])

  // regenerate: the old id destroyed, a new one created now, which lives its own two hours.
  await store.destroy('s')
  await store.set('s-new', onClock(clock, { n: 0 }, 3 * HOUR))
  const recreated = Number((await h.rawGet(table, 'sess:s-new')).created.N)
  assert.equal(recreated, Math.floor(clock.now() / 1000))
  clock.advance(HOUR)
  assert.equal((await store.get('s-new')).n, 0)
  clock.set((recreated + 2 * 3600) * 1000)
  assert.equal(await store.get('s-new'), null, 'two hours after its own creation')
})

test('merge: the session get returns carries its load token, never stored; set merges from that load, a copy without it replaces', async () => {
  const table = h.uniqueTable('token')
  const proxy = await h.countingProxy()
  try {
    const store = h.localStore(table, { endpoint: proxy.url, merge: 'mine' })
    await store.set('s', h.sessionData({ user: 'ada', cart: [] }))
    const a = await store.get('s')
    const b = await store.get('s')

    // The token is a non-enumerable symbol property: no key, no JSON, no spread, no deepEqual.
    const tokens = Object.getOwnPropertySymbols(a)
    assert.equal(tokens.length, 1)
    assert.equal(Object.getOwnPropertyDescriptor(a, tokens[0]).enumerable, false)
    assert.deepEqual(Object.keys(a).sort(), ['cart', 'cookie', 'user'])
    assert.equal(JSON.stringify(a), (await h.rawGet(table, 'sess:s')).sess.S)
    assert.deepEqual(Object.getOwnPropertySymbols({ ...a }), [])

    // Two loads of one session, each saved with its own token: both changes kept. One PutItem a
    // save, and one more for the conflict.
    a.cart = ['book']
    b.flash = 'hi'
    proxy.reset()
    await store.set('s', a)
    await store.set('s', b)
    assert.deepEqual({ ...proxy.counts }, { PutItem: 3 })
    const stored = JSON.parse((await h.rawGet(table, 'sess:s')).sess.S)
    assert.deepEqual(Object.keys(stored).sort(), ['cart', 'cookie', 'flash', 'user'], 'no token in the stored JSON')
    assert.deepEqual([stored.cart, stored.flash], [['book'], 'hi'])

    // After its save a session carries the version written: saving it again changed is one
    // PutItem, and a key it removed stays removed.
    delete b.flash
    proxy.reset()
    await store.set('s', b)
    assert.deepEqual({ ...proxy.counts }, { PutItem: 1 })
    assert.deepEqual(Object.keys(await store.get('s')).sort(), ['cart', 'cookie', 'user'])

    // A copy (no token): a session the request did not load. It replaces what is stored, a
    // change saved since its original's load included: one PutItem when this process knows the
    // stored version (it wrote it), two when another process saved since.
    const original = await store.get('s')
    const other = await store.get('s')
    other.flash = 'lost'
    await store.set('s', other)
    proxy.reset()
    await store.set('s', { ...original, user: 'bob' })
    assert.deepEqual({ ...proxy.counts }, { PutItem: 1 })
    const replaced = await store.get('s')
    assert.deepEqual([replaced.user, replaced.flash], ['bob', undefined])

    // merge off: no token, one PutItem a save whatever is stored.
    const plain = h.localStore(table, { endpoint: proxy.url, initialized: true })
    const loaded = await plain.get('s')
    assert.deepEqual(Object.getOwnPropertySymbols(loaded), [])
    proxy.reset()
    await plain.set('s', loaded)
    assert.deepEqual({ ...proxy.counts }, { PutItem: 1 })
  } finally {
    await proxy.close()
  }
})

test("getParsedSession reads tombstones and old sessions as the store's get does", async () => {
  const clock = new ManualClock()
  const store = h.localStore(h.uniqueTable('parsed-new'), { clock, absoluteTimeout: HOUR, initialized: true })
  const now = Math.floor(clock.now() / 1000)
  const item = (extra) => ({
    Item: {
      id: { S: 'sess:x' },
      expires: { N: String(now + 600) },
      type: { S: 'connect-session' },
      sess: { S: '{"user":"ada"}' },
      ...extra,
    },
  })
  assert.deepEqual(store.getParsedSession(item({})), { user: 'ada' }, 'a 3.x item: no creation time')
  assert.deepEqual(store.getParsedSession(item({ created: { N: String(now - 60) }, version: { N: '3' } })), {
    user: 'ada',
  })
  assert.equal(store.getParsedSession(item({ created: { N: String(now - 3601) } })), null, 'older than the limit')
  assert.equal(store.getParsedSession(item({ sess: { S: 'null' }, ended: { N: String(now) } })), null, 'tombstone')
  assert.equal(store.getParsedSession(item({ ended: { N: now } })), null, 'a number given as a number')
})

test('userSessions and endUserSessions: one Query each, never a scan; sessions ended are not found', async () => {
  const table = h.uniqueTable('users')
  const proxy = await h.countingProxy()
  try {
    const store = h.localStore(table, {
      endpoint: proxy.url,
      userField: 'userId',
      createTable: { billingMode: 'PAY_PER_REQUEST' },
    })
    // First use creates the table with its user-index.
    await store.initialize()
    assert.deepEqual(await store.verifySessionsTable(), [])
    const startedMs = Date.now()
    for (const sid of ['a1', 'a2', 'a3']) await store.set(sid, h.sessionData({ userId: 'ada' }))
    await store.set('b1', h.sessionData({ userId: 'bob' }))
    await store.set('anonymous', h.sessionData({}))
    await store.set('odd', h.sessionData({ userId: { nested: true } }))

    proxy.reset()
    const listed = await store.userSessions('ada')
    assert.deepEqual({ ...proxy.counts }, { Query: 1 })
    assert.deepEqual(listed.map((s) => s.id).sort(), ['a1', 'a2', 'a3'])
    for (const s of listed) {
      assert.ok(s.expires instanceof Date && Math.abs(s.expires.getTime() - (startedMs + 3600_000)) < 10_000)
      assert.ok(s.created instanceof Date && Math.abs(s.created.getTime() - startedMs) < 10_000)
    }
    assert.deepEqual(
      (await store.userSessions('bob')).map((s) => s.id),
      ['b1'],
    )
    assert.deepEqual(await store.userSessions('nobody'), [])

    // The user changes (a login as someone else): the index follows the saved session.
    await store.set('a3', h.sessionData({ userId: 'bob' }))
    assert.deepEqual((await store.userSessions('ada')).map((s) => s.id).sort(), ['a1', 'a2'])

    proxy.reset()
    assert.equal(await store.endUserSessions('ada', { except: 'a2' }), 1)
    assert.deepEqual({ ...proxy.counts }, { Query: 1, BatchWriteItem: 1 })
    assert.equal(await store.get('a1'), null)
    assert.equal((await store.get('a2')).userId, 'ada')
    assert.equal((await h.rawGet(table, 'sess:a1')).sess.S, 'null', 'ended by a tombstone, as destroy does')
    // A late save of an ended session stays ended.
    await store.set('a1', h.sessionData({ userId: 'ada' }))
    assert.equal(await store.get('a1'), null)
    assert.deepEqual(
      (await store.userSessions('ada')).map((s) => s.id),
      ['a2'],
    )

    // Callbacks, and ending all.
    const ended = await new Promise((resolve, reject) =>
      store.endUserSessions('bob', (err, n) => (err ? reject(err) : resolve(n))),
    )
    assert.equal(ended, 2)
    assert.equal(await store.get('b1'), null)
    const left = await new Promise((resolve, reject) =>
      store.userSessions('bob', (err, list) => (err ? reject(err) : resolve(list))),
    )
    assert.deepEqual(left, [])
    assert.equal(await store.endUserSessions('nobody'), 0)

    await assert.rejects(store.userSessions(''), { code: 'INVALID_ARGUMENT' })
    await assert.rejects(store.userSessions(1.5), { code: 'INVALID_ARGUMENT' })
    await assert.rejects(store.userSessions({ id: 1 }), { code: 'INVALID_ARGUMENT' })
    await assert.rejects(store.endUserSessions('ada', { except: 42 }), { code: 'INVALID_ARGUMENT' })
    await assert.rejects(store.endUserSessions('ada', 'a2'), { code: 'INVALID_ARGUMENT' })
    await assert.rejects(store.endUserSessions('ada', { except: '' }), { code: 'INVALID_ARGUMENT' })
    assert.equal((await store.get('a2')).userId, 'ada', 'a refused call ends nothing')
  } finally {
    await proxy.close()
  }
})

test('userField: a table without the user-index is reported, and createSessionsTable() adds it', async () => {
  // DynamoDB Local 3.3.1 leaves an index added to an existing table (UpdateTable) CREATING for
  // ever once DescribeTimeToLive was asked of about eight tables, as the suite's other stores
  // do: this test runs on a fresh DynamoDB Local of its own.
  const script = path.join(__dirname, '..', '..', 'scripts', 'dynamodb-local.sh')
  const child = path.join(__dirname, 'fresh-server', 'user-index.js')
  try {
    await execFile(script, ['run', '--', process.execPath, '--test', child], { encoding: 'utf8' })
  } catch (err) {
    assert.fail(`the user-index test failed on its own DynamoDB Local:\n${err.stdout}${err.stderr}`)
  }
})
