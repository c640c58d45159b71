//! A test kit: a small chain in memory whose tests read like the rules.
//!
//! [`TestChain::new`] builds a [`Genesis`] from fixed keys ([`key`] derives
//! a keypair from a name), with four authorities `op1`..`op4`, three
//! regulators `reg`, `reg2`, `reg3`, one zone [`ZONE`] under
//! [`default_policy`], two generation meters ([`M1`], alice's solar, and
//! [`M2`], bob's wind, both relayed by `op1`) and one mining site ([`S1`],
//! bob's), starting at [`T0`] (2026-01-01T00:00:00Z). [`TestChain::builder`]
//! changes any of that.
//!
//! The kit keeps a [`MemoryState`] and a clock: the time the next block will
//! carry, one second after the last block unless moved with
//! [`TestChain::at`], [`TestChain::at_s`] or [`TestChain::advance_secs`].
//! [`TestChain::apply`] verifies the transactions with [`verify_txs`],
//! applies them with [`apply_block`], writes the diff only on success, and
//! then checks [`check_invariants`] (per-zone conservation against a full
//! scan of the state), panicking if it is broken. [`TestChain::expect_err`]
//! also checks that the refused transaction leaves no trace through
//! [`BlockExecutor::try_apply`].
//!
//! Compiled for this crate's tests and, with the `test-utils` feature, for
//! other crates'. It panics freely: it is test code.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

#[path = "testkit_blocks.rs"]
pub mod blocks;

use crate::block::Validator;
use crate::crypto::{Hash, Keypair, PublicKey};
use crate::encoding::{decode, BoundedString, BoundedVec};
use crate::error::{BlockError, TxError};
use crate::events::{Event, EventRecord};
use crate::exec::{apply_block, BlockContext, BlockExecutor, BlockOutcome, VerifiedTx};
use crate::genesis::{validator, Genesis, GenesisMeter, GenesisSite};
use crate::state::{
    debt_site_bucket, read_value, tag, Account, ChainState, Debt, MemoryState, Meter, Proposal,
    Retirement, Site, SiteStatus, StateKey, Supply, Zone,
};
use crate::tx::{
    Body, ConsumptionReading, GenerationReading, NamedVintages, Serial, Signed, Text, Transaction,
    UnsignedTx,
};
use crate::types::{
    days_from_civil, AccountId, Bucket, ChainParams, Height, Hour, MatchingWindow, MeterId,
    ProposalId, RetirementId, SiteId, Source, Vintage, Watts, Wh, ZoneId, ZonePolicy,
};
use crate::verify::verify_txs;
use borsh::BorshDeserialize;
use std::collections::{BTreeMap, BTreeSet};

/// 2026-01-01T00:00:00Z in unix seconds: the default genesis time.
pub const T0: u64 = 1_767_225_600;
/// The default zone's id.
pub const ZONE: &str = "RU-BU";
/// alice's solar meter (10 kW), relayed by `op1`, device key `meter1`.
pub const M1: MeterId = MeterId(1);
/// bob's wind meter (10 kW), relayed by `op1`, device key `meter2`.
pub const M2: MeterId = MeterId(2);
/// bob's mining site (5 kW max draw), device key `site1`.
pub const S1: SiteId = SiteId(1);

/// The keypair of a name: its seed is a hash of the name, so the same name
/// gives the same key in every test and every crate.
pub fn key(name: &str) -> Keypair {
    let seed = blake3::hash(format!("watt-testkit/{name}").as_bytes());
    Keypair::from_seed(*seed.as_bytes())
}

/// The account of a name's key.
pub fn account(name: &str) -> AccountId {
    AccountId(key(name).public())
}

/// The default zone's id.
pub fn zone() -> ZoneId {
    ZoneId::new(ZONE).unwrap()
}

/// The vintage of the default zone in an hour.
pub fn vintage(hour: Hour) -> Vintage {
    Vintage { zone: zone(), hour }
}

/// The vintage of the default zone containing a unix time in seconds.
pub fn vintage_at(unix_s: u64) -> Vintage {
    vintage(Hour::of_seconds(unix_s))
}

/// Vintages named by a caller, in this order.
pub fn named(list: &[Vintage]) -> NamedVintages {
    Some(BoundedVec::new(list.to_vec()).unwrap())
}

/// A UTC instant in unix seconds.
pub fn utc(year: i64, month: u32, day: u32, hour: u64, min: u64, sec: u64) -> u64 {
    let days = days_from_civil(year, month, day);
    assert!(days >= 0, "before 1970");
    days as u64 * 86_400 + hour * 3600 + min * 60 + sec
}

/// Free text for reasons, purposes and names.
pub fn text(s: &str) -> Text {
    BoundedString::new(s).unwrap()
}

/// A serial number.
pub fn serial(s: &str) -> Serial {
    BoundedString::new(s).unwrap()
}

/// The default zone policy of the kit: hourly matching, a 20 kW mining cap,
/// credits living 720 hours (30 days), readings up to 6 hours old, 10 %
/// plausibility tolerance, a 1500 per mille shortfall penalty, dark after
/// 900 s.
pub fn default_policy() -> ZonePolicy {
    ZonePolicy {
        matching_window: MatchingWindow::Hour,
        mining_cap_w: Watts(20_000),
        credit_lifetime_hours: 720,
        reading_max_age_s: 6 * 3600,
        plausibility_tolerance_pct: 10,
        shortfall_penalty_permille: 1_500,
        dark_after_s: 900,
    }
}

/// The default chain parameters of the kit: 30 s skew, proposals expiring
/// after 20 blocks, 16 readings per transaction, 1000 Wh to open an
/// account, one day of settlement grace.
pub fn default_params() -> ChainParams {
    ChainParams {
        max_clock_skew_s: 30,
        proposal_expiry_blocks: 20,
        max_block_txs: 1_000,
        max_block_bytes: 1 << 20,
        max_readings_per_tx: 16,
        min_new_account_wh: Wh(1_000),
        settlement_grace_s: 86_400,
    }
}

/// The name of authority `i` (from 1): `op1`, `op2`, ...; its consensus key
/// is `op1/consensus`, and so on.
pub fn authority_name(i: usize) -> String {
    format!("op{i}")
}

/// The consensus keypair of authority `i` (from 1).
pub fn consensus_key(i: usize) -> Keypair {
    key(&format!("op{i}/consensus"))
}

/// The name of regulator `i` (from 1): `reg`, `reg2`, `reg3`, ...
pub fn regulator_name(i: usize) -> String {
    if i == 1 {
        "reg".into()
    } else {
        format!("reg{i}")
    }
}

/// A change to a genesis document, applied by [`TestChainBuilder::edit`].
type GenesisEdit = Box<dyn FnOnce(&mut Genesis)>;

/// Options for a [`TestChain`]'s genesis.
pub struct TestChainBuilder {
    start_s: u64,
    policy: ZonePolicy,
    params: ChainParams,
    authorities: usize,
    regulators: usize,
    devices: bool,
    edits: Vec<GenesisEdit>,
}

impl Default for TestChainBuilder {
    fn default() -> Self {
        TestChainBuilder {
            start_s: T0,
            policy: default_policy(),
            params: default_params(),
            authorities: 4,
            regulators: 3,
            devices: true,
            edits: Vec::new(),
        }
    }
}

impl TestChainBuilder {
    /// Genesis time (and the default devices' baseline), unix seconds.
    pub fn start_at(mut self, unix_s: u64) -> Self {
        self.start_s = unix_s;
        self
    }

    /// The default zone's policy.
    pub fn policy(mut self, policy: ZonePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Changes the default zone's policy.
    pub fn with_policy(mut self, f: impl FnOnce(&mut ZonePolicy)) -> Self {
        f(&mut self.policy);
        self
    }

    /// Changes the chain parameters.
    pub fn with_params(mut self, f: impl FnOnce(&mut ChainParams)) -> Self {
        f(&mut self.params);
        self
    }

    /// How many authorities (`op1`..`opN`); at least 1.
    pub fn authorities(mut self, n: usize) -> Self {
        self.authorities = n;
        self
    }

    /// How many regulators (`reg`, `reg2`, ...); at least 1.
    pub fn regulators(mut self, n: usize) -> Self {
        self.regulators = n;
        self
    }

    /// Leaves out the default meters and site.
    pub fn without_devices(mut self) -> Self {
        self.devices = false;
        self
    }

    /// Any other change to the genesis document, applied last.
    pub fn edit(mut self, f: impl FnOnce(&mut Genesis) + 'static) -> Self {
        self.edits.push(Box::new(f));
        self
    }

    /// The genesis document.
    pub fn genesis(self) -> Genesis {
        let s = self.start_s;
        let authorities: Vec<Validator> = (1..=self.authorities)
            .map(|i| {
                validator(
                    consensus_key(i).public(),
                    account(&authority_name(i)),
                    &authority_name(i),
                )
            })
            .collect();
        let regulators: Vec<AccountId> = (1..=self.regulators)
            .map(|i| account(&regulator_name(i)))
            .collect();
        let (meters, sites) = if self.devices {
            let meter = |dev: &str, owner: &str, source| GenesisMeter {
                serial: serial(&format!("SN-{dev}")),
                device_key: key(dev).public(),
                owner: account(owner),
                operator: account("op1"),
                source,
                capacity: Watts(10_000),
                zone: zone(),
                baseline_time: s,
                baseline_counter: Wh(0),
            };
            (
                vec![
                    meter("meter1", "alice", Source::Solar),
                    meter("meter2", "bob", Source::Wind),
                ],
                vec![GenesisSite {
                    serial: serial("SN-site1"),
                    device_key: key("site1").public(),
                    owner: account("bob"),
                    zone: zone(),
                    max_draw: Watts(5_000),
                    baseline_time: s,
                    baseline_counter: Wh(0),
                }],
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let mut genesis = Genesis {
            chain_name: BoundedString::new("watt-test").unwrap(),
            genesis_time_ms: s * 1000,
            params: self.params,
            authorities: BoundedVec::new(authorities).unwrap(),
            regulators: BoundedVec::new(regulators).unwrap(),
            zones: BoundedVec::new(vec![(zone(), self.policy)]).unwrap(),
            meters: BoundedVec::new(meters).unwrap(),
            sites: BoundedVec::new(sites).unwrap(),
            continues: None,
        };
        for edit in self.edits {
            edit(&mut genesis);
        }
        genesis
    }

    /// Builds the chain; panics if the genesis is invalid.
    pub fn build(self) -> TestChain {
        let n_auth = self.authorities;
        let n_reg = self.regulators;
        let mut chain = TestChain::from_genesis(self.genesis()).expect("valid genesis");
        for i in 1..=n_auth {
            chain.register(&authority_name(i));
            chain
                .keyring
                .insert(consensus_key(i).public(), consensus_key(i));
        }
        for i in 1..=n_reg {
            chain.register(&regulator_name(i));
        }
        for name in ["alice", "bob", "carol", "meter1", "meter2", "site1"] {
            chain.register(name);
        }
        chain
    }
}

/// A chain in memory with a clock, nonces and a keyring.
pub struct TestChain {
    /// The genesis document.
    pub genesis: Genesis,
    /// Its chain id.
    pub chain_id: Hash,
    /// The state after the last applied block.
    pub state: MemoryState,
    height: Height,
    last_ms: u64,
    clock_ms: u64,
    pending_nonces: BTreeMap<AccountId, u64>,
    keyring: BTreeMap<PublicKey, Keypair>,
    last: Option<BlockOutcome>,
}

impl Default for TestChain {
    fn default() -> Self {
        Self::new()
    }
}

impl TestChain {
    /// The default chain (see the module documentation).
    pub fn new() -> Self {
        TestChainBuilder::default().build()
    }

    /// Options for a chain.
    pub fn builder() -> TestChainBuilder {
        TestChainBuilder::default()
    }

    /// A chain from any genesis document. Only keys registered with
    /// [`TestChain::register`] can be found by the reading helpers.
    pub fn from_genesis(genesis: Genesis) -> Result<Self, crate::genesis::GenesisError> {
        let state = genesis.memory_state()?;
        let chain_id = genesis.chain_id();
        let t = genesis.genesis_time_ms;
        Ok(TestChain {
            genesis,
            chain_id,
            state,
            height: Height(0),
            last_ms: t,
            clock_ms: t + 1000,
            pending_nonces: BTreeMap::new(),
            keyring: BTreeMap::new(),
            last: None,
        })
    }

    // ---- keys ----------------------------------------------------------

    /// The keypair of a name, remembered so that the reading and relaying
    /// helpers can sign with it (device keys, new operators).
    pub fn register(&mut self, name: &str) -> Keypair {
        let k = key(name);
        self.keyring.insert(k.public(), k.clone());
        k
    }

    /// The public key of a name, registered (see [`TestChain::register`]).
    pub fn device(&mut self, name: &str) -> PublicKey {
        self.register(name).public()
    }

    /// The registered keypair of a public key.
    pub fn keypair_of(&self, public: &PublicKey) -> Keypair {
        self.keyring
            .get(public)
            .cloned()
            .unwrap_or_else(|| panic!("key {public} was not registered with the test kit"))
    }

    // ---- clock ---------------------------------------------------------

    /// Sets the next block's time, unix milliseconds.
    pub fn at(&mut self, ts_ms: u64) -> &mut Self {
        self.clock_ms = ts_ms;
        self
    }

    /// Sets the next block's time, unix seconds.
    pub fn at_s(&mut self, unix_s: u64) -> &mut Self {
        self.at(unix_s * 1000)
    }

    /// Moves the next block's time `n` seconds later.
    pub fn advance_secs(&mut self, n: u64) -> &mut Self {
        self.clock_ms += n * 1000;
        self
    }

    /// The next block's time, unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.clock_ms
    }

    /// The next block's time, unix seconds.
    pub fn now_s(&self) -> u64 {
        self.clock_ms / 1000
    }

    /// The height of the last applied block (0 at genesis).
    pub fn height(&self) -> Height {
        self.height
    }

    /// The time of the last applied block (genesis time at first).
    pub fn last_block_ms(&self) -> u64 {
        self.last_ms
    }

    /// The context the next block will be executed under.
    pub fn context(&self) -> BlockContext {
        let chain = self.chain_state();
        let next = self.height.next();
        let proposer = chain
            .validators
            .proposer(next, 0)
            .map(|v| v.consensus_key)
            .unwrap_or_default();
        BlockContext {
            chain_id: self.chain_id,
            height: next,
            timestamp_ms: self.clock_ms,
            proposer,
        }
    }

    // ---- transactions --------------------------------------------------

    /// The nonce the signer's next transaction gets: its state nonce plus
    /// the transactions built for it since the last block.
    pub fn next_nonce(&mut self, signer: &AccountId) -> u64 {
        let base = self.account(signer).nonce;
        let n = self.pending_nonces.entry(*signer).or_insert(0);
        let nonce = base + *n;
        *n += 1;
        nonce
    }

    /// A signed transaction with the signer's next nonce.
    pub fn tx(&mut self, signer: &Keypair, body: Body) -> Transaction {
        let nonce = self.next_nonce(&AccountId(signer.public()));
        self.tx_with_nonce(signer, nonce, body)
    }

    /// A signed transaction with a given nonce.
    pub fn tx_with_nonce(&self, signer: &Keypair, nonce: u64, body: Body) -> Transaction {
        UnsignedTx {
            chain_id: self.chain_id,
            signer: AccountId(signer.public()),
            nonce,
            body,
        }
        .sign(signer)
    }

    /// Checks signatures against the current state, as admission would.
    pub fn verify(&self, txs: Vec<Transaction>) -> Vec<Result<VerifiedTx, TxError>> {
        verify_txs(&self.state, &self.chain_id, txs, 1)
    }

    /// Verifies and applies a block at the clock's time. A transaction
    /// refused by verification fails the block like one refused by
    /// execution (`BlockError::TxFailed` with its index). On success the
    /// diff is written, the invariants are checked and the clock moves one
    /// second past the block.
    pub fn apply(&mut self, txs: Vec<Transaction>) -> Result<BlockOutcome, BlockError> {
        let hashes: Vec<Hash> = txs.iter().map(Transaction::hash).collect();
        let mut verified = Vec::with_capacity(txs.len());
        for (index, v) in self.verify(txs).into_iter().enumerate() {
            match v {
                Ok(v) => verified.push(v),
                Err(error) => {
                    self.pending_nonces.clear();
                    return Err(BlockError::TxFailed {
                        index,
                        tx: hashes[index],
                        error,
                    });
                }
            }
        }
        self.apply_verified(verified)
    }

    /// Applies transactions verified earlier (perhaps against an older
    /// state) at the clock's time; see [`TestChain::apply`].
    pub fn apply_verified(&mut self, txs: Vec<VerifiedTx>) -> Result<BlockOutcome, BlockError> {
        self.pending_nonces.clear();
        let ctx = self.context();
        let outcome = apply_block(&self.state, ctx.clone(), &txs)?;
        self.state.apply(&outcome.diff).expect("state tree update");
        if let Err(e) = check_invariants(&self.state) {
            panic!("invariant broken after block {}: {e}", ctx.height);
        }
        self.height = ctx.height;
        self.last_ms = ctx.timestamp_ms;
        self.clock_ms = ctx.timestamp_ms + 1000;
        self.last = Some(outcome.clone());
        Ok(outcome)
    }

    /// Applies a block without transactions; panics if it fails.
    pub fn empty_block(&mut self) -> BlockOutcome {
        self.apply(Vec::new()).expect("empty block")
    }

    /// The outcome of the last applied block.
    pub fn last_outcome(&self) -> Option<&BlockOutcome> {
        self.last.as_ref()
    }

    /// Applies one transaction in a block of its own; panics if it fails.
    /// Returns the events it emitted (not the block's own steps').
    pub fn ok(&mut self, signer: &Keypair, body: Body) -> Vec<Event> {
        let tx = self.tx(signer, body);
        self.ok_tx(tx)
    }

    /// Applies a transaction in a block of its own; panics if it fails.
    pub fn ok_tx(&mut self, tx: Transaction) -> Vec<Event> {
        let name = tx.unsigned.body.name();
        match self.apply(vec![tx]) {
            Ok(outcome) => tx_events(&outcome, 0),
            Err(e) => panic!("{name} failed: {e}"),
        }
    }

    /// Applies one transaction in a block of its own and expects it to be
    /// refused; returns why. Checks that the block changed nothing and that
    /// [`BlockExecutor::try_apply`] left no trace of it.
    pub fn expect_err(&mut self, signer: &Keypair, body: Body) -> TxError {
        let tx = self.tx(signer, body);
        self.expect_err_tx(tx)
    }

    /// Like [`TestChain::expect_err`] for a built transaction.
    pub fn expect_err_tx(&mut self, tx: Transaction) -> TxError {
        let root = self.state.root();
        let name = tx.unsigned.body.name();
        let verdict = self.verify(vec![tx.clone()]).pop().unwrap();
        let error = match self.apply(vec![tx]) {
            Ok(_) => panic!("{name} was expected to fail but succeeded"),
            Err(BlockError::TxFailed {
                index: 0, error, ..
            }) => error,
            Err(e) => panic!("{name}: the block failed for another reason: {e}"),
        };
        assert_eq!(self.state.root(), root, "a refused block changed the state");
        if let Ok(vtx) = verdict {
            self.assert_no_trace(&vtx, &error);
        }
        error
    }

    /// Asserts that `try_apply` refuses `vtx` with `error` and that the block
    /// then ends exactly like an empty block (same diff, same events).
    pub fn assert_no_trace(&self, vtx: &VerifiedTx, error: &TxError) {
        let ctx = self.context();
        let empty = BlockExecutor::begin(&self.state, ctx.clone())
            .and_then(BlockExecutor::finish)
            .expect("empty block");
        let mut exec = BlockExecutor::begin(&self.state, ctx).expect("begin");
        assert_eq!(exec.try_apply(vtx).as_ref(), Err(error));
        let after = exec.finish().expect("finish");
        assert_eq!(after, empty, "a refused transaction left a trace");
    }

    // ---- readings ------------------------------------------------------

    /// The next generation reading of a meter (from the state): the next
    /// sequence, starting where the last period ended, ending at `end_s`,
    /// with the counter `delta` above the last one. Unsigned.
    pub fn gen_reading(&self, meter: MeterId, end_s: u64, delta: u64) -> GenerationReading {
        let m = self.meter(meter);
        GenerationReading {
            meter,
            sequence: m.last_sequence + 1,
            period_start: m.last_end,
            period_end: end_s,
            counter: Wh(m.last_counter.0 + delta),
            flags: 0,
        }
    }

    /// [`TestChain::gen_reading`] signed with the meter's current device key.
    pub fn gen(&self, meter: MeterId, end_s: u64, delta: u64) -> Signed<GenerationReading> {
        self.sign_gen(self.gen_reading(meter, end_s, delta))
    }

    /// Signs a generation reading with its meter's current device key.
    pub fn sign_gen(&self, r: GenerationReading) -> Signed<GenerationReading> {
        let k = self.keypair_of(&self.meter(r.meter).device_key);
        r.sign(&self.chain_id, &k)
    }

    /// A SubmitReadings transaction relayed by the first reading's operator.
    pub fn readings_tx(&mut self, readings: Vec<Signed<GenerationReading>>) -> Transaction {
        let operator = self.meter(readings[0].reading.meter).operator;
        let k = self.keypair_of(&operator.0);
        self.tx(
            &k,
            Body::SubmitReadings {
                readings: BoundedVec::new(readings).unwrap(),
            },
        )
    }

    /// Relays generation readings in a block of their own.
    pub fn submit_gen(
        &mut self,
        readings: Vec<Signed<GenerationReading>>,
    ) -> Result<BlockOutcome, BlockError> {
        let tx = self.readings_tx(readings);
        self.apply(vec![tx])
    }

    /// Mints `delta` Wh from a meter for a period ending at `end_s`: from
    /// the last period's end if it lies in the same hour, else from the
    /// start of `end_s`'s hour after a ResyncMeter (counter unchanged, so
    /// nothing is forfeited). Moves the clock to `end_s` if it is behind.
    /// Panics on failure.
    pub fn mint(&mut self, meter: MeterId, end_s: u64, delta: u64) -> BlockOutcome {
        if self.clock_ms < end_s * 1000 {
            self.at_s(end_s);
        }
        let m = self.meter(meter);
        let hour_start = Hour::of_seconds(end_s - 1).start_seconds();
        let start = m.last_end.max(hour_start);
        let mut txs = Vec::new();
        if start != m.last_end {
            let op = self.keypair_of(&m.operator.0);
            txs.push(self.tx(
                &op,
                Body::ResyncMeter {
                    meter,
                    baseline_time: start,
                    baseline_counter: m.last_counter,
                },
            ));
        }
        let r = self.sign_gen(GenerationReading {
            meter,
            sequence: m.last_sequence + 1,
            period_start: start,
            period_end: end_s,
            counter: Wh(m.last_counter.0 + delta),
            flags: 0,
        });
        txs.push(self.readings_tx(vec![r]));
        match self.apply(txs) {
            Ok(o) => o,
            Err(e) => panic!("minting {delta} Wh from meter {meter} failed: {e}"),
        }
    }

    /// The next consumption reading of a site (from the state), unsigned.
    pub fn cons_reading(&self, site: SiteId, end_s: u64, delta: u64) -> ConsumptionReading {
        let s = self.site(site);
        ConsumptionReading {
            site,
            sequence: s.last_sequence + 1,
            period_start: s.last_end,
            period_end: end_s,
            counter: Wh(s.last_counter.0 + delta),
            flags: 0,
        }
    }

    /// [`TestChain::cons_reading`] signed with the site's current key.
    pub fn cons(&self, site: SiteId, end_s: u64, delta: u64) -> Signed<ConsumptionReading> {
        self.sign_cons(self.cons_reading(site, end_s, delta))
    }

    /// Signs a consumption reading with its site's current device key.
    pub fn sign_cons(&self, r: ConsumptionReading) -> Signed<ConsumptionReading> {
        let k = self.keypair_of(&self.site(r.site).device_key);
        r.sign(&self.chain_id, &k)
    }

    /// A SubmitConsumption transaction relayed by the site's owner.
    pub fn consumption_tx(&mut self, readings: Vec<Signed<ConsumptionReading>>) -> Transaction {
        let owner = self.site(readings[0].reading.site).owner;
        let k = self.keypair_of(&owner.0);
        self.tx(
            &k,
            Body::SubmitConsumption {
                readings: BoundedVec::new(readings).unwrap(),
            },
        )
    }

    /// Relays consumption readings in a block of their own.
    pub fn submit_cons(
        &mut self,
        readings: Vec<Signed<ConsumptionReading>>,
    ) -> Result<BlockOutcome, BlockError> {
        let tx = self.consumption_tx(readings);
        self.apply(vec![tx])
    }

    /// Records `delta` Wh consumed by a site in a period ending at `end_s`
    /// without any anomaly: if the last period ended in an earlier hour,
    /// zero readings fill each hour up to the start of `end_s`'s hour.
    /// Moves the clock to `end_s` if it is behind. Panics on failure.
    pub fn consume(&mut self, site: SiteId, end_s: u64, delta: u64) -> BlockOutcome {
        if self.clock_ms < end_s * 1000 {
            self.at_s(end_s);
        }
        let s = self.site(site);
        let k = self.keypair_of(&s.device_key);
        let hour_start = Hour::of_seconds(end_s - 1).start_seconds();
        let mut readings = Vec::new();
        let (mut seq, mut start) = (s.last_sequence, s.last_end);
        while start < hour_start {
            let end = (Hour::of_seconds(start).0 + 1) * 3600;
            seq += 1;
            readings.push(
                ConsumptionReading {
                    site,
                    sequence: seq,
                    period_start: start,
                    period_end: end,
                    counter: s.last_counter,
                    flags: 0,
                }
                .sign(&self.chain_id, &k),
            );
            start = end;
        }
        readings.push(
            ConsumptionReading {
                site,
                sequence: seq + 1,
                period_start: start,
                period_end: end_s,
                counter: Wh(s.last_counter.0 + delta),
                flags: 0,
            }
            .sign(&self.chain_id, &k),
        );
        let per_tx = self.chain_state().params.max_readings_per_tx as usize;
        let mut txs = Vec::new();
        for chunk in readings.chunks(per_tx) {
            txs.push(self.consumption_tx(chunk.to_vec()));
        }
        match self.apply(txs) {
            Ok(o) => o,
            Err(e) => panic!("recording {delta} Wh consumed by site {site} failed: {e}"),
        }
    }

    /// Relays generation readings in a block of their own and expects the
    /// transaction to be refused; see [`TestChain::expect_err`].
    pub fn expect_gen_err(&mut self, readings: Vec<Signed<GenerationReading>>) -> TxError {
        let tx = self.readings_tx(readings);
        self.expect_err_tx(tx)
    }

    /// Relays consumption readings in a block of their own and expects the
    /// transaction to be refused; see [`TestChain::expect_err`].
    pub fn expect_cons_err(&mut self, readings: Vec<Signed<ConsumptionReading>>) -> TxError {
        let tx = self.consumption_tx(readings);
        self.expect_err_tx(tx)
    }

    // ---- registration --------------------------------------------------

    /// Registers a mining site in the default zone (regulator `reg`), with
    /// its baseline at the clock's time and counter 0; the device key is
    /// `device`'s, registered. Panics on failure.
    pub fn register_site(&mut self, owner: &AccountId, device: &str, max_draw: u64) -> SiteId {
        let device_key = self.device(device);
        let baseline_time = self.now_s();
        self.ok(
            &key("reg"),
            Body::RegisterSite {
                serial: serial(&format!("SN-{device}")),
                device_key,
                owner: *owner,
                zone: zone(),
                max_draw: Watts(max_draw),
                baseline_time,
                baseline_counter: Wh(0),
            },
        );
        SiteId(self.chain_state().next_site)
    }

    /// Registers a generation meter in the default zone, operated by
    /// `operator`, with its baseline at the clock's time and counter 0, and
    /// has `reg` approve it. Panics on failure.
    pub fn register_meter(
        &mut self,
        operator: &str,
        owner: &AccountId,
        device: &str,
        capacity: u64,
    ) -> MeterId {
        let device_key = self.device(device);
        let baseline_time = self.now_s();
        self.ok(
            &key(operator),
            Body::RegisterMeter {
                serial: serial(&format!("SN-{device}")),
                device_key,
                owner: *owner,
                source: Source::Solar,
                capacity: Watts(capacity),
                zone: zone(),
                baseline_time,
                baseline_counter: Wh(0),
            },
        );
        let id = MeterId(self.chain_state().next_meter);
        self.ok(&key("reg"), Body::ApproveMeter { meter: id });
        id
    }

    // ---- state ---------------------------------------------------------

    /// Reads and decodes a state value.
    pub fn get<T: BorshDeserialize>(&self, key: &StateKey) -> Option<T> {
        read_value(&self.state, key).expect("state read")
    }

    /// The chain singleton.
    pub fn chain_state(&self) -> ChainState {
        self.get(&StateKey::Chain).expect("chain record")
    }

    /// An account (a default one if it has no record).
    pub fn account(&self, id: &AccountId) -> Account {
        self.get(&StateKey::Account(*id)).unwrap_or_default()
    }

    /// Whether an account has a record.
    pub fn account_exists(&self, id: &AccountId) -> bool {
        self.get::<Account>(&StateKey::Account(*id)).is_some()
    }

    /// The sum of an account's holdings (all unexpired: expiry is a block
    /// step).
    pub fn balance(&self, id: &AccountId) -> Wh {
        self.account(id).balance()
    }

    /// An account's holding of one vintage.
    pub fn holding(&self, id: &AccountId, vintage: &Vintage) -> Wh {
        self.account(id)
            .holdings
            .get(vintage)
            .copied()
            .unwrap_or_default()
    }

    /// A meter; panics if it does not exist.
    pub fn meter(&self, id: MeterId) -> Meter {
        self.get(&StateKey::Meter(id))
            .unwrap_or_else(|| panic!("no meter {id}"))
    }

    /// A site; panics if it does not exist.
    pub fn site(&self, id: SiteId) -> Site {
        self.get(&StateKey::Site(id))
            .unwrap_or_else(|| panic!("no site {id}"))
    }

    /// A site's derived status as of the last block.
    pub fn site_status(&self, id: SiteId) -> SiteStatus {
        let site = self.site(id);
        let policy = self.zone_of(&site.zone).policy.expect("zone policy");
        site.status(&policy, self.last_ms)
    }

    /// A zone; panics if it does not exist.
    pub fn zone_of(&self, id: &ZoneId) -> Zone {
        self.get(&StateKey::Zone(id.clone()))
            .unwrap_or_else(|| panic!("no zone {id}"))
    }

    /// The default zone.
    pub fn zone(&self) -> Zone {
        self.zone_of(&zone())
    }

    /// The default zone's supply accounting.
    pub fn supply(&self) -> Supply {
        self.zone().supply
    }

    /// A governance proposal; panics if it does not exist.
    pub fn proposal(&self, id: ProposalId) -> Proposal {
        self.get(&StateKey::Proposal(id))
            .unwrap_or_else(|| panic!("no proposal {id}"))
    }

    /// A retirement record; panics if it does not exist.
    pub fn retirement(&self, id: RetirementId) -> Retirement {
        self.get(&StateKey::Retirement(id))
            .unwrap_or_else(|| panic!("no retirement {id}"))
    }

    /// An open debt of a site in a bucket.
    pub fn debt(&self, owner: &AccountId, site: SiteId, bucket: Bucket) -> Option<Debt> {
        self.get(&StateKey::Debt(*owner, site, bucket))
    }

    /// The operator accounts of the authorities in the chain state.
    pub fn authorities(&self) -> Vec<AccountId> {
        self.chain_state()
            .validators
            .validators()
            .iter()
            .map(|v| v.operator)
            .collect()
    }
}

/// The events a block's transaction `index` emitted.
pub fn tx_events(outcome: &BlockOutcome, index: u32) -> Vec<Event> {
    outcome
        .events
        .iter()
        .filter(|e| e.tx_index == Some(index))
        .map(|e| e.event.clone())
        .collect()
}

/// The events a block's own steps emitted (expiry, deadlines, policy and
/// governance activations).
pub fn block_events(outcome: &BlockOutcome) -> Vec<Event> {
    outcome
        .events
        .iter()
        .filter(|e| e.tx_index.is_none())
        .map(|e| e.event.clone())
        .collect()
}

/// Every event of a block, without its origin.
pub fn all_events(events: &[EventRecord]) -> Vec<Event> {
    events.iter().map(|e| e.event.clone()).collect()
}

fn decode_entry<T: BorshDeserialize>(k: &[u8], v: &[u8]) -> Result<T, String> {
    decode(v).map_err(|e| format!("value under 0x{} does not decode: {e}", hex::encode(k)))
}

/// Checks, by scanning the whole state, what must hold after every block:
/// - per zone, `minted = held + burned + retired + withdrawn + expired`,
///   and `held` equals the sum of every account's holdings of that zone;
/// - no account holds a zero amount, or a vintage its zone has expired;
/// - the `Holder` index lists exactly the holdings;
/// - each open debt has its deadline entry, and a site's `open_debt` is the
///   sum of its debts.
pub fn check_invariants(state: &MemoryState) -> Result<(), String> {
    let mut held: BTreeMap<ZoneId, u128> = BTreeMap::new();
    let mut holdings: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut holder_keys: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut zones: Vec<Zone> = Vec::new();
    let mut sites: Vec<Site> = Vec::new();
    let mut debts: BTreeMap<SiteId, u128> = BTreeMap::new();
    let mut expiring: Vec<(Vintage, AccountId)> = Vec::new();
    for (k, v) in state.entries() {
        match k[0] {
            tag::ACCOUNT => {
                let id = AccountId(PublicKey(k[1..33].try_into().unwrap()));
                let a: Account = decode_entry(k, v)?;
                for (vintage, w) in &a.holdings {
                    if w.is_zero() {
                        return Err(format!("{id:?} holds zero of {vintage}"));
                    }
                    *held.entry(vintage.zone.clone()).or_default() += w.0 as u128;
                    holdings.insert(StateKey::Holder(vintage.clone(), id).encode());
                    expiring.push((vintage.clone(), id));
                }
            }
            tag::HOLDER => {
                holder_keys.insert(k.clone());
            }
            tag::ZONE => zones.push(decode_entry(k, v)?),
            tag::SITE => sites.push(decode_entry(k, v)?),
            tag::DEBT => {
                let owner = AccountId(PublicKey(k[1..33].try_into().unwrap()));
                let (site, bucket) = debt_site_bucket(k).ok_or("malformed debt key")?;
                let debt: Debt = decode_entry(k, v)?;
                if debt.amount.is_zero() {
                    return Err(format!("site {site} has a zero debt in {bucket:?}"));
                }
                let deadline = StateKey::DebtDeadline(debt.deadline, site, bucket).encode();
                match state.entries().get(&deadline) {
                    Some(v) if decode_entry::<AccountId>(&deadline, v)? == owner => {}
                    _ => return Err(format!("debt of site {site} in {bucket:?} has no deadline")),
                }
                *debts.entry(site).or_default() += debt.amount.0 as u128;
            }
            _ => {}
        }
    }
    if holdings != holder_keys {
        return Err("the holder index does not match the holdings".into());
    }
    for z in &zones {
        if !z.supply.conserved() {
            return Err(format!("zone {} is not conserved: {:?}", z.id, z.supply));
        }
        let sum = held.get(&z.id).copied().unwrap_or(0);
        if z.supply.held.0 as u128 != sum {
            return Err(format!(
                "zone {}: supply.held {} but accounts hold {sum}",
                z.id, z.supply.held
            ));
        }
        if let Some(through) = z.expired_through {
            if let Some((v, a)) = expiring
                .iter()
                .find(|(v, _)| v.zone == z.id && v.hour <= through)
            {
                return Err(format!("{a:?} still holds expired {v}"));
            }
        }
    }
    for (id, _) in held.iter() {
        if !zones.iter().any(|z| z.id == *id) {
            return Err(format!("credits held in unknown zone {id}"));
        }
    }
    for s in &sites {
        let sum = debts.get(&s.id).copied().unwrap_or(0);
        if s.open_debt.0 as u128 != sum {
            return Err(format!(
                "site {}: open_debt {} but its debts sum to {sum}",
                s.id, s.open_debt
            ));
        }
    }
    Ok(())
}
