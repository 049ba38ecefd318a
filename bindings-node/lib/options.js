'use strict'
// The user's options, checked for their types and converted into the native configuration
// (src/config.rs), which takes its defaults and range checks from the core.
const native = require('./native.js')
const { configError, toStoreError } = require('./errors')

const OPTIONS = [
  'table',
  'hashKey',
  'prefix',
  'reapInterval',
  'accessKeyId',
  'secretAccessKey',
  'sessionToken',
  'readCapacityUnits',
  'writeCapacityUnits',
  'initialized',
  'specialKeys',
  'skipThrowMissingSpecialKeys',
  'client',
  'region',
  'endpoint',
  'consistentRead',
  'touchAfter',
  'ttl',
  'createTable',
  'connectTimeout',
  'attemptTimeout',
  'operationTimeout',
  'maxAttempts',
  'scanSegments',
  'tombstoneLifetime',
  'merge',
  'absoluteTimeout',
  'userField',
  'encryptionKeys',
  'idHashKey',
  'compressThreshold',
  'decryptOnly',
  'clock',
]
const CREATE_TABLE_OPTIONS = ['billingMode', 'readCapacityUnits', 'writeCapacityUnits']
const SPECIAL_KEY_TYPES = ['S', 'N', 'B']

/**
 * What the JavaScript layer keeps of the options: the native configuration (`config`) and
 * what only JavaScript can hold (functions, the client, the table-setup switches).
 * Throws INVALID_CONFIG naming the option.
 */
function parseOptions(options) {
  if (options == null) options = {}
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw configError('options', 'must be an object')
  }
  for (const key of Object.keys(options)) {
    if (!OPTIONS.includes(key)) throw configError(key, 'is not an option of connect-dynamodb')
  }
  const given = (name, from = options) => from[name] !== undefined && from[name] !== null
  const string = (name) => {
    if (!given(name)) return undefined
    if (typeof options[name] !== 'string') throw configError(name, 'must be a string')
    return options[name]
  }
  const boolean = (name) => {
    if (!given(name)) return undefined
    if (typeof options[name] !== 'boolean') throw configError(name, 'must be true or false')
    return options[name]
  }
  const number = (name, from = options, label = name) => {
    if (!given(name, from)) return undefined
    let value = from[name]
    // connect-dynamodb 3.x accepted numbers as strings (capacity units).
    if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) value = Number(value)
    if (typeof value !== 'number') throw configError(label, 'must be a number')
    return value
  }

  const n = {
    table: string('table'),
    hashKey: string('hashKey'),
    prefix: string('prefix'),
    region: string('region'),
    endpoint: string('endpoint'),
    accessKeyId: string('accessKeyId'),
    secretAccessKey: string('secretAccessKey'),
    sessionToken: string('sessionToken'),
    consistentRead: boolean('consistentRead'),
    readCapacityUnits: number('readCapacityUnits'),
    writeCapacityUnits: number('writeCapacityUnits'),
    connectTimeoutMs: number('connectTimeout'),
    attemptTimeoutMs: number('attemptTimeout'),
    operationTimeoutMs: number('operationTimeout'),
    maxAttempts: number('maxAttempts'),
    scanSegments: number('scanSegments'),
    touchAfterSecs: number('touchAfter'),
    tombstoneLifetimeMs: number('tombstoneLifetime'),
    absoluteTimeoutMs: number('absoluteTimeout'),
    userField: string('userField'),
  }

  // `merge: false` is the core's policy `off`; a policy's name goes to the core as it is.
  if (given('merge')) {
    if (options.merge === false) n.merge = 'off'
    else if (typeof options.merge === 'string') n.merge = options.merge
    else throw configError('merge', "must be false, 'mine' or 'error'")
  }

  let ttl
  if (typeof options.ttl === 'function') {
    ttl = options.ttl
  } else if (given('ttl') && typeof options.ttl !== 'number') {
    throw configError('ttl', 'must be a number of seconds or a function of the session')
  } else {
    n.defaultLifetimeSecs = number('ttl')
  }

  // connect-dynamodb 3.x: `reapInterval` in milliseconds, 0 or absent for none.
  const reapInterval = number('reapInterval')
  if (reapInterval !== undefined && reapInterval !== 0) n.reapIntervalMs = reapInterval

  // Table setup on first use, as connect-dynamodb 3.x: `initialized` skips it, `createTable:
  // false` only checks, and by default a missing table is created (provisioned 5/5 unless
  // `createTable` says otherwise: the core's defaults).
  const initialized = boolean('initialized') ?? false
  const create = options.createTable
  // The capacity options given inside `createTable` (which win over the top-level ones), for
  // errors to name where the user wrote them.
  const setInCreateTable = new Set()
  if (create != null && typeof create !== 'boolean') {
    if (typeof create !== 'object' || Array.isArray(create)) {
      throw configError('createTable', 'must be true, false or an object')
    }
    for (const key of Object.keys(create)) {
      if (!CREATE_TABLE_OPTIONS.includes(key))
        throw configError(`createTable.${key}`, 'is not an option of createTable')
    }
    if (given('billingMode', create)) {
      if (typeof create.billingMode !== 'string') throw configError('createTable.billingMode', 'must be a string')
      n.billingMode = create.billingMode
    }
    for (const key of ['readCapacityUnits', 'writeCapacityUnits']) {
      const units = number(key, create, `createTable.${key}`)
      if (units !== undefined) {
        n[key] = units
        setInCreateTable.add(key)
      }
    }
  }

  let specialKeys = []
  if (given('specialKeys')) {
    if (!Array.isArray(options.specialKeys)) throw configError('specialKeys', 'must be an array')
    specialKeys = options.specialKeys.map((key, i) => {
      if (!key || typeof key.name !== 'string' || !SPECIAL_KEY_TYPES.includes(key.type)) {
        throw configError(`specialKeys[${i}]`, 'must be { name: string, type: "S" | "N" | "B" }')
      }
      return { name: key.name, type: key.type }
    })
  }

  const client = options.client
  if (given('client') && (typeof client !== 'object' || !client.config || typeof client.send !== 'function')) {
    throw configError('client', 'must be a DynamoDBClient from @aws-sdk/client-dynamodb')
  }
  if (given('clock') && !(options.clock instanceof native.ManualClock)) {
    throw configError('clock', "must be a ManualClock from 'connect-dynamodb/testing'")
  }

  const atRest = {
    encryptionKeys: encryptionKeys(options.encryptionKeys),
    idHashKey: idHashKey(options.idHashKey),
    compressThreshold: number('compressThreshold'),
    decryptOnly: boolean('decryptOnly'),
  }

  let config
  try {
    config = new native.NativeConfig(n, options.clock, client ? clientCredentials(client) : undefined, atRest)
  } catch (err) {
    throw whereWritten(toStoreError(err), setInCreateTable)
  }
  return {
    config,
    ttl,
    initialized,
    createTable: create !== false,
    reaps: n.reapIntervalMs !== undefined,
    specialKeys,
    skipThrowMissingSpecialKeys: boolean('skipThrowMissingSpecialKeys') ?? false,
    client: client || null,
    // What a DynamoDBClient built for `store.client` is given.
    clientConfig: {
      region: n.region,
      endpoint: n.endpoint,
      credentials: n.accessKeyId
        ? { accessKeyId: n.accessKeyId, secretAccessKey: n.secretAccessKey, sessionToken: n.sessionToken }
        : undefined,
    },
  }
}

/** A key as the addon takes it: bytes (a Buffer or any Uint8Array) or base64 text. */
function isKey(key) {
  return typeof key === 'string' || key instanceof Uint8Array
}

/**
 * `encryptionKeys`: undefined (or null) for the keys of the environment variable
 * CONNECT_DYNAMODB_ENCRYPTION_KEYS, an empty array for none. The core checks the keys
 * themselves; the errors never show them.
 */
function encryptionKeys(keys) {
  if (keys == null) return undefined
  if (!Array.isArray(keys) || !keys.every(isKey)) {
    throw configError('encryptionKeys', 'must be an array of keys, each a Buffer, a Uint8Array or a base64 string')
  }
  return keys
}

/**
 * `idHashKey`: undefined (or null) for the key of the environment variable
 * CONNECT_DYNAMODB_ID_HASH_KEY, `false` for none.
 */
function idHashKey(key) {
  if (key == null) return undefined
  if (key !== false && !isKey(key)) {
    throw configError('idHashKey', 'must be a Buffer, a Uint8Array, a base64 string or false')
  }
  return key
}

/**
 * An INVALID_CONFIG error of the addon, which names the top-level `readCapacityUnits` or
 * `writeCapacityUnits`, naming `createTable.…` instead when the value came from there.
 */
function whereWritten(err, setInCreateTable) {
  if (err.code !== 'INVALID_CONFIG') return err
  for (const key of setInCreateTable) {
    const named = `invalid option \`${key}\`: `
    if (err.message.startsWith(named)) {
      return configError(`createTable.${key}`, err.message.slice(named.length))
    }
  }
  return err
}

/**
 * An AWS SDK for JavaScript v3 client's credentials, asked by the native core whenever its
 * cached ones are about to expire, so refreshing providers (SSO, STS, web identity) keep
 * refreshing. Undefined when the client has no credentials provider.
 */
function clientCredentials(client) {
  if (typeof client.config.credentials !== 'function') return undefined
  return async () => {
    const c = await client.config.credentials()
    return {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expirationMs: c.expiration instanceof Date ? c.expiration.getTime() : undefined,
    }
  }
}

/**
 * The region and endpoint of an AWS SDK for JavaScript v3 client, for those the options
 * (`own`) do not give.
 */
async function clientSettings(client, own) {
  const config = client.config
  const settings = {}
  if (own.region) {
    // The store's own region applies.
  } else if (typeof config.region === 'function') settings.region = await config.region()
  else if (typeof config.region === 'string') settings.region = config.region
  if (!own.endpoint && typeof config.endpoint === 'function') {
    const e = await config.endpoint()
    if (e?.hostname) {
      const port = e.port ? `:${e.port}` : ''
      settings.endpoint = `${e.protocol || 'https:'}//${e.hostname}${port}${e.path && e.path !== '/' ? e.path : ''}`
    }
  }
  return settings
}

module.exports = { OPTIONS, CREATE_TABLE_OPTIONS, parseOptions, clientSettings }
