'use strict'
// What the Node benchmarks share: the knobs, medians, the ~1 KB session they store, DynamoDB
// Local's tables, the release addon check, and the JSON results file (`BENCH_OUT`).
//
// A results file is `$BENCH_OUT/<bench>.json`: { bench, title, machine, date, method, baseline,
// stores, figures: [{ scenario, store, metric, median, runs }], targets, notes }. Without
// BENCH_OUT nothing is written.

const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')
const { execFile, execFileSync } = require('node:child_process')

// The AWS SDK warns on Node 20 that later releases will need Node 22: noise in a bench table.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

const region = process.env.AWS_REGION || 'us-east-1'
const accessKeyId = process.env.AWS_ACCESS_KEY_ID || 'localtest'
const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY || 'localtest'
const MAX_AGE_MS = 3600_000

/** A positive integer knob from the environment. */
const int = (name, fallback) => {
  const v = Number(process.env[name])
  return Number.isInteger(v) && v > 0 ? v : fallback
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const fmt = (x, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : String(x))

/** DynamoDB Local's URL, set by scripts/dynamodb-local.sh; exits when missing. */
function dynamodbEndpoint() {
  const endpoint = process.env.DYNAMODB_ENDPOINT
  if (!endpoint) {
    console.error('DYNAMODB_ENDPOINT is not set: run `make bench` (or scripts/bench.sh), which starts DynamoDB Local')
    process.exit(2)
  }
  return endpoint
}

function rawClient(url) {
  const { DynamoDBClient } = require('@aws-sdk/client-dynamodb')
  // A fresh credentials object for every client: the SDK mutates it.
  return new DynamoDBClient({ endpoint: url, region, credentials: { accessKeyId, secretAccessKey } })
}

/** Creates a table keyed on `id`, as both this package and connect-dynamodb 3.x expect. */
async function createTable(endpoint, name) {
  const { CreateTableCommand } = require('@aws-sdk/client-dynamodb')
  const client = rawClient(endpoint)
  await client.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  )
  client.destroy()
}

/** A signed-in user's session data, about 1 KB of JSON with the cookie. */
function profile(i) {
  return {
    id: `user-${String(i).padStart(6, '0')}`,
    name: 'Ada Lovelace',
    email: `ada.lovelace+${i}@example.com`,
    roles: ['reader', 'editor', 'billing-viewer'],
    locale: 'en-GB',
    timezone: 'Europe/London',
    preferences: {
      theme: 'dark',
      density: 'compact',
      newsletter: true,
      notifications: { email: true, sms: false, push: true },
    },
    csrfSecret: 'Qm9vdHN0cmFwLWJlbmNoLXNlY3JldC0xMjM0NTY3ODkw',
    cart: Array.from({ length: 4 }, (_, k) => ({
      sku: `SKU-${1000 + k}`,
      title: `Analytical Engine part ${k}`,
      qty: k + 1,
      priceCents: 1999 + k * 250,
    })),
    recentlyViewed: Array.from({ length: 8 }, (_, k) => `/products/${4000 + k * 7}`),
    lastLogin: '2025-01-01T12:00:00.000Z',
  }
}

/**
 * A stored express-session session of user `i`: the cookie express-session keeps and the
 * profile, about 1 KB of JSON.
 */
function storedSession(i, views) {
  return {
    cookie: {
      originalMaxAge: MAX_AGE_MS,
      expires: new Date(Date.now() + MAX_AGE_MS),
      secure: false,
      httpOnly: true,
      path: '/',
    },
    user: profile(i),
    views,
  }
}

/**
 * The express 5 + express-session app every Node bench serves: POST /login signs a user in
 * (a ~1 KB session), GET /view only reads the session, GET /count changes it on every request.
 */
function sessionApp(store) {
  const express = require('express')
  const session = require('express-session')
  const app = express()
  app.use(
    session({
      store,
      secret: 'connect-dynamodb bench secret',
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: MAX_AGE_MS },
    }),
  )
  let next = 0
  app.post('/login', (req, res) => {
    req.session.user = profile(next++)
    req.session.views = 0
    res.send('signed in')
  })
  // Read-only: only reads req.session.
  app.get('/view', (req, res) => {
    const user = req.session.user
    if (!user) return res.status(401).send('sign in first')
    res.send(`hello ${user.name} (${user.cart.length} items in the cart)`)
  })
  // Writing: changes the session on every request.
  app.get('/count', (req, res) => {
    if (!req.session.user) return res.status(401).send('sign in first')
    req.session.views = (req.session.views || 0) + 1
    res.send(`view ${req.session.views}`)
  })
  return app
}

/**
 * The release addon this process loads: scripts/bench.sh points NAPI_RS_NATIVE_LIBRARY_PATH at
 * a private copy of the release build. Without it `require('..')` would load
 * bindings-node/*.node, a debug build after `make test`, whose CPU figures mean nothing: so
 * `strict` refuses to run without it.
 */
function releaseAddon({ strict }) {
  const addon = process.env.NAPI_RS_NATIVE_LIBRARY_PATH
  if (!addon) {
    const msg = 'NAPI_RS_NATIVE_LIBRARY_PATH is not set: run scripts/bench.sh, which builds and loads the release addon'
    if (strict) {
      console.error(msg)
      process.exit(2)
    }
    return { addon: path.join(__dirname, '..', 'connect-dynamodb.linux-x64-gnu.node'), warning: msg }
  }
  const mib = fs.statSync(addon).size / 2 ** 20
  if (mib > 100) {
    const msg = `${addon} (${fmt(mib, 1)} MiB) looks like a debug build`
    if (strict) {
      console.error(msg)
      process.exit(2)
    }
    return { addon, mib, warning: msg }
  }
  return { addon, mib }
}

/** The first line of a command's output, or null when it cannot run. */
function firstLine(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 })
      .split('\n')[0]
      .trim()
  } catch {
    return null
  }
}

/** The machine block of a results file, from the OS. */
function machine(extraRuntimes = {}) {
  let cpu = null
  try {
    cpu =
      fs
        .readFileSync('/proc/cpuinfo', 'utf8')
        .match(/^model name\s*:\s*(.+)$/m)?.[1]
        .trim() ?? null
  } catch {
    // not Linux
  }
  cpu ??= os.cpus()[0]?.model ?? null
  const version = (line) => line?.match(/\d+\.\d+(\.\d+)?/)?.[0] ?? null
  return {
    cpu,
    cores: os.cpus().length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    runtimes: {
      node: process.version,
      python: version(firstLine('python3', ['-V'])),
      rustc: version(firstLine('rustc', ['-V'])),
      ...extraRuntimes,
    },
  }
}

/** DynamoDB Local's version, as scripts/dynamodb-local.sh runs it (null when unknown). */
function dynamodbLocalVersion() {
  try {
    const script = fs.readFileSync(path.join(__dirname, '..', '..', 'scripts', 'dynamodb-local.sh'), 'utf8')
    return script.match(/^jar_version=(\S+)$/m)?.[1] ?? null
  } catch {
    return null
  }
}

/** A figure of a results file: the median of `runs`. */
function figure(scenario, store, metric, runs) {
  return { scenario, store, metric, median: median(runs), runs }
}

/**
 * The CPU time of each live thread of this process, from Linux's /proc/self/task/<tid>/schedstat
 * (nanoseconds on a CPU, user and system alike): { [tid]: { name, ns } }, or null where there is
 * no such file (not Linux, or a kernel without schedstats). `name` is the thread's name (at most
 * 15 bytes): the addon's runtime threads are `connect-dynamod`.
 */
function threadCpu() {
  const threads = {}
  let tids
  try {
    tids = fs.readdirSync('/proc/self/task')
  } catch {
    return null
  }
  for (const tid of tids) {
    try {
      const ns = Number(fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0])
      const name = fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()
      threads[tid] = { name, ns }
    } catch (err) {
      // A thread that ended meanwhile has no files; no schedstat at all means no split.
      if (tid === String(process.pid)) return null
      if (err.code !== 'ENOENT' && err.code !== 'ESRCH') throw err
    }
  }
  return threads
}

/** Writes `$BENCH_OUT/<result.bench>.json` when BENCH_OUT is set; returns the path or null. */
function writeResult(result) {
  const dir = process.env.BENCH_OUT
  if (!dir) return null
  fs.mkdirSync(dir, { recursive: true })
  const file = path.join(dir, `${result.bench}.json`)
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`)
  return file
}

// The benches' HTTP client: one keep-alive connection per app (an agent's maxSockets counts per
// host and port).
const clientAgent = new http.Agent({ keepAlive: true, maxSockets: 1 })

/** One request through `clientAgent`: { status, headers, body }. */
function request(url, { method = 'GET', cookie } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: clientAgent, headers: cookie ? { cookie } : {} }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c) => {
        body += c
      })
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }))
    })
    req.on('error', reject)
    // A stuck app fails the bench instead of hanging it.
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer from ${url} in 30 s`)))
    req.end()
  })
}

/** Logs in to a `sessionApp` at `base`; the session cookie. */
async function login(base) {
  const res = await request(`${base}/login`, { method: 'POST' })
  const setCookie = res.headers['set-cookie']
  if (res.status !== 200 || !setCookie) throw new Error(`login failed: ${res.status} ${res.body}`)
  return setCookie[0].split(';')[0]
}

/** autocannon's load on `url` (load.js, a process of its own) for `duration` seconds. */
function runLoad(url, cookies, duration) {
  return new Promise((resolve, reject) => {
    const arg = JSON.stringify({ url, cookies, duration })
    execFile(
      process.execPath,
      [path.join(__dirname, 'load.js'), arg],
      { maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`load generator failed: ${err.message}\n${stderr}`))
        resolve(JSON.parse(stdout.trim().split('\n').pop()))
      },
    )
  })
}

/** The date of a results file: UTC, to the second. */
const isoDate = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')

module.exports = {
  threadCpu,
  clientAgent,
  request,
  login,
  runLoad,
  region,
  accessKeyId,
  secretAccessKey,
  MAX_AGE_MS,
  int,
  median,
  fmt,
  dynamodbEndpoint,
  rawClient,
  createTable,
  profile,
  storedSession,
  sessionApp,
  releaseAddon,
  machine,
  dynamodbLocalVersion,
  figure,
  writeResult,
  isoDate,
}
