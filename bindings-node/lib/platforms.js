'use strict'
// The platforms the package has binaries for, in napi-rs's names (`linux-x64-gnu`,
// `darwin-arm64`, `win32-x64-msvc`, ...), from the one list of Rust targets in package.json
// (`napi.targets`). The loader's errors (native.js), the release packaging
// (scripts/dist-package.sh: one `connect-dynamodb-<platform>` package each, all of them the
// main package's optionalDependencies) and its checks read them here. Needs no native code.

const { napi } = require('../package.json')

const ARCH = { x86_64: 'x64', aarch64: 'arm64', i686: 'ia32', armv7: 'arm' }
const OS = { linux: 'linux', darwin: 'darwin', windows: 'win32' }

/** napi's name for a Rust target triple: `aarch64-unknown-linux-gnu` is `linux-arm64-gnu`. */
function platformOf(triple) {
  const [arch, , os, abi] = triple.split('-')
  const name = `${OS[os] ?? os}-${ARCH[arch] ?? arch}`
  return abi ? `${name}-${abi.replace(/eabihf$/, '')}` : name
}

/** Every platform the package is built for. */
const PLATFORMS = Object.freeze(napi.targets.map(platformOf))

/** Whether this Linux process runs on musl: the way napi's loader tells, ldd first. */
function isMusl() {
  try {
    return require('node:fs').readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {
    process.report.excludeNetwork = true
    return !process.report.getReport().header.glibcVersionRuntime
  }
}

/** This process's platform in napi's names. */
function currentPlatform() {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

module.exports = { PLATFORMS, platformOf, currentPlatform }
