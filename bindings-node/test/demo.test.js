'use strict'
// The demo app (examples/demo/app.js) in a real browser: Debian's chromium, driven headless by
// playwright-core, against DynamoDB Local. Sessions survive a restart of the app process, and
// logging out ends the session (a tombstone takes its place in the table). The showcase pages
// show the stored item, what each page view cost, a user's devices and "log out everywhere
// else", two concurrent requests both kept, and an encrypted item. `scripts/install-chromium.sh` installs chromium.
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

/** The demo's meter box: the last page view's label, request count, units and operations. */
async function meter(page) {
  const box = page.locator('#meter')
  const rows = await box.locator('#meter-calls tbody td:first-child').allTextContents()
  return {
    view: await box.locator('#meter-view').textContent(),
    requests: Number(await box.locator('#meter-requests').textContent()),
    rcu: Number(await box.locator('#meter-rcu').textContent()),
    wcu: Number(await box.locator('#meter-wcu').textContent()),
    ops: rows.map((row) => row.split(/\s/)[0]),
    refused: rows.filter((row) => row.includes('refused')),
  }
}

test('the demo showcase in chromium: stored item, cost per view, devices, concurrent requests, encryption', {
  timeout: 180_000,
}, async () => {
  if (!fs.existsSync(CHROMIUM)) {
    assert.fail(`${CHROMIUM} is missing: run scripts/install-chromium.sh (Debian's chromium) first`)
  }
  const { chromium } = require('playwright-core')

  const table = h.uniqueTable('demo-show')
  const port = await h.closedPort()
  const base = `http://127.0.0.1:${port}`
  const app = await startApp(port, table)
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  cleanups.push(() => browser.close())
  // Two devices of one user: two browser contexts, each with its own cookies.
  const laptop = await browser.newContext()
  const phone = await browser.newContext()
  const page = await laptop.newPage()
  const other = await phone.newPage()
  for (const p of [page, other]) {
    await p.goto(`${base}/`)
    await p.getByLabel('Username').fill('Grace')
    await p.getByRole('button', { name: 'Log in' }).click()
    assert.equal(await p.locator('#greeting').textContent(), 'Hello Grace, visit #1', app.output())
    // The last byte of a page comes after its save (express-session): wait for it.
    await p.waitForLoadState('load')
  }
  const sid = sessionId(await laptop.cookies())
  const otherSid = sessionId(await phone.cookies())
  assert.notEqual(sid, otherSid)
  assert.equal(
    await page.evaluate(() => getComputedStyle(document.querySelector('header')).display),
    'flex',
    'the stylesheet is served',
  )

  // express-session saves a regenerated session once more as the login's redirect goes out, so
  // the first home page view can overlap that write: the counts are read from a later view.
  await page.reload()
  assert.equal(await page.locator('#greeting').textContent(), 'Hello Grace, visit #2')

  // The stored item, raw, as DynamoDB JSON: what the last save (the home page's) wrote.
  await page.getByRole('link', { name: 'Stored item' }).click()
  const shown = JSON.parse(await page.locator('#raw-item').textContent())
  const stored = await h.rawGet(table, `sess:${sid}`)
  assert.equal(shown.id.S, `sess:${sid.slice(0, 8)}…`, 'the page shows only the start of the key')
  assert.ok(!(await page.content()).includes(sid), 'the session id (the cookie value) is not on the page')
  assert.equal(shown.sess.S, stored.sess.S, 'sess is the stored JSON text')
  assert.deepEqual({ ...JSON.parse(shown.sess.S), cookie: undefined }, { cookie: undefined, user: 'Grace', visits: 2 })
  assert.deepEqual(shown.user, { S: 'Grace' }, 'userField writes the user attribute')
  assert.equal(shown.version.N, stored.version.N, 'merge versions the item')
  assert.equal(shown.expires.N, stored.expires.N)

  // What the home page view cost: it counted a visit, so a GetItem and a conditional PutItem
  // (1 WCU for the item, and 1 for its user-index entry unless its expiry stayed in the same second).
  let cost = await meter(page)
  assert.equal(cost.view, 'GET /')
  assert.deepEqual(cost.ops, ['GetItem', 'PutItem'])
  assert.deepEqual([cost.requests, cost.rcu], [2, 1])
  assert.ok([1, 2].includes(cost.wcu), `WCU ${cost.wcu}`)

  // The item page changed nothing: one GetItem, and the touch is throttled (touchAfter), no write.
  await page.getByRole('link', { name: 'Devices' }).click()
  cost = await meter(page)
  assert.equal(cost.view, 'GET /item')
  assert.deepEqual(cost.ops, ['GetItem'])
  assert.deepEqual([cost.requests, cost.rcu, cost.wcu], [1, 1, 0])

  // Both devices are listed from the user-index; log out everywhere else keeps this one.
  const devices = page.locator('#devices tbody tr')
  assert.equal(await devices.count(), 2, await page.locator('#devices').textContent())
  assert.match(
    await page.locator('#devices tr.current').textContent(),
    new RegExp(`${sid.slice(0, 8)} \\(this device\\)`),
  )
  assert.match(await page.locator('#devices').textContent(), new RegExp(otherSid.slice(0, 8)))
  cost = await meter(page)
  assert.equal(cost.view, 'GET /item', 'the devices page shows the view before it')

  await page.getByRole('button', { name: 'Log out everywhere else' }).click()
  assert.equal(await page.locator('#ended').textContent(), 'Logged out 1 other session.')
  assert.equal(await devices.count(), 1)
  assert.match(await devices.first().textContent(), /\(this device\)/)
  cost = await meter(page)
  assert.equal(cost.view, 'POST /devices/logout-others')
  assert.deepEqual(cost.ops, ['GetItem', 'Query', 'BatchWriteItem'])
  assert.equal((await h.rawGet(table, `sess:${otherSid}`)).sess.S, 'null', 'the other session is a tombstone')
  await other.reload()
  await other.getByRole('button', { name: 'Log in' }).waitFor()
  assert.equal(await page.locator('#devices tr.current').count(), 1, 'this device is still logged in')

  // Two requests at once, one adding to the cart, one setting a note: both changes are kept.
  // Both loaded the same version; the second save is refused, merged and written again.
  await page.getByRole('link', { name: 'Concurrent requests' }).click()
  assert.equal(await page.locator('#cart').textContent(), '(empty)')
  for (const expected of ['item 1', 'item 1, item 2']) {
    await page.getByRole('button', { name: 'Send two requests at once' }).click()
    await page.locator('#cart', { hasText: expected }).waitFor()
    assert.equal(await page.locator('#cart').textContent(), expected)
    assert.match(await page.locator('#note').textContent(), /^written at \d{4}-/)
    cost = await meter(page)
    assert.equal(cost.view, 'the two requests at once')
    assert.deepEqual(
      cost.ops.filter((op) => op === 'GetItem'),
      ['GetItem', 'GetItem'],
    )
    assert.deepEqual(
      cost.ops.filter((op) => op === 'PutItem'),
      ['PutItem', 'PutItem', 'PutItem'],
      'two saves, one of them refused and written again',
    )
    assert.equal(cost.refused.length, 1)
    assert.match(cost.refused[0], /ConditionalCheckFailedException/)
    const session = JSON.parse((await h.rawGet(table, `sess:${sid}`)).sess.S)
    assert.deepEqual(session.cart, expected.split(', '))
    assert.match(session.note, /^written at /)
  }

  // The encrypted copy: a binary sess (format 1, encrypted), no plaintext in the table.
  await page.getByRole('link', { name: 'Encrypted item' }).click()
  const encrypted = JSON.parse(await page.locator('#encrypted-item').textContent())
  assert.equal(encrypted.id.S, `enc:${sid.slice(0, 9)}…`)
  assert.equal(encrypted.sess.S, undefined)
  const bytes = Buffer.from(encrypted.sess.B, 'base64')
  assert.equal(bytes[0], 1, 'format 1')
  assert.equal(bytes[1], 0x02, 'encrypted, not compressed')
  assert.equal(await page.locator('#format').textContent(), '1')
  assert.ok(!bytes.includes('Grace') && !bytes.includes('cart'), 'no plaintext in sess')
  assert.ok(!(await page.locator('#encrypted-item').textContent()).includes('Grace'))
  const raw = await h.rawGet(table, `enc:${sid}`)
  assert.deepEqual(Buffer.from(raw.sess.B), bytes, 'the page shows the stored bytes')
  const decrypted = JSON.parse(await page.locator('#decrypted').textContent())
  assert.equal(decrypted.user, 'Grace')
  assert.deepEqual(decrypted.cart, ['item 1', 'item 2'])
  await page.getByRole('link', { name: 'Home' }).click()
  cost = await meter(page)
  assert.equal(cost.view, 'GET /encrypted')
  assert.deepEqual(cost.ops, ['GetItem', 'PutItem', 'GetItem'], 'the encrypted copy: one write, one read')
})
