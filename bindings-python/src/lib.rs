//! The native module `connect_dynamodb._native` of the Python package `connect_dynamodb`:
//! argument conversion, error mapping and runtime glue over `connect-dynamodb-core`, nothing
//! else. The package's `__init__.py` re-exports the classes; the exceptions are defined in
//! Python (`connect_dynamodb/exceptions.py`) and raised from here by the core's kind token.
//!
//! - `SessionStore` blocks the calling thread without the GIL while it waits on DynamoDB, and
//!   takes the GIL back every 50 ms to run Python's signal handlers (Ctrl-C interrupts it).
//! - `AsyncSessionStore` returns asyncio futures of calls run on the process-local runtime,
//!   completed on the event loop's thread (`runtime::awaitable`: no runtime thread takes the
//!   GIL); the package subclasses it with coroutine methods. Both are generated from one
//!   declaration (`store.rs`).
//! - Both survive `os.fork()`: the runtime and the DynamoDB client are rebuilt in the child
//!   by `connect-dynamodb-runtime`.
//! - A Rust panic reaches Python as `InternalError`, never as pyo3's `PanicException`.
//!
//! Modules: `options` (the constructor's options, the core's defaults, the config-field
//! table), `convert` (call arguments), `values` (the value classes), `store` (the stores),
//! `kv` (`AsyncKeyValueStore`, the core's key-value mode),
//! `runtime` (blocking and asyncio glue), `error` (exceptions), `cli` (`run_cli`, the core's
//! ops CLI for `python -m connect_dynamodb`).

mod cli;
mod convert;
mod error;
mod json;
mod kv;
mod options;
mod runtime;
mod store;
mod values;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<store::PySessionStore>()?;
    m.add_class::<store::PyAsyncSessionStore>()?;
    m.add_class::<kv::PyAsyncKeyValueStore>()?;
    m.add_class::<values::StoredSession>()?;
    m.add_class::<values::UserSession>()?;
    m.add_class::<values::TouchResult>()?;
    m.add_class::<values::SaveResult>()?;
    m.add_class::<values::ReapReport>()?;
    m.add_class::<values::ReencryptReport>()?;
    m.add_class::<values::PyCredentials>()?;
    m.add_class::<values::PyManualClock>()?;
    m.add("DEFAULTS", options::defaults(py)?)?;
    m.add(
        "OPTIONS",
        pyo3::types::PyTuple::new(py, options::OPTION_NAMES)?,
    )?;
    m.add_function(wrap_pyfunction!(cli::run_cli, m)?)?;
    m.add_function(wrap_pyfunction!(error::error_kinds, m)?)?;
    m.add_function(wrap_pyfunction!(json::json_members, m)?)?;
    m.add_function(wrap_pyfunction!(options::_config_fields, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_async_for_tests, m)?)?;
    Ok(())
}

/// Panics inside the boundary: the tests' proof that a panic reaches Python as
/// `InternalError`. Not part of the API.
#[pyfunction]
fn _panic_for_tests() -> PyResult<()> {
    error::guard(|| panic!("a panic at the boundary, raised on purpose"))
}

/// An awaitable whose future panics: the same proof for the asyncio path. Not part of the API.
#[pyfunction]
fn _panic_async_for_tests(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    runtime::awaitable(py, async {
        if std::process::id() > 0 {
            panic!("a panic in a future, raised on purpose");
        }
        Ok(error::Nothing)
    })
}
