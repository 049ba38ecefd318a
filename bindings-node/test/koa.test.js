'use strict'
// connect-dynamodb/koa: a real koa app with koa-session 7 over HTTP with cookies, on DynamoDB
// Local; the behaviours of koa-session's own test/store.test.ts that apply to an external store
// ("koa-session: ..." below); and the store's calls on their own.
const { test, before } = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const Koa = require('koa')
const { createSession } = require('koa-session')
const { DynamoDBStore, SessionStoreError } = require('connect-dynamodb/koa')
const { ManualClock } = require('connect-dynamodb/testing')
const h = require('./helpers')

const table = h.uniqueTable('koa')

/** A koa store on the test table of DynamoDB Local (created by `before`), `options` on top. */
function koaStore(options = {}) {
  return new DynamoDBStore({ table, endpoint: h.endpoint, region: 'us-east-1', ...h.credentials, ...options })
}

before(async () => {
  const setup = await koaStore().createSessionsTable()
  assert.deepEqual(setup.problems, [])
})

/** The stored item of a koa-session key: `{ sess, expires }` parsed, or undefined. */
async function stored(key, prefix = 'sess:') {
  const item = await h.rawGet(table, prefix + key)
  if (!item) return undefined
  return { sess: JSON.parse(item.sess.S), expires: Number(item.expires.N) }
}

/** Where the handler of `/slow` waits, for the concurrency test. */
const gates = { arrived: null, release: null }

/** The app: koa-session with `store` and `sessionOptions`, and a few pages. */
function koaApp(store, sessionOptions = {}) {
  const app = new Koa()
  app.keys = ['koa test secret']
  app.errors = []
  app.on('error', (err) => app.errors.push(err))
  // koa-session: "when an error is thrown downstream and caught upstream".
  app.use(async (ctx, next) => {
    try {
      await next()
    } catch (err) {
      if (!err.downstream) throw err
      ctx.body = 'caught'
    }
  })
  app.use(createSession({ store, ...sessionOptions }, app))
  app.use(async (ctx) => {
    const s = () => ctx.session
    switch (ctx.path) {
      case '/login':
        s().user = ctx.query.user ?? 'ada'
        s().visits = 0
        ctx.body = 'logged in'
        return
      case '/visit':
        if (!s().user) {
          ctx.body = 'anonymous'
          return
        }
        s().visits += 1
        ctx.body = `${s().user}:${s().visits}`
        return
      case '/peek':
        ctx.body = s().user ? `${s().user}:${s().visits}` : 'anonymous'
        return
      case '/nothing':
        ctx.body = 'not accessed'
        return
      case '/logout':
        ctx.session = null
        ctx.body = 'bye'
        return
      case '/regenerate':
        await s().regenerate()
        ctx.body = `${s().user}:${s().visits}`
        return
      case '/max-age':
        s().maxAge = ctx.query.ms === 'session' ? 'session' : Number(ctx.query.ms)
        ctx.body = 'ok'
        return
      case '/read-max-age':
        ctx.body = String(s().maxAge)
        return
      case '/set':
        s()[ctx.query.key] = ctx.query.value
        ctx.body = JSON.stringify(s().toJSON())
        return
      case '/replace':
        ctx.session = JSON.parse(ctx.query.with)
        ctx.body = 'replaced'
        return
      case '/session':
        ctx.body = {
          json: s().toJSON(),
          length: s().length,
          populated: s().populated,
          isNew: s().isNew,
          inspect: require('node:util').inspect(s()),
        }
        return
      case '/save':
        s().saved = 'yes'
        await s().save()
        ctx.body = 'saved'
        return
      case '/throw': {
        s().message = 'hi'
        const err = new Error('boom')
        err.downstream = true
        throw err
      }
      case '/slow':
        void s()
        gates.arrived()
        await gates.released
        s()[ctx.query.key] = ctx.query.value
        ctx.body = 'slow done'
        return
      default:
        ctx.status = 404
    }
  })
  return app
}

/** The koa-session key a response sets. */
function keyOf(res) {
  return res.setCookies
    .find((c) => c.startsWith('koa.sess='))
    .split(';')[0]
    .slice('koa.sess='.length)
}

async function listen(app) {
  const server = http.createServer(app.callback())
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

/**
 * A browser-like client keeping every cookie (koa-session signs: `koa.sess` and `koa.sess.sig`).
 * A request given its own `cookie` header is another browser's: the jar is left as it was.
 */
function browser(server) {
  const base = `http://127.0.0.1:${server.address().port}`
  const jar = new Map()
  const get = async (path, { cookie } = {}) => {
    const header = cookie ?? get.cookie()
    const res = await fetch(base + path, { headers: header ? { cookie: header } : {}, redirect: 'manual' })
    const setCookies = res.headers.getSetCookie()
    for (const line of cookie === undefined ? setCookies : []) {
      const [pair, ...attributes] = line.split(';')
      const name = pair.slice(0, pair.indexOf('=')).trim()
      const value = pair.slice(pair.indexOf('=') + 1)
      const removed = attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a))
      if (removed || value === '') jar.delete(name)
      else jar.set(name, value)
    }
    return { status: res.status, text: await res.text(), setCookies }
  }
  get.key = () => jar.get('koa.sess')
  get.cookie = () => [...jar].map(([name, value]) => `${name}=${value}`).join('; ')
  get.jar = jar
  return get
}

/** Runs `fn(browser, store, app, proxy)` against a koa app on a fresh store behind a counting proxy. */
async function withApp(storeOptions, sessionOptions, fn) {
  const proxy = await h.countingProxy()
  const store = koaStore({ initialized: true, endpoint: proxy.url, ...storeOptions })
  const app = koaApp(store, sessionOptions)
  const server = await listen(app)
  try {
    await fn(browser(server), store, app, proxy)
  } finally {
    server.close()
    store.close()
    await proxy.close()
  }
}

test('login, read back, logout: a read-only request is one GetItem, a change one write', async () => {
  await withApp({}, {}, async (b, store, app, proxy) => {
    assert.equal((await b('/peek')).text, 'anonymous')
    assert.equal((await b('/login?user=ada')).text, 'logged in')
    const key = b.key()
    assert.match(key, /^[0-9a-f-]{36}$/)
    const item = await stored(key)
    assert.deepEqual(Object.keys(item.sess).sort(), ['_expire', '_maxAge', 'user', 'visits'])
    assert.equal(item.sess._maxAge, 86400_000)

    proxy.reset()
    for (let i = 0; i < 3; i++) {
      const res = await b('/peek')
      assert.equal(res.text, 'ada:0')
      assert.deepEqual(res.setCookies, [])
    }
    assert.deepEqual({ ...proxy.counts }, { GetItem: 3 })

    proxy.reset()
    assert.equal((await b('/visit')).text, 'ada:1')
    assert.deepEqual({ ...proxy.counts }, { GetItem: 1, PutItem: 1 })
    assert.equal((await stored(key)).sess.visits, 1)

    assert.equal((await b('/logout')).text, 'bye')
    assert.equal(b.key(), undefined, 'the cookie is cleared')
    assert.equal(await store.get(key), null)
    assert.equal((await h.rawGet(table, `sess:${key}`)).sess.S, 'null', 'the session is ended: a tombstone')
    // The old cookie no longer logs in.
    assert.equal((await b('/peek', { cookie: `koa.sess=${key}` })).text, 'anonymous')
    assert.deepEqual(app.errors, [])
  })
})

test('rolling: every request with a session writes it whole and sends the cookie; none without', async () => {
  await withApp({}, { rolling: true }, async (b, _store, app, proxy) => {
    // koa-session: "should not send set-cookie when session not exists".
    let res = await b('/peek')
    assert.equal(res.text, 'anonymous')
    assert.deepEqual(res.setCookies, [])
    assert.deepEqual({ ...proxy.counts }, {})

    await b('/login')
    const key = b.key()
    const first = await stored(key)
    proxy.reset()
    // koa-session: "should send set-cookie when session exists and not change".
    res = await b('/peek')
    assert.equal(res.text, 'ada:0')
    assert.equal(res.setCookies.length, 2, 'the cookie and its signature')
    assert.deepEqual({ ...proxy.counts }, { GetItem: 1, PutItem: 1 })
    const rolled = await stored(key)
    assert.deepEqual({ ...rolled.sess, _expire: 0 }, { ...first.sess, _expire: 0 })
    assert.ok(rolled.sess._expire >= first.sess._expire, 'the expiry rolled')
    assert.deepEqual(app.errors, [])
  })
})

test('renew: a session near its expiry is written again, one far from it is not', async () => {
  const maxAge = 60_000
  await withApp({}, { renew: true, maxAge }, async (b, store, app, proxy) => {
    // koa-session: "should not send set-cookie when session not exists".
    assert.deepEqual((await b('/peek')).setCookies, [])
    await b('/login')
    const key = b.key()

    // koa-session: "should not send set-cookie when session not near expire and not change".
    proxy.reset()
    let res = await b('/peek')
    assert.deepEqual(res.setCookies, [])
    assert.deepEqual({ ...proxy.counts }, { GetItem: 1 })

    // koa-session: "should send set-cookie when session near expire and not change". Instead of
    // waiting, the stored session is moved to a second before its koa-session expiry (koa-session
    // reads Date.now(), which no clock of ours replaces).
    const { sess } = await stored(key)
    await store.set(key, { ...sess, _expire: Date.now() + 1000 }, maxAge + 10_000)
    proxy.reset()
    res = await b('/peek')
    assert.equal(res.text, 'ada:0')
    assert.equal(res.setCookies.length, 2)
    assert.deepEqual({ ...proxy.counts }, { GetItem: 1, PutItem: 1 })
    const renewed = (await stored(key)).sess
    assert.ok(renewed._expire > Date.now() + maxAge / 2, 'renewed for a whole maxAge')
    assert.deepEqual(app.errors, [])
  })
})

test('ctx.session.maxAge = n: stored with _maxAge, expiry n + 10 s on the store clock, and read back', async () => {
  const clock = new ManualClock(Date.now())
  await withApp({ clock }, {}, async (b, _store, app, proxy) => {
    await b('/login')
    const key = b.key()
    proxy.reset()
    // koa-session: "ctx.session.maxAge= > should save even session not change".
    const res = await b('/max-age?ms=5000')
    assert.match(
      res.setCookies.find((c) => c.startsWith('koa.sess=')),
      /expires=/,
    )
    assert.deepEqual({ ...proxy.counts }, { GetItem: 1, PutItem: 1 })
    const item = await stored(key)
    assert.equal(item.sess._maxAge, 5000)
    assert.equal(item.sess.user, 'ada', 'the whole session is written, though `changed` is false')
    assert.equal(item.expires, Math.ceil((clock.now() + 15_000) / 1000))
    // koa-session: "ctx.session.maxAge= > should set sessionOptions.maxAge": read back.
    assert.equal((await b('/read-max-age')).text, '5000')
    assert.deepEqual(app.errors, [])
  })
  // koa-session: "ctx.session.maxAge > should return opt.maxAge".
  await withApp({}, { maxAge: 100_000 }, async (b) => {
    assert.equal((await b('/read-max-age')).text, '100000')
  })
  // koa-session: "ctx.session.maxAge= > should save when create session only with maxAge".
  await withApp({ clock }, {}, async (b) => {
    const res = await b('/max-age?ms=100000')
    assert.match(
      res.setCookies.find((c) => c.startsWith('koa.sess=')),
      /expires=/,
    )
    const item = await stored(b.key())
    assert.deepEqual(Object.keys(item.sess).sort(), ['_expire', '_maxAge'])
    assert.equal(item.expires, Math.ceil((clock.now() + 110_000) / 1000))
  })
})

test("maxAge 'session': a browser-session cookie, stored with the store's default lifetime", async () => {
  const clock = new ManualClock(Date.now())
  // koa-session: "when maxAge present > and set to be a session cookie > should not expire the session".
  await withApp({ clock, ttl: 3600 }, { maxAge: 'session' }, async (b, _store, app) => {
    const res = await b('/login')
    const cookie = res.setCookies.find((c) => c.startsWith('koa.sess='))
    assert.doesNotMatch(cookie, /expires=/i)
    const item = await stored(b.key())
    assert.deepEqual(item.sess, { user: 'ada', visits: 0, _session: true })
    assert.equal(item.expires, Math.ceil((clock.now() + 3600_000) / 1000), 'the ttl option')
    assert.equal((await b('/read-max-age')).text, 'session')
    assert.equal((await b('/visit')).text, 'ada:1')
    assert.deepEqual(app.errors, [])
  })
  // Without `ttl`: the core's default lifetime, one day; `ttl` as a function of the session.
  await withApp({ clock }, {}, async (b) => {
    await b('/max-age?ms=session')
    assert.equal((await stored(b.key())).expires, Math.ceil((clock.now() + 86400_000) / 1000))
  })
  await withApp({ clock, ttl: (sess) => (sess._session ? 60 : 120) }, { maxAge: 'session' }, async (b) => {
    await b('/login')
    assert.equal((await stored(b.key())).expires, Math.ceil((clock.now() + 60_000) / 1000))
  })
})

test('regenerate(): a new key written whole, the old one destroyed, the user still logged in', async () => {
  await withApp({}, {}, async (b, store, app) => {
    await b('/login?user=grace')
    await b('/visit')
    const old = b.key()
    // koa-session: "ctx.session.regenerate > should change the session key, but not content".
    const res = await b('/regenerate')
    assert.equal(res.text, 'grace:1')
    const key = b.key()
    assert.notEqual(key, old)
    assert.equal(await store.get(old), null, 'the old key is destroyed')
    const item = await stored(key)
    assert.equal(item.sess.user, 'grace')
    assert.equal(item.sess.visits, 1)
    assert.equal((await b('/visit')).text, 'grace:2')
    assert.equal((await b('/peek', { cookie: `koa.sess=${old}` })).text, 'anonymous')
    assert.deepEqual(app.errors, [])
  })
})

test('ctx.session = null destroys the session; for a key never stored too', async () => {
  await withApp({}, {}, async (b, store, app, proxy) => {
    // koa-session destroys the fresh key of a request without a cookie: no error, and no
    // request (a tombstone for a key never stored would cost a write for anyone who asks).
    let res = await b('/logout')
    assert.equal(res.status, 200)
    assert.equal(res.text, 'bye')
    assert.deepEqual({ ...proxy.counts }, {})

    await b('/login')
    const key = b.key()
    // koa-session: "when session is > null > should expire the session".
    res = await b('/logout')
    assert.ok(res.setCookies.some((c) => /^koa\.sess=;.*expires=Thu, 01 Jan 1970/i.test(c)))
    assert.equal(await store.get(key), null)
    assert.equal((await b('/peek')).text, 'anonymous')
    assert.deepEqual(app.errors, [])
  })
})

test('unknown and expired keys start a new session; nothing throws for "not found"', async () => {
  const clock = new ManualClock(Date.now())
  await withApp({ clock }, { signed: false }, async (b, store, app) => {
    // koa-session: "when store return empty > should create new Session".
    let res = await b('/session', { cookie: 'koa.sess=invalid-key' })
    assert.equal(res.status, 200)
    assert.equal(JSON.parse(res.text).isNew, true)
    assert.deepEqual(res.setCookies, [])
    // A key too long to be one (unsigned cookies let the client choose it): a new session, not
    // an error.
    res = await b('/session', { cookie: `koa.sess=${'k'.repeat(3000)}` })
    assert.equal(res.status, 200)
    assert.equal(JSON.parse(res.text).isNew, true)

    // Expired on the store's clock: the item outlives koa-session's maxAge by 10 s, then is gone.
    await b('/login')
    const key = b.key()
    clock.advance(86400_000 + 10_000 + 1000)
    assert.equal(await store.get(key, undefined, {}), null)
    res = await b('/session')
    assert.equal(JSON.parse(res.text).isNew, true)
    assert.equal((await b('/peek')).text, 'anonymous')

    // Expired for koa-session (its `_expire` past) while the store still holds it: koa-session
    // reads `_expire` as given back, and drops the session. koa-session: "when maxAge present >
    // and expired > should expire the sess".
    clock.set(Date.now())
    await store.set('expired-key', { user: 'ada', _expire: Date.now() - 1, _maxAge: 100 }, 10_100)
    assert.equal((await store.get('expired-key'))._expire < Date.now(), true)
    assert.equal((await b('/peek', { cookie: 'koa.sess=expired-key' })).text, 'anonymous')
    assert.deepEqual(app.errors, [])
  })
  const store = koaStore({ initialized: true })
  assert.equal(await store.get('never-stored', 1000, { rolling: false }), null)
  await store.destroy('never-stored', {})
  store.close()
})

test('merge: the version a request loaded travels on ctx to its set, so concurrent changes are kept', async () => {
  await withApp({ merge: 'mine' }, {}, async (b, _store, app, proxy) => {
    await b('/login')
    const key = b.key()
    let arrived
    const reached = new Promise((resolve) => {
      arrived = resolve
    })
    let release
    gates.arrived = arrived
    gates.released = new Promise((resolve) => {
      release = resolve
    })
    // A loads the session and waits; B loads, changes and saves; A then saves its own change.
    const slow = b('/slow?key=a&value=1')
    await reached
    assert.equal(JSON.parse((await b('/set?key=b&value=2')).text).b, '2')
    proxy.reset()
    release()
    assert.equal((await slow).text, 'slow done')
    const { sess } = await stored(key)
    assert.equal(sess.a, '1')
    assert.equal(sess.b, '2', "B's change survives A's later save")
    assert.ok(proxy.counts.PutItem >= 2, 'the refused write and the merged one')
    assert.deepEqual(app.errors, [])
  })
})

test('set stores exactly what it is given; get gives it back', async () => {
  const clock = new ManualClock(Date.now())
  const store = koaStore({ initialized: true, clock })
  try {
    const sess = { user: 'ada', nested: { list: [1, 'two', null], yes: true }, _expire: 5, _maxAge: 5000 }
    await store.set('exact', sess, 15_000, { rolling: false, changed: false, ctx: {} })
    assert.deepEqual(await store.get('exact', 5000, { rolling: false, ctx: {} }), sess)
    assert.equal((await stored('exact')).expires, Math.ceil((clock.now() + 15_000) / 1000))
    await store.set('exact', { _session: true }, 'session', { rolling: false, changed: true })
    assert.deepEqual(await store.get('exact'), { _session: true })
    await store.set('exact', { a: 1 }, undefined)
    assert.equal((await stored('exact')).expires, Math.ceil((clock.now() + 86400_000) / 1000))
    await store.destroy('exact')
    assert.equal(await store.get('exact'), null)
  } finally {
    store.close()
  }
})

test('store errors reject with SessionStoreError, without the key; koa answers 500', async () => {
  const store = koaStore({ initialized: true })
  try {
    await assert.rejects(
      store.set('k', {}, '1d'),
      (err) => err instanceof SessionStoreError && err.code === 'INVALID_ARGUMENT',
    )
    await assert.rejects(
      store.set('k', { big: 1n }, 1000),
      (err) => err instanceof SessionStoreError && err.code === 'SERIALIZATION',
    )
    // A key that cannot be one (empty, too long: a client's cookie) is no session for `get`.
    assert.equal(await store.get(''), null)
    await assert.rejects(
      store.set('', {}, 1000),
      (err) => err instanceof SessionStoreError && err.code === 'INVALID_ARGUMENT',
    )
    await assert.rejects(
      store.set('k', {}, Number.NaN),
      (err) => err instanceof SessionStoreError && err.code === 'INVALID_ARGUMENT',
    )
  } finally {
    store.close()
  }

  const port = await h.closedPort()
  const down = koaStore({
    initialized: true,
    endpoint: `http://127.0.0.1:${port}`,
    maxAttempts: 1,
    connectTimeout: 500,
    operationTimeout: 2000,
  })
  const app = koaApp(down, { signed: false })
  const server = await listen(app)
  try {
    const secret = 'a-secret-session-key'
    await assert.rejects(down.get(secret, undefined, {}), (err) => {
      assert.ok(err instanceof SessionStoreError)
      assert.ok(['TRANSPORT', 'TIMEOUT'].includes(err.code), err.code)
      assert.equal(err.retryable, true)
      assert.ok(!err.message.includes(secret))
      return true
    })
    const res = await browser(server)('/peek', { cookie: `koa.sess=${secret}` })
    assert.equal(res.status, 500)
    assert.equal(app.errors.length, 1)
    assert.ok(app.errors[0] instanceof SessionStoreError)
    assert.ok(!app.errors[0].message.includes(secret))
  } finally {
    server.close()
    down.close()
  }
})

test('koa-session: new sessions, saved sessions and session assignment (store.test.ts)', async () => {
  await withApp({}, {}, async (b, store, app, proxy) => {
    // "new session > when not accessed | when accessed and not populated > should not Set-Cookie".
    assert.deepEqual((await b('/nothing')).setCookies, [])
    assert.deepEqual((await b('/session')).setCookies, [])
    assert.deepEqual({ ...proxy.counts }, {}, 'no cookie: no store call')
    // "when populated > should Set-Cookie"; "when the session contains a ; > should still work".
    let res = await b(`/set?key=message&value=${encodeURIComponent('a;b')}`)
    assert.equal(res.setCookies.length, 2)
    const key = b.key()
    assert.equal((await stored(key)).sess.message, 'a;b')
    assert.equal(JSON.parse((await b('/session')).text).json.message, 'a;b')

    // "saved session > when not accessed > should not Set-Cookie": one GetItem all the same.
    proxy.reset()
    assert.deepEqual((await b('/nothing')).setCookies, [])
    assert.deepEqual({ ...proxy.counts }, { GetItem: 1 })
    // "when accessed but not changed > should be the same session" and "should not Set-Cookie".
    res = await b('/session')
    assert.deepEqual(res.setCookies, [])
    const view = JSON.parse(res.text)
    // "session > .inspect() | .length | .populated".
    assert.deepEqual(view.json, { message: 'a;b' })
    assert.equal(view.length, 1)
    assert.equal(view.populated, true)
    assert.equal(view.isNew, false)
    assert.match(view.inspect, /message: 'a;b'/)
    // "when accessed and changed > should Set-Cookie".
    res = await b('/set?key=message&value=hello')
    assert.equal(res.setCookies.length, 2)
    assert.equal(b.key(), key, 'same key')
    assert.equal((await stored(key)).sess.message, 'hello')

    // "when session is > an empty object > should not Set-Cookie" (a new session).
    assert.deepEqual((await b('/replace?with={}', { cookie: '' })).setCookies, [])
    // "an object > should create a session".
    res = await b(`/replace?with=${encodeURIComponent('{"message":"hi"}')}`, { cookie: '' })
    const created = keyOf(res)
    assert.equal((await store.get(created)).message, 'hi')
    // "anything else > should throw".
    assert.equal((await b('/replace?with=42')).status, 500)
    app.errors.length = 0

    // "session > .save() > should save session".
    res = await b('/save')
    assert.equal(res.setCookies.length, 2)
    assert.equal((await stored(key)).sess.saved, 'yes')

    // "when an error is thrown downstream and caught upstream > should still save the session".
    res = await b('/throw')
    assert.equal(res.text, 'caught')
    assert.equal((await stored(key)).sess.message, 'hi')
    assert.deepEqual(app.errors, [])
  })
})

test('koa-session: valid and beforeSave; a koa-session prefix stays in the key (store.test.ts)', async () => {
  // "when valid and beforeSave set > should ignore session when uid changed".
  const sessionOptions = {
    valid: (ctx, sess) => ctx.cookies.get('uid', { signed: false }) === sess.uid,
    beforeSave: (ctx, sess) => {
      sess.uid = ctx.cookies.get('uid', { signed: false })
    },
  }
  await withApp({}, sessionOptions, async (b) => {
    const res = await b('/set?key=foo&value=bar', { cookie: 'uid=123' })
    const cookie = res.setCookies.map((c) => c.split(';')[0]).join('; ')
    const key = keyOf(res)
    assert.equal((await stored(key)).sess.uid, '123')
    assert.equal(JSON.parse((await b('/session', { cookie: `${cookie}; uid=123` })).text).json.foo, 'bar')
    assert.equal(JSON.parse((await b('/session', { cookie: `${cookie}; uid=456` })).text).isNew, true)
  })
  // "when prefix present > should still work": the key comes prefixed; the store adds its own.
  await withApp({ prefix: 'koa:' }, { prefix: 'sess-' }, async (b) => {
    await b('/login')
    const key = b.key()
    assert.match(key, /^sess-[0-9a-f-]{36}$/)
    assert.equal((await stored(key, 'koa:')).sess.user, 'ada')
    assert.equal((await b('/peek')).text, 'ada:0')
  })
})

test("koa.d.ts compiles without express-session's types (skipLibCheck false), and still types the store", () => {
  const fs = require('node:fs')
  const os = require('node:os')
  const path = require('node:path')
  const { execFileSync } = require('node:child_process')
  const root = path.join(__dirname, '..')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'connect-dynamodb-koa-types-'))
  try {
    // The package's types where neither express-session nor its types can be found.
    const pkg = path.join(dir, 'node_modules', 'connect-dynamodb')
    fs.mkdirSync(path.join(dir, 'node_modules', '@types'), { recursive: true })
    fs.mkdirSync(pkg)
    for (const file of ['package.json', 'index.d.ts', 'native.d.ts', 'testing.d.ts', 'koa.d.ts']) {
      fs.copyFileSync(path.join(root, file), path.join(pkg, file))
    }
    for (const link of ['@types/node', 'koa-session', 'zod']) {
      fs.symlinkSync(path.join(root, 'node_modules', link), path.join(dir, 'node_modules', link), 'dir')
    }
    assert.throws(() => require.resolve('express-session', { paths: [dir] }), { code: 'MODULE_NOT_FOUND' })
    fs.writeFileSync(
      path.join(dir, 'use.ts'),
      [
        "import { DynamoDBStore } from 'connect-dynamodb/koa'",
        "import session from 'koa-session'",
        "const store = new DynamoDBStore({ table: 'sessions', ttl: (s) => (s._session ? 3600 : 86400) })",
        'session({ store }, {})',
        "// @ts-expect-error: the express store's options stay typed",
        'new DynamoDBStore({ table: 42 })',
        "// @ts-expect-error: maxAge is milliseconds or 'session'",
        "void store.set('key', {}, '1d')",
        '',
      ].join('\n'),
    )
    const compilerOptions = {
      strict: true,
      noEmit: true,
      module: 'node16',
      target: 'es2022',
      esModuleInterop: true,
      skipLibCheck: false,
      types: ['node'],
    }
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['use.ts'] }))
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
    try {
      execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8', stdio: 'pipe' })
    } catch (err) {
      assert.fail(`tsc failed:\n${err.stdout}${err.stderr}`)
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
