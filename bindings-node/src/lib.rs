//! The napi addon under the npm package `connect-dynamodb`: argument conversion, error
//! mapping and runtime glue over `connect-dynamodb-core`, nothing else. The public JavaScript
//! surface (`DynamoDBStore`, `SessionStoreError`) is `index.js` and the files it loads.
//!
//! - [`cli`]: the ops CLI of `npx connect-dynamodb`, the core's commands;
//! - [`config`]: the options into the core's `Config`, the core's defaults, the testing clock;
//! - [`store`]: the core's `SessionStore`, each call a promise;
//! - [`error`]: failures as JavaScript errors with the core's `code` and `retryable`, and the
//!   one table from the core's configuration fields to the Node options;
//! - [`credentials`]: credentials asked of a JavaScript AWS SDK client.
//!
//! Every async call runs on the addon's Tokio runtime, whose thread never keeps Node's event
//! loop alive.

// The napi objects are plain transfer structs; some carry credentials, which a derived Debug
// would print.
#![allow(missing_debug_implementations)]

pub mod cli;
pub mod config;
pub mod credentials;
pub mod error;
pub mod store;

/// The addon's own allocations (the SDK allocates many small objects per request) go to
/// mimalloc, which costs less CPU per allocation than glibc's malloc under threads. Node's own
/// heap is not affected.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Tokio runtime the addon's async calls run on: napi's own (every promise of
/// `store::promise` and the reaper started through `within_runtime_if_available` run there),
/// which napi takes from here instead of building its default one, so that it has one worker
/// thread. It is not `core/runtime`, the C and Python faces' runtime, whose two workers
/// (`WORKER_THREADS`) were measured with 16 threads calling at once: Node calls from its one
/// JavaScript thread, a store call spends most of its time waiting on DynamoDB, and one worker
/// saves the wake-ups of a second on every call (chosen with `make bench`'s CPU per request,
/// commit 460f16e; no figure of one against two workers is recorded for Node). Should napi
/// shut its runtime down and start it again (the last Node environment using the addon gone,
/// then a new one), it builds its default runtime, a worker per core. The worker thread never
/// keeps Node's event loop alive.
#[napi_derive::module_init]
fn init_runtime() {
    if let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("connect-dynamodb")
        .enable_all()
        .build()
    {
        napi::bindgen_prelude::create_custom_tokio_runtime(runtime);
    }
}
