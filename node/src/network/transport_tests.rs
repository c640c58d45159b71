use super::*;
use tokio::io::DuplexStream;

const CHAIN: Hash = Hash([7; 32]);

fn key(n: u8) -> Keypair {
    Keypair::from_seed([n; 32])
}

fn cfg(identity: &Keypair, expected: Option<PublicKey>) -> HandshakeConfig<'_> {
    HandshakeConfig {
        identity,
        chain_id: CHAIN,
        expected,
        max_message: 1 << 20,
        timeout: Duration::from_secs(5),
    }
}

type Halves = (Reader<DuplexStream>, Writer<DuplexStream>);

/// Both sides of a handshake over an in-memory pipe.
async fn pair(
    a: HandshakeConfig<'_>,
    b: HandshakeConfig<'_>,
) -> (
    Result<Halves, TransportError>,
    Result<Halves, TransportError>,
) {
    let (x, y) = tokio::io::duplex(1 << 16);
    tokio::join!(handshake(x, true, a), handshake(y, false, b))
}

#[tokio::test]
async fn peers_learn_each_others_keys_and_exchange_messages_of_any_size() {
    let (ka, kb) = (key(1), key(2));
    let (a, b) = pair(cfg(&ka, Some(kb.public())), cfg(&kb, None)).await;
    let ((mut ar, mut aw), (mut br, mut bw)) = (a.unwrap(), b.unwrap());
    assert_eq!(ar.peer(), kb.public());
    assert_eq!(br.peer(), ka.public());
    let big: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
    for msg in [
        Vec::new(),
        b"hello".to_vec(),
        vec![9; CHUNK - 4],
        vec![9; CHUNK - 3],
        big,
    ] {
        let (sent, got) = tokio::join!(aw.send(&msg), br.recv());
        sent.unwrap();
        assert_eq!(got.unwrap(), msg);
        let (sent, got) = tokio::join!(bw.send(&msg), ar.recv());
        sent.unwrap();
        assert_eq!(got.unwrap(), msg);
    }
}

#[tokio::test]
async fn a_configured_peer_must_present_its_key() {
    let (ka, kb, other) = (key(1), key(2), key(3));
    let (a, _) = pair(cfg(&ka, Some(other.public())), cfg(&kb, None)).await;
    match a {
        Err(TransportError::UnexpectedKey { expected, got }) => {
            assert_eq!((expected, got), (other.public(), kb.public()))
        }
        other => panic!("expected UnexpectedKey, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn a_peer_of_another_chain_fails_the_signature_check() {
    let (ka, kb) = (key(1), key(2));
    let mut theirs = cfg(&kb, None);
    theirs.chain_id = Hash([8; 32]);
    let (a, b) = pair(cfg(&ka, None), theirs).await;
    assert!(
        matches!(a, Err(TransportError::BadSignature { .. })),
        "{:?}",
        a.err()
    );
    assert!(
        matches!(b, Err(TransportError::BadSignature { .. })),
        "{:?}",
        b.err()
    );
}

#[tokio::test]
async fn oversized_messages_are_refused_on_both_sides() {
    let (ka, kb) = (key(1), key(2));
    let mut small = cfg(&kb, None);
    small.max_message = 1_000;
    let (a, b) = pair(cfg(&ka, None), small).await;
    let ((_, mut aw), (mut br, mut bw)) = (a.unwrap(), b.unwrap());
    // The sender's own limit.
    assert!(matches!(
        bw.send(&[0; 1_001]).await,
        Err(TransportError::TooLarge {
            size: 1_001,
            max: 1_000
        })
    ));
    // A peer with a larger limit announces 5,000 bytes: refused on the
    // length alone.
    let (sent, got) = tokio::join!(aw.send(&[1; 5_000]), br.recv());
    sent.unwrap();
    assert!(matches!(
        got,
        Err(TransportError::TooLarge {
            size: 5_000,
            max: 1_000
        })
    ));
}

#[tokio::test]
async fn garbage_silence_and_tampering_end_the_session_without_panics() {
    use tokio::io::AsyncWriteExt;
    let kb = key(2);
    // Garbage instead of a handshake.
    let (mut x, y) = tokio::io::duplex(1 << 16);
    x.write_all(&[0, 5, 1, 2, 3, 4, 5, 0xff, 0xff])
        .await
        .unwrap();
    let r = handshake(y, false, cfg(&kb, None)).await;
    assert!(matches!(r, Err(TransportError::Noise(_))), "{:?}", r.err());
    // Silence: the handshake times out.
    let (_x, y) = tokio::io::duplex(1 << 16);
    let mut quiet = cfg(&kb, None);
    quiet.timeout = Duration::from_millis(100);
    let r = handshake(y, false, quiet).await;
    assert!(matches!(r, Err(TransportError::Timeout)), "{:?}", r.err());
    // A peer that hangs up mid-handshake.
    let (x, y) = tokio::io::duplex(1 << 16);
    drop(x);
    let r = handshake(y, false, cfg(&kb, None)).await;
    assert!(matches!(r, Err(TransportError::Io(_))), "{:?}", r.err());
}

#[tokio::test]
async fn a_tampered_frame_fails_authentication() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (ka, kb) = (key(1), key(2));
    // A man in the middle relays the handshake and flips one byte after it.
    let (a_side, mut mitm_a) = tokio::io::duplex(1 << 16);
    let (b_side, mut mitm_b) = tokio::io::duplex(1 << 16);
    // A -> B carries: e (2 + 32), s and se (2 + 48 + 16), the identity
    // (2 + 4 + 96 + 16); the next frame's first ciphertext byte is flipped.
    const FLIP_AT: usize = 34 + 66 + 118 + 2;
    let relay = tokio::spawn(async move {
        let (mut up, mut down) = (vec![0u8; 1 << 17], vec![0u8; 1 << 17]);
        let mut forwarded = 0usize;
        loop {
            tokio::select! {
                n = mitm_a.read(&mut up) => {
                    let Ok(n) = n else { break };
                    if n == 0 { break }
                    if (forwarded..forwarded + n).contains(&FLIP_AT) {
                        up[FLIP_AT - forwarded] ^= 1;
                    }
                    forwarded += n;
                    if mitm_b.write_all(&up[..n]).await.is_err() { break }
                }
                n = mitm_b.read(&mut down) => {
                    let Ok(n) = n else { break };
                    if n == 0 { break }
                    if mitm_a.write_all(&down[..n]).await.is_err() { break }
                }
            }
        }
    });
    let (a, b) = tokio::join!(
        handshake(a_side, true, cfg(&ka, None)),
        handshake(b_side, false, cfg(&kb, None))
    );
    let ((_, mut aw), (mut br, _)) = (a.unwrap(), b.unwrap());
    aw.send(b"pay 1 Wh").await.unwrap();
    let got = br.recv().await;
    assert!(matches!(got, Err(TransportError::Noise(_))), "{got:?}");
    relay.abort();
}
