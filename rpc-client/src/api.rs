//! The API: one trait per namespace. Method names are
//! `namespace_camelCase`; `docs/rpc.md` documents each with an example.
//!
//! With the `server` feature the macro also generates `<Trait>Server`,
//! which the node implements; without it only `<Trait>Client`.

#![allow(missing_docs)] // the macro's generated items; every method is documented

use crate::types::*;
// Only the server side names these; the client side rewrites them.
use crate::view::{
    Curtailment, Feeder, FeederAlert, FeederHourBalance, FeederId, GovProposal as Proposal, Meter,
    Permit, Site, Validator, Zone, ZoneSandbox,
};
#[cfg(feature = "server")]
use jsonrpsee::core::{RpcResult, SubscriptionResult};
use jsonrpsee::proc_macros::rpc;
use watt_runtime::crypto::Hash;
use watt_runtime::types::{AccountId, Height, Hour, MeterId, SiteId, ZoneId};

/// Methods that reveal or change the node rather than the chain. They are
/// served only while the RPC listens on a loopback address, unless the
/// operator starts the node with `--rpc-methods unsafe`.
pub const UNSAFE_METHODS: &[&str] = &["tx_pending"];

/// The most blocks `chain_getBlocks` returns in one call.
pub const MAX_BLOCKS_PER_CALL: u32 = 100;
/// The most heights one `audit_getEvents` call may span.
pub const MAX_EVENT_RANGE: u64 = 10_000;
/// The most items a list or page returns.
pub const MAX_PAGE: u32 = 1_000;
/// The most hours one `feeders_balance` call returns (31 days).
pub const MAX_BALANCE_HOURS: u64 = 744;
/// The most order numbers one `grid_getCurtailments` call looks at below
/// its `before` (for `past` and `all`; `active` and `upcoming` read the
/// index of pending orders).
pub const MAX_CURTAILMENT_SCAN: u64 = 10_000;

/// The node itself.
#[cfg_attr(feature = "server", rpc(server, client, namespace = "system"))]
#[cfg_attr(not(feature = "server"), rpc(client, namespace = "system"))]
pub trait SystemApi {
    /// Peers, sync state, best and finalised heights.
    #[method(name = "health")]
    async fn health(&self) -> RpcResult<Health>;

    /// The node's name and version, e.g. `watt 0.1.0`.
    #[method(name = "version")]
    async fn version(&self) -> RpcResult<String>;

    /// The chain id: what every signature commits to.
    #[method(name = "chainId")]
    async fn chain_id(&self) -> RpcResult<Hash>;
}

/// What the node serves.
#[cfg_attr(feature = "server", rpc(server, client, namespace = "rpc"))]
#[cfg_attr(not(feature = "server"), rpc(client, namespace = "rpc"))]
pub trait RpcApi {
    /// Every method name, sorted, the unsafe ones, and whether this node
    /// serves them (one answer for every caller).
    #[method(name = "methods")]
    async fn methods(&self) -> RpcResult<MethodList>;
}

/// The method list `rpc_methods` returns.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodList {
    /// Every method, sorted.
    pub methods: Vec<String>,
    /// The unsafe ones, and whether this node serves them to this caller's
    /// listener.
    pub unsafe_methods: Vec<String>,
    /// Whether unsafe methods are served.
    pub unsafe_allowed: bool,
}

/// Blocks, headers and the genesis.
#[cfg_attr(feature = "server", rpc(server, client, namespace = "chain"))]
#[cfg_attr(not(feature = "server"), rpc(client, namespace = "chain"))]
pub trait ChainApi {
    /// The genesis document, its chain id and state root.
    #[method(name = "getGenesis")]
    async fn genesis(&self) -> RpcResult<GenesisInfo>;

    /// A header (default: latest); null if there is no such block or `at`
    /// is the genesis (height 0), which has no header.
    #[method(name = "getHeader")]
    async fn header(&self, at: Option<BlockId>) -> RpcResult<Option<RpcHeader>>;

    /// A block with its transactions and commit certificate.
    #[method(name = "getBlock")]
    async fn block(&self, at: Option<BlockId>) -> RpcResult<Option<RpcBlock>>;

    /// Up to `count` blocks (at most 100) from height `from`, each with its
    /// commit certificate, for auditors and syncing tools. Stops at the
    /// head; more than 100 is -32005.
    #[method(name = "getBlocks")]
    async fn blocks(&self, from: Height, count: u32) -> RpcResult<Vec<RpcBlock>>;

    /// The hash of the block at a height (the chain id for 0); null above
    /// the head.
    #[method(name = "getBlockHash")]
    async fn block_hash(&self, height: Height) -> RpcResult<Option<Hash>>;

    /// The finalised head's header; null before the first block.
    #[method(name = "getFinalizedHead")]
    async fn finalized_head(&self) -> RpcResult<Option<RpcHeader>>;

    /// Every new block's header.
    #[subscription(name = "subscribeNewHeads" => "newHead", unsubscribe = "unsubscribeNewHeads", item = RpcHeader)]
    async fn subscribe_new_heads(&self) -> SubscriptionResult;

    /// Every finalised block's header.
    #[subscription(name = "subscribeFinalizedHeads" => "finalizedHead", unsubscribe = "unsubscribeFinalizedHeads", item = RpcHeader)]
    async fn subscribe_finalized_heads(&self) -> SubscriptionResult;
}

/// Transactions.
#[cfg_attr(feature = "server", rpc(server, client, namespace = "tx"))]
#[cfg_attr(not(feature = "server"), rpc(client, namespace = "tx"))]
pub trait TxApi {
    /// Verifies a signed transaction (canonical encoding, `0x` hex) and adds
    /// it to the mempool; returns its id. Resubmitting a pending or
    /// finalised transaction returns its id again.
    #[method(name = "submit")]
    async fn submit(&self, tx: Bytes) -> RpcResult<Hash>;

    /// Submits and reports `ready`, `included`, `finalized`, `invalid` or
    /// `dropped`; the subscription ends after the last three.
    #[subscription(name = "submitAndWatch" => "status", unsubscribe = "unwatch", item = TxStatus)]
    async fn submit_and_watch(&self, tx: Bytes) -> SubscriptionResult;

    /// Submits many signed transactions in one call (at most
    /// [`crate::types::MAX_SUBMIT_BATCH`] transactions and
    /// [`crate::types::MAX_SUBMIT_BATCH_BYTES`] bytes of them): one verdict
    /// each, in order. Their signatures are verified together, batched
    /// with other callers', and they enter the mempool in one step. The
    /// rate limit counts each transaction as one call.
    #[method(name = "submitBatch")]
    async fn submit_batch(&self, txs: Vec<Bytes>) -> RpcResult<Vec<SubmitVerdict>>;

    /// Tries a signed transaction (as `tx_submit` takes it) without
    /// sending it: verifies its signatures and applies it to the state
    /// after the finalised head and the signer's pending transactions with
    /// lower nonces, writing nothing. Returns the events it would emit or
    /// the rule it breaks.
    #[method(name = "dryRun")]
    async fn dry_run(&self, tx: Bytes) -> RpcResult<DryRun>;

    /// A transaction, pending or finalised; null if unknown.
    #[method(name = "get")]
    async fn get(&self, hash: Hash) -> RpcResult<Option<TxLookup>>;

    /// What a finalised transaction did; null while pending or unknown.
    #[method(name = "getReceipt")]
    async fn receipt(&self, hash: Hash) -> RpcResult<Option<Receipt>>;

    /// The mempool's transactions (unsafe), up to `limit` (default and most
    /// 1,000).
    #[method(name = "pending")]
    async fn pending(&self, limit: Option<u32>) -> RpcResult<Vec<RpcTx>>;
}

/// Accounts and credits.
#[cfg_attr(feature = "server", rpc(server, client, namespace = "credits"))]
#[cfg_attr(not(feature = "server"), rpc(client, namespace = "credits"))]
pub trait CreditsApi {
    /// Nonce, balance and roles.
    #[method(name = "getAccount")]
    async fn account(&self, account: AccountId, at: Option<BlockId>) -> RpcResult<AccountInfo>;

    /// The balance in total and by vintage.
    #[method(name = "getBalance")]
    async fn balance(&self, account: AccountId, at: Option<BlockId>) -> RpcResult<Balance>;

    /// Per zone: minted, held, burned, retired, withdrawn, expired.
    #[method(name = "getSupply")]
    async fn supply(&self, at: Option<BlockId>) -> RpcResult<SupplyInfo>;

    /// The account's summary now and after every block that changes it.
    #[subscription(name = "subscribeAccount" => "accountChanged", unsubscribe = "unsubscribeAccount", item = AccountInfo)]
    async fn subscribe_account(&self, account: AccountId) -> SubscriptionResult;
}

/// Generation meters.
#[cfg_attr(feature = "server", rpc(server, client, namespace = "meters"))]
#[cfg_attr(not(feature = "server"), rpc(client, namespace = "meters"))]
pub trait MetersApi {
    /// A meter; null if unknown.
    #[method(name = "get")]
    async fn get(&self, id: MeterId, at: Option<BlockId>) -> RpcResult<Option<Meter>>;

    /// Meters in id order from `from` (default 1), up to `limit` (default
    /// and most 1,000), in the latest state.
    #[method(name = "list")]
    async fn list(&self, from: Option<MeterId>, limit: Option<u32>) -> RpcResult<Vec<Meter>>;
}

/// Mining sites.
#[cfg_attr(feature = "server", rpc(server, client, namespace = "sites"))]
#[cfg_attr(not(feature = "server"), rpc(client, namespace = "sites"))]
pub trait SitesApi {
    /// A site; null if unknown.
    #[method(name = "get")]
    async fn get(&self, id: SiteId, at: Option<BlockId>) -> RpcResult<Option<Site>>;

    /// Sites in id order from `from` (default 1), up to `limit`, in the
    /// latest state.
    #[method(name = "list")]
    async fn list(&self, from: Option<SiteId>, limit: Option<u32>) -> RpcResult<Vec<Site>>;

    /// Whether the site may run and at what power (`maxPowerW`), why
    /// (`reason`) and until when (`until`), with its debt, shortfall,
    /// eligible balance and runway. -32001 for an unknown site.
    #[method(name = "canRun")]
    async fn can_run(&self, id: SiteId, at: Option<BlockId>) -> RpcResult<CanRun>;

    /// `sites_canRun` now and whenever any of its fields changes.
    #[subscription(name = "subscribeStatus" => "statusChanged", unsubscribe = "unsubscribeStatus", item = CanRun)]
    async fn subscribe_status(&self, id: SiteId) -> SubscriptionResult;
}

/// Grid zones.
#[cfg_attr(feature = "server", rpc(server, client, namespace = "zones"))]
#[cfg_attr(not(feature = "server"), rpc(client, namespace = "zones"))]
pub trait ZonesApi {
    /// A zone with its policy and supply; null if unknown.
    #[method(name = "get")]
    async fn get(&self, zone: ZoneId, at: Option<BlockId>) -> RpcResult<Option<Zone>>;

    /// Every zone, in id order.
    #[method(name = "list")]
    async fn list(&self, at: Option<BlockId>) -> RpcResult<Vec<Zone>>;

    /// A zone's sandbox settings: whether permits are required and from
    /// which hour, and its grid operators; null for an unknown zone.
    #[method(name = "getSandbox")]
    async fn sandbox(&self, zone: ZoneId, at: Option<BlockId>) -> RpcResult<Option<ZoneSandbox>>;
}

/// Sandbox permits (docs/protocol.md §18).
#[cfg_attr(feature = "server", rpc(server, client, namespace = "permits"))]
#[cfg_attr(not(feature = "server"), rpc(client, namespace = "permits"))]
pub trait PermitsApi {
    /// A site's permit with whether it is live at `at` and its usage of
    /// the latest months (at most 13, newest first); null if the site has
    /// none.
    #[method(name = "get")]
    async fn get(&self, site: SiteId, at: Option<BlockId>) -> RpcResult<Option<Permit>>;

    /// Permits in site order from site `from` (default 1), up to `limit`
    /// (default and most 1,000), in the latest state.
    #[method(name = "list")]
    async fn list(&self, from: Option<SiteId>, limit: Option<u32>) -> RpcResult<Vec<Permit>>;
}

/// Governance.
#[cfg_attr(feature = "server", rpc(server, client, namespace = "gov"))]
#[cfg_attr(not(feature = "server"), rpc(client, namespace = "gov"))]
pub trait GovApi {
    /// The authorities: the validator set of the next height.
    #[method(name = "getAuthorities")]
    async fn authorities(&self, at: Option<BlockId>) -> RpcResult<Vec<Validator>>;

    /// The regulator accounts.
    #[method(name = "getRegulators")]
    async fn regulators(&self, at: Option<BlockId>) -> RpcResult<Vec<AccountId>>;

    /// Proposals, newest first, up to `limit` (default and most 1,000).
    #[method(name = "getProposals")]
    async fn proposals(&self, at: Option<BlockId>, limit: Option<u32>) -> RpcResult<Vec<Proposal>>;
}

/// The state tree.
#[cfg_attr(feature = "server", rpc(server, client, namespace = "state"))]
#[cfg_attr(not(feature = "server"), rpc(client, namespace = "state"))]
pub trait StateApi {
    /// The state root after a block.
    #[method(name = "getRoot")]
    async fn root(&self, at: Option<BlockId>) -> RpcResult<StateRoot>;

    /// A state key's value with a proof against that block's state root.
    #[method(name = "getProof")]
    async fn proof(&self, key: Bytes, at: Option<BlockId>) -> RpcResult<StateProof>;
}

/// A state root and the block it belongs to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateRoot {
    /// The height.
    pub height: Height,
    /// The block's hash (the chain id at genesis).
    pub block_hash: Hash,
    /// The state root.
    pub state_root: Hash,
}

/// The audit trail.
#[cfg_attr(feature = "server", rpc(server, client, namespace = "audit"))]
#[cfg_attr(not(feature = "server"), rpc(client, namespace = "audit"))]
pub trait AuditApi {
    /// Events matching a filter, in chain order, a page at a time (`limit`
    /// default and most 1,000). A range of more than 10,000 heights is
    /// -32005; without `fromHeight` the range is the last 10,000 heights.
    #[method(name = "getEvents")]
    async fn events(
        &self,
        filter: EventFilter,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> RpcResult<EventsPage>;
}

/// Feeders and their hourly energy balance (docs/protocol.md §17).
#[cfg_attr(feature = "server", rpc(server, client, namespace = "feeders"))]
#[cfg_attr(not(feature = "server"), rpc(client, namespace = "feeders"))]
pub trait FeedersApi {
    /// A feeder with its head meter's position and open alert; null if
    /// unknown.
    #[method(name = "get")]
    async fn get(&self, feeder: FeederId, at: Option<BlockId>) -> RpcResult<Option<Feeder>>;

    /// Feeders in id order after `after` (exclusive; default from the
    /// first), up to `limit` (default and most 1,000), in the latest state.
    #[method(name = "list")]
    async fn list(&self, after: Option<FeederId>, limit: Option<u32>) -> RpcResult<Vec<Feeder>>;

    /// A feeder's closed hours from `fromHour` to `toHour` (inclusive;
    /// default: 23 hours after `fromHour`), with the figures and status of
    /// each; at most 744 hours per call (-32005 beyond). Hours not closed
    /// yet are absent. -32001 for an unknown feeder.
    #[method(name = "balance")]
    async fn balance(
        &self,
        feeder: FeederId,
        from_hour: Hour,
        to_hour: Option<Hour>,
    ) -> RpcResult<Vec<FeederHourBalance>>;
}

/// Grid integrity: alerts (docs/protocol.md §17.6) and curtailment
/// orders (§18).
#[cfg_attr(feature = "server", rpc(server, client, namespace = "grid"))]
#[cfg_attr(not(feature = "server"), rpc(client, namespace = "grid"))]
pub trait GridApi {
    /// The open unexplained-load alerts, in feeder order, of one zone or
    /// of all.
    #[method(name = "getAlerts")]
    async fn alerts(&self, zone: Option<ZoneId>) -> RpcResult<Vec<FeederAlert>>;

    /// A curtailment order with its state at `at` and each affected
    /// site's share, use, acknowledgement and verdict; null if unknown.
    #[method(name = "getCurtailment")]
    async fn curtailment(&self, order: u64, at: Option<BlockId>) -> RpcResult<Option<Curtailment>>;

    /// Curtailment orders matching `filter`, newest first, up to `limit`
    /// (default and most 200), in the latest state.
    #[method(name = "getCurtailments")]
    async fn curtailments(
        &self,
        filter: Option<CurtailmentFilter>,
        limit: Option<u32>,
    ) -> RpcResult<Vec<Curtailment>>;

    /// Every grid event as its block is finalised: `unexplainedLoad`,
    /// `feederAlertCleared`, `feederOverload` and `feederBalance` with a
    /// status other than `balanced`, each with its height.
    #[subscription(name = "subscribeAlerts" => "alert", unsubscribe = "unsubscribeAlerts", item = RpcEvent)]
    async fn subscribe_alerts(&self) -> SubscriptionResult;
}
