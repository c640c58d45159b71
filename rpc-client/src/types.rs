//! What travels over the API. Field names are camelCase; hashes, keys and
//! bytes are `0x` hex; amounts in Wh are decimal strings. Ledger records
//! (meters, sites, zones, proposals, transactions, events) travel as the
//! views in [`crate::view`].

use crate::view::{CommitCertificate, Event, SiteStatus, Transaction};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use watt_runtime::block::{Block, Header};
use watt_runtime::crypto::{Hash, PublicKey};
use watt_runtime::types::{AccountId, Height, Hour, SiteId, Vintage, Watts, Wh, ZoneId};

/// Bytes as `0x` hex.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(&self.0)))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_hex(&s).map(Bytes).map_err(serde::de::Error::custom)
    }
}

/// Parses `0x`-prefixed hex, saying what is wrong with it.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits = s
        .strip_prefix("0x")
        .ok_or_else(|| format!("hex must start with 0x, got {:?}", truncate(s)))?;
    hex::decode(digits).map_err(|e| format!("malformed hex: {e}"))
}

fn truncate(s: &str) -> String {
    s.chars().take(16).collect()
}

/// Which state or block a read is about: `"latest"`, `"finalized"`, a
/// height (a number) or a block hash (`0x` hex). Watt's finality is
/// immediate, so the latest block is always final; both names are kept
/// for tools written against other chains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BlockId {
    /// The highest block.
    #[default]
    Latest,
    /// The highest finalised block.
    Finalized,
    /// The block at a height (0: genesis).
    Height(Height),
    /// The block with this hash.
    Hash(Hash),
}

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockId::Latest => f.write_str("latest"),
            BlockId::Finalized => f.write_str("finalized"),
            BlockId::Height(h) => write!(f, "{h}"),
            BlockId::Hash(h) => write!(f, "{h}"),
        }
    }
}

impl std::str::FromStr for BlockId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "latest" => Ok(BlockId::Latest),
            "finalized" => Ok(BlockId::Finalized),
            _ if s.starts_with("0x") => Hash::from_hex(s)
                .map(BlockId::Hash)
                .map_err(|e| format!("`at` {:?} is not a 32-byte block hash: {e}", truncate(s))),
            _ => s
                .parse::<u64>()
                .map(|h| BlockId::Height(Height(h)))
                .map_err(|_| {
                    format!(
                        "`at` {:?} is not \"latest\", \"finalized\", a height or a 0x block hash",
                        truncate(s)
                    )
                }),
        }
    }
}

impl Serialize for BlockId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            BlockId::Height(h) => s.serialize_u64(h.0),
            other => s.collect_str(other),
        }
    }
}

impl<'de> Deserialize<'de> for BlockId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "`at` must be \"latest\", \"finalized\", a height or a 0x block hash",
            )
        })? {
            Raw::Number(h) => Ok(BlockId::Height(Height(h))),
            Raw::Text(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// A block header with its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcHeader {
    /// The block's hash.
    pub hash: Hash,
    /// Its height.
    pub height: Height,
    /// The chain id.
    pub chain_id: Hash,
    /// The parent block's hash (the chain id for height 1).
    pub parent_hash: Hash,
    /// Block time, unix milliseconds.
    pub timestamp_ms: u64,
    /// The proposer's consensus key.
    pub proposer: PublicKey,
    /// Merkle root of the transaction ids.
    pub tx_root: Hash,
    /// The state root after the block.
    pub state_root: Hash,
    /// Root of the block's events.
    pub event_root: Hash,
    /// Hash of the validator set that signs this block.
    pub validator_set_hash: Hash,
    /// Hash of the validator set of the next height.
    pub next_validator_set_hash: Hash,
    /// Hash of the parent's commit certificate carried in the block.
    pub parent_commit_hash: Hash,
    /// The header's canonical encoding (what `hash` hashes).
    pub encoded: Bytes,
}

impl From<&Header> for RpcHeader {
    fn from(h: &Header) -> Self {
        RpcHeader {
            hash: h.hash(),
            height: h.height,
            chain_id: h.chain_id,
            parent_hash: h.parent_hash,
            timestamp_ms: h.timestamp_ms,
            proposer: h.proposer,
            tx_root: h.tx_root,
            state_root: h.state_root,
            event_root: h.event_root,
            validator_set_hash: h.validator_set_hash,
            next_validator_set_hash: h.next_validator_set_hash,
            parent_commit_hash: h.parent_commit_hash,
            encoded: Bytes(watt_runtime::encoding::encode(h)),
        }
    }
}

/// A transaction with its id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcTx {
    /// The transaction id.
    pub hash: Hash,
    /// The transaction, decoded.
    pub tx: Transaction,
    /// Its canonical encoding.
    pub encoded: Bytes,
}

impl From<&watt_runtime::tx::Transaction> for RpcTx {
    fn from(tx: &watt_runtime::tx::Transaction) -> Self {
        RpcTx {
            hash: tx.hash(),
            tx: tx.clone().into(),
            encoded: Bytes(watt_runtime::encoding::encode(tx)),
        }
    }
}

/// A block with its transactions and its commit certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcBlock {
    /// The header.
    pub header: RpcHeader,
    /// The transactions, in order.
    pub transactions: Vec<RpcTx>,
    /// The parent's certificate the block carries.
    pub parent_commit: Option<CommitCertificate>,
    /// This block's own commit certificate (the canonical one once the
    /// next block carries it).
    pub commit: Option<CommitCertificate>,
    /// The block's canonical encoding.
    pub encoded: Bytes,
    /// The commit certificate's canonical encoding.
    pub commit_encoded: Option<Bytes>,
}

impl RpcBlock {
    /// A block and its certificate in RPC form.
    pub fn new(block: &Block, commit: Option<&watt_runtime::block::CommitCertificate>) -> Self {
        RpcBlock {
            header: RpcHeader::from(&block.header),
            transactions: block.txs.iter().map(RpcTx::from).collect(),
            parent_commit: block.parent_commit.clone().map(Into::into),
            commit: commit.cloned().map(Into::into),
            encoded: Bytes(watt_runtime::encoding::encode(block)),
            commit_encoded: commit.map(|c| Bytes(watt_runtime::encoding::encode(c))),
        }
    }
}

/// The chain's genesis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenesisInfo {
    /// The chain id (the genesis document's hash).
    pub chain_id: Hash,
    /// The state root of the genesis state.
    pub state_root: Hash,
    /// The genesis document's canonical encoding, from which an auditor
    /// rebuilds the starting state.
    pub encoded: Bytes,
    /// The genesis document.
    pub genesis: watt_runtime::genesis::Genesis,
}

/// The node's health.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// Connected peers.
    pub peers: u32,
    /// Whether the node is catching up with the network.
    pub is_syncing: bool,
    /// The highest block the node holds.
    pub best_height: Height,
    /// The highest finalised block.
    pub finalized_height: Height,
    /// Wall-clock seconds since this node last saw a block finalised (or
    /// since its RPC server started, before the first).
    pub finality_lag_seconds: u64,
}

/// Where a transaction stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TxLookup {
    /// The transaction.
    pub tx: RpcTx,
    /// `pending` (in the mempool) or `finalized`.
    pub status: TxState,
    /// Where it landed, once finalised.
    pub location: Option<TxLocation>,
}

/// A transaction's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TxState {
    /// Waiting in the mempool.
    Pending,
    /// In a finalised block.
    Finalized,
}

/// Where a transaction landed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TxLocation {
    /// The block's hash.
    pub block_hash: Hash,
    /// Its height.
    pub height: Height,
    /// The transaction's index in the block.
    pub index: u32,
}

/// What became of a transaction: `finalized` (in a final block, with the
/// events it emitted; every transaction in a block succeeded) or `dropped`
/// (left out of the block being built for breaking a ledger rule, and
/// reported `invalid` to its watchers; the node remembers the last 10,000
/// such, in memory).
///
/// Finalized: `{"txHash", "location", "events"}` (as before `status`
/// existed: no `status` means finalized). Dropped: `{"txHash",
/// "status":"dropped", "events":[], "rule", "reason", "height"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The transaction id.
    pub tx_hash: Hash,
    /// `finalized` (left out of the JSON) or `dropped`.
    #[serde(default, skip_serializing_if = "ReceiptStatus::is_finalized")]
    pub status: ReceiptStatus,
    /// Where it landed (only when finalized).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<TxLocation>,
    /// The events it emitted, in order (none when dropped).
    #[serde(default)]
    pub events: Vec<Event>,
    /// The rule it broke, in camelCase, e.g. `insufficientBalance` (only
    /// when dropped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Why, in words (only when dropped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The height of the block being built when it broke the rule (only
    /// when dropped; that block was built without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<Height>,
}

/// A receipt's status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReceiptStatus {
    /// In a finalised block.
    #[default]
    Finalized,
    /// Left out of a block for breaking a ledger rule.
    Dropped,
}

impl ReceiptStatus {
    /// Whether it is [`ReceiptStatus::Finalized`].
    pub fn is_finalized(&self) -> bool {
        *self == ReceiptStatus::Finalized
    }
}

/// The most transactions one `tx_submitBatch` call may carry.
pub const MAX_SUBMIT_BATCH: usize = 1_000;
/// The most bytes of encoded transactions one `tx_submitBatch` call may
/// carry (4 MiB: the request, in hex, stays within the 5 MiB body limit
/// only up to about 2.5 MiB of transactions, so in practice the body limit
/// binds first on a node with the default limit).
pub const MAX_SUBMIT_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// `tx_submitBatch`'s verdict on one transaction, in the order given:
/// `{"ok":true,"hash":"0x..."}` (in the mempool, already pending, or
/// already final) or `{"ok":false,"hash":"0x...","reason":"..."}`
/// (`hash` is `null` when the bytes do not decode as a transaction).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitVerdict {
    /// Whether it was accepted.
    pub ok: bool,
    /// Its id, if it decodes.
    pub hash: Option<Hash>,
    /// Why it was refused (only when not `ok`), as `tx_submit`'s
    /// `error.data.reason` says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What `tx_dryRun` found: the events the transaction would emit, or the
/// rule it breaks. Nothing is written either way.
///
/// `{"ok":true,"events":[...]}` or
/// `{"ok":false,"rule":"insufficientBalance","reason":"..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DryRun {
    /// Whether the transaction would apply.
    pub ok: bool,
    /// The events it would emit, in order (only when `ok`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<Event>>,
    /// The rule it breaks, in camelCase (only when not `ok`), e.g.
    /// `insufficientBalance`, `badNonce`, `badSignature`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Why, in words (only when not `ok`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A `tx_submitAndWatch` notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum TxStatus {
    /// Accepted into the mempool.
    Ready {
        /// The transaction id.
        hash: Hash,
    },
    /// Included in a block.
    Included(TxLocation),
    /// The block is final; the watch ends.
    Finalized(TxLocation),
    /// Refused; the watch ends.
    Invalid {
        /// The rule it broke at block building, in camelCase (`null` when
        /// refused at admission).
        #[serde(default)]
        rule: Option<String>,
        /// Why, in words.
        reason: String,
    },
    /// Dropped from the mempool without being included; the watch ends.
    Dropped {
        /// `evicted` (the pool was full) or `stale` (a block used its nonce
        /// or changed the device key it was signed against).
        #[serde(default)]
        rule: Option<String>,
        /// Why, in words.
        reason: String,
    },
}

impl TxStatus {
    /// Whether no notification follows this one.
    pub fn is_final(&self) -> bool {
        !matches!(self, TxStatus::Ready { .. } | TxStatus::Included(_))
    }
}

/// An account's summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInfo {
    /// The account.
    pub account: AccountId,
    /// The height read at.
    pub height: Height,
    /// The nonce its next transaction must carry, by the block read.
    pub nonce: u64,
    /// The nonce to sign the next transaction with: `nonce` plus the
    /// account's pending transactions in the node's mempool that follow it
    /// (equal to `nonce` when read at a past block).
    #[serde(default)]
    pub pending_nonce: u64,
    /// Its total balance.
    pub balance: Wh,
    /// `authority` and/or `regulator`.
    pub roles: Vec<String>,
}

/// An account's credits by vintage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    /// The account.
    pub account: AccountId,
    /// The height read at.
    pub height: Height,
    /// The total.
    pub total: Wh,
    /// Holdings, oldest vintage first.
    pub by_vintage: Vec<VintageBalance>,
}

/// Credits of one vintage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VintageBalance {
    /// The vintage (zone and generation hour).
    pub vintage: Vintage,
    /// How much.
    pub amount: Wh,
    /// The hour at whose start the credits expire, if the zone has a
    /// policy.
    pub expires_at_hour: Option<Hour>,
}

/// Credit accounting of one zone; `minted = held + burned + retired +
/// withdrawn + expired`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneSupply {
    /// The zone.
    pub zone: ZoneId,
    /// Minted from generation readings.
    pub minted: Wh,
    /// Held by accounts.
    pub held: Wh,
    /// Burned for mining.
    pub burned: Wh,
    /// Retired for claims.
    pub retired: Wh,
    /// Withdrawn by the regulator.
    pub withdrawn: Wh,
    /// Expired.
    pub expired: Wh,
}

/// The supply of every zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupplyInfo {
    /// The height read at.
    pub height: Height,
    /// One entry per zone, in zone order.
    pub zones: Vec<ZoneSupply>,
}

/// Whether a site may run now: what a site controller polls or watches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanRun {
    /// The site.
    pub site: SiteId,
    /// The height read at.
    pub height: Height,
    /// Whether it may draw at all now: `maxPowerW` above 0 (a curtailed
    /// site with a share may run, within it).
    pub allowed: bool,
    /// The derived status.
    pub status: SiteStatus,
    /// Consumption not yet covered by credits, still within its bucket and
    /// grace.
    pub open_debt: Wh,
    /// Unbacked consumption that suspends the site.
    pub shortfall: Wh,
    /// Credits the owner holds that this site's consumption can burn now
    /// (its zone, the current matching bucket).
    pub eligible_balance: Wh,
    /// How long the eligible balance lasts at the site's max draw, in
    /// seconds.
    pub runway_seconds: u64,
    /// The most it may draw now, W (a decimal string): its permit's max
    /// power (else its max draw), its share while curtailed, 0 when it
    /// may not run.
    #[serde(rename = "maxPowerW")]
    pub max_power: Watts,
    /// Why, the most severe reason first: `revoked`,
    /// `suspendedByRegulator`, `suspendedAnomaly`, `suspendedPermitBreach`,
    /// `suspendedCurtailmentBreach`, `suspendedShortfall`, `dark`,
    /// `noPermit`, `permitExpired`, `outOfSeason`, `quotaUsed`,
    /// `curtailed` or `active`.
    pub reason: String,
    /// Unix seconds at which the answer is known to change (a curtailment
    /// window's start or end, a permit's month, hour or expiry, the next
    /// month for a used quota); `null` when only a transaction can change
    /// it.
    pub until: Option<u64>,
}

/// The most orders one `grid_getCurtailments` call returns.
pub const MAX_CURTAILMENTS: u32 = 200;

/// Which curtailment orders `grid_getCurtailments` lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CurtailmentStates {
    /// Window on now.
    Active,
    /// Window not begun.
    Upcoming,
    /// Judged or cancelled.
    Past,
    /// Every order.
    #[default]
    All,
}

impl<'de> Deserialize<'de> for CurtailmentStates {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "`state` must be \"active\", \"upcoming\", \"past\" or \"all\"",
            )
        })?;
        Ok(match s.as_str() {
            "active" => CurtailmentStates::Active,
            "upcoming" => CurtailmentStates::Upcoming,
            "past" => CurtailmentStates::Past,
            "all" => CurtailmentStates::All,
            other => {
                return Err(serde::de::Error::custom(format!(
                    "`state` {:?} is not \"active\", \"upcoming\", \"past\" or \"all\"",
                    truncate(other)
                )))
            }
        })
    }
}

/// Which curtailment orders `grid_getCurtailments` returns; every field
/// narrows the list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CurtailmentFilter {
    /// `active`, `upcoming`, `past` (judged or cancelled) or `all`
    /// (default).
    #[serde(default)]
    pub state: CurtailmentStates,
    /// Only orders in this zone.
    #[serde(default)]
    pub zone: Option<ZoneId>,
    /// Only orders that affect this site.
    #[serde(default)]
    pub site: Option<SiteId>,
    /// Only orders numbered below this one (the next page: the last
    /// order of the previous one).
    #[serde(default)]
    pub before: Option<u64>,
}

/// A state value with its proof against a block's state root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateProof {
    /// The height read at.
    pub height: Height,
    /// That block's hash (the chain id at genesis).
    pub block_hash: Hash,
    /// The state root the proof verifies against (the header's).
    pub state_root: Hash,
    /// The state key (see docs/encoding.md, state keys).
    pub key: Bytes,
    /// The encoded value, or null if the key is absent.
    pub value: Option<Bytes>,
    /// The encoded `Proof` (membership or non-membership).
    pub proof: Bytes,
}

/// Which events `audit_getEvents` returns. Heights are inclusive.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventFilter {
    /// The first height (default: 10,000 heights below `toHeight`, or 1).
    pub from_height: Option<Height>,
    /// The last height (default: the head).
    pub to_height: Option<Height>,
    /// Event kinds, as in the event's `kind` field (any if absent).
    pub kinds: Option<Vec<String>>,
    /// Only events naming this account.
    pub account: Option<AccountId>,
    /// Only events about this meter.
    pub meter: Option<u64>,
    /// Only events about this site.
    pub site: Option<u64>,
}

/// One event with where it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcEvent {
    /// The block height.
    pub height: Height,
    /// The event's index among the block's events.
    pub index: u32,
    /// The transaction that emitted it, or null for the block's own steps.
    pub tx_index: Option<u32>,
    /// The event (its `kind` field names the variant).
    pub event: Event,
}

/// A page of events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventsPage {
    /// The events, in chain order.
    pub events: Vec<RpcEvent>,
    /// Pass as `cursor` for the next page; null when the range is done.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_id_reads_every_form_and_names_the_bad_one() {
        let parse = |s: &str| serde_json::from_str::<BlockId>(s);
        assert_eq!(parse("\"latest\"").unwrap(), BlockId::Latest);
        assert_eq!(parse("\"finalized\"").unwrap(), BlockId::Finalized);
        assert_eq!(parse("7").unwrap(), BlockId::Height(Height(7)));
        assert_eq!(parse("\"7\"").unwrap(), BlockId::Height(Height(7)));
        let h = Hash([0xab; 32]);
        assert_eq!(parse(&format!("\"{h}\"")).unwrap(), BlockId::Hash(h));
        let err = parse("\"0x12\"").unwrap_err().to_string();
        assert!(err.contains("32-byte block hash"), "{err}");
        assert!(parse("\"newest\"").is_err());
        assert!(parse("-1").is_err());
        for id in [
            BlockId::Latest,
            BlockId::Height(Height(3)),
            BlockId::Hash(h),
        ] {
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(parse(&json).unwrap(), id);
        }
    }

    #[test]
    fn bytes_need_the_prefix_and_even_digits() {
        assert_eq!(
            serde_json::from_str::<Bytes>("\"0x0aff\"").unwrap(),
            Bytes(vec![10, 255])
        );
        assert!(serde_json::from_str::<Bytes>("\"0aff\"").is_err());
        assert!(serde_json::from_str::<Bytes>("\"0xabc\"").is_err());
        assert!(serde_json::from_str::<Bytes>("\"0xzz\"").is_err());
    }

    #[test]
    fn a_curtailment_filter_names_the_field_it_refuses() {
        let parse = |s: &str| serde_json::from_str::<CurtailmentFilter>(s);
        assert_eq!(parse("{}").unwrap(), CurtailmentFilter::default());
        assert_eq!(parse("{}").unwrap().state, CurtailmentStates::All);
        let f = parse(r#"{"state":"past","zone":"RU-BU","site":2,"before":9}"#).unwrap();
        assert_eq!(f.state, CurtailmentStates::Past);
        assert_eq!(f.site, Some(SiteId(2)));
        assert_eq!(f.before, Some(9));
        let err = parse(r#"{"state":"soon"}"#).unwrap_err().to_string();
        assert!(err.contains("`state` \"soon\""), "{err}");
        let err = parse(r#"{"state":3}"#).unwrap_err().to_string();
        assert!(err.contains("`state` must be"), "{err}");
        let err = parse(r#"{"colour":"red"}"#).unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
        let json = serde_json::to_value(CurtailmentStates::Upcoming).unwrap();
        assert_eq!(json, "upcoming");
    }

    #[test]
    fn tx_status_is_tagged() {
        let s = TxStatus::Invalid {
            rule: Some("insufficientBalance".into()),
            reason: "needs 1500 Wh, has 1000".into(),
        };
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["status"], "invalid");
        assert_eq!(json["rule"], "insufficientBalance");
        assert!(s.is_final());
        assert!(!TxStatus::Ready {
            hash: Hash::default()
        }
        .is_final());
    }
}
