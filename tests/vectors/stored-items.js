'use strict'
// stored-items.json for JavaScript readers (bindings-node/test/vectors.test.js and the C
// tests' writer ffi/tests/write-vectors.js): the vectors, and the raw DynamoDB item each one
// describes.
const fs = require('node:fs')
const path = require('node:path')

/** The vectors of stored-items.json. */
function loadVectors() {
  return JSON.parse(fs.readFileSync(path.join(__dirname, 'stored-items.json'), 'utf8')).items
}

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

/** The raw item of `vector` under the default key `id` and prefix `sess:`, written at `now`. */
function rawItem(vector, now) {
  const item = { id: { S: `sess:${vector.name}` } }
  if (vector.expires !== null) item.expires = { N: expiresNumber(vector.expires, now) }
  return Object.assign(item, vector.attributes)
}

module.exports = { loadVectors, rawItem }
