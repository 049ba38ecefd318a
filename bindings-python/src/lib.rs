//! The native module `connect_dynamodb._native` of the Python package `connect_dynamodb`:
//! argument conversion, error mapping and runtime glue over `connect-dynamodb-core`, nothing
//! else. The package's `__init__.py` re-exports the classes; the exceptions are defined in
//! Python (`connect_dynamodb/exceptions.py`) and raised from here by the core's kind token.
//!
//! - `SessionStore` blocks the calling thread without the GIL while it waits on DynamoDB, and
//!   takes the GIL back every 50 ms to run Python's signal handlers (Ctrl-C interrupts it).
//! - `AsyncSessionStore` returns asyncio futures, through pyo3-async-runtimes' generic
//!   runtime traits over this module's own runtime; the package subclasses it with coroutine
//!   methods.
//! - Both survive `os.fork()`: the runtime and the DynamoDB client are rebuilt in the child
//!   (see [`runtime`]).
//! - A Rust panic reaches Python as `InternalError`, never as pyo3's `PanicException`.

mod convert;
mod error;
mod runtime;
mod store;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<store::PySessionStore>()?;
    m.add_class::<store::PyAsyncSessionStore>()?;
    m.add_class::<store::StoredSession>()?;
    m.add_class::<store::ReapReport>()?;
    m.add_class::<store::PyCredentials>()?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_async_for_tests, m)?)?;
    let after_fork = wrap_pyfunction!(runtime::_after_fork_in_child, m)?;
    m.add_function(after_fork.clone())?;
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("after_in_child", after_fork)?;
    py.import("os")?
        .getattr("register_at_fork")?
        .call((), Some(&kwargs))?;
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
    store::awaitable(py, async {
        if std::process::id() > 0 {
            panic!("a panic in a future, raised on purpose");
        }
        Ok(error::Nothing)
    })
}
