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
      assert.deepEqual(await h.rawKeys(table), [], 'the session is gone from the table')
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
    assert.deepEqual(await h.rawKeys(table), [])
    assert.equal((await browser('/whoami')).text, 'anonymous')
  } finally {
    await app.close()
  }
})
