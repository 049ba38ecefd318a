'use strict'
// Real apps: express 4 and 5 with express-session, connect with express-session, and
// fastify with @fastify/session, each on the store and DynamoDB Local.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const session = require('express-session')
const h = require('./helpers')

/** A browser-like client: keeps the cookie between requests. */
function client(base) {
  let cookie = ''
  return async (path, init = {}) => {
    const res = await fetch(base + path, { ...init, headers: { ...(init.headers || {}), cookie }, redirect: 'manual' })
    const set = res.headers.get('set-cookie')
    if (set) cookie = set.split(';')[0]
    return { status: res.status, text: await res.text(), cookie }
  }
}

function listen(server) {
  return new Promise((resolve) => {
    const s = server.listen(0, '127.0.0.1', () => resolve(s))
  })
}

/** The same small app on express 4, express 5 or connect. */
function sessionApp(kind, store) {
  const middleware = session({ store, secret: 'test secret', resave: false, saveUninitialized: false })
  const handler = (req, res) => {
    const url = new URL(req.url, 'http://x')
    if (url.pathname === '/login') {
      req.session.user = url.searchParams.get('user')
      req.session.visits = 0
      return res.end('logged in')
    }
    if (url.pathname === '/visit') {
      if (!req.session.user) return res.end('anonymous')
      req.session.visits += 1
      return res.end(`${req.session.user}:${req.session.visits}`)
    }
    if (url.pathname === '/peek')
      return res.end(req.session.user ? `${req.session.user}:${req.session.visits}` : 'anonymous')
    if (url.pathname === '/logout') return req.session.destroy(() => res.end('bye'))
    res.statusCode = 404
    res.end()
  }
  if (kind === 'connect') {
    const app = require('connect')()
    app.use(middleware)
    app.use(handler)
    return require('node:http').createServer(app)
  }
  const express = kind === 'express4' ? require('express4') : require('express')
  const app = express()
  app.use(middleware)
  app.use(handler)
  return require('node:http').createServer(app)
}

for (const kind of ['express4', 'express5', 'connect']) {
  test(`${kind} with express-session: login, visits, read-only views, logout`, async () => {
    const table = h.uniqueTable(kind)
    const proxy = await h.countingProxy()
    const store = h.localStore(table, { endpoint: proxy.url })
    const server = await listen(sessionApp(kind, store))
    try {
      const browser = client(`http://127.0.0.1:${server.address().port}`)
      assert.equal((await browser('/visit')).text, 'anonymous')
      assert.equal((await browser('/login?user=ada')).text, 'logged in')
      assert.equal((await browser('/visit')).text, 'ada:1')
      assert.equal((await browser('/visit')).text, 'ada:2')
      const [key] = await h.rawKeys(table)
      assert.match(key, /^sess:/)

      // Read-only page views cost one GetItem each: touch is throttled.
      proxy.reset()
      for (let i = 0; i < 5; i++) assert.equal((await browser('/peek')).text, 'ada:2')
      assert.deepEqual({ ...proxy.counts }, { GetItem: 5 })

      assert.equal((await browser('/logout')).text, 'bye')
      assert.equal((await h.rawGet(table, key)).sess.S, 'null', 'the session is ended: a tombstone')
      assert.equal((await browser('/visit')).text, 'anonymous')
    } finally {
      server.close()
      await proxy.close()
    }
  })
}

test('fastify with @fastify/session', async () => {
  const Fastify = require('fastify')
  const table = h.uniqueTable('fastify')
  const store = h.localStore(table)
  const app = Fastify()
  app.register(require('@fastify/cookie'))
  app.register(require('@fastify/session'), {
    store,
    secret: 'a secret with at least thirty two characters',
    cookie: { secure: false, maxAge: 3600_000 },
    saveUninitialized: false,
  })
  app.get('/login', async (req) => {
    req.session.set('user', 'grace')
    return 'logged in'
  })
  app.get('/whoami', async (req) => req.session.get('user') ?? 'anonymous')
  app.get('/logout', async (req) => {
    await req.session.destroy()
    return 'bye'
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  try {
    const browser = client(`http://127.0.0.1:${app.server.address().port}`)
    assert.equal((await browser('/login')).text, 'logged in')
    assert.equal((await browser('/whoami')).text, 'grace')
    const keys = await h.rawKeys(table)
    assert.equal(keys.length, 1)
    assert.equal((await browser('/logout')).text, 'bye')
    assert.equal((await h.rawGet(table, keys[0])).sess.S, 'null', 'the session is ended: a tombstone')
    assert.equal(await store.length(), 0)
    assert.equal((await browser('/whoami')).text, 'anonymous')
  } finally {
    await app.close()
  }
})

test("fastify with @fastify/session, merge 'mine': the load token cannot reach the save, so saves replace; the last state is stored", async () => {
  // @fastify/session builds `request.session` by copying the enumerable keys of what `get`
  // returned (no hook like express-session's `createSession`): the version loaded is not
  // carried, and a save is one of a session the request did not load. It replaces what is
  // stored (no merge: concurrent requests can lose updates, as with merge off), which costs a
  // second PutItem when the session exists. A second save of the same request carries the
  // version of its first (the store puts it on the session object `set` was given).
  const Fastify = require('fastify')
  const table = h.uniqueTable('fastify-merge')
  const proxy = await h.countingProxy()
  const store = h.localStore(table, { endpoint: proxy.url, merge: 'mine' })
  const app = Fastify()
  app.register(require('@fastify/cookie'))
  app.register(require('@fastify/session'), {
    store,
    secret: 'a secret with at least thirty two characters',
    cookie: { secure: false, maxAge: HOUR },
    saveUninitialized: false,
  })
  app.get('/start', async (req) => {
    req.session.set('cart', [])
    return 'started'
  })
  app.get('/login', async (req) => {
    req.session.set('user', 'grace')
    return 'logged in'
  })
  app.get('/add', async (req) => {
    req.session.set('cart', [...req.session.get('cart'), 'book'])
    return 'added'
  })
  app.get('/empty', async (req) => {
    req.session.set('cart', [])
    return 'emptied'
  })
  app.get('/logout', async (req) => {
    delete req.session.user
    return 'logged out'
  })
  app.get('/flash-once', async (req) => {
    req.session.set('flash', 'welcome')
    await req.session.save()
    delete req.session.flash
    delete req.session.user
    return 'shown'
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  try {
    const browser = client(`http://127.0.0.1:${app.server.address().port}`)
    const stored = async () => {
      const [key] = await h.rawKeys(table)
      const { cookie, ...rest } = JSON.parse((await h.rawGet(table, key)).sess.S)
      return rest
    }
    const steps = [
      ['/start', { cart: [] }],
      ['/login', { cart: [], user: 'grace' }],
      ['/add', { cart: ['book'], user: 'grace' }],
      ['/empty', { cart: [], user: 'grace' }],
      ['/logout', { cart: [] }],
      ['/login', { cart: [], user: 'grace' }],
    ]
    for (const [path, expected] of steps) {
      const answer = await browser(path)
      assert.equal(answer.status, 200, `${path}: ${answer.text}`)
      assert.deepEqual(await stored(), expected, `stored after ${path}`)
    }
    // No token: each save replaces what is stored, expecting the newest version this process
    // knows of (it read or wrote it), so each is one PutItem.
    assert.equal(proxy.counts.PutItem, steps.length)
    proxy.reset()
    assert.equal((await browser('/flash-once')).status, 200)
    assert.deepEqual(await stored(), { cart: [] })
    assert.equal(proxy.counts.PutItem, 2, 'the second save carries the version of the first')
  } finally {
    await app.close()
    await proxy.close()
  }
})

const HOUR = 3600_000

/** The session id in a browser's `connect.sid` cookie (`s:<id>.<signature>`). */
function sidOf(cookie) {
  return decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1))
    .slice(2)
    .split('.')[0]
}

/** A promise with its resolve function outside. */
function deferred() {
  let resolve
  const promise = new Promise((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** Records the errors express hands to its error handlers (a store error reaches `next`). */
function errorRecorder(app) {
  const codes = []
  app.use((err, _req, res, next) => {
    codes.push(err.code ?? String(err))
    if (res.headersSent) return next(err)
    res.status(500).end(err.code)
  })
  return codes
}

for (const tombstoneLifetime of [undefined, 0]) {
  const on = tombstoneLifetime === undefined
  test(`express: a slow request saving after the logout ${on ? 'does not log the user in again (tombstones, the default)' : 'logs the user in again (tombstoneLifetime: 0, as 3.x)'}`, async () => {
    const express = require('express')
    const store = h.localStore(h.uniqueTable('late-save'), { tombstoneLifetime })
    const app = express()
    app.use(session({ store, secret: 'test secret', resave: false, saveUninitialized: false }))
    const slowLoaded = deferred()
    const slowMayFinish = deferred()
    app.get('/login', (req, res, next) =>
      req.session.regenerate((err) => {
        if (err) return next(err)
        req.session.user = 'ada'
        res.end('logged in')
      }),
    )
    app.get('/slow', async (req, res) => {
      slowLoaded.resolve()
      await slowMayFinish.promise
      req.session.cart = ['book']
      res.end('added')
    })
    app.get('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.end('bye'))))
    app.get('/whoami', (req, res) => res.end(req.session.user ?? 'anonymous'))
    const errors = errorRecorder(app)
    const server = await listen(require('node:http').createServer(app))
    try {
      const browser = client(`http://127.0.0.1:${server.address().port}`)
      assert.equal((await browser('/login')).text, 'logged in')
      // The slow request loads the session, then the user logs out in another tab.
      const slow = browser('/slow')
      await slowLoaded.promise
      assert.equal((await browser('/logout')).text, 'bye')
      slowMayFinish.resolve()
      const late = await slow
      assert.equal(late.status, 200)
      assert.equal(late.text, 'added')
      assert.deepEqual(errors, [], 'the refused save is a quiet success for express-session')
      assert.equal((await browser('/whoami')).text, on ? 'anonymous' : 'ada')
    } finally {
      server.close()
    }
  })
}

/**
 * An express app whose `/set?key=k&value=v` sets one key of the session. Every `rounds` requests
 * wait for each other after loading the session, before changing it (a promise barrier), so
 * that all of them load before any saves: the race of concurrent requests, every time.
 */
function concurrentApp(store, perRound, { cookieOf } = {}) {
  const express = require('express')
  const app = express()
  app.use(session({ store, secret: 'test secret', resave: false, saveUninitialized: false, cookie: { maxAge: HOUR } }))
  let arrived = 0
  let barrier = deferred()
  app.get('/login', (req, res) => {
    req.session.user = 'ada'
    res.end('logged in')
  })
  app.get('/set', async (req, res) => {
    const round = barrier
    arrived += 1
    if (arrived === perRound) {
      arrived = 0
      barrier = deferred()
      round.resolve()
    }
    await round.promise
    const url = new URL(req.url, 'http://x')
    const key = url.searchParams.get('key')
    req.session[key] = url.searchParams.get('value')
    if (cookieOf) req.session.cookie.maxAge = cookieOf(key)
    // An explicit save, so a failed one answers 409 with the error's code.
    req.session.save((err) => (err ? res.status(409).end(err.code) : res.end('saved')))
  })
  app.get('/read', (req, res) => res.json(req.session))
  const errors = errorRecorder(app)
  return { server: require('node:http').createServer(app), errors }
}

/**
 * Runs `rounds` rounds of `perRound` concurrent requests of one browser, each setting its own
 * key to the round number; returns how many of those changes the session lost, the statuses
 * and what DynamoDB was asked.
 */
async function raceRounds(options, { rounds, perRound, cookieOf }) {
  const table = h.uniqueTable('merge')
  const proxy = await h.countingProxy()
  const store = h.localStore(table, { endpoint: proxy.url, ...options })
  const { server, errors } = concurrentApp(store, perRound, { cookieOf })
  await listen(server)
  try {
    const browser = client(`http://127.0.0.1:${server.address().port}`)
    assert.equal((await browser('/login')).text, 'logged in')
    const keys = Array.from({ length: perRound }, (_, i) => `k${i}`)
    let lost = 0
    const statuses = []
    proxy.reset()
    for (let round = 1; round <= rounds; round++) {
      const answers = await Promise.all(keys.map((key) => browser(`/set?key=${key}&value=${round}`)))
      statuses.push(...answers.map((a) => a.status))
      const saved = JSON.parse((await browser('/read')).text)
      assert.equal(saved.user, 'ada', 'the login survives every round')
      lost += keys.filter((key) => saved[key] !== String(round)).length
    }
    return { lost, statuses, errors, counts: { ...proxy.counts } }
  } finally {
    server.close()
    await proxy.close()
  }
}

test('express: concurrent requests changing different keys of one session lose updates with merge off, none with merge', async (t) => {
  const rounds = 20
  // Each of n concurrent saves meets at most n - 1 others: within the core's attempts of a save
  // (MAX_SAVE_ATTEMPTS, 10).
  const perRound = 8
  const off = await raceRounds({}, { rounds, perRound })
  // All load before any saves, so the last save of a round overwrites the other four.
  assert.equal(off.lost, rounds * (perRound - 1), 'every save but the last of a round is lost')
  assert.ok(off.statuses.every((s) => s === 200))

  const mine = await raceRounds({ merge: 'mine' }, { rounds, perRound })
  assert.equal(mine.lost, 0, 'no update lost')
  assert.ok(mine.statuses.every((s) => s === 200))
  assert.deepEqual(mine.errors, [])
  // Per round: one GetItem per request and one for /read, one PutItem per save; a conflict
  // costs one PutItem more (the refused write returns the item it met: no read).
  const conflicts = mine.counts.PutItem - rounds * perRound
  assert.ok(conflicts > 0, 'the saves did meet each other')
  assert.equal(mine.counts.GetItem, rounds * (perRound + 1))
  assert.deepEqual(Object.keys(mine.counts).sort(), ['GetItem', 'PutItem'])
  t.diagnostic(
    `merge off: ${off.lost} of ${rounds * perRound} updates lost; merge 'mine': ${mine.lost} lost, ` +
      `${JSON.stringify(mine.counts)} for ${rounds * perRound} saves (${conflicts} conflicts resolved)`,
  )
})

test("express: merge 'error' merges different keys, cookie included, and gives CONFLICT for a key both changed", async () => {
  // Every request sets its own cookie lifetime, so each save surely changes `cookie`, as it
  // does whenever two requests are a millisecond apart: `cookie` is never a conflict.
  const cookieOf = (key) => HOUR + Number(key.slice(1)) * 1000
  const different = await raceRounds({ merge: 'error' }, { rounds: 5, perRound: 4, cookieOf })
  assert.equal(different.lost, 0)
  assert.ok(
    different.statuses.every((s) => s === 200),
    `statuses ${different.statuses}`,
  )
  assert.deepEqual(different.errors, [])

  // Two requests set the same key to different values: one saves, the other gets CONFLICT
  // (err.code through express-session's save callback), and the first one's value stays.
  const store = h.localStore(h.uniqueTable('merge-error'), { merge: 'error' })
  const { server } = concurrentApp(store, 2)
  await listen(server)
  try {
    const browser = client(`http://127.0.0.1:${server.address().port}`)
    await browser('/login')
    const answers = await Promise.all(['a', 'b'].map((value) => browser(`/set?key=flash&value=${value}`)))
    const statuses = answers.map((a) => a.status).sort()
    assert.deepEqual(statuses, [200, 409])
    const refused = answers.find((a) => a.status === 409)
    assert.equal(refused.text, 'CONFLICT')
    const kept = answers.findIndex((a) => a.status === 200)
    assert.equal(JSON.parse((await browser('/read')).text).flash, ['a', 'b'][kept])
  } finally {
    server.close()
  }
})

/**
 * An express (or connect) app whose requests change the session one after another, as a user's
 * clicks do: each route changes it once; `/flash-once` saves, then changes it again before it
 * ends. Records the error codes that reach the error handler.
 */
function sequentialApp(kind, store) {
  const routes = {
    '/start': (req, res) => {
      req.session.cart = []
      res.end('started')
    },
    '/login': (req, res) => {
      req.session.user = 'ada'
      res.end('logged in')
    },
    '/add': (req, res) => {
      req.session.cart.push('book')
      res.end('added')
    },
    '/empty': (req, res) => {
      req.session.cart = []
      res.end('emptied')
    },
    '/logout': (req, res) => {
      delete req.session.user
      res.end('logged out')
    },
    '/flash-once': (req, res, next) => {
      req.session.flash = 'welcome'
      req.session.save((err) => {
        if (err) return next(err)
        // After its own save: shown once, and the user logs out in the same request.
        delete req.session.flash
        delete req.session.user
        res.end('shown')
      })
    },
    '/read': (req, res) => res.end(JSON.stringify(req.session)),
  }
  const app = kind === 'connect' ? require('connect')() : require('express')()
  app.use(session({ store, secret: 'test secret', resave: false, saveUninitialized: false, cookie: { maxAge: HOUR } }))
  app.use((req, res, next) => {
    const route = routes[new URL(req.url, 'http://x').pathname]
    if (!route) return next()
    route(req, res, next)
  })
  const errors = []
  app.use((err, _req, res, next) => {
    errors.push(err.code ?? String(err))
    if (res.headersSent) return next(err)
    res.statusCode = 500
    res.end(err.code)
  })
  return { server: require('node:http').createServer(app), errors }
}

/** The keys express-session's cookie may be stored with. */
const COOKIE_KEYS = Object.keys(new (require('express-session/session/cookie'))().toJSON())

/**
 * The one session stored in `table` as its JSON holds it, without its cookie; fails when the
 * stored JSON holds anything but the session's own keys (the load token above all).
 */
async function storedSession(table) {
  const keys = await h.rawKeys(table)
  assert.equal(keys.length, 1)
  const { cookie, ...rest } = JSON.parse((await h.rawGet(table, keys[0])).sess.S)
  for (const key of Object.keys(cookie)) assert.ok(COOKIE_KEYS.includes(key), `cookie key ${key}`)
  return rest
}

async function sequentialFixture(kind, merge) {
  const table = h.uniqueTable('sequential')
  const proxy = await h.countingProxy()
  const store = h.localStore(table, { endpoint: proxy.url, merge })
  const { server, errors } = sequentialApp(kind, store)
  await listen(server)
  const browser = client(`http://127.0.0.1:${server.address().port}`)
  const close = async () => {
    server.close()
    await proxy.close()
  }
  return { table, proxy, browser, errors, close }
}

for (const [kind, merge] of [
  ['express', 'mine'],
  ['express', 'error'],
  ['connect', 'mine'],
  ['connect', 'error'],
]) {
  test(`${kind}, merge '${merge}': sequential requests keep what each removed (cart emptied, user logged out)`, async () => {
    const { table, proxy, browser, errors, close } = await sequentialFixture(kind, merge)
    try {
      // Each step but the first goes back to what an earlier one stored in the key it changes:
      // a save that merged from an earlier load than its own would keep the removed value.
      const steps = [
        ['/start', { cart: [] }],
        ['/login', { cart: [], user: 'ada' }],
        ['/add', { cart: ['book'], user: 'ada' }],
        ['/empty', { cart: [], user: 'ada' }],
        ['/logout', { cart: [] }],
      ]
      for (const [path, expected] of steps) {
        const answer = await browser(path)
        assert.equal(answer.status, 200, `${path}: ${answer.text}`)
        assert.deepEqual(await storedSession(table), expected, `stored after ${path}`)
        const read = JSON.parse((await browser('/read')).text)
        delete read.cookie
        assert.deepEqual(read, expected, `served after ${path}`)
      }
      // One PutItem a save: each is conditional on the version its request loaded, carried
      // from get to set. A save without it (as a new session's) would meet the stored version
      // and cost a second PutItem.
      assert.equal(proxy.counts.PutItem, steps.length)
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })

  test(`${kind}, merge '${merge}': a request that saves, then changes the session again, stores its last state`, async () => {
    const { table, proxy, browser, errors, close } = await sequentialFixture(kind, merge)
    try {
      await browser('/start')
      await browser('/login')
      assert.deepEqual(await storedSession(table), { cart: [], user: 'ada' })
      proxy.reset()
      const answer = await browser('/flash-once')
      assert.equal(answer.status, 200, answer.text)
      // `flash` is back to what the request loaded: a second save merging against that load
      // instead of its own first save would keep the first save's `flash`.
      assert.deepEqual(await storedSession(table), { cart: [] })
      assert.equal((await browser('/read')).text.includes('welcome'), false)
      assert.deepEqual(proxy.counts.PutItem, 2, 'two saves, neither refused')
      assert.deepEqual(errors, [], 'no CONFLICT')
    } finally {
      await close()
    }
  })
}

/**
 * An express app where users log in (`req.session.userId`, or passport's `req.login`, which
 * keeps `req.session.passport.user`), list their devices and log out everywhere else.
 */
function accountApp(store, { passport }) {
  const express = require('express')
  const app = express()
  app.use(session({ store, secret: 'test secret', resave: false, saveUninitialized: false, cookie: { maxAge: HOUR } }))
  let userOf
  if (passport) {
    const { Passport } = require('passport')
    const auth = new Passport()
    auth.serializeUser((user, done) => done(null, user.id))
    auth.deserializeUser((id, done) => done(null, { id }))
    app.use(auth.initialize())
    app.use(auth.session())
    // passport 0.6+ regenerates the session on login.
    app.get('/login', (req, res, next) =>
      req.login({ id: Number(new URL(req.url, 'http://x').searchParams.get('user')) }, (err) =>
        err ? next(err) : res.end('logged in'),
      ),
    )
    userOf = (req) => req.user?.id
  } else {
    app.get('/login', (req, res, next) =>
      req.session.regenerate((err) => {
        if (err) return next(err)
        req.session.userId = new URL(req.url, 'http://x').searchParams.get('user')
        res.end('logged in')
      }),
    )
    userOf = (req) => req.session.userId
  }
  app.get('/whoami', (req, res) => res.end(String(userOf(req) ?? 'anonymous')))
  app.get('/devices', async (req, res) => {
    const sessions = await store.userSessions(userOf(req))
    res.json(sessions.map((s) => ({ current: s.id === req.sessionID, expires: s.expires, created: s.created })))
  })
  app.post('/logout-everywhere-else', async (req, res) => {
    res.json({ ended: await store.endUserSessions(userOf(req), { except: req.sessionID }) })
  })
  const errors = errorRecorder(app)
  return { server: require('node:http').createServer(app), errors }
}

for (const variant of [
  { name: 'req.session.userId', userField: 'userId', passport: false, user: 'ada', other: 'bob' },
  { name: "passport's req.session.passport.user", userField: 'passport.user', passport: true, user: 42, other: 7 },
]) {
  test(`express: a user's sessions listed and ended but the current one, through ${variant.name}`, async () => {
    const table = h.uniqueTable('devices')
    const store = h.localStore(table, {
      userField: variant.userField,
      createTable: { billingMode: 'PAY_PER_REQUEST' },
    })
    const { server, errors } = accountApp(store, variant)
    await listen(server)
    try {
      const base = `http://127.0.0.1:${server.address().port}`
      const [phone, laptop, tablet, someoneElse] = [client(base), client(base), client(base), client(base)]
      const startedMs = Date.now()
      assert.equal((await phone(`/login?user=${variant.user}`)).text, 'logged in')
      const firstPhoneSid = sidOf((await phone('/whoami')).cookie)
      // Logging in again regenerates the session: the old one is ended, not listed.
      await phone(`/login?user=${variant.user}`)
      const phoneSid = sidOf((await phone('/whoami')).cookie)
      assert.notEqual(phoneSid, firstPhoneSid)
      await laptop(`/login?user=${variant.user}`)
      await tablet(`/login?user=${variant.user}`)
      await someoneElse(`/login?user=${variant.other}`)
      const [laptopSid, tabletSid] = [sidOf((await laptop('/whoami')).cookie), sidOf((await tablet('/whoami')).cookie)]

      // The first session's creation table has the index (first use created it).
      assert.deepEqual(await store.verifySessionsTable(), [])
      const listed = await store.userSessions(variant.user)
      assert.deepEqual(listed.map((s) => s.id).sort(), [phoneSid, laptopSid, tabletSid].sort())
      for (const s of listed) {
        assert.ok(Math.abs(s.expires.getTime() - (startedMs + HOUR)) < 10_000, 'expires with the cookie')
        assert.ok(s.created instanceof Date && Math.abs(s.created.getTime() - startedMs) < 10_000)
      }
      assert.equal((await store.userSessions(variant.other)).length, 1)

      const devices = JSON.parse((await laptop('/devices')).text)
      assert.equal(devices.length, 3)
      assert.deepEqual(devices.map((d) => d.current).sort(), [false, false, true])
      const ended = await laptop('/logout-everywhere-else', { method: 'POST' })
      assert.deepEqual(JSON.parse(ended.text), { ended: 2 })

      assert.equal((await phone('/whoami')).text, 'anonymous')
      assert.equal((await tablet('/whoami')).text, 'anonymous')
      assert.equal((await laptop('/whoami')).text, String(variant.user))
      assert.equal((await someoneElse('/whoami')).text, String(variant.other))
      assert.deepEqual(
        (await store.userSessions(variant.user)).map((s) => s.id),
        [laptopSid],
      )
      assert.equal(await store.get(phoneSid), null)
      assert.equal(await store.get(tabletSid), null)
      assert.deepEqual(errors, [])
    } finally {
      server.close()
    }
  })
}
