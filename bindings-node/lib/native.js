'use strict'
// The native addon, loaded through napi's generated loader (../native.js), which picks the
// binary for this machine: the package connect-dynamodb-<platform> that npm installed from the
// optionalDependencies (or, in a source checkout, the addon built next to it). When none
// loads, the loader's own message blames an npm bug; this one says what is wrong here.

const { napi } = require('../package.json')

/** napi's platform names for the Rust targets the package is built for (package.json). */
const PLATFORMS = Object.freeze(
  napi.targets.map((triple) => {
    const [arch, , os, abi] = triple.split('-')
    return `${os}-${{ x86_64: 'x64', aarch64: 'arm64' }[arch] ?? arch}${abi ? `-${abi}` : ''}`
  }),
)

/** This machine as napi names it: `linux-x64-gnu`, `linux-arm64-musl`, `darwin-arm64`, ... */
function currentPlatform() {
  const { platform, arch } = process
  if (platform !== 'linux') return `${platform}-${arch}`
  const report = process.report?.getReport?.()
  const glibc = report?.header?.glibcVersionRuntime
  return `${platform}-${arch}-${glibc ? 'gnu' : 'musl'}`
}

function load() {
  try {
    return require('../native.js')
  } catch (cause) {
    const here = currentPlatform()
    const supported = PLATFORMS.join(', ')
    const error = PLATFORMS.includes(here)
      ? Object.assign(
          new Error(
            `connect-dynamodb: the native binary for ${here} did not load. It comes in the package ` +
              `connect-dynamodb-${here}, which npm installs as an optional dependency: reinstall on this ` +
              `machine without --omit=optional (or --no-optional), and do not copy node_modules or a ` +
              `lockfile made on another platform. The loader's errors are in \`cause\`.`,
            { cause },
          ),
          { code: 'ERR_CONNECT_DYNAMODB_BINARY_MISSING', platform: here, supported: PLATFORMS },
        )
      : Object.assign(
          new Error(
            `connect-dynamodb: no native binary for ${here}. Prebuilt binaries exist for ${supported} ` +
              `(glibc 2.17 or later, or musl); see "Supported platforms" in the README.`,
            { cause },
          ),
          { code: 'ERR_CONNECT_DYNAMODB_UNSUPPORTED_PLATFORM', platform: here, supported: PLATFORMS },
        )
    throw error
  }
}

module.exports = load()
