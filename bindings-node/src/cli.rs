//! `npx connect-dynamodb`: the core's ops CLI (`connect_dynamodb_core::cli`) on the addon's
//! runtime, writing to the process's standard output and error. The commands, their output
//! and their exit statuses are the core's: the same bytes as `python -m connect_dynamodb`.

use std::io::{self, Write};
use std::time::Duration;

use napi_derive::napi;

/// Runs the ops CLI with `args` (the arguments after the program's name), writing its output
/// to the process's stdout and its errors and progress to stderr; resolves to the exit status.
/// `bin/connect-dynamodb.js` is the command.
#[napi]
pub async fn run_cli(args: Vec<String>) -> i32 {
    let mut out = Waiting(io::stdout());
    let mut err = Waiting(io::stderr());
    connect_dynamodb_core::cli::run(&args, &mut out, &mut err).await
}

/// A writer that waits out `WouldBlock`: Node makes the standard streams it opens non-blocking.
struct Waiting<W>(W);

impl<W: Write> Waiting<W> {
    fn retry<T>(&mut self, mut op: impl FnMut(&mut W) -> io::Result<T>) -> io::Result<T> {
        loop {
            match op(&mut self.0) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                other => return other,
            }
        }
    }
}

impl<W: Write> Write for Waiting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.retry(|w| w.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.retry(Write::flush)
    }
}
