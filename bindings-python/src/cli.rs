//! `python -m connect_dynamodb`: the core's ops CLI (`connect_dynamodb_core::cli`), writing to
//! the process's standard output and error. The commands, their output and their exit statuses
//! are the core's: the same bytes as `npx connect-dynamodb`.

use pyo3::prelude::*;

use crate::{error, runtime};

/// Runs the ops CLI with ``args`` (the arguments after the program's name), writing its output
/// to the process's stdout and its errors and progress to stderr (file descriptors 1 and 2,
/// not ``sys.stdout``), and returns the exit status. Releases the GIL while it runs; Ctrl-C
/// raises ``KeyboardInterrupt``. ``python -m connect_dynamodb`` is the command.
#[pyfunction]
pub(crate) fn run_cli(py: Python<'_>, args: Vec<String>) -> PyResult<i32> {
    error::guard(|| {
        runtime::wait(py, async move {
            let mut out = std::io::stdout();
            let mut err = std::io::stderr();
            connect_dynamodb_core::cli::run(&args, &mut out, &mut err).await
        })
    })
}
