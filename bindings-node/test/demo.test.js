'use strict'
// The demo app (examples/demo/app.js) in a real browser: Debian's chromium, driven headless by
// playwright-core, against DynamoDB Local. Sessions survive a restart of the app process, and
// logging out ends the session (a tombstone takes its place in the table). `scripts/install-chromium.sh` installs chromium.
const { test, after } = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const h = require('./helpers')

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const APP = path.join(__dirname, '..', 'examples', 'demo', 'app.js')

const cleanups = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

/** Starts the demo app on `port` with sessions in `table`; resolves once it answers HTTP. */
async function startApp(port, table) {
  const child = spawn(process.execPath, [APP], {
    env: { ...process.env, PORT: String(port), DEMO_TABLE: table },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const app = {
    child,
    output: () => output,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
  }
  cleanups.push(() => app.kill())

  const deadline = Date.now() + 30_000
  let gone = null
  exited.then((status) => (gone = status))
  for (;;) {
    if (gone) assert.fail(`the demo app exited (${JSON.stringify(gone)}) before answering:\n${output}`)
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`)
      await res.arrayBuffer()
      if (res.ok) return app
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) assert.fail(`the demo app did not answer within 30 s:\n${output}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** The session id in express-session's signed cookie value `s:<id>.<signature>`. */
function sessionId(cookies) {
  const cookie = cookies.find((c) => c.name === 'demo.sid')
  assert.ok(cookie, `no demo.sid cookie among ${JSON.stringify(cookies.map((c) => c.name))}`)
  const match = /^s:([^.]+)\./.exec(decodeURIComponent(cookie.value))
  assert.ok(match, `unexpected cookie value ${cookie.value}`)
  return match[1]
}

test('the demo app in chromium: login, visits, restart, sessions page, logout', { timeout: 180_000 }, async () => {
  if (!fs.existsSync(CHROMIUM)) {
    assert.fail(`${CHROMIUM} is missing: run scripts/install-chromium.sh (Debian's chromium) first`)
  }
  const { chromium } = require('playwright-core')

  const table = h.uniqueTable('demo')
  const port = await h.closedPort()
  const base = `http://127.0.0.1:${port}`
  let app = await startApp(port, table)

  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'connect-dynamodb-chromium-'))
  cleanups.push(() => fs.rmSync(userDataDir, { recursive: true, force: true }))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  })
  cleanups.push(() => context.close())
  const page = context.pages()[0] ?? (await context.newPage())
  const greeting = page.locator('#greeting')

  // Anonymous: the login form, and no session in the table (saveUninitialized: false).
  await page.goto(`${base}/`)
  await page.getByLabel('Username').fill('Ada <i>Lovelace</i>')
  await page.getByRole('button', { name: 'Log in' }).click()
  assert.equal(await greeting.textContent(), 'Hello Ada <i>Lovelace</i>, visit #1', 'the name is shown escaped')
  const sid = sessionId(await context.cookies())
  // The session, and the tombstone of the anonymous session that regenerate ended at login
  // (never saved: express-session's cookie named it all the same).
  const before = (await h.rawKeys(table)).filter((key) => key !== `sess:${sid}`)
  assert.equal(before.length, 1)
  const tombstone = await h.rawGet(table, before[0])
  assert.equal(tombstone.sess.S, 'null', 'the other item is a tombstone')
  assert.ok(tombstone.ended)
  const reader = h.localStore(table, { initialized: true })
  assert.deepEqual(await reader.ids(), [sid])

  await page.reload()
  assert.equal(await greeting.textContent(), 'Hello Ada <i>Lovelace</i>, visit #2')

  // A new app process on the same port: the session lives in DynamoDB, not in the process.
  await app.kill()
  app = await startApp(port, table)
  await page.reload()
  assert.equal(
    await greeting.textContent(),
    'Hello Ada <i>Lovelace</i>, visit #3',
    `still logged in after the restart:\n${app.output()}`,
  )
  assert.equal(sessionId(await context.cookies()), sid, 'the same session')

  // The sessions page lists this session with its user and expiry.
  await page.getByRole('link', { name: 'Active sessions' }).click()
  const row = page.locator('tbody tr', { hasText: sid.slice(0, 8) })
  assert.match(await row.textContent(), /Ada <i>Lovelace<\/i>/)
  const expires = Date.parse(await row.locator('td').nth(2).textContent())
  assert.ok(
    Math.abs(expires - (Date.now() + 3600_000)) < 120_000,
    `expiry about an hour from now, got ${new Date(expires).toISOString()}`,
  )
  await page.getByRole('link', { name: 'Home' }).click()
  assert.equal(await greeting.textContent(), 'Hello Ada <i>Lovelace</i>, visit #4')

  // Logging out ends the session (a tombstone takes its place, so a late save of the page cannot
  // bring it back) and shows the login form again.
  await page.getByRole('button', { name: 'Log out' }).click()
  await page.getByRole('button', { name: 'Log in' }).waitFor()
  assert.equal((await h.rawGet(table, `sess:${sid}`)).sess.S, 'null', 'the session item is a tombstone')
  assert.deepEqual(await h.rawKeys(table), [...before, `sess:${sid}`].sort())
  assert.deepEqual(await reader.ids(), [])
  assert.equal(
    (await context.cookies()).find((c) => c.name === 'demo.sid'),
    undefined,
    'the cookie is cleared',
  )

  await page.reload()
  await page.getByRole('button', { name: 'Log in' }).waitFor()
  assert.deepEqual(await h.rawKeys(table), [...before, `sess:${sid}`].sort(), 'an anonymous visit stores nothing')
})
