//! Subscription plumbing. Every subscription sends without waiting: a
//! client whose buffer is full is dropped, so a slow reader never slows
//! the node or other clients. A subscription the node ends returns an
//! error, which jsonrpsee sends as a closing notification, so clients learn
//! that it ended and why rather than waiting on silence.

use crate::chain::Committed;
use jsonrpsee::core::server::SubscriptionSink;
use jsonrpsee::core::server::TrySendError;
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};

/// Why the node ended a subscription (sent to the client, when it can be).
pub type Ended = String;

/// Sends `item`. An error ends the subscription: the client's bounded
/// buffer is full (it is not reading) or it has gone.
pub fn push<T: Serialize>(sink: &mut SubscriptionSink, item: &T) -> Result<(), Ended> {
    let raw = serde_json::value::to_raw_value(item)
        .map_err(|e| format!("notification does not serialise: {e}"))?;
    match sink.try_send(raw) {
        Ok(()) => Ok(()),
        Err(TrySendError::Full(_)) => {
            tracing::debug!(
                method = sink.method_name(),
                "subscriber is not reading; dropping it"
            );
            Err("subscriber too slow: its buffer is full; subscribe again".into())
        }
        Err(TrySendError::Closed(_)) => Err("subscriber gone".into()),
    }
}

/// The next finalised block; `Ok(None)` once the client has gone or the
/// node stops, an error if the subscription fell behind the chain.
pub async fn next_block(
    sink: &SubscriptionSink,
    rx: &mut broadcast::Receiver<Arc<Committed>>,
) -> Result<Option<Arc<Committed>>, Ended> {
    tokio::select! {
        _ = sink.closed() => Ok(None),
        r = rx.recv() => match r {
            Ok(c) => Ok(Some(c)),
            Err(RecvError::Lagged(n)) => Err(format!(
                "subscription fell {n} blocks behind the chain; subscribe again"
            )),
            Err(RecvError::Closed) => Err("the node is stopping".into()),
        },
    }
}
