'use strict'
// The shared vectors of tests/vectors/stored-items.json: items as published connect-dynamodb
// versions (and damaged or foreign writers, and this package with encryption, hashed ids and
// compression) left them, read through the Node store, so that Node is held to the behaviour
// of the Rust core and the other faces. Each configuration of the file (the defaults,
// `at-rest`, `at-rest-hashed`) reads its own vectors from a fresh table.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const h = require('./helpers')

const { loadVectors, rawItem } = require('../../tests/vectors/stored-items')

const FILE = JSON.parse(fs.readFileSync(path.join(__dirname, '../../tests/vectors/stored-items.json'), 'utf8'))
const CONFIGS = [null, 'at-rest', 'at-rest-hashed']

/** The vectors a store of `config` reads (null: the defaults). */
function load(config) {
  return loadVectors().filter((v) => (v.config ?? null) === config)
}

/**
 * The store options of `config`. Keys go in as base64 text for `at-rest` and as bytes for
 * `at-rest-hashed`, so both forms are read. The defaults say "off" explicitly, so that the
 * environment cannot turn anything on.
 */
function optionsOf(config) {
  if (config === null) return { encryptionKeys: [], idHashKey: false }
  const { keys, configs } = FILE.at_rest
  const spec = configs[config]
  const key = (name) => (config === 'at-rest' ? keys[name] : Buffer.from(keys[name], 'base64'))
  return {
    encryptionKeys: spec.encryption_keys.map(key),
    idHashKey: spec.id_hash_key === undefined ? false : key(spec.id_hash_key),
    compressThreshold: spec.compress_threshold,
  }
}

/** The raw item of `vector` written at `now`: its full key when it has one, binary `sess` as bytes. */
function itemOf(vector, now) {
  const item = rawItem(vector, now)
  if (vector.key !== undefined) item.id = { S: vector.key }
  for (const [name, value] of Object.entries(item)) {
    if (typeof value.B === 'string') item[name] = { B: Buffer.from(value.B, 'base64') }
  }
  return item
}

/** The session text a found vector decodes to. */
function sessionText(vector) {
  return vector.session ?? vector.attributes.sess.S
}

/** What listings name a live vector by: what its key holds after the prefix. */
function listedId(vector) {
  return (vector.key ?? `sess:${vector.name}`).slice('sess:'.length)
}

test('the vectors cover live and dead items, in every configuration', () => {
  for (const config of CONFIGS) {
    const vectors = load(config)
    const found = vectors.filter((v) => v.found)
    assert.ok(found.length >= 1, String(config))
    assert.ok(found.length < vectors.length, String(config))
  }
  assert.ok(load(null).length >= 4)
  assert.equal(
    loadVectors().filter((v) => !CONFIGS.includes(v.config ?? null)).length,
    0,
    'every vector is read by one of the configurations',
  )
})

for (const config of CONFIGS) {
  test(`every vector of ${config ?? 'the defaults'} through the store: get, all, entries, ids and length`, async () => {
    const table = h.uniqueTable('vectors')
    // Without TTL, so that DynamoDB Local's own deletions of expired items do not race the reads.
    await h.createTable(table)
    const vectors = load(config)
    const now = Date.now() / 1000
    for (const vector of vectors) await h.rawPut(table, itemOf(vector, now))
    const store = h.localStore(table, optionsOf(config))
    try {
      for (const vector of vectors) {
        if (vector.error !== undefined) {
          await assert.rejects(store.get(vector.name), { name: 'SessionStoreError', code: vector.error }, vector.name)
          continue
        }
        const got = await store.get(vector.name)
        if (vector.found) {
          assert.deepEqual(got, JSON.parse(sessionText(vector)), vector.name)
        } else {
          assert.equal(got, null, vector.name)
        }
      }
      const live = vectors
        .filter((v) => v.found)
        .map(listedId)
        .sort()
      assert.deepEqual((await store.ids()).sort(), live)
      assert.deepEqual(Object.keys(await store.all()).sort(), live)
      assert.equal(await store.length(), live.length)
      const byId = new Map(vectors.filter((v) => v.found).map((v) => [listedId(v), v]))
      for (const entry of await store.entries()) {
        const vector = byId.get(entry.id)
        assert.deepEqual(entry.session, JSON.parse(sessionText(vector)), entry.id)
        const left = (entry.expires.getTime() - Date.now()) / 1000
        assert.ok(Math.abs(left - vector.expires.offset_secs) < 5, `${entry.id}: ${left} s left`)
      }
    } finally {
      store.close()
    }
  })

  test(`every vector of ${config ?? 'the defaults'} through getParsedSession (connect-dynamodb 3.x's surface): as get reads it`, () => {
    const store = h.localStore(h.uniqueTable('vectors-parsed'), { initialized: true, ...optionsOf(config) })
    const now = Date.now() / 1000
    for (const vector of load(config)) {
      // getParsedSession reads the item it is given: an item stored under the unhashed id,
      // which get does not look up with hashed ids, is read by its own key.
      if (config === 'at-rest-hashed' && vector.key === undefined) continue
      const output = { Item: itemOf(vector, now) }
      if (vector.error !== undefined) {
        assert.throws(
          () => store.getParsedSession(output),
          { name: 'SessionStoreError', code: vector.error },
          vector.name,
        )
        continue
      }
      const parsed = store.getParsedSession(output)
      if (vector.found) {
        assert.deepEqual(parsed, JSON.parse(sessionText(vector)), vector.name)
      } else {
        assert.equal(parsed, null, vector.name)
      }
    }
  })
}
