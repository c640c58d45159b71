//! Bringing peers in: the listener's accept loop (address bans and
//! handshake slots) and the dialers that keep configured peers connected.

use super::{lock, NetConfig, NetHandle, Network, PeerAddr, Seen, Shared, MAX_HANDSHAKES};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Starts listening and dialling.
pub async fn start(cfg: NetConfig) -> std::io::Result<Network> {
    let listener = TcpListener::bind(cfg.listen).await?;
    let local_addr = listener.local_addr()?;
    let (inbound_tx, inbound) = mpsc::channel(4_096);
    let configured = cfg.peers.iter().map(|p| (p.key, p.addr)).collect();
    let configured_ips = cfg.peers.iter().map(|p| p.addr.ip()).collect();
    let seen = || {
        Mutex::new(Seen {
            set: HashSet::new(),
            order: VecDeque::new(),
        })
    };
    let shared = Arc::new(Shared {
        configured,
        configured_ips,
        peers: Mutex::new(HashMap::new()),
        bans: Mutex::new(HashMap::new()),
        address_bans: Mutex::new(HashMap::new()),
        received: seen(),
        relayed: seen(),
        handshakes: Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES)),
        handshakes_by_ip: Mutex::new(HashMap::new()),
        inbound: inbound_tx,
        cfg,
    });
    let s = shared.clone();
    tokio::spawn(async move {
        loop {
            let (sock, remote) = match listener.accept().await {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "peer accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            if s.address_banned(&remote.ip()) {
                tracing::debug!(%remote, "address banned; closing");
                continue;
            }
            let Some(slot) = s.handshake_slot(remote.ip()) else {
                tracing::debug!(%remote, "too many handshakes in progress; closing");
                continue;
            };
            let s = s.clone();
            tokio::spawn(async move {
                if let Err(e) = s.clone().session(sock, None, Some(slot)).await {
                    tracing::debug!(%remote, error = %e, "inbound peer session ended");
                }
            });
        }
    });
    for peer in shared.cfg.peers.clone() {
        let s = shared.clone();
        tokio::spawn(async move { s.dial_forever(peer).await });
    }
    Ok(Network {
        handle: NetHandle { shared },
        inbound,
        local_addr,
    })
}

impl Shared {
    async fn dial_forever(self: Arc<Self>, peer: PeerAddr) {
        let (first, most) = (Duration::from_millis(100), Duration::from_secs(10));
        let mut delay = first;
        loop {
            if !lock(&self.peers).contains_key(&peer.key) {
                match TcpStream::connect(peer.addr).await {
                    Ok(sock) => {
                        let began = Instant::now();
                        if let Err(e) = self.clone().session(sock, Some(peer.key), None).await {
                            // A wrong key or chain is a configuration
                            // error the operator must see.
                            tracing::info!(%peer, error = %e, "peer session ended");
                        }
                        // Back off again unless the session lasted: a peer
                        // that fails the handshake is not redialled in a
                        // tight loop.
                        if began.elapsed() > most {
                            delay = first;
                        }
                    }
                    Err(e) => tracing::trace!(%peer, error = %e, "dial failed"),
                }
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(most);
        }
    }
}
