'use strict'
// Shared helpers of the Node tests: DynamoDB Local (started by `make test`), fresh tables,
// raw access through the AWS SDK for JavaScript, and a counting HTTP proxy.
const net = require('node:net')
const path = require('node:path')
const {
  DynamoDBClient,
  CreateTableCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} = require('@aws-sdk/client-dynamodb')
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
  const out = await rawClient.send(
    new GetItemCommand({ TableName: table, Key: { id: { S: key } }, ConsistentRead: true }),
  )
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

/** A counting proxy in front of DynamoDB Local (see counting-proxy.js). */
function countingProxy(options) {
  return require('./counting-proxy').countingProxy(endpoint, options)
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

/**
 * The published connect-dynamodb 3.0.5 (a dev dependency), loaded by its path: inside this
 * package `require('connect-dynamodb')` is this package itself (a package's own name resolves
 * to the package through its `exports`).
 */
function legacyModule() {
  const dir = path.join(__dirname, '..', 'node_modules', 'connect-dynamodb')
  const { version } = require(path.join(dir, 'package.json'))
  if (version !== '3.0.5') throw new Error(`expected connect-dynamodb 3.0.5 in ${dir}, found ${version}`)
  return require(dir)
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
  legacyModule,
}
