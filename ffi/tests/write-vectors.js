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
const { PutItemCommand } = createRequire(
  path.join(root, 'bindings-node', 'package.json'),
)('@aws-sdk/client-dynamodb')

const { loadVectors, rawItem } = require(path.join(root, 'tests', 'vectors', 'stored-items'))
const { localClient, createTableWithoutTtl } = require('./create-table-without-ttl')

async function main() {
  const outDir = process.argv[2]
  if (!outDir) throw new Error('usage: DYNAMODB_ENDPOINT=... node write-vectors.js OUT_DIR')
  const vectors = loadVectors()
  const client = localClient()
  const table = `c-vectors-${process.pid}-${Date.now() % 100000}`
  await createTableWithoutTtl(client, table)
  const now = Date.now() / 1000
  const lines = []
  for (const vector of vectors) {
    if (!/^[A-Za-z0-9-]+$/.test(vector.name)) throw new Error(`vector name unfit for a file name: ${vector.name}`)
    await client.send(new PutItemCommand({ TableName: table, Item: rawItem(vector, now) }))
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
