//! Subscription plumbing. Every subscription sends without waiting: a
//! client whose buffer is full is dropped, so a slow reader never slows
//! the node or other clients.

use crate::chain::Committed;
use jsonrpsee::core::server::SubscriptionSink;
use jsonrpsee::core::server::TrySendError;
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};

/// Sends `item`; false if the subscription must end (client gone, or its
/// bounded buffer full).
pub fn push<T: Serialize>(sink: &mut SubscriptionSink, item: &T) -> bool {
    let raw = match serde_json::value::to_raw_value(item) {
        Ok(raw) => raw,
        Err(e) => {
            tracing::warn!(error = %e, "subscription item does not serialise");
            return false;
        }
    };
    match sink.try_send(raw) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            tracing::debug!(
                method = sink.method_name(),
                "subscriber is not reading; dropping it"
            );
            false
        }
        Err(TrySendError::Closed(_)) => false,
    }
}

/// The next finalised block, or `None` once the client has gone or the
/// node stops.
pub async fn next_block(
    sink: &SubscriptionSink,
    rx: &mut broadcast::Receiver<Arc<Committed>>,
) -> Option<Arc<Committed>> {
    tokio::select! {
        _ = sink.closed() => None,
        r = rx.recv() => match r {
            Ok(c) => Some(c),
            Err(RecvError::Lagged(n)) => {
                tracing::debug!(method = sink.method_name(), missed = n, "subscription fell behind; dropping it");
                None
            }
            Err(RecvError::Closed) => None,
        },
    }
}
