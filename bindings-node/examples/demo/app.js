'use strict'
// The demo of connect-dynamodb: an express 5 app with express-session whose sessions live in
// DynamoDB. `make demo` runs it against a local DynamoDB Local; see scripts/demo.sh. Its pages
// show what the store does: the item DynamoDB holds, what each page view cost in requests and
// capacity units, a user's devices and "log out everywhere else", two concurrent requests whose
// changes are both kept (`merge: 'mine'`), and an encrypted item (`encryptionKeys`).
//
// Environment: PORT (default 3000), HOST (default 127.0.0.1), DYNAMODB_ENDPOINT (DynamoDB Local's URL; unset for AWS),
// DEMO_TABLE (default demo-sessions), and the usual AWS_REGION and credentials.
const crypto = require('node:crypto')
const path = require('node:path')
const express = require('express')
const session = require('express-session')
// The AWS SDK (a dev dependency of this package) reads items raw, as DynamoDB holds them.
const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb')
const { DynamoDBStore } = require('../..') // the package `connect-dynamodb` of this checkout
const { startMeter } = require('./meter')

const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST || '127.0.0.1'
const endpoint = process.env.DYNAMODB_ENDPOINT || undefined
const table = process.env.DEMO_TABLE || 'demo-sessions'
// DynamoDB Local accepts any credentials made of letters and digits.
const localCredentials =
  endpoint && !process.env.AWS_ACCESS_KEY_ID ? { accessKeyId: 'demo', secretAccessKey: 'demo' } : {}
// The key of the encrypted sessions: derived from a public text, so never use it elsewhere.
const DEMO_KEY = crypto.createHash('sha256').update('connect-dynamodb demo key: public, never use it').digest()
const PAIR_TOKEN = /^[\w-]{1,64}$/

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** An item as DynamoDB JSON (the wire format: every value under its type), binary as base64. */
function dynamoJson(item, hashKey = 'id') {
  const plain = (value) => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
    if (Array.isArray(value)) return value.map(plain)
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
    }
    return value
  }
  // The key holds the session id, which is the cookie's value: only its start is shown.
  const shown = (name) => {
    const key = item[name]?.S
    return name === hashKey && typeof key === 'string' ? { S: `${key.slice(0, 13)}…` } : plain(item[name])
  }
  const names = Object.keys(item).sort((a, b) => (a === hashKey ? -1 : b === hashKey ? 1 : a.localeCompare(b)))
  return JSON.stringify(Object.fromEntries(names.map((name) => [name, shown(name)])), null, 2)
}

const NAV = [
  ['/', 'Home'],
  ['/item', 'Stored item'],
  ['/devices', 'Devices'],
  ['/concurrent', 'Concurrent requests'],
  ['/encrypted', 'Encrypted item'],
  ['/sessions', 'Active sessions'],
]

async function main() {
  // Counting needs the requests to pass through the meter, a proxy of DynamoDB Local.
  const meter = endpoint ? await startMeter(endpoint) : null
  const storeEndpoint = meter ? meter.url : endpoint
  const raw = new DynamoDBClient({
    ...(endpoint ? { endpoint, region: process.env.AWS_REGION || 'us-east-1' } : {}),
    ...(localCredentials.accessKeyId ? { credentials: localCredentials } : {}),
  })

  const store = new DynamoDBStore({
    table,
    endpoint: storeEndpoint,
    ...localCredentials,
    createTable: { billingMode: 'PAY_PER_REQUEST' },
    // Unchanged sessions get their expiry rewritten at most once a minute.
    touchAfter: 60,
    // The session field naming the user: indexed, for the devices page.
    userField: 'user',
    // Versioned writes: concurrent saves of one session merge, this request winning a key both changed.
    merge: 'mine',
  })
  // The same table under another prefix, encrypted at rest.
  const vault = new DynamoDBStore({
    table,
    endpoint: storeEndpoint,
    ...localCredentials,
    prefix: 'enc:',
    encryptionKeys: [DEMO_KEY],
    initialized: true,
  })

  // What each browser's last page view cost, by the `demo.meter` cookie (not the session: an
  // anonymous view has none, and login changes the session id).
  const lastViews = new Map()
  // Pairs of concurrent requests (the concurrency page), by the token the page sends.
  const pairs = new Map()

  const app = express()
  app.get('/favicon.ico', (_req, res) => res.status(204).end())
  app.use('/static', express.static(path.join(__dirname, 'public')))
  app.use(express.urlencoded({ extended: false }))

  // The meter's window of a page view: every DynamoDB request from its start to its end.
  app.use((req, res, next) => {
    let viewer = /(?:^|;\s*)demo\.meter=([\w-]{1,64})/.exec(req.headers.cookie ?? '')?.[1]
    if (!viewer) {
      viewer = crypto.randomUUID()
      res.cookie('demo.meter', viewer, { httpOnly: true, sameSite: 'lax' })
    }
    req.viewer = viewer
    if (!meter) return next()
    let mark = meter.mark()
    let label = `${req.method} ${req.path}`
    const token = req.query.pair
    if (typeof token === 'string' && PAIR_TOKEN.test(token)) {
      // Both requests of a pair count from the first one's start.
      let pair = pairs.get(token)
      if (!pair) {
        let release
        const met = new Promise((resolve) => (release = resolve))
        pair = { mark, arrived: 0, met, release }
        pairs.set(token, pair)
        setTimeout(() => pairs.delete(token), 30_000).unref()
      }
      req.pair = pair
      mark = pair.mark
      label = 'the two requests at once'
    }
    res.on('finish', () => {
      // This browser's items only (its session before and after a login, and its encrypted
      // copy), and the requests on no single item: other browsers' views are left out.
      const keys = new Set()
      for (const id of [req.loadedSessionId, req.sessionID]) {
        if (typeof id === 'string') for (const prefix of ['sess:', 'enc:']) keys.add(prefix + id)
      }
      lastViews.delete(viewer)
      lastViews.set(viewer, { label, calls: meter.since(mark, keys) })
      if (lastViews.size > 1000) lastViews.delete(lastViews.keys().next().value)
    })
    next()
  })

  app.use(
    session({
      store,
      name: 'demo.sid',
      secret: 'connect-dynamodb demo secret: not a secret, never use it in production',
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 60 * 60 * 1000, httpOnly: true, sameSite: 'lax' },
    }),
  )
  app.use((req, _res, next) => {
    req.loadedSessionId = req.sessionID
    next()
  })

  function meterBox(req) {
    if (!meter) {
      return `<aside class="meter" id="meter"><h2>DynamoDB requests</h2>
<p>Counted against DynamoDB Local only: run the demo with <code>make demo</code>.</p></aside>`
    }
    const view = lastViews.get(req.viewer)
    if (!view) {
      return `<aside class="meter" id="meter"><h2>What your last page view cost</h2>
<p>Nothing yet: this is your first page view. Open another page to see what this one cost.</p></aside>`
    }
    const { calls } = view
    const sum = (field) => calls.reduce((n, c) => n + c[field], 0)
    const rows = calls
      .map(
        (c) =>
          `<tr${c.error ? ' class="refused"' : ''}><td>${escapeHtml(c.op)}${c.error ? ` <small>refused: ${escapeHtml(c.error)}</small>` : ''}</td>` +
          `<td>${c.bytes}</td><td>${c.rcu}</td><td>${c.wcu}</td></tr>`,
      )
      .join('\n')
    return `<aside class="meter" id="meter">
<h2>What your last page view cost</h2>
<p><code id="meter-view">${escapeHtml(view.label)}</code>: <strong id="meter-requests">${calls.length}</strong>
DynamoDB request${calls.length === 1 ? '' : 's'}, <strong id="meter-rcu">${sum('rcu')}</strong> RCU,
<strong id="meter-wcu">${sum('wcu')}</strong> WCU</p>
${
  calls.length
    ? `<table id="meter-calls"><thead><tr><th>request</th><th>item bytes</th><th>RCU</th><th>WCU</th></tr></thead>
<tbody>
${rows}
</tbody></table>`
    : '<p>No request at all: an unchanged session whose expiry moved less than <code>touchAfter</code> is not written.</p>'
}
<p class="note">Requests counted by a proxy in front of DynamoDB Local, from the start of the view
to its end, leaving out those on other browsers' sessions. The store does not ask
for <code>ReturnConsumedCapacity</code>, so capacity units are computed from item sizes: 1 WCU per
KB written (and 1 per <code>user-index</code> entry it changes), 1 RCU per 4 KB read strongly
consistently, half that eventually. The demo's own raw reads of items are not counted.</p>
</aside>`
  }

  function page(req, title, body) {
    const nav = NAV.map(
      ([href, name]) => `<a href="${href}"${req.path === href ? ' aria-current="page"' : ''}>${escapeHtml(name)}</a>`,
    ).join('\n')
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · connect-dynamodb demo</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/demo.css">
</head>
<body>
<header><span class="brand">connect-dynamodb demo</span>
<nav>
${nav}
</nav></header>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
${meterBox(req)}
</body>
</html>
`
  }

  const loginFirst =
    '<p class="empty">Log in on the <a href="/">home page</a> first: anonymous visitors have no session.</p>'

  /** The raw item under `key`, or undefined. */
  async function rawItem(key) {
    const out = await raw.send(new GetItemCommand({ TableName: table, Key: { id: { S: key } }, ConsistentRead: true }))
    return out.Item
  }

  app.get('/', (req, res) => {
    if (!req.session.user) {
      res.send(
        page(
          req,
          'Log in',
          `<p>Log in with any name: the session is stored in the DynamoDB table <code>${escapeHtml(table)}</code>.
Log in with the same name in a second browser to see two devices.</p>
<form method="post" action="/login" class="card">
  <label>Username <input name="username" required maxlength="64" autofocus></label>
  <button type="submit">Log in</button>
</form>`,
        ),
      )
      return
    }
    req.session.visits = (req.session.visits ?? 0) + 1
    res.send(
      page(
        req,
        'Welcome',
        `<p id="greeting">Hello ${escapeHtml(req.session.user)}, visit #${req.session.visits}</p>
<p>Every view of this page counts a visit, so it saves the session: one GetItem to load it, one
conditional PutItem to save it. Pages that change nothing cost the GetItem only.</p>
<form method="post" action="/logout"><button type="submit">Log out</button></form>`,
      ),
    )
  })

  app.post('/login', (req, res, next) => {
    const username = String(req.body?.username ?? '')
      .trim()
      .slice(0, 64)
    if (!username) {
      res.redirect(303, '/')
      return
    }
    // A new session id on login, against session fixation.
    req.session.regenerate((err) => {
      if (err) return next(err)
      req.session.user = username
      req.session.visits = 0
      // Saved before redirecting: express-session would save while the redirect is already on
      // its way, and the browser could ask for `/` before the session is in the table.
      req.session.save((err) => {
        if (err) return next(err)
        res.redirect(303, '/')
      })
    })
  })

  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => {
      if (err) return next(err)
      res.clearCookie('demo.sid')
      res.redirect(303, '/')
    })
  })

  app.get('/item', async (req, res) => {
    if (!req.session.user) {
      res.send(page(req, 'Stored item', loginFirst))
      return
    }
    const key = `sess:${req.sessionID}`
    const item = await rawItem(key)
    res.send(
      page(
        req,
        'Stored item',
        `<p>Your session as DynamoDB holds it, read raw with the AWS SDK (<code>GetItem</code> of
<code>${escapeHtml(key.slice(0, 13))}…</code>), in DynamoDB JSON: every value under its type.
It is what your last save wrote; this view saves nothing.</p>
<pre id="raw-item">${item ? escapeHtml(dynamoJson(item)) : 'no item'}</pre>
<dl class="legend">
<dt><code>sess</code></dt><dd>the session's JSON text, as express-session hands it to the store</dd>
<dt><code>expires</code></dt><dd>epoch seconds: DynamoDB's TTL removes the item after it</dd>
<dt><code>user</code>, <code>created</code></dt><dd>written because of <code>userField: 'user'</code>: the <code>user-index</code> lists a user's sessions</dd>
<dt><code>version</code></dt><dd>written because of <code>merge: 'mine'</code>: every save is conditional on it</dd>
</dl>`,
      ),
    )
  })

  app.get('/devices', async (req, res) => {
    if (!req.session.user) {
      res.send(page(req, 'Devices', loginFirst))
      return
    }
    const sessions = await store.userSessions(req.session.user)
    sessions.sort((a, b) => (a.created ?? a.expires) - (b.created ?? b.expires))
    const rows = sessions
      .map(
        (s) =>
          `<tr${s.id === req.sessionID ? ' class="current"' : ''}><td><code>${escapeHtml(s.id.slice(0, 8))}</code>` +
          `${s.id === req.sessionID ? ' (this device)' : ''}</td><td>${escapeHtml(s.created?.toISOString() ?? '')}</td>` +
          `<td>${escapeHtml(s.expires.toISOString())}</td></tr>`,
      )
      .join('\n')
    const ended = req.query.ended
    res.send(
      page(
        req,
        'Devices',
        `<p>The sessions of <strong>${escapeHtml(req.session.user)}</strong>, from
<code>store.userSessions(user)</code>: one Query of the <code>user-index</code>, never a scan.</p>
${typeof ended === 'string' && /^\d+$/.test(ended) ? `<p class="notice" id="ended">Logged out ${ended} other session${ended === '1' ? '' : 's'}.</p>` : ''}
<table id="devices">
<thead><tr><th>Session</th><th>Created</th><th>Expires</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="3">No sessions</td></tr>'}
</tbody>
</table>
<form method="post" action="/devices/logout-others"><button type="submit">Log out everywhere else</button></form>
<p>It calls <code>store.endUserSessions(user, { except: req.sessionID })</code>: each other
session gets a tombstone, so a request still running there cannot save it back.</p>`,
      ),
    )
  })

  app.post('/devices/logout-others', async (req, res) => {
    if (!req.session.user) {
      res.redirect(303, '/')
      return
    }
    const ended = await store.endUserSessions(req.session.user, { except: req.sessionID })
    res.redirect(303, `/devices?ended=${ended}`)
  })

  app.get('/concurrent', (req, res) => {
    if (!req.session.user) {
      res.send(page(req, 'Concurrent requests', loginFirst))
      return
    }
    const cart = Array.isArray(req.session.cart) ? req.session.cart : []
    res.send(
      page(
        req,
        'Concurrent requests',
        `<p>The button sends two requests at the same moment. Both load this session at the same
version; one adds to <code>cart</code>, the other sets <code>note</code>. The first save wins;
DynamoDB refuses the second's conditional write and returns the current item, the store merges
the two changes and writes again. Without <code>merge</code>, the second save would drop the
first's change.</p>
<button type="button" id="two-at-once">Send two requests at once</button>
<p id="pending" hidden>Sending…</p>
<dl class="card" id="both">
<dt>cart</dt><dd id="cart">${cart.length ? cart.map((c) => escapeHtml(c)).join(', ') : '(empty)'}</dd>
<dt>note</dt><dd id="note">${escapeHtml(req.session.note ?? '(none)')}</dd>
</dl>
<p>The meter box shows what the two requests cost together.</p>
<script src="/static/concurrent.js"></script>`,
      ),
    )
  })

  /** Holds a request of a pair until the other one has loaded the session too (at most 5 s). */
  async function meet(req) {
    const { pair } = req
    if (!pair) return
    pair.arrived += 1
    if (pair.arrived >= 2) pair.release()
    await Promise.race([pair.met, new Promise((resolve) => setTimeout(resolve, 5000).unref())])
  }

  app.post('/concurrent/cart', async (req, res) => {
    if (!req.session.user) return res.status(401).json({ error: 'log in first' })
    await meet(req)
    const cart = Array.isArray(req.session.cart) ? req.session.cart : []
    req.session.cart = [...cart, `item ${cart.length + 1}`]
    res.json({ cart: req.session.cart })
  })

  app.post('/concurrent/note', async (req, res) => {
    if (!req.session.user) return res.status(401).json({ error: 'log in first' })
    await meet(req)
    req.session.note = `written at ${new Date().toISOString()}`
    res.json({ note: req.session.note })
  })

  app.get('/encrypted', async (req, res) => {
    if (!req.session.user) {
      res.send(page(req, 'Encrypted item', loginFirst))
      return
    }
    // A copy of this session in the encrypted store (prefix `enc:`, same table).
    const copy = JSON.parse(JSON.stringify(req.session))
    await vault.set(req.sessionID, copy)
    const key = `enc:${req.sessionID}`
    const item = await rawItem(key)
    const sess = Buffer.from(item?.sess?.B ?? [])
    const back = await vault.get(req.sessionID)
    const hex = (bytes) => bytes.toString('hex').replace(/(..)(?!$)/g, '$1 ')
    res.send(
      page(
        req,
        'Encrypted item',
        `<p>A copy of your session saved by a second store on the same table, under the prefix
<code>enc:</code>, with <code>encryptionKeys</code>: AES-256-GCM, the item's key as associated
data. This view wrote it (one PutItem) and read it back through the store (one GetItem).</p>
<h2>The item, raw</h2>
<pre id="encrypted-item">${item ? escapeHtml(dynamoJson(item)) : 'no item'}</pre>
<h2>Its binary <code>sess</code> (format 1)</h2>
<dl class="legend" id="layout">
<dt>byte 0: format</dt><dd id="format">${sess[0]}</dd>
<dt>byte 1: flags</dt><dd id="flags">0x${(sess[1] ?? 0).toString(16).padStart(2, '0')} (0x02 encrypted, 0x01 compressed)</dd>
<dt>bytes 2–5: key id</dt><dd><code>${hex(sess.subarray(2, 6))}</code></dd>
<dt>bytes 6–17: nonce</dt><dd><code>${hex(sess.subarray(6, 18))}</code></dd>
<dt>bytes 18–: ciphertext and tag</dt><dd>${Math.max(sess.length - 18, 0)} bytes</dd>
</dl>
<p><code>expires</code> and <code>type</code> stay readable: TTL and the reaper work unchanged.</p>
<h2>Read back through the store</h2>
<pre id="decrypted">${back ? escapeHtml(JSON.stringify(back, null, 2)) : 'not found'}</pre>`,
      ),
    )
  })

  app.get('/sessions', async (req, res) => {
    const entries = await store.entries()
    entries.sort((a, b) => a.expires - b.expires)
    const rows = entries
      .map(
        ({ id, session: s, expires }) =>
          `<tr><td><code>${escapeHtml(id.slice(0, 8))}</code>${id === req.sessionID ? ' (you)' : ''}</td>` +
          `<td>${escapeHtml(s.user ?? '')}</td><td>${escapeHtml(expires.toISOString())}</td></tr>`,
      )
      .join('\n')
    res.send(
      page(
        req,
        'Active sessions',
        `<p>Every live session of the prefix <code>sess:</code>, from <code>store.entries()</code>: a
scan of the whole table (fine for a demo, not for a page users open).</p>
<table>
<thead><tr><th>Session</th><th>User</th><th>Expires</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="3">No active sessions</td></tr>'}
</tbody>
</table>`,
      ),
    )
  })

  // The store would create the table on first use; doing it now makes startup fail early, and
  // creates the `user-index` that `userField` needs.
  await store.createSessionsTable()
  console.log(`sessions table ${table} is ready${endpoint ? ` at ${endpoint}` : ''}`)
  // Loopback only: the sessions page lists every user, fine for a demo on this machine only.
  const server = app.listen(port, host, (err) => {
    if (err) {
      console.error(`demo cannot listen on port ${port}: ${err.message}`)
      process.exit(1)
    }
    console.log(`connect-dynamodb demo listening on http://localhost:${server.address().port}`)
  })
  const stop = (signal) => {
    console.log(`${signal}: stopping`)
    server.close(() => process.exit(0))
    server.closeAllConnections()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((err) => {
  console.error('demo failed to start:', err)
  process.exit(1)
})
