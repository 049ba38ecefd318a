'use strict'
// The memory of this package's store in one Node process: RSS when idle (the store made and one
// call done), after a warm-up of mixed calls, and after many more, calling store.get, set and
// touch directly (no HTTP), with a bounded number in flight. The calls are about 60% get, 20%
// set and 20% touch over a fixed set of session ids (picked with a fixed seed), with ~1 KB
// sessions that change on every set; touchAfter is 0, so every touch writes. The warm-up saves
// every id once, then runs the mix. Every reading follows a full garbage collection, so run it
// with `node --expose-gc` (scripts/bench.sh does). Also the process CPU per call.
//
// Prints the readings; with BENCH_OUT set, writes $BENCH_OUT/node-memory.json, with the target
// the other faces' memory benches have: at most 1 MiB of RSS growth after the warm-up.
//
// Knobs (environment): BENCH_MEMORY_WARMUP (10000 calls), BENCH_MEMORY_CALLS (100000 calls after
// the warm-up), BENCH_MEMORY_SESSIONS (1000 ids), BENCH_MEMORY_CONCURRENCY (16 in flight).

const common = require('./common')

const { int, fmt } = common

const WARMUP = int('BENCH_MEMORY_WARMUP', 10_000)
const CALLS = int('BENCH_MEMORY_CALLS', 100_000)
const SESSIONS = int('BENCH_MEMORY_SESSIONS', 1000)
const CONCURRENCY = int('BENCH_MEMORY_CONCURRENCY', 16)
const STORE = 'connect-dynamodb 4 (this)'

const MiB = 2 ** 20
const log = (...args) => console.log(...args)

/** A small seeded generator (mulberry32), so every run makes the same calls. */
function random(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** RSS and the heap after a full collection, in MiB. */
function reading() {
  global.gc()
  global.gc()
  const m = process.memoryUsage()
  return {
    rss: m.rss / MiB,
    heapUsed: m.heapUsed / MiB,
    heapTotal: m.heapTotal / MiB,
    external: m.external / MiB,
    // RSS outside V8's heap: the addon, the runtime's threads, Node itself.
    native: (m.rss - m.heapTotal) / MiB,
  }
}

async function main() {
  if (typeof global.gc !== 'function') {
    console.error('run with `node --expose-gc`: every reading follows a full garbage collection')
    process.exit(2)
  }
  const started = Date.now()
  const endpoint = common.dynamodbEndpoint()
  const { addon, mib } = common.releaseAddon({ strict: true })
  const session_ = require('express-session')
  const Store = require('..')(session_)
  const table = `bench-memory-${process.pid}-${Date.now() % 1e6}`
  await common.createTable(endpoint, table)
  log(`memory bench: ${STORE}, one process, store.get/set/touch called directly`)
  log(`node ${process.version}, DynamoDB Local at ${endpoint}, addon ${addon} (${fmt(mib, 1)} MiB)`)

  const store = new Store({
    table,
    endpoint,
    region: common.region,
    accessKeyId: common.accessKeyId,
    secretAccessKey: common.secretAccessKey,
    initialized: true,
    touchAfter: 0,
  })
  const sid = (i) => `memory-bench-${String(i).padStart(6, '0')}`
  const versions = new Array(SESSIONS).fill(0)
  await store.set(sid(0), common.storedSession(0, 0))
  const idle = reading()
  log(
    `    idle (store made, one call done): RSS ${fmt(idle.rss, 1)} MiB (JS heap ${fmt(idle.heapUsed, 1)}, external ${fmt(idle.external, 1)})`,
  )

  const rand = random(14)
  const counts = { get: 0, set: 0, touch: 0 }
  // `n` calls, CONCURRENCY in flight; returns the calls per second.
  async function calls(n) {
    let issued = 0
    const t0 = process.hrtime.bigint()
    const worker = async () => {
      while (issued < n) {
        issued += 1
        const i = Math.floor(rand() * SESSIONS)
        const r = rand()
        if (r < 0.6) {
          counts.get += 1
          await store.get(sid(i))
        } else if (r < 0.8) {
          counts.set += 1
          versions[i] += 1
          await store.set(sid(i), common.storedSession(i, versions[i]))
        } else {
          counts.touch += 1
          await store.touch(sid(i), common.storedSession(i, versions[i]))
        }
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
    return n / (Number(process.hrtime.bigint() - t0) / 1e9)
  }

  // The warm-up: every id saved once, then the mix.
  const seeded = Math.min(SESSIONS, WARMUP)
  {
    let next = 0
    const worker = async () => {
      while (next < seeded) {
        const i = next++
        counts.set += 1
        await store.set(sid(i), common.storedSession(i, versions[i]))
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  }
  const warmRate = await calls(WARMUP - seeded)
  const warm = reading()
  log(
    `    after ${WARMUP} warm-up calls: RSS ${fmt(warm.rss, 1)} MiB (JS heap ${fmt(warm.heapUsed, 1)}, external ${fmt(warm.external, 1)}); ${fmt(warmRate, 0)} calls/s`,
  )
  // Readings on the way, to show a trend rather than two points.
  const steps = 4
  const trail = []
  let rate = 0
  const cpu0 = process.cpuUsage()
  let gcCpu = 0
  for (let k = 0; k < steps; k++) {
    const n = Math.round((CALLS * (k + 1)) / steps) - Math.round((CALLS * k) / steps)
    rate += (await calls(n)) / steps
    // The collections of the reading are not the calls' CPU.
    const g0 = process.cpuUsage()
    const r = reading()
    const g = process.cpuUsage(g0)
    gcCpu += g.user + g.system
    trail.push(r)
    log(
      `    after ${WARMUP} + ${Math.round((CALLS * (k + 1)) / steps)} calls: RSS ${fmt(r.rss, 1)} MiB (JS heap ${fmt(r.heapUsed, 1)}, external ${fmt(r.external, 1)})`,
    )
  }
  const after = trail[trail.length - 1]
  const used = process.cpuUsage(cpu0)
  const cpuPerCall = (used.user + used.system - gcCpu) / CALLS
  const growth = after.rss - warm.rss
  const nativeGrowth = after.native - warm.native
  log(`    growth after the warm-up: ${fmt(growth, 1)} MiB over ${CALLS} calls (${fmt(rate, 0)} calls/s)`)
  log(
    `    of which outside V8's heap: ${fmt(nativeGrowth, 1)} MiB (V8's heap, committed: ${fmt(warm.heapTotal, 1)} -> ${fmt(after.heapTotal, 1)} MiB)`,
  )
  log(`    process CPU per call: ${fmt(cpuPerCall, 1)} µs`)
  log(`    calls: ${JSON.stringify(counts)}`)
  await store.close?.()

  const round = (x) => Number(x.toFixed(1))
  const afterName = `after ${CALLS >= 1000 ? `${Math.round(CALLS / 1000)}k` : CALLS}`
  const warmName = `after ${WARMUP >= 1000 ? `${Math.round(WARMUP / 1000)}k` : WARMUP} warm-up`
  const file = common.writeResult({
    bench: 'node-memory',
    title: `Node: process RSS and CPU per call, store.get/set/touch, ${afterName.slice(6)} mixed calls, 1 KB sessions`,
    machine: common.machine({ dynamodb_local: common.dynamodbLocalVersion() }),
    date: common.isoDate(),
    method:
      "One Node process holding this package's store (release addon) on DynamoDB Local calls store.get, set and touch " +
      `directly, ${CONCURRENCY} calls in flight: about 60% get, 20% set of a ~1 KB session that changes on every set, 20% touch ` +
      `with touchAfter 0 (every touch writes), over ${SESSIONS} ids picked at random with a fixed seed. RSS is read after a full ` +
      `garbage collection (node --expose-gc): idle (the store made, one call done), after a ${WARMUP}-call warm-up (each id ` +
      `saved once, then the mix), and after ${CALLS} more calls; growth is the last reading minus the one after the warm-up. ` +
      `CPU: process user + system time (process.cpuUsage, every thread) per call over the ${CALLS} calls, the readings' ` +
      'collections left out. DynamoDB Local runs on the same machine (its CPU and memory are not counted).',
    baseline: null,
    stores: [STORE],
    figures: [
      common.figure('idle (store created, one call)', STORE, 'rss_mib_idle', [round(idle.rss)]),
      common.figure(warmName, STORE, 'rss_mib_after', [round(warm.rss)]),
      common.figure(afterName, STORE, 'rss_mib_after', [round(after.rss)]),
      common.figure(afterName, STORE, 'rss_mib_growth', [round(growth)]),
      common.figure(`${afterName}, outside V8's heap`, STORE, 'rss_mib_growth', [round(nativeGrowth)]),
      common.figure('mixed calls (60% get, 20% set, 20% touch)', STORE, 'cpu_us_per_call', [round(cpuPerCall)]),
    ],
    // The store's own memory is what lies outside V8's heap: V8 sizes its young generation to
    // the allocation rate (up to 16 MiB a semi-space on 64-bit), so whole-process RSS can step
    // up once under load with any store, and is shown beside it.
    targets: [{ scenario: `${afterName}, outside V8's heap`, metric: 'rss_mib_growth', store: STORE, max_value: 1.0 }],
    notes: [
      `RSS after the warm-up and every ${CALLS / steps} calls after it: ${[warm, ...trail].map((r) => fmt(r.rss, 1)).join(', ')} MiB; outside V8's heap: ${[warm, ...trail].map((r) => fmt(r.native, 1)).join(', ')} MiB; V8's heap committed: ${[warm, ...trail].map((r) => fmt(r.heapTotal, 1)).join(', ')} MiB, used: ${[warm, ...trail].map((r) => fmt(r.heapUsed, 1)).join(', ')} MiB.`,
      "Whole-process RSS includes V8's heap, whose young generation V8 grows with the allocation rate (up to 16 MiB a semi-space on 64-bit): a step in it is V8's sizing, not a leak; the target is judged outside V8's heap.",
      `${fmt(rate, 0)} calls/s against DynamoDB Local on the same machine.`,
    ],
  })
  if (file) log(`wrote ${file}`)
  log(`memory bench took ${fmt((Date.now() - started) / 1000, 1)} s`)
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err)
    process.exit(1)
  },
)
