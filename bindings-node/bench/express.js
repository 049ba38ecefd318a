'use strict'
// Side by side, in one run: what each session store costs an express 5 + express-session app,
// with a ~1 KB session created by a login route. `scripts/bench.sh` (which `make bench` runs)
// runs this file under scripts/dynamodb-local.sh and scripts/redis-server.sh, with the
// release addon loaded through NAPI_RS_NATIVE_LIBRARY_PATH.
//
// Stores: express-session's MemoryStore (the floor: the app's own cost), connect-redis 10 on a
// local redis-server (the baseline), this package, and connect-dynamodb 3.0.5, both on the same
// DynamoDB Local. Scenarios: a read-only view (reads the session, leaves it as it was) and a
// write (changes the session on every request). express-session runs with resave: false,
// saveUninitialized: false and rolling: false.
//
// Each store's app runs in a process of its own (`express.js --app STORE`), started once and
// kept for the whole run; the client is another process (`express.js --client`). Measured, per
// repetition, scenario and store (stores interleaved, their order reversed every repetition):
//   - app-process CPU per request: process.cpuUsage() (user + system, every thread, so the
//     addon's threads too) in the app process over BENCH_EXPRESS_REQUESTS sequential requests
//     on one keep-alive connection, after a warm-up;
//   - requests per second: autocannon (bench/load.js, its own process) with BENCH_CONNECTIONS
//     connections, each with its own session, for BENCH_EXPRESS_LOAD_SECONDS.
// The same CPU repetitions also split each app's CPU by thread (Linux's per-thread CPU time):
// the JavaScript thread, the addon's runtime threads and Node's other threads. With BENCH_OUT
// set, that split goes to $BENCH_OUT/profile-node.json, a section of BENCHMARKS.md.
// Once per store and scenario, in apps of their own whose stores talk to DynamoDB Local through
// the demo's meter (examples/demo/meter.js, an HTTP proxy): DynamoDB requests and capacity
// units (RCU, WCU, computed from item sizes) per request. MemoryStore and Redis use none.
//
// Prints medians and ratios against connect-redis 10 and MemoryStore measured in the same run;
// never fails on a target. With BENCH_OUT set, writes $BENCH_OUT/node-express.json (and
// profile-node.json).
//
// Knobs (environment): BENCH_EXPRESS_REPS (5), BENCH_EXPRESS_REQUESTS (1500),
// BENCH_EXPRESS_WARMUP (1000), BENCH_EXPRESS_LOAD_SECONDS (2), BENCH_CONNECTIONS (16),
// BENCH_EXPRESS_COUNT (200 requests for the DynamoDB counts), BENCH_EXPRESS_STORES (a comma
// list of memory, redis, this, 3.0.5; all by default).

const { fork, execFileSync } = require('node:child_process')
const http = require('node:http')
const fs = require('node:fs')
const path = require('node:path')
const common = require('./common')

const { int, median, fmt } = common

// Ours by path: this package is itself named connect-dynamodb, and Node resolves a package's
// own name to the package itself (self-reference through "exports"), so
// `require('connect-dynamodb')` here would NOT load connect-dynamodb 3.0.5. The peer is loaded
// by its path.
const peerDir = path.join(__dirname, '..', 'node_modules', 'connect-dynamodb')
const PEER_VERSION = require(path.join(peerDir, 'package.json')).version
const moduleVersion = (name) => require(path.join(__dirname, '..', 'node_modules', name, 'package.json')).version

const STORES = [
  { key: 'memory', name: 'MemoryStore' },
  { key: 'redis', name: 'connect-redis 10' },
  { key: 'this', name: 'connect-dynamodb 4 (this)', dynamodb: true },
  { key: PEER_VERSION, name: `connect-dynamodb ${PEER_VERSION}`, dynamodb: true },
]
const BASELINE = 'connect-redis 10'
const FLOOR = 'MemoryStore'
const THIS = 'connect-dynamodb 4 (this)'
const SCENARIOS = [
  { key: 'view', name: 'read-only view', path: '/view', target: 1.25 },
  { key: 'write', name: 'write', path: '/count', target: 1.5 },
]

const REPS = int('BENCH_EXPRESS_REPS', 5)
const REQUESTS = int('BENCH_EXPRESS_REQUESTS', 1500)
const WARMUP = int('BENCH_EXPRESS_WARMUP', 1000)
const LOAD_SECONDS = int('BENCH_EXPRESS_LOAD_SECONDS', 2)
const CONNECTIONS = int('BENCH_CONNECTIONS', 16)
const COUNT = int('BENCH_EXPRESS_COUNT', 200)
// Requests before each measurement, after the first warm-up: the other stores ran meanwhile.
const PREROLL = 200

// The split of an app process's CPU by thread (profile-node.json): its main thread, which runs
// the event loop and all JavaScript; the addon's Tokio runtime, whose threads are named
// `connect-dynamodb` (cut to the 15 bytes Linux keeps), or `tokio-runtime-worker` when napi
// runs its default runtime instead (src/lib.rs); every other thread of Node's.
const ALL_THREADS = 'all threads'
const JS_THREAD = 'JavaScript thread'
const RUNTIME_THREADS = "the addon's runtime threads"
const OTHER_THREADS = "Node's other threads (V8, libuv)"
const THREAD_CLASSES = [JS_THREAD, RUNTIME_THREADS, OTHER_THREADS]

function threadClass(tid, name, pid) {
  if (tid === String(pid)) return JS_THREAD
  if (name.startsWith('connect-dynamod') || name.startsWith('tokio-runtime-w')) return RUNTIME_THREADS
  return OTHER_THREADS
}

/**
 * CPU µs per request of each class of thread between two snapshots of `common.threadCpu()`, or
 * null without them. A thread that started meanwhile counts whole; one that ended is missed.
 */
function threadSplit(before, after, pid, requests) {
  if (!before || !after) return null
  const split = Object.fromEntries(THREAD_CLASSES.map((c) => [c, 0]))
  for (const [tid, t] of Object.entries(after)) {
    split[threadClass(tid, t.name, pid)] += (t.ns - (before[tid]?.ns ?? 0)) / 1e3 / requests
  }
  return split
}

const log = (...args) => console.log(...args)

// ---------------------------------------------------------------------------------------------
// The app process: `express.js --app STORE` (forked, with an IPC channel). It reports its URL,
// then answers { id, cmd: 'cpu' } with its process.cpuUsage() and its threads' CPU times
// (common.threadCpu).

async function makeStore(key, session) {
  if (key === 'memory') return new session.MemoryStore()
  if (key === 'redis') {
    const { createClient } = require('redis')
    const { RedisStore } = require('connect-redis')
    const client = createClient({ url: process.env.REDIS_URL })
    await client.connect()
    return new RedisStore({ client, prefix: `bench-${process.pid}:` })
  }
  const table = process.env.BENCH_TABLE
  const url = process.env.BENCH_DYNAMODB_URL
  if (key === 'this') {
    const Store = require('..')(session)
    const { region, accessKeyId, secretAccessKey } = common
    return new Store({ table, endpoint: url, region, accessKeyId, secretAccessKey, initialized: true })
  }
  const PeerStore = require(peerDir)(session)
  return new PeerStore({ table, client: common.rawClient(url), initialized: true })
}

async function appMain(key) {
  const session = require('express-session')
  // The parent going away ends this app, even while it still connects to its store.
  process.on('disconnect', () => process.exit(0))
  const store = await makeStore(key, session)
  const app = common.sessionApp(store)
  const server = http.createServer(app)
  // The client's connection stays open while the other stores are measured.
  server.keepAliveTimeout = 600_000
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  process.on('message', (msg) => {
    if (msg.cmd === 'cpu') {
      const c = process.cpuUsage()
      const threads = common.threadCpu()
      process.send({ id: msg.id, cpu: c.user + c.system, user: c.user, system: c.system, threads })
    }
  })
  process.send({ ready: true, url: `http://127.0.0.1:${server.address().port}` })
}

// ---------------------------------------------------------------------------------------------
// The client process: `express.js --client` (forked, with an IPC channel). Sequential requests
// on one keep-alive connection per app.

const { request, login, runLoad } = common

async function clientCommand(msg) {
  if (msg.cmd === 'login') {
    const cookies = []
    for (let i = 0; i < msg.n; i++) cookies.push(await login(msg.url))
    return { cookies }
  }
  if (msg.cmd === 'run') {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < msg.n; i++) {
      const res = await request(msg.url, { cookie: msg.cookie })
      if (res.status !== 200) throw new Error(`${msg.url}: request ${i} answered ${res.status} ${res.body}`)
    }
    return { wall: Number(process.hrtime.bigint() - t0) / 1e3 / msg.n }
  }
  throw new Error(`unknown command ${msg.cmd}`)
}

function clientMain() {
  process.on('message', (msg) => {
    clientCommand(msg).then(
      (out) => process.send({ id: msg.id, ...out }),
      (err) => process.send({ id: msg.id, error: String(err?.stack || err) }),
    )
  })
  process.on('disconnect', () => process.exit(0))
}

// ---------------------------------------------------------------------------------------------
// The parent: starts the apps and the client, measures, prints, writes the results.

/** A forked child with request/answer messages: `call(msg)` resolves to the answer to it. */
function child(args, env) {
  const proc = fork(__filename, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const waiting = new Map()
  let nextId = 0
  let failed = null
  let onReady
  const ready = new Promise((resolve, reject) => {
    // An app that cannot reach its store (node-redis retries for ever) fails the bench.
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} not ready in 60 s`)), 60_000)
    timer.unref()
    onReady = (msg) => {
      clearTimeout(timer)
      resolve(msg)
    }
    proc.once('exit', (code, signal) => reject(new Error(`${args.join(' ')} exited (${code ?? signal})`)))
  })
  proc.on('message', (msg) => {
    if (msg.ready) return onReady(msg)
    const w = waiting.get(msg.id)
    if (!w) return
    waiting.delete(msg.id)
    if (msg.error) w.reject(new Error(msg.error))
    else w.resolve(msg)
  })
  proc.on('exit', (code, signal) => {
    failed = new Error(`${args.join(' ')} exited (${code ?? signal})`)
    for (const w of waiting.values()) w.reject(failed)
    waiting.clear()
  })
  ready.catch(() => {})
  return {
    proc,
    ready,
    call(msg) {
      if (failed) return Promise.reject(failed)
      const id = ++nextId
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject })
        proc.send({ ...msg, id })
      })
    },
    stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve()
      return new Promise((resolve) => {
        proc.once('exit', resolve)
        proc.disconnect()
      })
    },
  }
}

async function startApp(store, env) {
  const app = child(['--app', store.key], env)
  const { url } = await app.ready
  return { ...app, url }
}

const appCpu = async (app) => (await app.call({ cmd: 'cpu' })).cpu

/** DynamoDB requests and capacity units per request, through the meter. */
async function countDynamoDB(stores, tables, endpoint, client) {
  const { startMeter } = require('../examples/demo/meter')
  const meter = await startMeter(endpoint)
  const out = {}
  log(`\n[1] DynamoDB requests and capacity units per request (${COUNT} requests after one sign-in, through a meter)`)
  try {
    for (const store of stores) {
      out[store.name] = {}
      if (!store.dynamodb) {
        for (const s of SCENARIOS) out[store.name][s.key] = { requests: 0, rcu: 0, wcu: 0, byOp: {} }
        continue
      }
      const app = await startApp(store, { BENCH_TABLE: tables[store.key], BENCH_DYNAMODB_URL: meter.url })
      try {
        for (const s of SCENARIOS) {
          const { cookies } = await client.call({ cmd: 'login', url: app.url, n: 1 })
          const sum = { requests: 0, rcu: 0, wcu: 0, byOp: {} }
          // In batches: the meter keeps the last 1000 requests only.
          for (let done = 0; done < COUNT; ) {
            const n = Math.min(200, COUNT - done)
            const mark = meter.mark()
            await client.call({ cmd: 'run', url: app.url + s.path, cookie: cookies[0], n })
            if (done + n >= COUNT) await new Promise((resolve) => setTimeout(resolve, 100))
            for (const call of meter.since(mark)) {
              sum.requests += 1
              sum.rcu += call.rcu
              sum.wcu += call.wcu
              sum.byOp[call.op] = (sum.byOp[call.op] || 0) + 1
            }
            done += n
          }
          const per = { requests: sum.requests / COUNT, rcu: sum.rcu / COUNT, wcu: sum.wcu / COUNT, byOp: sum.byOp }
          out[store.name][s.key] = per
          log(
            `    ${store.name.padEnd(27)} ${s.name.padEnd(14)} ${fmt(per.requests, 3)} requests, ${fmt(per.rcu, 3)} RCU, ${fmt(per.wcu, 3)} WCU per request  ${JSON.stringify(sum.byOp)}`,
          )
        }
      } finally {
        await app.stop()
      }
    }
  } finally {
    await meter.close()
  }
  return out
}

/** A table of rows (arrays of strings), first column left-aligned. */
function table(head, rows) {
  const cells = [head, ...rows]
  const widths = head.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)))
  const line = (r) =>
    r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ')
  log(line(head))
  log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const r of rows) log(line(r))
}

async function main() {
  const started = Date.now()
  const endpoint = common.dynamodbEndpoint()
  if (!process.env.REDIS_URL) {
    console.error('REDIS_URL is not set: run `make bench` (or scripts/bench.sh), which starts redis-server')
    process.exit(2)
  }
  const only = process.env.BENCH_EXPRESS_STORES?.split(',').map((s) => s.trim())
  const stores = STORES.filter((s) => !only || only.includes(s.key))
  const { addon, mib } = stores.some((s) => s.key === 'this') ? common.releaseAddon({ strict: true }) : {}
  const versions = {
    express: moduleVersion('express'),
    'express-session': moduleVersion('express-session'),
    'connect-redis': moduleVersion('connect-redis'),
    redis: moduleVersion('redis'),
  }
  log(`express bench: ${stores.map((s) => s.name).join(', ')}`)
  log(
    `node ${process.version}, express ${versions.express}, express-session ${versions['express-session']}, connect-redis ${versions['connect-redis']} (node-redis ${versions.redis})`,
  )
  log(`DynamoDB Local at ${endpoint}, redis-server at ${process.env.REDIS_URL}`)
  if (addon) log(`addon: ${addon} (${fmt(mib, 1)} MiB)`)

  const stamp = `${process.pid}-${Date.now() % 1e6}`
  const tables = {}
  for (const store of stores.filter((s) => s.dynamodb)) {
    tables[store.key] = `bench-express-${store.key.replace(/\W/g, '')}-${stamp}`
    await common.createTable(endpoint, tables[store.key])
  }

  const client = child(['--client'], {})
  const apps = {}
  try {
    const counts = await countDynamoDB(stores, tables, endpoint, client)

    log(
      `\n[2] app-process CPU per request: ${REQUESTS} sequential requests on one keep-alive connection per case, after a warm-up of ${WARMUP} (and ${PREROLL} before each case); ${REPS} repetitions, stores interleaved`,
    )
    log(`[3] requests/s: autocannon, ${CONNECTIONS} connections with a session each, ${LOAD_SECONDS} s per case`)
    for (const store of stores) {
      const app = await startApp(store, { BENCH_TABLE: tables[store.key] ?? '', BENCH_DYNAMODB_URL: endpoint })
      const { cookies } = await client.call({ cmd: 'login', url: app.url, n: Math.max(CONNECTIONS, 1) })
      apps[store.name] = { ...app, cookie: cookies[0], cookies }
      for (const s of SCENARIOS) {
        await client.call({ cmd: 'run', url: app.url + s.path, cookie: cookies[0], n: WARMUP })
      }
    }

    const cpu = {}
    const wall = {}
    const rps = {}
    const loadCpu = {}
    const split = {}
    for (const s of SCENARIOS) {
      for (const o of [cpu, wall, rps, loadCpu, split]) {
        o[s.key] = {}
        for (const store of stores) o[s.key][store.name] = []
      }
    }
    // Every CPU repetition runs before any load: after a burst of load, V8 shrinks its heap (a
    // major GC and compaction) once the allocation rate drops, which would land in whichever
    // sequential measurement came next.
    const orderOf = (rep) => (rep % 2 === 0 ? stores : [...stores].reverse())
    for (let rep = 0; rep < REPS; rep++) {
      const order = orderOf(rep)
      for (const s of SCENARIOS) {
        const parts = []
        for (const store of order) {
          const app = apps[store.name]
          const url = app.url + s.path
          await client.call({ cmd: 'run', url, cookie: app.cookie, n: PREROLL })
          const c0 = await app.call({ cmd: 'cpu' })
          const r = await client.call({ cmd: 'run', url, cookie: app.cookie, n: REQUESTS })
          const c1 = await app.call({ cmd: 'cpu' })
          cpu[s.key][store.name].push((c1.cpu - c0.cpu) / REQUESTS)
          wall[s.key][store.name].push(r.wall)
          const threads = threadSplit(c0.threads, c1.threads, app.proc.pid, REQUESTS)
          if (threads) split[s.key][store.name].push(threads)
          parts.push(`${store.name} ${fmt((c1.cpu - c0.cpu) / REQUESTS, 0)}`)
        }
        log(`    rep ${rep + 1} ${s.name.padEnd(14)} µs CPU/req: ${parts.join(', ')}`)
      }
    }
    for (const store of stores) {
      for (const s of SCENARIOS) {
        const r = await runLoad(apps[store.name].url + s.path, apps[store.name].cookies, 1)
        if (r.non2xx || r.errors || r.timeouts) throw new Error(`${store.name} ${s.name}: warm-up load failed`)
      }
    }
    for (let rep = 0; rep < REPS; rep++) {
      const order = orderOf(rep)
      for (const s of SCENARIOS) {
        const parts = []
        for (const store of order) {
          const app = apps[store.name]
          const c0 = await appCpu(app)
          const r = await runLoad(app.url + s.path, app.cookies, LOAD_SECONDS)
          const c1 = await appCpu(app)
          if (r.non2xx || r.errors || r.timeouts) {
            throw new Error(
              `${store.name} ${s.name}: ${r.non2xx} non-2xx answers, ${r.errors} errors, ${r.timeouts} timeouts`,
            )
          }
          rps[s.key][store.name].push(r.rps)
          loadCpu[s.key][store.name].push((c1 - c0) / r.requests)
          parts.push(`${store.name} ${fmt(r.rps, 0)}`)
        }
        log(`    rep ${rep + 1} ${s.name.padEnd(14)} req/s: ${parts.join(', ')}`)
      }
    }

    // -------------------------------------------------------------------------------------------
    // Results
    const names = stores.map((s) => s.name)
    const has = (name) => names.includes(name)
    const ratio = (a, b) => (b > 0 ? a / b : Number.NaN)
    log(
      `\nresults: medians of ${REPS} repetitions; ratios against ${BASELINE} and ${FLOOR} measured in this run (${fmt((Date.now() - started) / 1000, 0)} s)`,
    )
    for (const s of SCENARIOS) {
      log(`\n${s.name} (${s.path})`)
      const rows = names.map((name) => {
        const c = median(cpu[s.key][name])
        const k = counts[name][s.key]
        return [
          name,
          fmt(c, 0),
          has(BASELINE) ? `${fmt(ratio(c, median(cpu[s.key][BASELINE])), 2)}x` : '-',
          has(FLOOR) ? `${fmt(ratio(c, median(cpu[s.key][FLOOR])), 2)}x` : '-',
          cpu[s.key][name].map((x) => fmt(x, 0)).join(' '),
          fmt(median(wall[s.key][name]), 0),
          fmt(median(rps[s.key][name]), 0),
          has(BASELINE) ? `${fmt(ratio(median(rps[s.key][name]), median(rps[s.key][BASELINE])), 2)}x` : '-',
          fmt(median(loadCpu[s.key][name]), 0),
          fmt(k.requests, 2),
          fmt(k.rcu, 2),
          fmt(k.wcu, 2),
        ]
      })
      table(
        [
          'store',
          'µs CPU/req',
          `x redis`,
          'x memory',
          'runs',
          'µs wall/req',
          'req/s',
          'x redis',
          `µs CPU/req @${CONNECTIONS}`,
          'DDB req/req',
          'RCU/req',
          'WCU/req',
        ],
        rows,
      )
    }
    const targets = []
    if (has(THIS) && has(BASELINE)) {
      log('')
      for (const s of SCENARIOS) {
        const r = ratio(median(cpu[s.key][THIS]), median(cpu[s.key][BASELINE]))
        log(
          `target: ${s.name}, app CPU/request of ${THIS} <= ${s.target}x ${BASELINE}: ${fmt(r, 2)}x, ${r <= s.target ? 'met' : 'NOT met'}`,
        )
        targets.push({
          scenario: s.name,
          metric: 'cpu_us_per_request',
          store: THIS,
          against: BASELINE,
          max_ratio: s.target,
        })
      }
    }

    const figures = []
    for (const s of SCENARIOS) {
      for (const name of names) {
        const round = (xs, d) => xs.map((x) => Number(x.toFixed(d)))
        figures.push(common.figure(s.name, name, 'cpu_us_per_request', round(cpu[s.key][name], 1)))
        figures.push(common.figure(s.name, name, 'requests_per_second', round(rps[s.key][name], 0)))
        const k = counts[name][s.key]
        figures.push(common.figure(s.name, name, 'dynamodb_requests_per_request', [Number(k.requests.toFixed(3))]))
        figures.push(common.figure(s.name, name, 'rcu_per_request', [Number(k.rcu.toFixed(3))]))
        figures.push(common.figure(s.name, name, 'wcu_per_request', [Number(k.wcu.toFixed(3))]))
      }
    }
    const redisVersion = redisServerVersion()
    const file = common.writeResult({
      bench: 'node-express',
      title: 'Node: express 5 + express-session, 1 KB session',
      machine: common.machine({ redis: redisVersion, dynamodb_local: common.dynamodbLocalVersion() }),
      date: common.isoDate(),
      method:
        `Each store serves its own express ${versions.express} + express-session ${versions['express-session']} app in a process of its own ` +
        '(resave: false, saveUninitialized: false, rolling: false; a ~1 KB session created by a login route). ' +
        `cpu_us_per_request is the app process's CPU (process.cpuUsage, user + system, all threads) over ${REQUESTS} sequential requests ` +
        `from a client process on one keep-alive connection, after a warm-up; requests_per_second comes from autocannon with ${CONNECTIONS} ` +
        `connections (a session each) for ${LOAD_SECONDS} s. ${REPS} repetitions with the stores interleaved and their order reversed ` +
        'every repetition, every CPU repetition before any load; the figure is the median. DynamoDB requests and capacity units per request are counted once, over ' +
        `${COUNT} requests, by a proxy in front of DynamoDB Local that computes RCU/WCU from item sizes; MemoryStore and Redis use none. ` +
        'The app, the client, DynamoDB Local and redis-server share the machine.',
      baseline: has(BASELINE) ? BASELINE : null,
      stores: names,
      figures,
      targets,
      notes: [
        `connect-redis ${versions['connect-redis']} with node-redis ${versions.redis} on redis-server ${redisVersion ?? '(unknown)'}, default options (its touch sends EXPIRE on every read-only view).`,
        `connect-dynamodb 4 (this): the release addon, default options (touchAfter throttles the read-only view's touch); connect-dynamodb ${PEER_VERSION} on @aws-sdk/client-dynamodb ${moduleVersion('@aws-sdk/client-dynamodb')}.`,
        `app CPU per request under autocannon's load (${CONNECTIONS} connections), medians: ${SCENARIOS.map((s) => `${s.name}: ${names.map((n) => `${n} ${fmt(median(loadCpu[s.key][n]), 0)} µs`).join(', ')}`).join('; ')}.`,
      ],
    })
    if (file) log(`\nwrote ${file}`)
    writeSplit(names, cpu, split, versions)
    log(`express bench took ${fmt((Date.now() - started) / 1000, 1)} s`)
  } finally {
    for (const app of Object.values(apps)) await app.stop()
    await client.stop()
  }
}

/**
 * Prints the CPU per request of each app split by thread, medians of the repetitions, and
 * writes it as profile-node.json. Nothing when this OS gives no per-thread CPU time.
 */
function writeSplit(names, cpu, split, versions) {
  const measured = SCENARIOS.every((s) => names.every((name) => split[s.key][name].length === REPS))
  if (!measured) {
    log('\nno CPU split by thread: this OS has no /proc/self/task/*/schedstat')
    // An earlier run's split would sit in BENCHMARKS.md beside figures it was not measured with.
    if (process.env.BENCH_OUT) fs.rmSync(path.join(process.env.BENCH_OUT, 'profile-node.json'), { force: true })
    return
  }
  const columns = [ALL_THREADS, ...THREAD_CLASSES]
  const runsOf = (s, name, column) =>
    column === ALL_THREADS ? cpu[s.key][name] : split[s.key][name].map((threads) => threads[column])
  const figures = []
  const rows = []
  for (const s of SCENARIOS) {
    for (const name of names) {
      const scenario = `${s.name}: ${name}`
      const row = [scenario]
      for (const column of columns) {
        const runs = runsOf(s, name, column).map((x) => Number(x.toFixed(1)))
        figures.push(common.figure(scenario, column, 'cpu_us_per_request', runs))
        row.push(fmt(median(runs), 0))
      }
      rows.push(row)
    }
  }
  log(`\napp CPU per request by thread (µs, medians of ${REPS} repetitions)`)
  table(['scenario', ...columns], rows)

  // What a store adds to the floor, thread by thread: the median of the repetitions' paired
  // differences (the stores of a repetition ran one after the other).
  const over = (s, name, column) => {
    const mine = runsOf(s, name, column)
    const floor = runsOf(s, FLOOR, column)
    return median(mine.map((x, i) => x - floor[i]))
  }
  const notes = []
  if (names.includes(FLOOR)) {
    for (const s of SCENARIOS) {
      const parts = names
        .filter((name) => name !== FLOOR)
        .map(
          (name) =>
            `${name} ${fmt(over(s, name, ALL_THREADS), 0)} µs (JavaScript thread ${fmt(over(s, name, JS_THREAD), 0)}, runtime threads ${fmt(over(s, name, RUNTIME_THREADS), 0)}, other threads ${fmt(over(s, name, OTHER_THREADS), 0)})`,
        )
      notes.push(
        `${s.name}, CPU per request over ${FLOOR}'s (medians of the repetitions' differences): ${parts.join('; ')}.`,
      )
    }
  }
  for (const note of notes) log(`  ${note}`)
  notes.push(
    "The addon's runtime threads make the DynamoDB requests: the AWS SDK's pipeline, signing, HTTP and JSON, the wake-ups around the wait for DynamoDB, and the hand-off of each answer to the JavaScript thread (the core's share of a call: the profile of the Rust core above).",
  )
  const file = common.writeResult({
    bench: 'profile-node',
    title: "Where a request's CPU goes: express 5 + express-session with each store, by thread, 1 KB session",
    machine: common.machine({ redis: redisServerVersion(), dynamodb_local: common.dynamodbLocalVersion() }),
    date: common.isoDate(),
    method:
      `The app processes of the express bench above, in the same run and the same ${REPS} repetitions of ${REQUESTS} sequential requests (express ${versions.express}, express-session ${versions['express-session']}): ` +
      "each process's CPU per request split by thread, from Linux's per-thread CPU time (/proc/self/task/*/schedstat, user and system) read when a repetition starts and ends. " +
      "The JavaScript thread runs the event loop and all JavaScript: Node's HTTP server, express, express-session, the store's JavaScript and the addon's calls into Rust; " +
      "the addon's runtime threads are connect-dynamodb's Tokio runtime; Node's other threads are V8's garbage collector and compiler helpers and libuv's pool. " +
      `"${ALL_THREADS}" is the express bench's figure (process.cpuUsage); the split can fall short of it by a thread that ended during a repetition. Each cell is the median of its own repetitions, so a row's parts need not add up to its total exactly.`,
    baseline: null,
    stores: columns,
    figures,
    targets: [],
    notes,
  })
  if (file) log(`wrote ${file}`)
}

function redisServerVersion() {
  try {
    const out = execFileSync('redis-server', ['--version'], { encoding: 'utf8' })
    return out.match(/v=(\S+)/)?.[1] ?? null
  } catch {
    return null
  }
}

const fail = (err) => {
  console.error(err)
  process.exit(1)
}
if (process.argv[2] === '--app') {
  appMain(process.argv[3]).catch(fail)
} else if (process.argv[2] === '--client') {
  clientMain()
} else {
  main().then(() => process.exit(0), fail)
}
