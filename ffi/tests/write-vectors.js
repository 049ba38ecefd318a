'use strict'
// Writes the shared vectors of tests/vectors/stored-items.json raw into a fresh table of
// DynamoDB Local (TTL off, so that DynamoDB Local's own deletions do not race the reads), for
// test_vectors.c to read through the C API.
//
//   node ffi/tests/write-vectors.js OUT_DIR
//
// Needs DYNAMODB_ENDPOINT. Uses the AWS SDK from the Node package's development dependencies.
// Writes OUT_DIR/expected.tsv (one line per vector: "<name>\t1" when a store must return it as
// a live session, "<name>\t0" when not) and, for each found vector, OUT_DIR/<name>.sess with
// the exact session text a store must return. Prints the table name.
const fs = require('node:fs')
const path = require('node:path')
const { createRequire } = require('node:module')

const root = path.resolve(__dirname, '..', '..')
const { DynamoDBClient, CreateTableCommand, PutItemCommand, waitUntilTableExists } = createRequire(
  path.join(root, 'bindings-node', 'package.json'),
)('@aws-sdk/client-dynamodb')

const VECTORS = path.join(root, 'tests', 'vectors', 'stored-items.json')

/** The `expires` number of a vector, written `offset_secs` from `now` (epoch seconds). */
function expiresNumber(expires, now) {
  const at = now + expires.offset_secs
  switch (expires.unit) {
    case 's':
      return String(Math.floor(at))
    case 's-fraction':
      return at.toFixed(3)
    case 'ms':
      return String(Math.floor(at * 1000))
    default:
      throw new Error(`unknown unit ${expires.unit}`)
  }
}

async function main() {
  const outDir = process.argv[2]
  const endpoint = process.env.DYNAMODB_ENDPOINT
  if (!outDir || !endpoint) throw new Error('usage: DYNAMODB_ENDPOINT=... node write-vectors.js OUT_DIR')
  const vectors = JSON.parse(fs.readFileSync(VECTORS, 'utf8')).items
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'localtest', secretAccessKey: 'localtest' },
  })
  const table = `c-vectors-${process.pid}-${Date.now() % 100000}`
  await client.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  )
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: table })
  const now = Date.now() / 1000
  const lines = []
  for (const vector of vectors) {
    if (!/^[A-Za-z0-9-]+$/.test(vector.name)) throw new Error(`vector name unfit for a file name: ${vector.name}`)
    const item = { id: { S: `sess:${vector.name}` } }
    if (vector.expires !== null) item.expires = { N: expiresNumber(vector.expires, now) }
    Object.assign(item, vector.attributes)
    await client.send(new PutItemCommand({ TableName: table, Item: item }))
    lines.push(`${vector.name}\t${vector.found ? 1 : 0}\n`)
    if (vector.found) fs.writeFileSync(path.join(outDir, `${vector.name}.sess`), vector.attributes.sess.S)
  }
  fs.writeFileSync(path.join(outDir, 'expected.tsv'), lines.join(''))
  client.destroy()
  process.stdout.write(`${table}\n`)
}

main().catch((err) => {
  console.error(`write-vectors: ${err.message}`)
  process.exit(1)
})
