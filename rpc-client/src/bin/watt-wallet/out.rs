//! Standard output. Every line the wallet prints goes through [`line()`]:
//! `println!` panics when stdout is a pipe whose reader has gone
//! (`watt-wallet site watch 2 | head -1`), where the wallet should end
//! quietly instead. [`closed`] lets a command that waits for the node (a
//! watch) notice that at once rather than at its next line.

use crate::error::WalletError;
use std::io::{ErrorKind, Write};

/// Writes `text` and a newline to stdout, and flushes it (a watch's lines
/// must reach a pipe as they happen). A closed stdout is
/// [`WalletError::StdoutClosed`], which `main` ends on quietly.
pub fn line(text: &str) -> Result<(), WalletError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| match e.kind() {
            ErrorKind::BrokenPipe => WalletError::StdoutClosed,
            _ => WalletError::Stdout(e),
        })
}

/// Resolves once stdout is a pipe or socket whose reader has gone; never
/// for a terminal, a file or `/dev/null` (which cannot close under us).
pub async fn closed() {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        use tokio::io::unix::AsyncFd;
        use tokio::io::Interest;
        // A duplicate of the descriptor, only ever polled: the readiness of
        // the pipe's write end, never read or written through. `with_interest`
        // is deprecated for types whose descriptor may change under it; an
        // `OwnedFd` is the case it is sound for, and the crate forbids the
        // `unsafe` its replacement needs.
        #[allow(deprecated)]
        let watched = std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .ok()
            .and_then(|fd| AsyncFd::with_interest(fd, Interest::WRITABLE).ok());
        if let Some(fd) = watched {
            loop {
                let Ok(mut ready) = fd.ready(Interest::WRITABLE).await else {
                    break;
                };
                let r = ready.ready();
                if r.is_write_closed() || r.is_error() {
                    return;
                }
                // Writable again (room in the pipe): wait for the next edge.
                ready.clear_ready();
            }
        }
    }
    std::future::pending::<()>().await
}
