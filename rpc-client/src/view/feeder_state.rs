//! What the chain keeps of a feeder, as the API shows it: the feeder with
//! its head meter's position and open alert, and its closed hours. The JSON
//! convention of `docs/rpc.md` (camelCase, `u64` amounts as decimal
//! strings, keys as `0x` hex, hours and unix seconds as numbers).

use super::feeder::{dec_i128, BalanceStatus, FeederId};
use serde::{Deserialize, Serialize};
use watt_runtime::crypto::PublicKey;
use watt_runtime::state as ledger;
use watt_runtime::types::{Hour, Watts, Wh, ZoneId};

/// An open unexplained-load alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeederAlert {
    /// The feeder (filled where alerts of many feeders are listed).
    pub feeder: FeederId,
    /// The first unexplained hour of the run that raised it.
    pub from_hour: Hour,
    /// The last unexplained hour counted.
    pub through_hour: Hour,
    /// How many unexplained hours it counts.
    pub hours: u32,
    /// Their unexplained energy, Wh.
    pub unexplained: Wh,
}

/// A feeder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feeder {
    /// Its id.
    pub id: FeederId,
    /// Its zone.
    pub zone: ZoneId,
    /// Rated capacity, W.
    pub rated_capacity: Watts,
    /// Technical losses allowed, per mille of the energy entering.
    pub loss_permille: u16,
    /// Unexplained energy per hour tolerated either way, Wh.
    pub alert_floor: Wh,
    /// Consecutive unexplained hours before an alert.
    pub alert_hours: u16,
    /// The share of rated capacity mining permits may take, per mille.
    pub mining_share_permille: u16,
    /// The head meter's key.
    pub head_key: PublicKey,
    /// The declared-load key, if any.
    pub declared_key: Option<PublicKey>,
    /// The head meter's last sequence.
    pub head_sequence: u64,
    /// Where its last period ended, unix seconds.
    pub head_last_end: u64,
    /// The oldest hour not closed yet.
    pub open_from: Hour,
    /// Consecutive unexplained hours counted towards an alert.
    pub run: u32,
    /// The open alert, if any.
    pub alert: Option<FeederAlert>,
    /// `"alert"` when an alert is open, else `"ok"`.
    pub status: String,
}

impl From<ledger::Feeder> for Feeder {
    fn from(v: ledger::Feeder) -> Self {
        let id = FeederId::from(v.id);
        let alert = v.alert.map(|a| alert(id.clone(), a));
        Feeder {
            status: if alert.is_some() { "alert" } else { "ok" }.into(),
            alert,
            id,
            zone: v.zone,
            rated_capacity: v.rated_capacity,
            loss_permille: v.loss_permille,
            alert_floor: v.alert_floor,
            alert_hours: v.alert_hours,
            mining_share_permille: v.mining_share_permille,
            head_key: v.head_key,
            declared_key: v.declared_key,
            head_sequence: v.head_sequence,
            head_last_end: v.head_last_end,
            open_from: v.open_from,
            run: v.run,
        }
    }
}

/// An alert of a feeder, as the API lists it.
pub fn alert(feeder: FeederId, a: ledger::FeederAlert) -> FeederAlert {
    FeederAlert {
        feeder,
        from_hour: a.from_hour,
        through_hour: a.through_hour,
        hours: a.hours,
        unexplained: a.unexplained,
    }
}

/// A closed hour of a feeder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeederHourBalance {
    /// The hour.
    pub hour: Hour,
    /// Energy in from upstream, Wh.
    pub import: Wh,
    /// Surplus pushed upstream, Wh.
    pub export: Wh,
    /// The feeder's meters' generation, Wh.
    pub generation: Wh,
    /// The feeder's sites' registered consumption, Wh.
    pub consumption: Wh,
    /// The declared load, Wh.
    pub declared: Wh,
    /// The technical losses allowed, Wh.
    pub allowance: Wh,
    /// import - export + generation - consumption - declared - allowance.
    #[serde(with = "dec_i128")]
    pub unexplained: i128,
    /// The verdict.
    pub status: BalanceStatus,
}

impl FeederHourBalance {
    /// A closed hour of the state, with its hour.
    pub fn new(hour: Hour, v: ledger::ClosedHour) -> Self {
        FeederHourBalance {
            hour,
            import: v.import,
            export: v.export,
            generation: v.generation,
            consumption: v.consumption,
            declared: v.declared,
            allowance: v.allowance,
            unexplained: v.unexplained,
            status: v.status.into(),
        }
    }
}
