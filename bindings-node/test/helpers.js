'use strict'
// Shared helpers of the Node tests: DynamoDB Local (started by `make test`), fresh tables,
// raw access through the AWS SDK for JavaScript, and a counting HTTP proxy.
const http = require('node:http')
const net = require('node:net')
const { DynamoDBClient, CreateTableCommand, GetItemCommand, PutItemCommand, ScanCommand } = require('@aws-sdk/client-dynamodb')
const session = require('express-session')
const connectDynamoDB = require('..')

const endpoint = process.env.DYNAMODB_ENDPOINT
if (!endpoint) {
  throw new Error('DYNAMODB_ENDPOINT is not set: run the Node tests with `make test`, which starts DynamoDB Local')
}
const credentials = { accessKeyId: 'localtest', secretAccessKey: 'localtest' }

const rawClient = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { ...credentials } })

let counter = 0
function uniqueTable(label) {
  counter += 1
  return `node-${label}-${process.pid}-${counter}-${Date.now() % 100000}`
}

const Store = connectDynamoDB(session)

/** A store on `table` of DynamoDB Local, with `options` on top. */
function localStore(table, options = {}) {
  return new Store({ table, endpoint, region: 'us-east-1', ...credentials, ...options })
}

/** Creates `table` with key `id` (S) and no TTL, as a user would. */
async function createTable(table, hashKey = 'id') {
  await rawClient.send(
    new CreateTableCommand({
      TableName: table,
      KeySchema: [{ AttributeName: hashKey, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: hashKey, AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  )
}

async function rawGet(table, key) {
  const out = await rawClient.send(new GetItemCommand({ TableName: table, Key: { id: { S: key } }, ConsistentRead: true }))
  return out.Item
}

async function rawPut(table, item) {
  await rawClient.send(new PutItemCommand({ TableName: table, Item: item }))
}

async function rawKeys(table) {
  const keys = []
  let start
  do {
    const out = await rawClient.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }))
    for (const item of out.Items ?? []) keys.push(item.id.S)
    start = out.LastEvaluatedKey
  } while (start)
  return keys.sort()
}

/**
 * An HTTP proxy in front of DynamoDB Local that counts requests by DynamoDB operation.
 * `down()` makes it refuse connections (DynamoDB unreachable); `up()` restores it.
 */
async function countingProxy() {
  const counts = {}
  const server = http.createServer((req, res) => {
    const op = String(req.headers['x-amz-target'] || '').split('.').pop()
    counts[op] = (counts[op] || 0) + 1
    const target = new URL(endpoint)
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
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
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    total: () => Object.values(counts).reduce((a, b) => a + b, 0),
    reset: () => {
      for (const k of Object.keys(counts)) delete counts[k]
    },
    down: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      }),
    up: () => new Promise((resolve) => server.listen(port, '127.0.0.1', resolve)),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** A loopback port nothing listens on. */
async function closedPort() {
  const server = net.createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Resolves with the arguments of the next `event` on `emitter`. */
function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)))
}

const Cookie = require('express-session/session/cookie')

/** A session as express-session hands it to a store: its cookie is a real `Cookie`. */
function sessionData(extra = {}, maxAgeMs = 3600_000) {
  return { cookie: new Cookie({ maxAge: maxAgeMs, httpOnly: true, path: '/' }), ...extra }
}

module.exports = {
  endpoint,
  credentials,
  rawClient,
  uniqueTable,
  Store,
  localStore,
  createTable,
  rawGet,
  rawPut,
  rawKeys,
  countingProxy,
  closedPort,
  once,
  sessionData,
}
