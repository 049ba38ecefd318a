'use strict'
// The installed npm package in a real express app (scripts/dist-check.sh): run from a fresh
// directory where `npm install` put connect-dynamodb, its platform package, express and
// express-session, against DynamoDB Local (DYNAMODB_ENDPOINT). One round trip: log in (the
// store creates its table on first use), read the session back by its cookie, log out, and
// find the session gone. Prints one JSON line; exits 1 on any mismatch.
const assert = require('node:assert/strict')
const express = require('express')
const session = require('express-session')
const { DynamoDBStore } = require('connect-dynamodb')

const table = `dist-${process.arch}-${process.pid}-${Date.now()}`
const store = new DynamoDBStore({
  table,
  endpoint: process.env.DYNAMODB_ENDPOINT,
  region: 'us-east-1',
  // Under qemu every instruction is emulated: give DynamoDB Local's answers time to arrive.
  operationTimeout: 60_000,
})
const app = express()
app.use(session({ store, secret: 'dist-check', resave: false, saveUninitialized: false }))
app.get('/login', (req, res) => {
  req.session.user = 'ada'
  res.send('ok')
})
app.get('/whoami', (req, res) => res.json({ user: req.session.user ?? null }))
app.get('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.send('bye'))))

async function main() {
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const base = `http://127.0.0.1:${server.address().port}`
  try {
    // express-session sends the status and headers before the store has saved, and the last
    // byte of the body after: read each body whole before the next request.
    const login = await fetch(`${base}/login`)
    assert.equal(login.status, 200)
    assert.equal(await login.text(), 'ok')
    const cookie = login.headers.get('set-cookie').split(';')[0]
    const me = await (await fetch(`${base}/whoami`, { headers: { cookie } })).json()
    assert.deepEqual(me, { user: 'ada' })
    const logout = await fetch(`${base}/logout`, { headers: { cookie } })
    assert.equal(logout.status, 200)
    assert.equal(await logout.text(), 'bye')
    const after = await (await fetch(`${base}/whoami`, { headers: { cookie } })).json()
    assert.deepEqual(after, { user: null })
    // Which platform package served the binary.
    const binary = ['gnu', 'musl']
      .map((libc) => `connect-dynamodb-${process.platform}-${process.arch}-${libc}`)
      .filter((name) => {
        try {
          require.resolve(name, { paths: [require.resolve('connect-dynamodb')] })
          return true
        } catch {
          return false
        }
      })
    console.log(JSON.stringify({ ok: true, arch: process.arch, node: process.version, binary }))
  } finally {
    server.close()
    store.close()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
