'use strict'
// The demo of connect-dynamodb: an express 5 app with express-session whose sessions live in
// DynamoDB. `make demo` runs it against a local DynamoDB Local; see scripts/demo.sh.
//
// Environment: PORT (default 3000), HOST (default 127.0.0.1), DYNAMODB_ENDPOINT (DynamoDB Local's URL; unset for AWS),
// DEMO_TABLE (default demo-sessions), and the usual AWS_REGION and credentials.
const express = require('express')
const session = require('express-session')
const { DynamoDBStore } = require('../..') // the package `connect-dynamodb` of this checkout

const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST || '127.0.0.1'
const endpoint = process.env.DYNAMODB_ENDPOINT || undefined
const table = process.env.DEMO_TABLE || 'demo-sessions'

const store = new DynamoDBStore({
  table,
  endpoint,
  // DynamoDB Local accepts any credentials made of letters and digits.
  ...(endpoint && !process.env.AWS_ACCESS_KEY_ID ? { accessKeyId: 'demo', secretAccessKey: 'demo' } : {}),
  createTable: { billingMode: 'PAY_PER_REQUEST' },
  // Unchanged sessions get their expiry rewritten at most once a minute.
  touchAfter: 60,
})

const app = express()
app.use(express.urlencoded({ extended: false }))
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

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function page(title, body) {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)} · connect-dynamodb demo</title></head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`
}

app.get('/', (req, res) => {
  if (!req.session.user) {
    res.send(
      page(
        'Log in',
        `<form method="post" action="/login">
  <label>Username <input name="username" required maxlength="64" autofocus></label>
  <button type="submit">Log in</button>
</form>
<p><a href="/sessions">Active sessions</a></p>`,
      ),
    )
    return
  }
  req.session.visits = (req.session.visits ?? 0) + 1
  res.send(
    page(
      'Welcome',
      `<p id="greeting">Hello ${escapeHtml(req.session.user)}, visit #${req.session.visits}</p>
<form method="post" action="/logout"><button type="submit">Log out</button></form>
<p><a href="/sessions">Active sessions</a></p>`,
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
      'Active sessions',
      `<table>
<thead><tr><th>Session</th><th>User</th><th>Expires</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="3">No active sessions</td></tr>'}
</tbody>
</table>
<p><a href="/">Home</a></p>`,
    ),
  )
})

async function main() {
  // The store would create the table on first use; doing it now makes startup fail early.
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
