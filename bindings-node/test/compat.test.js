'use strict'
// One table shared with the published connect-dynamodb 3.0.5, in both directions.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const session = require('express-session')
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb')
const h = require('./helpers')

const Legacy = h.legacyModule()(session)

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

const HOUR = 3600_000
const plain = (sess) => JSON.parse(JSON.stringify(sess))

test("connect-dynamodb 3.0.5 reads this store's tombstone as no session, and its touch does not revive it", async () => {
  const table = h.uniqueTable('compat-tombstone')
  await h.createTable(table)
  const legacy = legacyStore(table)
  const store = h.localStore(table, { initialized: true })
  await store.set('s', h.sessionData({ user: 'ada' }))
  await store.destroy('s')
  assert.equal(await call((cb) => legacy.get('s', cb)), null, 'no crash, and not served')
  // 3.x touches unconditionally: it moves the tombstone's expiry, and the tombstone stays one.
  await call((cb) => legacy.touch('s', h.sessionData({ user: 'ada' }, 7200_000), cb))
  assert.equal(await store.get('s'), null)
  assert.equal(await call((cb) => legacy.get('s', cb)), null)
  await store.set('s', h.sessionData({ user: 'ada', late: true }))
  assert.equal(await store.get('s'), null, 'a late save through this store stays refused')
  assert.equal((await h.rawGet(table, 'sess:s')).sess.S, 'null')
})

for (const options of [
  {},
  { tombstoneLifetime: 0 },
  { merge: 'mine' },
  { merge: 'error' },
  { absoluteTimeout: 8 * HOUR },
  { userField: 'userId' },
  { merge: 'mine', absoluteTimeout: 8 * HOUR, userField: 'passport.user' },
]) {
  test(`connect-dynamodb 3.0.5 and this store share a table both ways with ${JSON.stringify(options)}`, async () => {
    const table = h.uniqueTable('compat-options')
    const store = h.localStore(table, { ...options, createTable: { billingMode: 'PAY_PER_REQUEST' } })
    // This store creates the table (with the user index when userField is set).
    await store.initialize()
    const legacy = legacyStore(table)
    const userOf = { userId: (s) => s.userId, 'passport.user': (s) => String(s.passport.user) }[options.userField]

    // Written here, with the attributes the options add, read by 3.0.5.
    const ours = h.sessionData({ userId: 'ada', passport: { user: 42 }, cart: ['book'] })
    await store.set('ours', ours)
    assert.deepEqual(await call((cb) => legacy.get('ours', cb)), plain(ours))
    const item = await h.rawGet(table, 'sess:ours')
    assert.equal(item.version !== undefined, options.merge !== undefined, 'version with merge only')
    assert.equal(
      item.created !== undefined,
      options.absoluteTimeout !== undefined || options.userField !== undefined,
      'created with absoluteTimeout or userField only',
    )
    assert.equal(item.user?.S, userOf?.(ours))
    // 3.0.5 touches it (expires only): still read here, attributes kept.
    await call((cb) => legacy.touch('ours', h.sessionData({}, 2 * HOUR), cb))
    assert.deepEqual(await store.get('ours'), plain(ours))
    assert.equal((await h.rawGet(table, 'sess:ours')).created?.N, item.created?.N)

    // Written by 3.0.5 (version 0, no creation time, no user), read and saved here.
    const theirs = h.sessionData({ userId: 'bob', passport: { user: 7 }, flash: 'hi' })
    await call((cb) => legacy.set('theirs', theirs, cb))
    const loaded = await store.get('theirs')
    assert.deepEqual(loaded, plain(theirs))
    loaded.seen = true
    await store.set('theirs', loaded)
    assert.deepEqual(await call((cb) => legacy.get('theirs', cb)), plain(loaded))
    assert.equal((await h.rawGet(table, 'sess:theirs')).user?.S, userOf?.(theirs))
    if (userOf) {
      assert.deepEqual(
        (await store.userSessions(userOf(theirs))).map((s) => s.id),
        ['theirs'],
      )
    }
    assert.equal((await store.touch('theirs', h.sessionData({}, 3 * HOUR))).outcome, 'updated')
    assert.equal((await call((cb) => legacy.get('theirs', cb))).seen, true)

    // Ended on either side: gone for both, and 3.0.5's touch revives nothing.
    await store.destroy('ours')
    assert.equal(await call((cb) => legacy.get('ours', cb)), null)
    await call((cb) => legacy.touch('ours', h.sessionData({}, 2 * HOUR), cb))
    assert.equal(await store.get('ours'), null)
    await call((cb) => legacy.destroy('theirs', cb))
    assert.equal(await store.get('theirs'), null)
    assert.equal(await store.length(), 0)
  })
}

for (const merge of ['mine', 'error']) {
  test(`merge '${merge}': a 3.0.5 save between this store's load and save is not lost`, async () => {
    const table = h.uniqueTable('compat-merge')
    await h.createTable(table)
    const legacy = legacyStore(table)
    const store = h.localStore(table, { merge, initialized: true })
    await store.set('s', h.sessionData({ cart: [] }))
    assert.equal((await h.rawGet(table, 'sess:s')).version.N, '1')

    // This store's request loads the session; meanwhile a 3.0.5 process saves it (version 0).
    const mine = await store.get('s')
    const legacyLoaded = await call((cb) => legacy.get('s', cb))
    await call((cb) => legacy.set('s', { ...legacyLoaded, flash: 'from 3.x' }, cb))
    assert.equal((await h.rawGet(table, 'sess:s')).version, undefined)

    // This store's save meets version 0, reads the 3.0.5 change and merges it in.
    mine.cart = ['book']
    await store.set('s', mine)
    const merged = await store.get('s')
    assert.deepEqual([merged.cart, merged.flash], [['book'], 'from 3.x'])
    assert.ok(Number((await h.rawGet(table, 'sess:s')).version.N) >= 1)
    const seenBy3x = await call((cb) => legacy.get('s', cb))
    assert.deepEqual([seenBy3x.cart, seenBy3x.flash], [['book'], 'from 3.x'])
  })
}

test("merge off: a 3.0.5 save between this store's load and save is overwritten, as between two 3.x processes", async () => {
  const table = h.uniqueTable('compat-nomerge')
  await h.createTable(table)
  const legacy = legacyStore(table)
  const store = h.localStore(table, { initialized: true })
  await store.set('s', h.sessionData({ cart: [] }))
  const mine = await store.get('s')
  await call((cb) => legacy.set('s', { ...mine, flash: 'from 3.x' }, cb))
  mine.cart = ['book']
  await store.set('s', mine)
  assert.equal((await store.get('s')).flash, undefined)
  assert.equal((await h.rawGet(table, 'sess:s')).version, undefined, 'no version attribute with merge off')
})
