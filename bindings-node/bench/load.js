'use strict'
// The load generator of bench.js, run as its own process so that the app's CPU is not shared
// with the generator's event loop. One autocannon instance per virtual client, each with its
// own keep-alive connection and its own logged-in session cookie.
//
//   node bench/load.js '{"url":"http://127.0.0.1:PORT/view","cookies":["connect.sid=..."],"duration":4}'
//
// Prints one line of JSON: { requests, seconds, rps, non2xx, errors, timeouts }.
const autocannon = require('autocannon')

async function main() {
  const { url, cookies, duration } = JSON.parse(process.argv[2])
  const started = process.hrtime.bigint()
  const results = await Promise.all(
    cookies.map((cookie) =>
      autocannon({ url, method: 'GET', connections: 1, pipelining: 1, duration, headers: { cookie } }),
    ),
  )
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const sum = (f) => results.reduce((a, r) => a + f(r), 0)
  const requests = sum((r) => r.requests.total)
  // autocannon's own duration of each client; the slowest one bounds the run.
  const measured = Math.max(...results.map((r) => r.duration))
  process.stdout.write(
    `${JSON.stringify({
      requests,
      seconds: measured || seconds,
      rps: requests / (measured || seconds),
      non2xx: sum((r) => r.non2xx),
      errors: sum((r) => r.errors),
      timeouts: sum((r) => r.timeouts),
    })}\n`,
  )
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
