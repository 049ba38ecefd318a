'use strict'
// The native addon, loaded through napi's generated loader (../native.js), which picks the
// binary for this machine: the package connect-dynamodb-<platform> that npm installed from the
// optionalDependencies (or, in a source checkout, the addon built next to it). When none
// loads, the loader's own message blames an npm bug; these say what is wrong here.

const fs = require('node:fs')
const path = require('node:path')
const { PLATFORMS, currentPlatform } = require('./platforms')

/** Whether the binary for `platform` is on disk: its package, or a checkout's own build. */
function installed(platform) {
  if (fs.existsSync(path.join(__dirname, '..', `connect-dynamodb.${platform}.node`))) return true
  try {
    require.resolve(`connect-dynamodb-${platform}`)
    return true
  } catch {
    return false
  }
}

function loadError(cause) {
  const here = currentPlatform()
  const details = { platform: here, supported: PLATFORMS }
  if (!PLATFORMS.includes(here)) {
    return Object.assign(
      new Error(
        `connect-dynamodb: no native binary for ${here}. Prebuilt binaries exist for ${PLATFORMS.join(', ')} ` +
          '(glibc 2.17 or later, or musl); see "Supported platforms" in the README.',
        { cause },
      ),
      { code: 'ERR_CONNECT_DYNAMODB_UNSUPPORTED_PLATFORM', ...details },
    )
  }
  if (!installed(here)) {
    return Object.assign(
      new Error(
        `connect-dynamodb: the native binary for ${here} is not installed. It comes in the package ` +
          `connect-dynamodb-${here}, which npm installs as an optional dependency: reinstall on this ` +
          'machine without --omit=optional (or --no-optional), and do not copy node_modules or a ' +
          "lockfile made on another platform. The loader's errors are in `cause`.",
        { cause },
      ),
      { code: 'ERR_CONNECT_DYNAMODB_BINARY_MISSING', ...details },
    )
  }
  return Object.assign(
    new Error(
      `connect-dynamodb: the native binary for ${here} is installed but did not load (an older ` +
        "C library than glibc 2.17, a damaged file, or a version mismatch). The loader's errors are in `cause`.",
      { cause },
    ),
    { code: 'ERR_CONNECT_DYNAMODB_BINARY_LOAD_FAILED', ...details },
  )
}

function load() {
  try {
    return require('../native.js')
  } catch (cause) {
    throw loadError(cause)
  }
}

module.exports = load()
