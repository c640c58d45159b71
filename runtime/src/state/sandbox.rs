//! What the chain keeps of the sandbox: a zone's permit requirement and
//! grid operators, each site's permit and monthly usage, and curtailment
//! orders with each affected site's share, use and verdict.

use crate::feeder::FeederId;
use crate::sandbox::{CurtailTarget, OrderId, PermitTerms};
use crate::tx::Text;
use crate::types::{AccountId, Hour, SiteId, Watts, Wh, ZoneId};
use borsh::{BorshDeserialize, BorshSerialize};

/// A zone's sandbox settings (apart from its `ZonePolicy`, whose encoding
/// genesis documents and golden vectors pin).
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ZoneSandbox {
    /// Consumption from this hour on needs a live permit; `None`: no
    /// permits required.
    pub permits_from: Option<Hour>,
    /// Who may order curtailment in the zone.
    pub grid_operators: Vec<AccountId>,
}

/// A site's permit (at most one per site; a new one replaces it).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Permit {
    /// The site.
    pub site: SiteId,
    /// The feeder whose mining share it takes.
    pub feeder: FeederId,
    /// What it grants.
    pub terms: PermitTerms,
    /// Block time of issue, ms.
    pub issued_ms: u64,
    /// Set when the regulator revoked it.
    pub revoked: Option<Text>,
}

impl Permit {
    /// Whether it still takes its feeder's capacity at block time `now_s`.
    pub fn live(&self, now_s: u64) -> bool {
        self.revoked.is_none() && now_s < self.terms.expires
    }
}

/// A curtailment order.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Curtailment {
    /// Its number.
    pub id: OrderId,
    /// What it covers.
    pub target: CurtailTarget,
    /// The zone of the target.
    pub zone: ZoneId,
    /// The grid operator who gave it.
    pub issuer: AccountId,
    /// Window start, unix seconds.
    pub start: u64,
    /// Window end, unix seconds.
    pub end: u64,
    /// The most all affected sites together may draw.
    pub max_mining: Watts,
    /// When it was cancelled (block time, s), if it was.
    pub cancelled_at: Option<u64>,
    /// Each affected site's share, in site order.
    pub shares: Vec<(SiteId, Watts)>,
    /// Whether its verdicts are given.
    pub judged: bool,
    /// Block time of the order, ms.
    pub ordered_ms: u64,
}

impl Curtailment {
    /// The window the verdicts cover: `[start, end)`, or `[start,
    /// cancel)` when cancelled during it; `None` when cancelled before its
    /// start (no verdicts).
    pub fn judged_window(&self) -> Option<(u64, u64)> {
        match self.cancelled_at {
            Some(c) if c <= self.start => None,
            Some(c) => Some((self.start, c.min(self.end))),
            None => Some((self.start, self.end)),
        }
    }
}

/// How an affected site did under an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Verdict {
    /// Its consumption in the window, pro rata by seconds.
    pub used: Wh,
    /// What its share allowed, with the zone's tolerance (rounded down).
    pub allowed: Wh,
    /// Whether its readings reached the window's end.
    pub reported: bool,
    /// Honoured (true) or breached.
    pub honoured: bool,
}

/// One affected site under one order.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct OrderSite {
    /// Its share of the order's max mining power.
    pub share: Watts,
    /// Its consumption in the window so far, pro rata by seconds.
    pub used: Wh,
    /// When its owner acknowledged the order (the time seen, s).
    pub acked_at: Option<u64>,
    /// The verdict, once given.
    pub verdict: Option<Verdict>,
}

/// The window of a pending order, as the consumption path and
/// `sites_canRun` read it from the zone's pending index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct PendingWindow {
    /// Start, unix seconds.
    pub start: u64,
    /// End, unix seconds (the cancel time if cancelled during it).
    pub end: u64,
}
