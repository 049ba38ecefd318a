'use strict'
// Benchmarks this package against connect-dynamodb@3.0.5, side by side, against the same
// DynamoDB Local, in one run: `scripts/bench.sh` (which `make bench` runs) builds the release
// addon and runs this file under `scripts/dynamodb-local.sh run`.
//
// It prints ratios against the peer measured in the same run (medians over rounds), never
// timed assertions, and exits 0 whether or not the targets are met:
//   1. DynamoDB requests per read-only page view of an express 5 + express-session app,
//      counted by an HTTP proxy in front of DynamoDB Local;
//   2. app-process CPU (process.cpuUsage: every thread, so our native threads too) per store
//      `get` of a ~1 KB session;
//   3. requests per second of an express app, read-only and writing, driven by autocannon in
//      a child process (bench/load.js), one keep-alive connection and session per client.
//
// Knobs (environment): BENCH_VIEWS, BENCH_GETS, BENCH_CPU_ROUNDS, BENCH_LOAD_SECONDS,
// BENCH_LOAD_ROUNDS, BENCH_CONNECTIONS.

const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const { execFile } = require('node:child_process')
const { countingProxy: proxyTo } = require('../test/counting-proxy')
const session = require('express-session')
// Sets AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED before the SDK loads.
const common = require('./common')

// Ours by path: this package is itself named connect-dynamodb, and Node resolves a package's
// own name to the package itself (self-reference through "exports"), so
// `require('connect-dynamodb')` here would NOT load the peer. The peer is loaded by its path.
const OursStore = require('..')(session)
const peerDir = path.join(__dirname, '..', 'node_modules', 'connect-dynamodb')
const PEER_VERSION = require(path.join(peerDir, 'package.json')).version
const PeerStore = require(peerDir)(session)

const endpoint = common.dynamodbEndpoint()
const { region, accessKeyId, secretAccessKey, int, median, fmt, rawClient } = common
const VIEWS = int('BENCH_VIEWS', 200)
const GETS = int('BENCH_GETS', 1000)
const CPU_ROUNDS = int('BENCH_CPU_ROUNDS', 5)
const LOAD_SECONDS = int('BENCH_LOAD_SECONDS', 4)
const LOAD_ROUNDS = int('BENCH_LOAD_ROUNDS', 3)
const CONNECTIONS = int('BENCH_CONNECTIONS', 16)

// ---------------------------------------------------------------------------------------------
// Helpers

const log = (...args) => console.log(...args)

/**
 * CPU nanoseconds of this process's threads grouped by thread name (Linux /proc, see
 * `common.threadCpu`), to tell which threads the CPU of a phase goes to: the main thread
 * (JavaScript), tokio workers, V8's helpers. Empty where /proc is missing.
 */
function threadCpu() {
  const out = {}
  for (const [tid, { name, ns }] of Object.entries(common.threadCpu() ?? {})) {
    const key = tid === String(process.pid) ? 'main' : name.replace(/[-\s]*\d+$/, '')
    out[key] = (out[key] || 0) + ns
  }
  return out
}

function threadCpuSince(before) {
  const now = threadCpu()
  const out = {}
  for (const [name, ns] of Object.entries(now)) out[name] = ns - (before[name] || 0)
  return out
}

/** The two stores under test, on `url` (DynamoDB Local itself, or the counting proxy). */
function makeStores(url, tables) {
  return {
    ours: new OursStore({ table: tables.ours, endpoint: url, region, accessKeyId, secretAccessKey, initialized: true }),
    peer: new PeerStore({ table: tables.peer, client: rawClient(url), initialized: true }),
  }
}

async function listen(app) {
  const server = http.createServer(app)
  server.keepAliveTimeout = 60_000
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${server.address().port}` }
}

const { clientAgent, request, login, runLoad } = common

const NAMES = { ours: 'ours', peer: `${PEER_VERSION}` }

// ---------------------------------------------------------------------------------------------
// 1. DynamoDB requests per read-only page view

async function requestsPerView(tables) {
  log(`\n[1] DynamoDB requests per read-only page view (${VIEWS} views after one sign-in, default touchAfter)`)
  const proxy = await proxyTo(endpoint)
  const stores = makeStores(proxy.url, tables)
  const out = {}
  for (const which of ['ours', 'peer']) {
    const { server, url } = await listen(common.sessionApp(stores[which]))
    const cookie = await login(url)
    // Every view is counted, from the first one after signing in.
    proxy.reset()
    for (let i = 0; i < VIEWS; i++) {
      const res = await request(`${url}/view`, { cookie })
      if (res.status !== 200) throw new Error(`${which}: view ${i} answered ${res.status} ${res.body}`)
    }
    out[which] = { perView: proxy.total() / VIEWS, byOp: { ...proxy.counts } }
    log(`    ${NAMES[which].padEnd(6)} ${fmt(out[which].perView, 3)} requests/view  ${JSON.stringify(out[which].byOp)}`)
    await new Promise((resolve) => server.close(resolve))
  }
  stores.peer.client.destroy()
  await proxy.close()
  return out
}

// ---------------------------------------------------------------------------------------------
// 2. CPU per store get

/**
 * One round in a process of its own (`bench.js --cpu-child ours|peer TABLE`): the process holds
 * one store only, so neither store's garbage or compiled code weighs on the other's figure.
 * Warms up, measures GETS sequential gets, prints one JSON line.
 */
async function cpuChild(which, table) {
  const stores = makeStores(endpoint, { ours: table, peer: table })
  const store = stores[which]
  const get =
    which === 'ours'
      ? (id) => store.get(id)
      : (id) => new Promise((resolve, reject) => store.get(id, (err, v) => (err ? reject(err) : resolve(v))))
  const sid = 'cpu-bench-session'
  const sess = common.storedSession(42, 7)
  await new Promise((resolve, reject) => store.set(sid, sess, (err) => (err ? reject(err) : resolve())))
  const got = await get(sid)
  if (!got?.user || got.user.id !== sess.user.id) throw new Error(`${which}: get did not return the session`)
  for (let i = 0; i < GETS; i++) await get(sid) // warm-up
  const th0 = threadCpu()
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < GETS; i++) await get(sid)
  const wall = Number(process.hrtime.bigint() - t0) / 1e3 / GETS
  const c = process.cpuUsage(c0)
  const threads = {}
  for (const [name, ns] of Object.entries(threadCpuSince(th0))) threads[name] = ns / 1e3 / GETS
  if (stores.peer.client) stores.peer.client.destroy()
  process.stdout.write(
    `${JSON.stringify({ cpu: (c.user + c.system) / GETS, wall, threads, bytes: JSON.stringify(sess).length })}\n`,
  )
}

function runCpuChild(which, table) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [__filename, '--cpu-child', which, table],
      { env: process.env, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`cpu child ${which} failed: ${stderr || err.message}`))
        resolve(JSON.parse(stdout.trim().split('\n').pop()))
      },
    )
  })
}

async function cpuPerGet(tables) {
  log(
    `\n[2] app-process CPU per store.get (${GETS} sequential gets per round after ${GETS} warm-up gets, ${CPU_ROUNDS} rounds, alternating, each round in a fresh process holding one store)`,
  )
  const cpu = { ours: [], peer: [] }
  const wall = { ours: [], peer: [] }
  const threads = { ours: {}, peer: {} }
  for (let round = 0; round < CPU_ROUNDS; round++) {
    const order = round % 2 === 0 ? ['ours', 'peer'] : ['peer', 'ours']
    for (const which of order) {
      const r = await runCpuChild(which, tables[which])
      if (round === 0 && which === order[0]) log(`    session JSON: ${r.bytes} bytes`)
      cpu[which].push(r.cpu)
      wall[which].push(r.wall)
      for (const [name, us] of Object.entries(r.threads))
        threads[which][name] = (threads[which][name] || 0) + us / CPU_ROUNDS
    }
    log(
      `    round ${round + 1}: ours ${fmt(cpu.ours[round], 1)} µs CPU (${fmt(wall.ours[round], 0)} µs wall)  ${NAMES.peer} ${fmt(cpu.peer[round], 1)} µs CPU (${fmt(wall.peer[round], 0)} µs wall)`,
    )
  }
  for (const which of ['ours', 'peer']) {
    const parts = Object.entries(threads[which])
      .filter(([, us]) => us >= 0.1)
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => `${name} ${fmt(us, 1)}`)
    if (parts.length)
      log(`    ${NAMES[which].padEnd(6)} µs CPU per get by thread (mean of all rounds): ${parts.join(', ')}`)
  }
  return {
    cpu: { ours: median(cpu.ours), peer: median(cpu.peer) },
    wall: { ours: median(wall.ours), peer: median(wall.peer) },
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Requests per second of an express app

async function throughput(tables) {
  log(
    `\n[3] requests/s of an express app: ${CONNECTIONS} clients (own session, keep-alive), ${LOAD_SECONDS} s per case, ${LOAD_ROUNDS} rounds, alternating`,
  )
  const stores = makeStores(endpoint, tables)
  const apps = {}
  for (const which of ['ours', 'peer']) {
    const { server, url } = await listen(common.sessionApp(stores[which]))
    const cookies = []
    for (let i = 0; i < CONNECTIONS; i++) cookies.push(await login(url))
    apps[which] = { server, url, cookies }
  }
  clientAgent.destroy()
  const cases = { read: '/view', write: '/count' }
  const rps = { read: { ours: [], peer: [] }, write: { ours: [], peer: [] } }
  const cpuPerReq = { read: { ours: [], peer: [] }, write: { ours: [], peer: [] } }
  const run = async (which, kase, seconds) => {
    const c0 = process.cpuUsage()
    const r = await runLoad(`${apps[which].url}${cases[kase]}`, apps[which].cookies, seconds)
    const c = process.cpuUsage(c0)
    if (r.non2xx || r.errors || r.timeouts) {
      throw new Error(`${which} ${kase}: ${r.non2xx} non-2xx answers, ${r.errors} errors, ${r.timeouts} timeouts`)
    }
    return { rps: r.rps, cpu: (c.user + c.system) / r.requests }
  }
  // Warm-up: JIT, connection pools.
  for (const which of ['ours', 'peer']) for (const kase of Object.keys(cases)) await run(which, kase, 1)
  for (let round = 0; round < LOAD_ROUNDS; round++) {
    const order = round % 2 === 0 ? ['ours', 'peer'] : ['peer', 'ours']
    const line = []
    for (const kase of Object.keys(cases)) {
      for (const which of order) {
        const r = await run(which, kase, LOAD_SECONDS)
        rps[kase][which].push(r.rps)
        cpuPerReq[kase][which].push(r.cpu)
        line.push(`${kase} ${NAMES[which]} ${fmt(r.rps, 0)}/s (${fmt(r.cpu, 0)} µs CPU/req)`)
      }
    }
    log(`    round ${round + 1}: ${line.join('  ')}`)
  }
  for (const which of ['ours', 'peer']) await new Promise((resolve) => apps[which].server.close(resolve))
  stores.peer.client.destroy()
  const med = (o) => ({ ours: median(o.ours), peer: median(o.peer) })
  return {
    rps: { read: med(rps.read), write: med(rps.write) },
    cpu: { read: med(cpuPerReq.read), write: med(cpuPerReq.write) },
  }
}

// ---------------------------------------------------------------------------------------------

function table(rows) {
  const head = ['metric', 'ours', PEER_VERSION, 'ratio ours/peer', 'target', 'met?']
  const cells = [head, ...rows.map((r) => r.map(String))]
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)))
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  log(line(head))
  log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const r of cells.slice(1)) log(line(r))
}

async function main() {
  const started = Date.now()
  log(`connect-dynamodb bench: ours (${path.resolve(__dirname, '..')}) vs connect-dynamodb@${PEER_VERSION}`)
  log(`node ${process.version}, DynamoDB Local at ${endpoint}`)
  const addon =
    process.env.NAPI_RS_NATIVE_LIBRARY_PATH || path.join(__dirname, '..', 'connect-dynamodb.linux-x64-gnu.node')
  const mb = fs.statSync(addon).size / 2 ** 20
  log(`addon: ${addon} (${fmt(mb, 1)} MiB)`)
  if (mb > 100) log('WARNING: the addon looks like a debug build; CPU figures are meaningless (run scripts/bench.sh)')
  const stamp = `${process.pid}-${Date.now() % 1e6}`
  const tables = { ours: `bench-ours-${stamp}`, peer: `bench-peer-${stamp}` }
  await common.createTable(endpoint, tables.ours)
  await common.createTable(endpoint, tables.peer)

  const views = await requestsPerView(tables)
  const cpu = await cpuPerGet(tables)
  const load = await throughput(tables)

  const ratio = (o) => o.ours / o.peer
  // A table row: the metric, both medians, their ratio, and the target where there is one.
  const row = (metric, pair, digits, target = '-', met = '-') => [
    metric,
    fmt(pair.ours, digits),
    fmt(pair.peer, digits),
    fmt(ratio(pair), 3),
    target,
    met,
  ]
  const perView = { ours: views.ours.perView, peer: views.peer.perView }
  const rows = [
    row('DynamoDB requests / read-only view', perView, 3, 'ours <= 1.0', perView.ours <= 1.0 ? 'yes' : 'NO'),
    row('CPU / store.get (µs, median)', cpu.cpu, 1, 'ratio <= 0.333', ratio(cpu.cpu) <= 1 / 3 ? 'yes' : 'NO'),
    row('wall time / store.get (µs, median)', cpu.wall, 0),
    row('req/s, read-only (median)', load.rps.read, 0),
    row('req/s, writing (median)', load.rps.write, 0),
    row('app CPU / request, read-only (µs)', load.cpu.read, 0),
    row('app CPU / request, writing (µs)', load.cpu.write, 0),
  ]
  log(`\nresults (medians; ratios against connect-dynamodb@${PEER_VERSION} measured in this run)`)
  table(rows)
  log(`\nbench took ${fmt((Date.now() - started) / 1000, 1)} s`)
}

if (process.argv[2] === '--cpu-child') {
  cpuChild(process.argv[3], process.argv[4]).catch((err) => {
    console.error(err)
    process.exit(1)
  })
} else {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err)
      process.exit(1)
    },
  )
}
