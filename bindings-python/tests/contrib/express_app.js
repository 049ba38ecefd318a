'use strict'
// An express + express-session app on this repository's npm package (bindings-node), for the
// cross-language test of connect_dynamodb.contrib.flask. Configured by the environment:
// CONNECT_DYNAMODB_NODE_DIR (bindings-node), DYNAMODB_ENDPOINT, TABLE, SECRET. Prints
// `listening <port>` once it serves on a free loopback port.
const path = require('node:path')
const { createRequire } = require('node:module')

const nodeDir = process.env.CONNECT_DYNAMODB_NODE_DIR
const load = createRequire(path.join(nodeDir, 'package.json'))
const express = load('express')
const session = load('express-session')
const connectDynamoDB = load(nodeDir)

const Store = connectDynamoDB(session)
const store = new Store({
  table: process.env.TABLE,
  endpoint: process.env.DYNAMODB_ENDPOINT,
  region: 'us-east-1',
  accessKeyId: 'localtest',
  secretAccessKey: 'localtest',
  createTable: false,
})

const app = express()
app.use(
  session({
    store,
    secret: process.env.SECRET,
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 3_600_000, httpOnly: true, path: '/' },
  }),
)

app.post('/login', (req, res) => {
  req.session.user = req.query.user
  req.session.visits = 0
  res.json({ ok: true })
})

app.get('/whoami', (req, res) => {
  const { cookie, ...data } = req.session
  res.json({ data, cookie: { originalMaxAge: cookie.originalMaxAge, expires: cookie.expires } })
})

app.post('/visit', (req, res) => {
  req.session.visits = (req.session.visits || 0) + 1
  res.json({ visits: req.session.visits })
})

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
