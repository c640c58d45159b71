//! State keys and their ordered byte encoding.
//!
//! Keys are a one-byte table tag followed by fixed-width big-endian fields
//! (zones zero-padded to 16 bytes), so that byte order equals logical order
//! and range scans (holders of expiring vintages, debts past their deadline,
//! an owner's debts) are prefix or range scans in any ordered store.

use crate::crypto::PublicKey;
use crate::feeder::{Attachee, FeederId, FEEDER_ID_MAX};
use crate::sandbox::OrderId;
use crate::types::{
    AccountId, Bucket, Height, Hour, MatchingWindow, MeterId, ProposalId, RetirementId, SiteId,
    Vintage, ZoneId,
};

/// Table tags: the first byte of every state key.
pub mod tag {
    /// The chain singleton.
    pub const CHAIN: u8 = 0x00;
    /// `Account(AccountId)`.
    pub const ACCOUNT: u8 = 0x01;
    /// `Holder(Vintage, AccountId)`: who holds a vintage (expiry index).
    pub const HOLDER: u8 = 0x02;
    /// `Meter(MeterId)`.
    pub const METER: u8 = 0x03;
    /// `Site(SiteId)`.
    pub const SITE: u8 = 0x04;
    /// `Zone(ZoneId)`.
    pub const ZONE: u8 = 0x05;
    /// `DeviceKey(PublicKey)`: which meter or site uses a device key.
    pub const DEVICE_KEY: u8 = 0x06;
    /// `Serial(kind, serial)`: which meter or site has a serial number.
    pub const SERIAL: u8 = 0x07;
    /// `Debt(owner, site, bucket)`: an open debt.
    pub const DEBT: u8 = 0x08;
    /// `DebtDeadline(deadline, site, bucket)`: when an open debt turns into
    /// a shortfall.
    pub const DEBT_DEADLINE: u8 = 0x09;
    /// `Proposal(ProposalId)`.
    pub const PROPOSAL: u8 = 0x0a;
    /// `Retirement(RetirementId)`.
    pub const RETIREMENT: u8 = 0x0b;
    /// `ZoneActivation(hour, zone)`: a zone's pending policy takes effect
    /// at the first block of that hour.
    pub const ZONE_ACTIVATION: u8 = 0x0c;
    /// `VintageExpiry(due hour, zone, vintage hour)`: a vintage to expire at
    /// the first block of the due hour.
    pub const VINTAGE_EXPIRY: u8 = 0x0d;
    /// `ConsensusKey(PublicKey)`: the heights at which a consensus key was
    /// in the validator set, and for which operator.
    pub const CONSENSUS_KEY: u8 = 0x0e;
    /// `EvidenceSeen(key, height, round, kind)`: an equivocation already
    /// proven (evidence counts once).
    pub const EVIDENCE_SEEN: u8 = 0x0f;
    /// `Feeder(FeederId)`.
    pub const FEEDER: u8 = 0x10;
    /// `FeederHour(FeederId, Hour)`: an open hour's accumulators.
    pub const FEEDER_HOUR: u8 = 0x11;
    /// `FeederDue(close time, FeederId)`: a feeder whose oldest open hour
    /// closes in the first block after that time (the due index).
    pub const FEEDER_DUE: u8 = 0x12;
    /// `Attachment(device, from hour)`: the feeder a meter or site belongs
    /// to from that hour.
    pub const ATTACHMENT: u8 = 0x13;
    /// `FeederBalance(FeederId, Hour)`: a closed hour's figures and verdict.
    pub const FEEDER_BALANCE: u8 = 0x14;
    /// `OpenAlert(FeederId)`: a feeder with an open unexplained-load alert.
    pub const OPEN_ALERT: u8 = 0x15;
    /// `FeederCount`: how many feeders are registered.
    pub const FEEDER_COUNT: u8 = 0x16;
    /// `ZoneSandbox(ZoneId)`: permits required, grid operators.
    pub const ZONE_SANDBOX: u8 = 0x17;
    /// `Permit(SiteId)`: a site's permit.
    pub const PERMIT: u8 = 0x18;
    /// `FeederPermit(FeederId, SiteId)`: the permits that take a feeder's
    /// mining share (live or not; judged when read).
    pub const FEEDER_PERMIT: u8 = 0x19;
    /// `PermitUsage(SiteId, month)`: a site's consumption in a UTC month
    /// (`year x 12 + month - 1`).
    pub const PERMIT_USAGE: u8 = 0x1a;
    /// `Order(OrderId)`: a curtailment order.
    pub const ORDER: u8 = 0x1b;
    /// `OrderSite(OrderId, SiteId)`: an affected site's share, use, ack
    /// and verdict.
    pub const ORDER_SITE: u8 = 0x1c;
    /// `PendingOrder(ZoneId, OrderId)`: an order not yet judged, with its
    /// window (what a consumption reading of the zone looks at).
    pub const PENDING_ORDER: u8 = 0x1d;
    /// `OrderDue(time, OrderId)`: an order judged in the first block after
    /// that time (the due index).
    pub const ORDER_DUE: u8 = 0x1e;
    /// `OrderCount`: the last order number given.
    pub const ORDER_COUNT: u8 = 0x1f;
    /// `FeederSite(FeederId, SiteId)`: a site attached to a feeder at some
    /// hour (what a feeder's curtailment looks at).
    pub const FEEDER_SITE: u8 = 0x20;
}

/// A state key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StateKey {
    /// The chain singleton: parameters, roles, counters, pending changes.
    Chain,
    /// An account's nonce and holdings.
    Account(AccountId),
    /// Marks that `account` holds some of `vintage`.
    Holder(Vintage, AccountId),
    /// A generation meter.
    Meter(MeterId),
    /// A mining site.
    Site(SiteId),
    /// A zone's policy and supply.
    Zone(ZoneId),
    /// The owner of a device key.
    DeviceKey(PublicKey),
    /// The owner of a serial number; `true` for sites, `false` for meters.
    Serial(bool, String),
    /// An open debt of a site in a bucket, keyed by the site's owner.
    Debt(AccountId, SiteId, Bucket),
    /// The deadline (unix seconds) of an open debt.
    DebtDeadline(u64, SiteId, Bucket),
    /// A governance proposal.
    Proposal(ProposalId),
    /// A retirement record.
    Retirement(RetirementId),
    /// A zone's pending policy, due at the first block of the hour.
    ZoneActivation(Hour, ZoneId),
    /// A vintage (zone, vintage hour) due to expire at the first block of
    /// the hour.
    VintageExpiry(Hour, ZoneId, Hour),
    /// A consensus key's tenure in the validator set.
    ConsensusKey(PublicKey),
    /// An equivocation already proven: the key, height, round and vote
    /// kind (0 prevote, 1 precommit).
    EvidenceSeen(PublicKey, Height, u32, u8),
    /// A feeder.
    Feeder(FeederId),
    /// A feeder's accumulators for one open hour.
    FeederHour(FeederId, Hour),
    /// A feeder whose oldest open hour closes after this unix second.
    FeederDue(u64, FeederId),
    /// A device's feeder from an hour on.
    Attachment(Attachee, Hour),
    /// A feeder's closed hour.
    FeederBalance(FeederId, Hour),
    /// A feeder with an open alert (the alerts index).
    OpenAlert(FeederId),
    /// The number of feeders.
    FeederCount,
    /// See [`tag::ZONE_SANDBOX`].
    ZoneSandbox(ZoneId),
    /// See [`tag::PERMIT`].
    Permit(SiteId),
    /// See [`tag::FEEDER_PERMIT`].
    FeederPermit(FeederId, SiteId),
    /// See [`tag::PERMIT_USAGE`].
    PermitUsage(SiteId, u64),
    /// See [`tag::ORDER`].
    Order(OrderId),
    /// See [`tag::ORDER_SITE`].
    OrderSite(OrderId, SiteId),
    /// See [`tag::PENDING_ORDER`].
    PendingOrder(ZoneId, OrderId),
    /// See [`tag::ORDER_DUE`].
    OrderDue(u64, OrderId),
    /// See [`tag::ORDER_COUNT`].
    OrderCount,
    /// See [`tag::FEEDER_SITE`].
    FeederSite(FeederId, SiteId),
}

fn window_byte(w: MatchingWindow) -> u8 {
    w as u8
}

/// `tag || kind || id`: the prefix of one device's attachments, in hour
/// order.
pub fn attachment_prefix(device: &Attachee) -> Vec<u8> {
    let (kind, id) = match device {
        Attachee::Meter(m) => (0u8, m.0),
        Attachee::Site(s) => (1u8, s.0),
    };
    let mut out = vec![tag::ATTACHMENT, kind];
    out.extend_from_slice(&id.to_be_bytes());
    out
}

/// The hour of an `Attachment` key.
pub fn attachment_hour(key: &[u8]) -> Option<Hour> {
    let b: [u8; 8] = key.get(10..18)?.try_into().ok()?;
    Some(Hour(u64::from_be_bytes(b)))
}

/// The close time and feeder of a `FeederDue` key.
pub fn feeder_due_parts(key: &[u8]) -> Option<(u64, FeederId)> {
    if key.len() != 1 + 8 + FEEDER_ID_MAX || key[0] != tag::FEEDER_DUE {
        return None;
    }
    let at = u64::from_be_bytes(key[1..9].try_into().ok()?);
    Some((at, FeederId::from_padded(&key[9..])?))
}

/// Decodes a window byte.
fn window_from(b: u8) -> Option<MatchingWindow> {
    Some(match b {
        0 => MatchingWindow::Hour,
        1 => MatchingWindow::Day,
        2 => MatchingWindow::Month,
        3 => MatchingWindow::Year,
        _ => return None,
    })
}

fn push_bucket(out: &mut Vec<u8>, b: &Bucket) {
    out.push(window_byte(b.window));
    out.extend_from_slice(&b.index.to_be_bytes());
}

impl StateKey {
    /// The ordered byte encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        match self {
            StateKey::Feeder(f) => {
                out.push(tag::FEEDER);
                out.extend_from_slice(&f.padded());
            }
            StateKey::FeederHour(f, h) => {
                out.push(tag::FEEDER_HOUR);
                out.extend_from_slice(&f.padded());
                out.extend_from_slice(&h.0.to_be_bytes());
            }
            StateKey::FeederDue(at, f) => {
                out.push(tag::FEEDER_DUE);
                out.extend_from_slice(&at.to_be_bytes());
                out.extend_from_slice(&f.padded());
            }
            StateKey::FeederBalance(f, h) => {
                out.push(tag::FEEDER_BALANCE);
                out.extend_from_slice(&f.padded());
                out.extend_from_slice(&h.0.to_be_bytes());
            }
            StateKey::OpenAlert(f) => {
                out.push(tag::OPEN_ALERT);
                out.extend_from_slice(&f.padded());
            }
            StateKey::FeederCount => out.push(tag::FEEDER_COUNT),
            StateKey::ZoneSandbox(z) => {
                out.push(tag::ZONE_SANDBOX);
                out.extend_from_slice(&z.padded());
            }
            StateKey::Permit(s) => {
                out.push(tag::PERMIT);
                out.extend_from_slice(&s.0.to_be_bytes());
            }
            StateKey::FeederPermit(f, s) => {
                out.extend_from_slice(&feeder_permit_prefix(f));
                out.extend_from_slice(&s.0.to_be_bytes());
            }
            StateKey::PermitUsage(s, month) => {
                out.push(tag::PERMIT_USAGE);
                out.extend_from_slice(&s.0.to_be_bytes());
                out.extend_from_slice(&month.to_be_bytes());
            }
            StateKey::Order(o) => {
                out.push(tag::ORDER);
                out.extend_from_slice(&o.0.to_be_bytes());
            }
            StateKey::OrderSite(o, s) => {
                out.extend_from_slice(&order_site_prefix(*o));
                out.extend_from_slice(&s.0.to_be_bytes());
            }
            StateKey::PendingOrder(z, o) => {
                out.extend_from_slice(&pending_order_prefix(z));
                out.extend_from_slice(&o.0.to_be_bytes());
            }
            StateKey::OrderDue(at, o) => {
                out.push(tag::ORDER_DUE);
                out.extend_from_slice(&at.to_be_bytes());
                out.extend_from_slice(&o.0.to_be_bytes());
            }
            StateKey::OrderCount => out.push(tag::ORDER_COUNT),
            StateKey::FeederSite(f, s) => {
                out.extend_from_slice(&feeder_site_prefix(f));
                out.extend_from_slice(&s.0.to_be_bytes());
            }
            StateKey::Attachment(device, h) => {
                out.extend_from_slice(&attachment_prefix(device));
                out.extend_from_slice(&h.0.to_be_bytes());
            }
            StateKey::Chain => out.push(tag::CHAIN),
            StateKey::Account(a) => {
                out.push(tag::ACCOUNT);
                out.extend_from_slice(&a.0 .0);
            }
            StateKey::Holder(v, a) => {
                out.extend_from_slice(&holder_prefix(&v.zone, v.hour));
                out.extend_from_slice(&a.0 .0);
            }
            StateKey::Meter(m) => {
                out.push(tag::METER);
                out.extend_from_slice(&m.0.to_be_bytes());
            }
            StateKey::Site(s) => {
                out.push(tag::SITE);
                out.extend_from_slice(&s.0.to_be_bytes());
            }
            StateKey::Zone(z) => {
                out.push(tag::ZONE);
                out.extend_from_slice(&z.padded());
            }
            StateKey::DeviceKey(k) => {
                out.push(tag::DEVICE_KEY);
                out.extend_from_slice(&k.0);
            }
            StateKey::Serial(site, s) => {
                out.push(tag::SERIAL);
                out.push(u8::from(*site));
                out.extend_from_slice(s.as_bytes());
            }
            StateKey::Debt(owner, site, bucket) => {
                out.extend_from_slice(&debt_prefix(owner));
                out.extend_from_slice(&site.0.to_be_bytes());
                push_bucket(&mut out, bucket);
            }
            StateKey::DebtDeadline(deadline, site, bucket) => {
                out.push(tag::DEBT_DEADLINE);
                out.extend_from_slice(&deadline.to_be_bytes());
                out.extend_from_slice(&site.0.to_be_bytes());
                push_bucket(&mut out, bucket);
            }
            StateKey::Proposal(p) => {
                out.push(tag::PROPOSAL);
                out.extend_from_slice(&p.0.to_be_bytes());
            }
            StateKey::Retirement(r) => {
                out.push(tag::RETIREMENT);
                out.extend_from_slice(&r.0.to_be_bytes());
            }
            StateKey::ZoneActivation(hour, zone) => {
                out.push(tag::ZONE_ACTIVATION);
                out.extend_from_slice(&hour.0.to_be_bytes());
                out.extend_from_slice(&zone.padded());
            }
            StateKey::VintageExpiry(due, zone, vintage) => {
                out.push(tag::VINTAGE_EXPIRY);
                out.extend_from_slice(&due.0.to_be_bytes());
                out.extend_from_slice(&zone.padded());
                out.extend_from_slice(&vintage.0.to_be_bytes());
            }
            StateKey::ConsensusKey(k) => {
                out.push(tag::CONSENSUS_KEY);
                out.extend_from_slice(&k.0);
            }
            StateKey::EvidenceSeen(k, height, round, kind) => {
                out.push(tag::EVIDENCE_SEEN);
                out.extend_from_slice(&k.0);
                out.extend_from_slice(&height.0.to_be_bytes());
                out.extend_from_slice(&round.to_be_bytes());
                out.push(*kind);
            }
        }
        out
    }
}

/// `tag || feeder`: the prefix of the permits on a feeder.
pub fn feeder_permit_prefix(f: &FeederId) -> Vec<u8> {
    let mut out = vec![tag::FEEDER_PERMIT];
    out.extend_from_slice(&f.padded());
    out
}

/// `tag || feeder`: the prefix of the sites ever attached to a feeder.
pub fn feeder_site_prefix(f: &FeederId) -> Vec<u8> {
    let mut out = vec![tag::FEEDER_SITE];
    out.extend_from_slice(&f.padded());
    out
}

/// `tag || order`: the prefix of an order's affected sites.
pub fn order_site_prefix(o: OrderId) -> Vec<u8> {
    let mut out = vec![tag::ORDER_SITE];
    out.extend_from_slice(&o.0.to_be_bytes());
    out
}

/// `tag || zone`: the prefix of a zone's pending orders.
pub fn pending_order_prefix(z: &ZoneId) -> Vec<u8> {
    let mut out = vec![tag::PENDING_ORDER];
    out.extend_from_slice(&z.padded());
    out
}

/// The site at the end of a `FeederPermit`, `FeederSite` or `OrderSite`
/// key (its last 8 bytes).
pub fn trailing_site(key: &[u8]) -> Option<SiteId> {
    let b: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(SiteId(u64::from_be_bytes(b)))
}

/// The order at the end of a `PendingOrder` or `OrderDue` key.
pub fn trailing_order(key: &[u8]) -> Option<OrderId> {
    let b: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(OrderId(u64::from_be_bytes(b)))
}

/// The end (exclusive) of the entries of a due index (`tag` is
/// `ZONE_ACTIVATION` or `VINTAGE_EXPIRY`) due at or before `hour`.
pub fn due_until(tag: u8, hour: Hour) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&hour.0.saturating_add(1).to_be_bytes());
    out
}

/// Decodes a `ZoneActivation` key: the hour and the zone.
pub fn activation_parts(key: &[u8]) -> Option<(Hour, ZoneId)> {
    let hour = u64::from_be_bytes(key.get(1..9)?.try_into().ok()?);
    let zone = ZoneId::from_padded(key.get(9..9 + crate::types::ZONE_ID_MAX)?)?;
    Some((Hour(hour), zone))
}

/// Decodes a `VintageExpiry` key: the due hour, the zone and the vintage
/// hour.
pub fn expiry_parts(key: &[u8]) -> Option<(Hour, ZoneId, Hour)> {
    let n = crate::types::ZONE_ID_MAX;
    let due = u64::from_be_bytes(key.get(1..9)?.try_into().ok()?);
    let zone = ZoneId::from_padded(key.get(9..9 + n)?)?;
    let vintage = u64::from_be_bytes(key.get(9 + n..17 + n)?.try_into().ok()?);
    Some((Hour(due), zone, Hour(vintage)))
}

/// The prefix of every `Holder` key of one zone and hour.
pub fn holder_prefix(zone: &ZoneId, hour: Hour) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 16 + 8);
    out.push(tag::HOLDER);
    out.extend_from_slice(&zone.padded());
    out.extend_from_slice(&hour.0.to_be_bytes());
    out
}

/// The prefix of every `Debt` key of one owner.
pub fn debt_prefix(owner: &AccountId) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 32);
    out.push(tag::DEBT);
    out.extend_from_slice(&owner.0 .0);
    out
}

/// The exclusive upper bound of all keys starting with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // All 0xff: no upper bound below the end of the keyspace.
    vec![0xff; prefix.len() + 1]
}

/// Decodes the account of a `Holder` key.
pub fn holder_account(key: &[u8]) -> Option<AccountId> {
    let bytes: [u8; 32] = key.get(25..57)?.try_into().ok()?;
    Some(AccountId(PublicKey(bytes)))
}

/// Decodes the site and bucket of a `Debt` key.
pub fn debt_site_bucket(key: &[u8]) -> Option<(SiteId, Bucket)> {
    let site = u64::from_be_bytes(key.get(33..41)?.try_into().ok()?);
    let window = window_from(*key.get(41)?)?;
    let index = u64::from_be_bytes(key.get(42..50)?.try_into().ok()?);
    Some((SiteId(site), Bucket { window, index }))
}

/// Decodes a `DebtDeadline` key.
pub fn deadline_parts(key: &[u8]) -> Option<(u64, SiteId, Bucket)> {
    let deadline = u64::from_be_bytes(key.get(1..9)?.try_into().ok()?);
    let site = u64::from_be_bytes(key.get(9..17)?.try_into().ok()?);
    let window = window_from(*key.get(17)?)?;
    let index = u64::from_be_bytes(key.get(18..26)?.try_into().ok()?);
    Some((deadline, SiteId(site), Bucket { window, index }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_matches_logical_order() {
        let z = ZoneId::new("RU-BU").unwrap();
        let a = AccountId(PublicKey([1; 32]));
        let early = StateKey::Holder(
            Vintage {
                zone: z.clone(),
                hour: Hour(255),
            },
            a,
        )
        .encode();
        let late = StateKey::Holder(
            Vintage {
                zone: z,
                hour: Hour(256),
            },
            a,
        )
        .encode();
        assert!(early < late, "big-endian hours must sort numerically");
        let d1 = StateKey::DebtDeadline(
            10,
            SiteId(9),
            Bucket {
                window: MatchingWindow::Hour,
                index: 1,
            },
        );
        let d2 = StateKey::DebtDeadline(
            256,
            SiteId(1),
            Bucket {
                window: MatchingWindow::Hour,
                index: 1,
            },
        );
        assert!(d1.encode() < d2.encode());
    }

    #[test]
    fn parts_round_trip() {
        let owner = AccountId(PublicKey([3; 32]));
        let b = Bucket {
            window: MatchingWindow::Month,
            index: 24_300,
        };
        let k = StateKey::Debt(owner, SiteId(7), b).encode();
        assert_eq!(debt_site_bucket(&k), Some((SiteId(7), b)));
        let k = StateKey::DebtDeadline(99, SiteId(7), b).encode();
        assert_eq!(deadline_parts(&k), Some((99, SiteId(7), b)));
        let z = ZoneId::new("US-MT-NW").unwrap();
        let k = StateKey::Holder(
            Vintage {
                zone: z,
                hour: Hour(5),
            },
            owner,
        )
        .encode();
        assert_eq!(holder_account(&k), Some(owner));
    }

    #[test]
    fn due_index_keys_round_trip_and_sort_by_hour() {
        let z = ZoneId::new("US-MT-NW").unwrap();
        let k = StateKey::VintageExpiry(Hour(900), z.clone(), Hour(12)).encode();
        assert_eq!(expiry_parts(&k), Some((Hour(900), z.clone(), Hour(12))));
        let a = StateKey::ZoneActivation(Hour(255), z.clone()).encode();
        assert_eq!(activation_parts(&a), Some((Hour(255), z.clone())));
        let later = StateKey::ZoneActivation(Hour(256), ZoneId::new("AA").unwrap()).encode();
        assert!(a < later && later < due_until(tag::ZONE_ACTIVATION, Hour(256)));
        assert!(a < due_until(tag::ZONE_ACTIVATION, Hour(255)));
        assert!(later >= due_until(tag::ZONE_ACTIVATION, Hour(255)));
    }

    #[test]
    fn prefix_end_bounds_the_prefix() {
        assert_eq!(prefix_end(&[1, 2]), vec![1, 3]);
        assert_eq!(prefix_end(&[1, 0xff]), vec![2]);
    }
}
