'use strict'
// The one error class users see, and the mapping of every failure onto it.
const native = require('./native.js')

/** The core's error kinds: `[{ code, retryable }]`, the retryable default of each code. */
const ERROR_KINDS = Object.freeze(native.errorKinds().map((kind) => Object.freeze(kind)))
/** Whether errors of each code are retryable unless they say otherwise (the core's rule). */
const RETRYABLE_BY_DEFAULT = new Map(ERROR_KINDS.map((kind) => [kind.code, kind.retryable]))

/** Every failure of the store: `code` is a stable token (see the README's table). */
class SessionStoreError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{retryable?: boolean, cause?: unknown}} [details] `retryable` defaults to the
   *   core's default for `code`.
   */
  constructor(code, message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'SessionStoreError'
    this.code = code
    this.retryable =
      details.retryable === undefined ? (RETRYABLE_BY_DEFAULT.get(code) ?? false) : Boolean(details.retryable)
  }
}

/**
 * Any failure as a SessionStoreError. The addon's errors carry the core's `code` and the
 * error's own `retryable` (napi errors, see src/error.rs); anything else is a bug: INTERNAL.
 */
function toStoreError(err) {
  if (err instanceof SessionStoreError) return err
  if (err instanceof Error && RETRYABLE_BY_DEFAULT.has(err.code) && typeof err.retryable === 'boolean') {
    return new SessionStoreError(err.code, err.message, { retryable: err.retryable, cause: err.cause })
  }
  return new SessionStoreError('INTERNAL', 'unexpected failure inside connect-dynamodb', { cause: err })
}

/** INVALID_CONFIG naming the option the user wrote. */
function configError(option, problem) {
  return new SessionStoreError('INVALID_CONFIG', `invalid option \`${option}\`: ${problem}`)
}

module.exports = { ERROR_KINDS, SessionStoreError, toStoreError, configError }
