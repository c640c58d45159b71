//! Peers: the listener, the dialers of configured peers (with reconnect
//! and backoff), one reader and one writer task per session, relaying, and
//! bans for peers that misbehave.
//!
//! A configured peer (`address@key`) must present its key. Other inbound
//! keys are followers, up to a limit. After the handshake a peer that sends
//! a message that does not decode or an oversized one is disconnected and
//! its key banned for a while; so is a follower that sends more messages a
//! second than allowed, or nothing for [`FOLLOWER_IDLE`]. A configured peer
//! is never banned for its volume: it may be relaying a busy network, so it
//! is slowed down instead (its messages wait to be read, and TCP pushes
//! back).
//!
//! Nothing is relayed here on arrival: the node relays a message with
//! [`NetHandle::relay`] only after it verified it (consensus messages) or
//! admitted it (transactions), and blames the sender with
//! [`NetHandle::penalise`] when it fails. So an honest node never passes on
//! an outsider's forgery, and is never banned for one.
//!
//! Bans go by key and, for inbound connections from unconfigured keys, by
//! address too (so a banned follower cannot come straight back with a new
//! key), except an address a configured peer uses: on a loopback testnet
//! every node shares one. Handshakes in progress are capped in total and
//! per address.

mod connect;

pub use connect::start;

use super::transport::{handshake, HandshakeConfig, TransportError};
use super::wire::{WireMessage, MAX_WIRE_MESSAGE};
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use watt_runtime::crypto::{Hash, Keypair, PublicKey};
use watt_runtime::encoding::{decode, encode};

/// A configured peer: `127.0.0.1:30333@0x<ed25519 key>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerAddr {
    /// Where to dial.
    pub addr: SocketAddr,
    /// The identity it must present.
    pub key: PublicKey,
}

impl std::str::FromStr for PeerAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, key) = s
            .split_once('@')
            .ok_or_else(|| format!("peer {s:?} is not address@key"))?;
        let addr = addr
            .parse()
            .map_err(|e| format!("peer {s:?}: address {addr:?}: {e}"))?;
        let key = PublicKey::from_hex(key).map_err(|e| format!("peer {s:?}: key: {e}"))?;
        Ok(PeerAddr { addr, key })
    }
}

impl std::fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.addr, self.key)
    }
}

/// A follower that sends nothing for this long is disconnected (every node
/// announces its head every 2 s).
pub const FOLLOWER_IDLE: Duration = Duration::from_secs(60);
/// Most handshakes in progress at once.
pub const MAX_HANDSHAKES: usize = 64;
/// Most handshakes in progress from one unconfigured address.
pub const MAX_HANDSHAKES_PER_ADDRESS: usize = 8;

/// How the network runs.
pub struct NetConfig {
    /// Where to listen (port 0: any free port).
    pub listen: SocketAddr,
    /// This node's identity key.
    pub identity: Keypair,
    /// The chain: peers of other chains fail the handshake.
    pub chain_id: Hash,
    /// Peers to dial and keep connected.
    pub peers: Vec<PeerAddr>,
    /// Most inbound peers that are not configured.
    pub max_followers: usize,
    /// How long a handshake may take.
    pub handshake_timeout: Duration,
    /// How long a misbehaving key stays banned.
    pub ban_for: Duration,
    /// Messages a second a peer may send (bursts of twice that).
    pub max_messages_per_second: u32,
    /// Messages queued for a peer before it counts as too slow and is
    /// dropped.
    pub queue: usize,
}

impl NetConfig {
    /// Defaults for everything but the addresses and keys.
    pub fn new(
        listen: SocketAddr,
        identity: Keypair,
        chain_id: Hash,
        peers: Vec<PeerAddr>,
    ) -> Self {
        NetConfig {
            listen,
            identity,
            chain_id,
            peers,
            max_followers: 32,
            handshake_timeout: Duration::from_secs(5),
            ban_for: Duration::from_secs(600),
            max_messages_per_second: 2_000,
            queue: 1_024,
        }
    }
}

/// A message from a peer.
#[derive(Debug)]
pub struct Inbound {
    /// The peer's identity.
    pub from: PublicKey,
    /// What it sent.
    pub msg: WireMessage,
}

struct Peer {
    tx: mpsc::Sender<Arc<Vec<u8>>>,
    follower: bool,
    /// Its address, if it dialled us (for address bans).
    inbound_ip: Option<IpAddr>,
    /// Ends the session at once (a ban, or a peer too slow to keep up).
    kill: Arc<tokio::sync::Notify>,
}

/// Gossip ids seen lately, oldest forgotten first.
struct Seen {
    set: HashSet<Hash>,
    order: VecDeque<Hash>,
}

const SEEN_CAPACITY: usize = 100_000;

impl Seen {
    /// True if `id` is new.
    fn insert(&mut self, id: Hash) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > SEEN_CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }
}

struct Shared {
    cfg: NetConfig,
    configured: HashMap<PublicKey, SocketAddr>,
    /// Addresses configured peers use: never banned.
    configured_ips: HashSet<IpAddr>,
    peers: Mutex<HashMap<PublicKey, Peer>>,
    bans: Mutex<HashMap<PublicKey, Instant>>,
    address_bans: Mutex<HashMap<IpAddr, Instant>>,
    /// Gossip received lately: a transaction batch or block body heard
    /// twice is delivered once.
    received: Mutex<Seen>,
    /// Gossip sent or relayed lately: each is relayed at most once.
    relayed: Mutex<Seen>,
    handshakes: Arc<tokio::sync::Semaphore>,
    handshakes_by_ip: Mutex<HashMap<IpAddr, usize>>,
    inbound: mpsc::Sender<Inbound>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sends to peers.
#[derive(Clone)]
pub struct NetHandle {
    shared: Arc<Shared>,
}

/// A running network.
pub struct Network {
    /// Sends to peers.
    pub handle: NetHandle,
    /// Messages from peers.
    pub inbound: mpsc::Receiver<Inbound>,
    /// The address it listens on.
    pub local_addr: SocketAddr,
}

impl NetHandle {
    /// Sends a message to every connected peer (gossip is marked relayed,
    /// so it is not relayed again when it comes back).
    pub fn broadcast(&self, msg: &WireMessage) {
        if msg.is_gossip() {
            lock(&self.shared.relayed).insert(msg.id());
        }
        self.shared.send_all(Arc::new(encode(msg)), None);
    }

    /// Passes on gossip the node has verified or admitted, to every peer
    /// but the one it came from, the first time only. False if it was
    /// relayed (or sent) before.
    pub fn relay(&self, msg: &WireMessage, from: &PublicKey) -> bool {
        if !lock(&self.shared.relayed).insert(msg.id()) {
            return false;
        }
        self.shared.send_all(Arc::new(encode(msg)), Some(from));
        true
    }

    /// Blames a peer for something that failed verification: it is
    /// disconnected and banned.
    pub fn penalise(&self, peer: &PublicKey, why: &str) {
        self.shared.ban(*peer, why);
    }

    /// Whether a key is one of the configured peers.
    pub fn is_configured(&self, key: &PublicKey) -> bool {
        self.shared.configured.contains_key(key)
    }

    /// Sends a message to one peer; false if it is not connected.
    pub fn send_to(&self, peer: &PublicKey, msg: &WireMessage) -> bool {
        self.shared.send_one(peer, Arc::new(encode(msg)))
    }

    /// The connected peers.
    pub fn peers(&self) -> Vec<PublicKey> {
        lock(&self.shared.peers).keys().copied().collect()
    }

    /// Whether a key is banned now.
    pub fn is_banned(&self, key: &PublicKey) -> bool {
        self.shared.banned(key)
    }
}

impl Shared {
    fn send_all(&self, bytes: Arc<Vec<u8>>, except: Option<&PublicKey>) {
        let keys: Vec<PublicKey> = lock(&self.peers)
            .keys()
            .filter(|k| Some(*k) != except)
            .copied()
            .collect();
        for k in keys {
            self.send_one(&k, bytes.clone());
        }
    }

    fn send_one(&self, peer: &PublicKey, bytes: Arc<Vec<u8>>) -> bool {
        let mut peers = lock(&self.peers);
        let Some(p) = peers.get(peer) else {
            return false;
        };
        match p.tx.try_send(bytes) {
            Ok(()) => true,
            Err(_) => {
                // Its queue is full: it is not keeping up. Drop the session;
                // it can reconnect and sync.
                tracing::debug!(%peer, "peer is not keeping up; disconnecting");
                if let Some(p) = peers.remove(peer) {
                    p.kill.notify_one();
                }
                false
            }
        }
    }

    fn banned(&self, key: &PublicKey) -> bool {
        let mut bans = lock(&self.bans);
        match bans.get(key) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                bans.remove(key);
                false
            }
            None => false,
        }
    }

    fn ban(&self, key: PublicKey, why: &str) {
        let until = Instant::now() + self.cfg.ban_for;
        let peer = lock(&self.peers).remove(&key);
        if let Some(p) = &peer {
            p.kill.notify_one();
        }
        let ip = peer
            .filter(|p| p.follower)
            .and_then(|p| p.inbound_ip)
            .filter(|ip| !self.configured_ips.contains(ip));
        let configured = self.configured.contains_key(&key);
        if configured {
            tracing::warn!(peer = %key, why, "banning a configured peer");
        } else {
            tracing::info!(peer = %key, address = ?ip, why, "banning peer");
        }
        lock(&self.bans).insert(key, until);
        if let Some(ip) = ip {
            lock(&self.address_bans).insert(ip, until);
        }
    }

    fn address_banned(&self, ip: &IpAddr) -> bool {
        let mut bans = lock(&self.address_bans);
        match bans.get(ip) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                bans.remove(ip);
                false
            }
            None => false,
        }
    }

    /// A slot for one handshake from `ip`, or `None` when too many are in
    /// progress (in all, or from this unconfigured address).
    fn handshake_slot(self: &Arc<Self>, ip: IpAddr) -> Option<HandshakeSlot> {
        let permit = self.handshakes.clone().try_acquire_owned().ok()?;
        if !self.configured_ips.contains(&ip) {
            let mut by_ip = lock(&self.handshakes_by_ip);
            let n = by_ip.entry(ip).or_insert(0);
            if *n >= MAX_HANDSHAKES_PER_ADDRESS {
                return None;
            }
            *n += 1;
        }
        Some(HandshakeSlot {
            shared: self.clone(),
            ip,
            _permit: permit,
        })
    }
}

/// A handshake in progress; gives its slot back when dropped.
struct HandshakeSlot {
    shared: Arc<Shared>,
    ip: IpAddr,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        if self.shared.configured_ips.contains(&self.ip) {
            return;
        }
        let mut by_ip = lock(&self.shared.handshakes_by_ip);
        if let Some(n) = by_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                by_ip.remove(&self.ip);
            }
        }
    }
}

impl Shared {
    /// One session, from handshake to disconnect. An inbound one holds its
    /// handshake slot until the handshake is over.
    async fn session(
        self: Arc<Self>,
        sock: TcpStream,
        expected: Option<PublicKey>,
        slot: Option<HandshakeSlot>,
    ) -> Result<(), TransportError> {
        let _ = sock.set_nodelay(true);
        let dialler = expected.is_some();
        let inbound_ip = if dialler {
            None
        } else {
            sock.peer_addr().ok().map(|a| a.ip())
        };
        let (mut reader, mut writer) = handshake(
            sock,
            dialler,
            HandshakeConfig {
                identity: &self.cfg.identity,
                chain_id: self.cfg.chain_id,
                expected,
                max_message: MAX_WIRE_MESSAGE,
                timeout: self.cfg.handshake_timeout,
            },
        )
        .await?;
        drop(slot);
        let key = reader.peer();
        if key == self.cfg.identity.public() || self.banned(&key) {
            return Ok(());
        }
        let follower = !self.configured.contains_key(&key);
        let (tx, mut rx) = mpsc::channel::<Arc<Vec<u8>>>(self.cfg.queue);
        let kill = Arc::new(tokio::sync::Notify::new());
        {
            let mut peers = lock(&self.peers);
            if peers.contains_key(&key) {
                // Already connected (both sides dialled): keep the first.
                return Ok(());
            }
            if follower && peers.values().filter(|p| p.follower).count() >= self.cfg.max_followers {
                tracing::debug!(peer = %key, "follower limit reached; refusing");
                return Ok(());
            }
            peers.insert(
                key,
                Peer {
                    tx,
                    follower,
                    inbound_ip,
                    kill: kill.clone(),
                },
            );
        }
        tracing::info!(peer = %key, follower, "peer connected");
        let writer_task = tokio::spawn(async move {
            while let Some(bytes) = rx.recv().await {
                if writer.send(&bytes).await.is_err() {
                    break;
                }
            }
        });
        let result = tokio::select! {
            r = self.read_loop(&key, follower, &mut reader) => r,
            _ = kill.notified() => Ok(()),
        };
        writer_task.abort();
        {
            // Only this session's entry: a new session of the same key may
            // have replaced it meanwhile.
            let mut peers = lock(&self.peers);
            if peers.get(&key).is_some_and(|p| Arc::ptr_eq(&p.kill, &kill)) {
                peers.remove(&key);
            }
        }
        tracing::info!(peer = %key, "peer disconnected");
        result
    }

    async fn read_loop<S: tokio::io::AsyncRead + tokio::io::AsyncWrite>(
        &self,
        key: &PublicKey,
        follower: bool,
        reader: &mut super::transport::Reader<S>,
    ) -> Result<(), TransportError> {
        let rate = f64::from(self.cfg.max_messages_per_second.max(1));
        let (mut tokens, mut at) = (rate * 2.0, Instant::now());
        loop {
            if !lock(&self.peers).contains_key(key) {
                return Ok(()); // banned or dropped meanwhile
            }
            let next = if follower {
                match tokio::time::timeout(FOLLOWER_IDLE, reader.recv()).await {
                    Ok(r) => r,
                    Err(_) => {
                        tracing::debug!(peer = %key, "idle follower; disconnecting");
                        return Ok(());
                    }
                }
            } else {
                reader.recv().await
            };
            let bytes = match next {
                Ok(b) => b,
                Err(e @ (TransportError::TooLarge { .. } | TransportError::Noise(_))) => {
                    self.ban(*key, "oversized or corrupt message");
                    return Err(e);
                }
                Err(e) => return Err(e),
            };
            let now = Instant::now();
            tokens = (tokens + now.duration_since(at).as_secs_f64() * rate).min(rate * 2.0);
            at = now;
            if tokens < 1.0 {
                if follower {
                    self.ban(*key, "flooding");
                    return Ok(());
                }
                // A configured peer may be relaying a busy network: slow
                // it down instead (TCP pushes back while we wait).
                let wait = (1.0 - tokens) / rate;
                tokio::time::sleep(Duration::from_secs_f64(wait)).await;
                tokens = 1.0;
                at = Instant::now();
            }
            tokens -= 1.0;
            let msg: WireMessage = match decode(&bytes) {
                Ok(m) => m,
                Err(e) => {
                    tracing::debug!(peer = %key, error = %e, "malformed message");
                    self.ban(*key, "malformed message");
                    return Ok(());
                }
            };
            // Transaction batches and block bodies heard before are not
            // delivered again. Consensus messages always are: validators
            // re-send their last votes so that a peer which lost them (it
            // was connecting, or its consensus had not started) recovers,
            // and the node skips what it verified before.
            if matches!(msg, WireMessage::Txs(_) | WireMessage::Block(_))
                && !lock(&self.received).insert(msg.id())
            {
                continue;
            }
            if self
                .inbound
                .send(Inbound { from: *key, msg })
                .await
                .is_err()
            {
                return Ok(()); // the node stopped
            }
        }
    }
}

#[cfg(test)]
#[path = "peers_tests.rs"]
mod tests;
