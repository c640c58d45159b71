//! Shared by the tests that run the `watt` binary: the command, and one
//! JSON-RPC call over plain HTTP/1.1.
#![allow(dead_code)] // each test file uses a part

use std::process::Command;

/// The `watt` binary of this build.
pub fn watt() -> Command {
    Command::new(env!("CARGO_BIN_EXE_watt"))
}

/// One JSON-RPC call over HTTP/1.1 (`params` as JSON text); the whole
/// response object.
pub fn rpc(addr: &str, method: &str, params: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let request = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#);
    let mut s = std::net::TcpStream::connect(addr).expect("rpc connects");
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{request}",
        request.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or(&out);
    serde_json::from_str(body).expect("JSON response")
}
