'use strict'
// An HTTP proxy in front of DynamoDB (Local) that counts requests by DynamoDB operation, for
// the tests and the benchmark. `down()` makes it refuse connections, as an unreachable
// DynamoDB would; `up()` serves again on the same port. With `{ record: true }` it also keeps
// every request as `{ op, body }` (the parsed JSON body) in `requests`.
const http = require('node:http')

async function countingProxy(endpoint, { record = false } = {}) {
  const counts = {}
  const requests = []
  const target = new URL(endpoint)
  const agent = new http.Agent({ keepAlive: true })
  const server = http.createServer((req, res) => {
    const op =
      String(req.headers['x-amz-target'] || '')
        .split('.')
        .pop() || '(none)'
    counts[op] = (counts[op] || 0) + 1
    if (record) {
      const chunks = []
      req.on('data', (chunk) => chunks.push(chunk))
      req.on('end', () => requests.push({ op, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') }))
    }
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      (up) => {
        res.writeHead(up.statusCode, up.headers)
        up.pipe(res)
      },
    )
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  const sockets = new Set()
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = server.address().port
  const dropConnections = () => {
    for (const s of sockets) s.destroy()
  }
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    requests,
    total: () => Object.values(counts).reduce((a, b) => a + b, 0),
    reset: () => {
      for (const k of Object.keys(counts)) delete counts[k]
      requests.length = 0
    },
    down: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        dropConnections()
      }),
    up: () => new Promise((resolve) => server.listen(port, '127.0.0.1', resolve)),
    close: () =>
      new Promise((resolve) => {
        dropConnections()
        agent.destroy()
        server.close(() => resolve())
      }),
  }
}

module.exports = { countingProxy }
