'use strict'
// Writes the shared vectors of tests/vectors/stored-items.json raw into fresh tables of
// DynamoDB Local (TTL off, so that DynamoDB Local's own deletions do not race the reads), one
// table per configuration of the vectors (the defaults, `at-rest`, `at-rest-hashed`), for
// test_vectors.c to read through the C API.
//
//   node ffi/tests/write-vectors.js OUT_DIR
//
// Needs DYNAMODB_ENDPOINT. Uses the AWS SDK from the Node package's development dependencies.
// For each configuration, writes into OUT_DIR/<configuration> (`default` for the vectors
// without `config`):
// - config.tsv: the store's settings, one "<setting>\t<value>" line each: `encryption_key`
//   (base64, in order: the first encrypts), `id_hash_key` (base64), `compress_threshold`;
// - expected.tsv: one line per vector, "<name>\t<found 1|0>\t<error token|->\t<listed id|->",
//   the listed id being what cdyn_store_ids gives for a found vector (its key after the
//   prefix: the hash of the id when ids are hashed);
// - <name>.sess for each found vector: the exact session text a store must return.
// Prints one line per configuration: "<configuration> <table>".
const fs = require('node:fs')
const path = require('node:path')
const { createRequire } = require('node:module')

const root = path.resolve(__dirname, '..', '..')
const { PutItemCommand } = createRequire(
  path.join(root, 'bindings-node', 'package.json'),
)('@aws-sdk/client-dynamodb')

const { rawItem } = require(path.join(root, 'tests', 'vectors', 'stored-items'))
const { localClient, createTableWithoutTtl } = require('./create-table-without-ttl')

const PREFIX = 'sess:'

/** An attribute value of the JSON file as the AWS SDK takes it: binary values as bytes. */
function attributeValue(value) {
  if (value === null || typeof value !== 'object') return value
  if (typeof value.B === 'string') return { B: Buffer.from(value.B, 'base64') }
  if (value.M) return { M: Object.fromEntries(Object.entries(value.M).map(([k, v]) => [k, attributeValue(v)])) }
  if (value.L) return { L: value.L.map(attributeValue) }
  return value
}

/** The raw item of `vector` at `now`: under its own full key when it has one. */
function itemOf(vector, now) {
  const item = rawItem(vector, now)
  item.id = { S: vector.key ?? `${PREFIX}${vector.name}` }
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, attributeValue(v)]))
}

/** The settings of a configuration of the file, as config.tsv lines. */
function settingsOf(atRest, configName) {
  if (configName === null) return []
  const config = atRest.configs[configName]
  if (!config) throw new Error(`unknown vector configuration ${configName}`)
  const lines = (config.encryption_keys ?? []).map((k) => `encryption_key\t${atRest.keys[k]}\n`)
  if (config.id_hash_key) lines.push(`id_hash_key\t${atRest.keys[config.id_hash_key]}\n`)
  if (config.compress_threshold !== undefined) lines.push(`compress_threshold\t${config.compress_threshold}\n`)
  return lines
}

async function main() {
  const outDir = process.argv[2]
  if (!outDir) throw new Error('usage: DYNAMODB_ENDPOINT=... node write-vectors.js OUT_DIR')
  const file = JSON.parse(fs.readFileSync(path.join(root, 'tests', 'vectors', 'stored-items.json'), 'utf8'))
  const client = localClient()
  const now = Date.now() / 1000
  const configNames = [null, ...Object.keys(file.at_rest.configs)]
  for (const configName of configNames) {
    const label = configName ?? 'default'
    const dir = path.join(outDir, label)
    fs.mkdirSync(dir)
    const table = `c-vectors-${label}-${process.pid}-${Date.now() % 100000}`
    await createTableWithoutTtl(client, table)
    const lines = []
    for (const vector of file.items.filter((v) => (v.config ?? null) === configName)) {
      if (!/^[A-Za-z0-9-]+$/.test(vector.name)) throw new Error(`vector name unfit for a file name: ${vector.name}`)
      const item = itemOf(vector, now)
      await client.send(new PutItemCommand({ TableName: table, Item: item }))
      const listed = vector.found ? item.id.S.slice(PREFIX.length) : '-'
      lines.push(`${vector.name}\t${vector.found ? 1 : 0}\t${vector.error ?? '-'}\t${listed}\n`)
      if (vector.found) {
        const session = vector.session ?? vector.attributes.sess.S
        if (typeof session !== 'string') throw new Error(`${vector.name}: no session text`)
        fs.writeFileSync(path.join(dir, `${vector.name}.sess`), session)
      }
    }
    fs.writeFileSync(path.join(dir, 'config.tsv'), settingsOf(file.at_rest, configName).join(''))
    fs.writeFileSync(path.join(dir, 'expected.tsv'), lines.join(''))
    process.stdout.write(`${label} ${table}\n`)
  }
  client.destroy()
}

main().catch((err) => {
  console.error(`write-vectors: ${err.message}`)
  process.exit(1)
})
