'use strict'
/**
 * connect-dynamodb: a session store on Amazon DynamoDB for express-session, connect and
 * @fastify/session, the successor of connect-dynamodb 3.x. The work is done by a native core
 * (native.js); lib/ adapts it to express-session's Store contract: lib/errors.js (the error
 * class), lib/options.js (the options), lib/store.js (the store).
 */
const { EventEmitter } = require('node:events')

const { SessionStoreError } = require('./lib/errors')
const { defineStore } = require('./lib/store')

const stores = new WeakMap()

/**
 * connect-dynamodb 3.x's factory: `require('connect-dynamodb')(session)` or
 * `require('connect-dynamodb')({ session })`, where `session` is express-session (or any
 * module with a `Store` class).
 */
function connectDynamoDB(connect) {
  const Base = connect && (connect.Store || connect.session?.Store)
  if (typeof Base !== 'function') {
    throw new TypeError('connect-dynamodb: pass express-session, or { session }, to get the store class')
  }
  let Store = stores.get(Base)
  if (!Store) {
    Store = defineStore(Base)
    stores.set(Base, Store)
  }
  return Store
}

/** The default base class: express-session's Store when installed, else an EventEmitter. */
function defaultBase() {
  try {
    return require('express-session').Store
  } catch {
    return EventEmitter
  }
}

let DefaultStore
Object.defineProperty(connectDynamoDB, 'DynamoDBStore', {
  enumerable: true,
  get() {
    DefaultStore ??= connectDynamoDB({ Store: defaultBase() })
    return DefaultStore
  },
})
connectDynamoDB.SessionStoreError = SessionStoreError
connectDynamoDB.default = connectDynamoDB

module.exports = connectDynamoDB
