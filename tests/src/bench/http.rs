//! A minimal keep-alive HTTP/1.1 JSON-RPC client for load.
//!
//! The load client must cost as little CPU as it can, because it shares the
//! machine with the node it measures, and it must control its connections
//! exactly (how many, from which loopback source address). A generic client
//! with a connection pool does neither, so this one writes the request bytes
//! itself and reads one response per request on one TCP connection.

use serde_json::Value;
use std::net::{Ipv4Addr, SocketAddr};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};

/// One keep-alive connection.
pub struct Conn {
    host: String,
    stream: BufReader<TcpStream>,
    id: u64,
}

impl Conn {
    /// Connects to `addr` from 127.0.0.`source` (the node limits connections
    /// per client address; loopback has a whole /8 of them).
    pub async fn connect(addr: SocketAddr, source: u8) -> std::io::Result<Conn> {
        let sock = TcpSocket::new_v4()?;
        sock.bind(SocketAddr::from((
            Ipv4Addr::new(127, 0, 0, source.max(1)),
            0,
        )))?;
        let stream = sock.connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            host: addr.to_string(),
            stream: BufReader::with_capacity(64 * 1024, stream),
            id: 0,
        })
    }

    /// Sends `body` (a JSON-RPC request) and returns the response body.
    pub async fn post(&mut self, body: &str) -> std::io::Result<Vec<u8>> {
        let head = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.host,
            body.len()
        );
        let s = self.stream.get_mut();
        s.write_all(head.as_bytes()).await?;
        s.write_all(body.as_bytes()).await?;
        self.read_response().await
    }

    async fn read_response(&mut self) -> std::io::Result<Vec<u8>> {
        let bad = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidData, m);
        let mut line = String::new();
        let mut length: Option<usize> = None;
        let mut chunked = false;
        let mut first = true;
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                return Err(bad("connection closed".into()));
            }
            let l = line.trim_end();
            if first {
                first = false;
                if !l.starts_with("HTTP/1.1 ") {
                    return Err(bad(format!("not an HTTP response: {l}")));
                }
                continue;
            }
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let v = v.trim();
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.parse().ok();
                } else if k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked") {
                    chunked = true;
                }
            }
        }
        if chunked {
            let mut out = Vec::new();
            loop {
                line.clear();
                self.stream.read_line(&mut line).await?;
                let n = usize::from_str_radix(line.trim(), 16)
                    .map_err(|_| bad(format!("bad chunk size {line:?}")))?;
                let start = out.len();
                out.resize(start + n + 2, 0);
                self.stream.read_exact(&mut out[start..]).await?;
                out.truncate(start + n);
                if n == 0 {
                    return Ok(out);
                }
            }
        }
        let n = length.ok_or_else(|| bad("response without a length".into()))?;
        let mut out = vec![0; n];
        self.stream.read_exact(&mut out).await?;
        Ok(out)
    }

    /// One call; the result, or the error object as text.
    pub async fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.id += 1;
        let body = serde_json::json!({"jsonrpc": "2.0", "id": self.id, "method": method, "params": params})
            .to_string();
        let bytes = self.post(&body).await.map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        match v.get("error") {
            Some(e) => Err(e.to_string()),
            None => Ok(v["result"].clone()),
        }
    }
}

/// The JSON-RPC request that submits one transaction (`tx_submit`), given
/// as `0x` and hex.
pub fn submit_request(hex: &str) -> String {
    format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tx_submit\",\"params\":[\"{hex}\"]}}")
}

/// The JSON-RPC request that submits `txs` in one `tx_submitBatch` call.
pub fn batch_request(txs: &[super::load::Prepared]) -> String {
    let mut body = String::with_capacity(64 + txs.iter().map(|p| p.hex.len() + 3).sum::<usize>());
    body.push_str("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tx_submitBatch\",\"params\":[[");
    for (k, p) in txs.iter().enumerate() {
        if k > 0 {
            body.push(',');
        }
        body.push('"');
        body.push_str(&p.hex);
        body.push('"');
    }
    body.push_str("]]}");
    body
}
