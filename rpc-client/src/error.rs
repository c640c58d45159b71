//! Error codes: JSON-RPC 2.0's own and EIP-1474's. One convention for
//! every error the node answers: the message in the JSON-RPC
//! specification's capitalised style ("Invalid params", "Resource not
//! found"), and `error.data` an object with at least `reason`, a sentence
//! for people: `{"reason": "..."}`.

use jsonrpsee::types::ErrorObjectOwned;
use serde::{Deserialize, Serialize};

/// The request is not valid JSON.
pub const PARSE_ERROR: i32 = -32700;
/// The JSON is not a valid request object.
pub const INVALID_REQUEST: i32 = -32600;
/// The method does not exist.
pub const METHOD_NOT_FOUND: i32 = -32601;
/// Malformed parameters: bad hex, a truncated transaction, an `at` that
/// does not parse, a filter naming an unknown event kind, a bad cursor.
/// (Parameters that do not fit the method's types at all get the same code
/// and message from jsonrpsee, its text as `data.reason`.)
pub const INVALID_PARAMS: i32 = -32602;
/// The node failed; the request may be retried.
pub const INTERNAL_ERROR: i32 = -32603;
/// EIP-1474: the resource asked for does not exist: a block `at` names
/// that the node does not have, an unknown site for `sites_canRun`.
pub const RESOURCE_NOT_FOUND: i32 = -32001;
/// EIP-1474: the resource exists but is not available now (the node is
/// shutting down).
pub const RESOURCE_UNAVAILABLE: i32 = -32002;
/// EIP-1474: the transaction was refused at admission (wrong chain id, bad
/// signature, unknown meter or site, stale or taken nonce, full mempool).
/// A transaction that passes admission but breaks a ledger rule is dropped
/// when a block is built; `tx_submitAndWatch` reports it `invalid`.
pub const TRANSACTION_REJECTED: i32 = -32003;
/// EIP-1474: the method exists but is not served here: an unsafe method on
/// a node whose RPC listens beyond loopback.
pub const METHOD_NOT_SUPPORTED: i32 = -32004;
/// EIP-1474: a limit was exceeded: a range or page too large, the rate
/// limit.
pub const LIMIT_EXCEEDED: i32 = -32005;
/// jsonrpsee: more subscriptions on one WebSocket than the node allows.
pub const TOO_MANY_SUBSCRIPTIONS: i32 = -32006;
/// jsonrpsee: a request larger than the node accepts.
pub const REQUEST_TOO_BIG: i32 = -32007;
/// jsonrpsee: an answer larger than the node sends.
pub const RESPONSE_TOO_BIG: i32 = -32008;
/// jsonrpsee: a batch of more calls than the node accepts.
pub const BATCH_TOO_BIG: i32 = -32010;
/// jsonrpsee: a batch whose answers together are larger than the node
/// sends.
pub const BATCH_RESPONSE_TOO_BIG: i32 = -32011;

/// What `error.data` holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorData {
    /// Why, in the domain's words.
    pub reason: String,
}

/// An error object with a code, a message and the domain reason.
pub fn error(code: i32, message: &str, reason: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(
        code,
        message.to_string(),
        Some(ErrorData {
            reason: reason.into(),
        }),
    )
}

/// Malformed parameters.
pub fn invalid_params(reason: impl Into<String>) -> ErrorObjectOwned {
    error(INVALID_PARAMS, "Invalid params", reason)
}

/// A transaction refused.
pub fn rejected(reason: impl Into<String>) -> ErrorObjectOwned {
    error(TRANSACTION_REJECTED, "Transaction rejected", reason)
}

/// A resource that does not exist.
pub fn not_found(reason: impl Into<String>) -> ErrorObjectOwned {
    error(RESOURCE_NOT_FOUND, "Resource not found", reason)
}

/// A resource not available now.
pub fn unavailable(reason: impl Into<String>) -> ErrorObjectOwned {
    error(RESOURCE_UNAVAILABLE, "Resource unavailable", reason)
}

/// A limit exceeded.
pub fn limit_exceeded(reason: impl Into<String>) -> ErrorObjectOwned {
    error(LIMIT_EXCEEDED, "Limit exceeded", reason)
}

/// An unsafe method refused.
pub fn not_supported(reason: impl Into<String>) -> ErrorObjectOwned {
    error(METHOD_NOT_SUPPORTED, "Method not supported", reason)
}

/// The node failed.
pub fn internal(reason: impl Into<String>) -> ErrorObjectOwned {
    error(INTERNAL_ERROR, "Internal error", reason)
}

/// The reason of an error object, if it carries one: `data.reason`, or,
/// from a node that predates the one convention, a plain-string `data`.
pub fn reason_of(err: &ErrorObjectOwned) -> Option<String> {
    match serde_json::from_str::<serde_json::Value>(err.data()?.get()).ok()? {
        serde_json::Value::Object(mut fields) => match fields.remove("reason")? {
            serde_json::Value::String(reason) => Some(reason),
            _ => None,
        },
        serde_json::Value::String(reason) => Some(reason),
        _ => None,
    }
}
