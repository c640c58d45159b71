//! The canonical encoding, for every consensus type: `decode(encode(x)) ==
//! x`; any bytes that decode re-encode to exactly those bytes (so no value
//! has two encodings), tried on random mutations of valid encodings and on
//! random bytes; every strict prefix of a valid encoding fails to decode,
//! and so does a valid encoding with a byte appended.
//!
//! Cases per property: `PROPTEST_CASES` if set, else 64.

use borsh::{BorshDeserialize, BorshSerialize};
use proptest::prelude::*;
use proptest::sample::Index;
use std::collections::BTreeMap;
use std::fmt::Debug;
use watt_runtime::block::{
    Block, CommitCertificate, Header, Proposal, SignedProposal, SignedVote, Validator,
    ValidatorSet, Vote, VoteKind,
};
use watt_runtime::crypto::{Hash, PublicKey, Signature};
use watt_runtime::encoding::{decode, encode, BoundedString, BoundedVec, DecodeError};
use watt_runtime::events::{Event, EventRecord, Parts};
use watt_runtime::genesis::{Continuation, Genesis, GenesisMeter, GenesisSite};
use watt_runtime::state::{
    Account, ChainState, Debt, DeviceOwner, Meter, MeterStatus, PendingChange, PendingKey,
    Proposal as StateProposal, ProposalKind, ProposalStatus, Retirement, Scheduled, Site, Supply,
    ViolationKind, Zone,
};
use watt_runtime::tx::{
    AuthorityChange, Body, ConsumptionReading, GenerationReading, NamedVintages, ProofOfPossession,
    RegulatorChange, Signed, Text, Transaction, UnsignedTx,
};
use watt_runtime::types::{
    AccountId, Bucket, ChainParams, Height, Hour, MatchingWindow, MeterId, ProposalId,
    RetirementId, SiteId, Source, Vintage, Watts, Wh, ZoneId, ZonePolicy,
};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

// ---- the properties ---------------------------------------------------

/// A change to a valid encoding: replace bytes, then maybe drop or insert
/// one.
#[derive(Clone, Debug)]
struct Mutation {
    replace: Vec<(Index, u8)>,
    remove: Option<Index>,
    insert: Option<(Index, u8)>,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (
        prop::collection::vec((any::<Index>(), any::<u8>()), 0..4),
        prop::option::of(any::<Index>()),
        prop::option::of((any::<Index>(), any::<u8>())),
    )
        .prop_map(|(replace, remove, insert)| Mutation {
            replace,
            remove,
            insert,
        })
}

impl Mutation {
    fn apply(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        if out.is_empty() {
            return out;
        }
        for (i, b) in &self.replace {
            let at = i.index(out.len());
            out[at] = *b;
        }
        if let Some(i) = &self.remove {
            let at = i.index(out.len());
            out.remove(at);
        }
        if let Some((i, b)) = &self.insert {
            let at = i.index(out.len() + 1);
            out.insert(at, *b);
        }
        out
    }
}

/// Bytes that decode must be the one encoding of what they decode to.
fn canonical_if_decodes<T>(bytes: &[u8]) -> Result<(), TestCaseError>
where
    T: BorshSerialize + BorshDeserialize + Debug,
{
    if let Ok(v) = decode::<T>(bytes) {
        prop_assert_eq!(
            encode(&v),
            bytes.to_vec(),
            "two encodings of one value: {:?}",
            v
        );
    }
    Ok(())
}

fn check<T>(x: &T, m: &Mutation, junk: &[u8], extra: u8) -> Result<(), TestCaseError>
where
    T: BorshSerialize + BorshDeserialize + PartialEq + Debug,
{
    let bytes = encode(x);
    // Round trip both ways.
    let back: T = decode(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&back, x);
    prop_assert_eq!(encode(&back), bytes.clone());
    // Prefix-free: no strict prefix decodes (all of them for short
    // encodings, a spread of lengths for long ones).
    let lens: Vec<usize> = if bytes.len() <= 600 {
        (0..bytes.len()).collect()
    } else {
        let step = bytes.len() / 200;
        (0..bytes.len())
            .step_by(step)
            .chain(bytes.len() - 64..bytes.len())
            .collect()
    };
    for len in lens {
        prop_assert!(
            decode::<T>(&bytes[..len]).is_err(),
            "a prefix of {} of {} bytes decodes",
            len,
            bytes.len()
        );
    }
    // Appending a byte fails.
    let mut longer = bytes.clone();
    longer.push(extra);
    match decode::<T>(&longer) {
        Err(DecodeError::TrailingBytes { extra: 1, .. }) => {}
        other => prop_assert!(false, "appended byte: {:?}", other),
    }
    // Mutated and random bytes: canonical whenever they decode.
    canonical_if_decodes::<T>(&m.apply(&bytes))?;
    canonical_if_decodes::<T>(junk)?;
    let mut spliced = bytes;
    let cut = m.remove.as_ref().map_or(0, |i| i.index(spliced.len() + 1));
    spliced.truncate(cut);
    spliced.extend_from_slice(junk);
    canonical_if_decodes::<T>(&spliced)
}

macro_rules! canonical {
    ($($name:ident: $ty:ty = $strategy:expr;)*) => {
        proptest! {
            #![proptest_config(config())]
            $(
                #[test]
                fn $name(
                    x in $strategy,
                    m in mutation(),
                    junk in prop::collection::vec(any::<u8>(), 0..96),
                    extra in any::<u8>(),
                ) {
                    check::<$ty>(&x, &m, &junk, extra)?;
                }
            )*
        }
    };
}

// ---- strategies: primitives ----------------------------------------------

fn bytes32() -> impl Strategy<Value = [u8; 32]> {
    prop_oneof![
        1 => Just([0u8; 32]),
        1 => Just([0xff; 32]),
        8 => any::<[u8; 32]>(),
    ]
}

fn hash() -> impl Strategy<Value = Hash> {
    bytes32().prop_map(Hash)
}

fn pk() -> impl Strategy<Value = PublicKey> {
    bytes32().prop_map(PublicKey)
}

fn sig() -> impl Strategy<Value = Signature> {
    (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(a, b)| {
        let mut s = [0u8; 64];
        s[..32].copy_from_slice(&a);
        s[32..].copy_from_slice(&b);
        Signature(s)
    })
}

fn acct() -> impl Strategy<Value = AccountId> {
    pk().prop_map(AccountId)
}

fn n64() -> impl Strategy<Value = u64> {
    prop_oneof![
        1 => Just(0u64),
        1 => Just(u64::MAX),
        4 => 0u64..100_000,
        4 => any::<u64>(),
    ]
}

fn wh() -> impl Strategy<Value = Wh> {
    n64().prop_map(Wh)
}

fn watts() -> impl Strategy<Value = Watts> {
    n64().prop_map(Watts)
}

fn height() -> impl Strategy<Value = Height> {
    n64().prop_map(Height)
}

fn hour() -> impl Strategy<Value = Hour> {
    n64().prop_map(Hour)
}

fn bstr<const MAX: usize>() -> impl Strategy<Value = BoundedString<MAX>> {
    // Any characters but control ones, up to MAX bytes (multi-byte ones
    // included).
    "\\PC{0,24}".prop_map(|s: String| {
        let mut t = String::new();
        for ch in s.chars() {
            if t.len() + ch.len_utf8() > MAX {
                break;
            }
            t.push(ch);
        }
        BoundedString::new(t).unwrap()
    })
}

fn text() -> impl Strategy<Value = Text> {
    bstr::<256>()
}

fn zone_id() -> impl Strategy<Value = ZoneId> {
    "[A-Z0-9-]{2,16}".prop_map(|s| ZoneId::new(&s).unwrap())
}

fn vintage() -> impl Strategy<Value = Vintage> {
    (zone_id(), hour()).prop_map(|(zone, hour)| Vintage { zone, hour })
}

fn source() -> impl Strategy<Value = Source> {
    prop::sample::select(Source::ALL.to_vec())
}

fn window() -> impl Strategy<Value = MatchingWindow> {
    prop::sample::select(vec![
        MatchingWindow::Hour,
        MatchingWindow::Day,
        MatchingWindow::Month,
        MatchingWindow::Year,
    ])
}

fn bucket() -> impl Strategy<Value = Bucket> {
    (window(), n64()).prop_map(|(window, index)| Bucket { window, index })
}

fn policy() -> impl Strategy<Value = ZonePolicy> {
    (
        window(),
        watts(),
        n64(),
        n64(),
        any::<u32>(),
        any::<u32>(),
        n64(),
    )
        .prop_map(|(w, cap, life, age, tol, pen, dark)| ZonePolicy {
            matching_window: w,
            mining_cap_w: cap,
            credit_lifetime_hours: life,
            reading_max_age_s: age,
            plausibility_tolerance_pct: tol,
            shortfall_penalty_permille: pen,
            dark_after_s: dark,
        })
}

fn params() -> impl Strategy<Value = ChainParams> {
    (
        n64(),
        n64(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        wh(),
        n64(),
    )
        .prop_map(|(skew, exp, txs, bytes, rd, min, grace)| ChainParams {
            max_clock_skew_s: skew,
            proposal_expiry_blocks: exp,
            max_block_txs: txs,
            max_block_bytes: bytes,
            max_readings_per_tx: rd,
            min_new_account_wh: min,
            settlement_grace_s: grace,
        })
}

fn bvec<T: Debug + Clone + 'static, const MAX: usize>(
    s: impl Strategy<Value = T>,
    max_len: usize,
) -> impl Strategy<Value = BoundedVec<T, MAX>> {
    prop::collection::vec(s, 0..=max_len).prop_map(|v| BoundedVec::new(v).unwrap())
}

fn named_vintages() -> impl Strategy<Value = NamedVintages> {
    prop::option::of(bvec(vintage(), 4))
}

fn parts() -> impl Strategy<Value = Parts> {
    prop::collection::vec((vintage(), wh()), 0..4)
}

// ---- strategies: transactions ------------------------------------------

prop_compose! {
    fn gen_reading()(meter in n64(), sequence in n64(), start in n64(), end in n64(),
                     counter in wh(), flags in any::<u8>()) -> GenerationReading {
        GenerationReading { meter: MeterId(meter), sequence, period_start: start,
                            period_end: end, counter, flags }
    }
}

prop_compose! {
    fn cons_reading()(site in n64(), sequence in n64(), start in n64(), end in n64(),
                      counter in wh(), flags in any::<u8>()) -> ConsumptionReading {
        ConsumptionReading { site: SiteId(site), sequence, period_start: start,
                             period_end: end, counter, flags }
    }
}

fn signed<R: Debug + Clone + 'static>(
    r: impl Strategy<Value = R>,
) -> impl Strategy<Value = Signed<R>> {
    (r, sig()).prop_map(|(reading, signature)| Signed { reading, signature })
}

fn pop() -> impl Strategy<Value = ProofOfPossession> {
    sig().prop_map(|signature| ProofOfPossession { signature })
}

fn authority_change() -> impl Strategy<Value = AuthorityChange> {
    prop_oneof![
        (acct(), pk(), text(), pop()).prop_map(|(operator, consensus_key, name, proof)| {
            AuthorityChange::Add {
                operator,
                consensus_key,
                name,
                proof,
            }
        }),
        acct().prop_map(|operator| AuthorityChange::Remove { operator }),
        (acct(), pk(), pop()).prop_map(|(operator, consensus_key, proof)| {
            AuthorityChange::Rotate {
                operator,
                consensus_key,
                proof,
            }
        }),
    ]
}

fn regulator_change() -> impl Strategy<Value = RegulatorChange> {
    prop_oneof![
        acct().prop_map(|account| RegulatorChange::Add { account }),
        acct().prop_map(|account| RegulatorChange::Remove { account }),
    ]
}

fn vote_kind() -> impl Strategy<Value = VoteKind> {
    prop_oneof![Just(VoteKind::Prevote), Just(VoteKind::Precommit)]
}

prop_compose! {
    fn vote()(kind in vote_kind(), chain_id in hash(), height in height(), round in any::<u32>(),
              block_hash in prop::option::of(hash()), validator in pk()) -> Vote {
        Vote { kind, chain_id, height, round, block_hash, validator }
    }
}

fn signed_vote() -> impl Strategy<Value = SignedVote> {
    (vote(), sig()).prop_map(|(vote, signature)| SignedVote { vote, signature })
}

fn body() -> impl Strategy<Value = Body> {
    let text = text;
    prop_oneof![
        (acct(), wh(), named_vintages()).prop_map(|(to, amount, vintages)| Body::Transfer {
            to,
            amount,
            vintages
        }),
        (wh(), text(), text(), named_vintages()).prop_map(|(amount, beneficiary, purpose, v)| {
            Body::Retire {
                amount,
                beneficiary,
                purpose,
                vintages: v,
            }
        }),
        (
            bstr::<64>(),
            pk(),
            acct(),
            source(),
            watts(),
            zone_id(),
            n64(),
            wh()
        )
            .prop_map(
                |(serial, device_key, owner, source, capacity, zone, t, c)| {
                    Body::RegisterMeter {
                        serial,
                        device_key,
                        owner,
                        source,
                        capacity,
                        zone,
                        baseline_time: t,
                        baseline_counter: c,
                    }
                }
            ),
        n64().prop_map(|m| Body::ApproveMeter { meter: MeterId(m) }),
        bvec(signed(gen_reading()), 3).prop_map(|readings| Body::SubmitReadings { readings }),
        (n64(), pk(), n64(), wh()).prop_map(|(m, k, t, c)| Body::ReplaceMeterKey {
            meter: MeterId(m),
            new_device_key: k,
            baseline_time: t,
            baseline_counter: c,
        }),
        (n64(), n64(), wh()).prop_map(|(m, t, c)| Body::ResyncMeter {
            meter: MeterId(m),
            baseline_time: t,
            baseline_counter: c,
        }),
        (n64(), acct()).prop_map(|(m, a)| Body::TransferMeterOperator {
            meter: MeterId(m),
            new_operator: a,
        }),
        (n64(), text()).prop_map(|(m, reason)| Body::RevokeMeter {
            meter: MeterId(m),
            reason
        }),
        (bstr::<64>(), pk(), acct(), zone_id(), watts(), n64(), wh()).prop_map(
            |(serial, device_key, owner, zone, max_draw, t, c)| {
                Body::RegisterSite {
                    serial,
                    device_key,
                    owner,
                    zone,
                    max_draw,
                    baseline_time: t,
                    baseline_counter: c,
                }
            }
        ),
        bvec(signed(cons_reading()), 3).prop_map(|readings| Body::SubmitConsumption { readings }),
        (n64(), named_vintages()).prop_map(|(s, vintages)| Body::SettleShortfall {
            site: SiteId(s),
            vintages
        }),
        (zone_id(), policy()).prop_map(|(zone, policy)| Body::SetZonePolicy { zone, policy }),
        (n64(), text()).prop_map(|(s, reason)| Body::SuspendSite {
            site: SiteId(s),
            reason
        }),
        (n64(), text()).prop_map(|(s, reason)| Body::ReinstateSite {
            site: SiteId(s),
            reason
        }),
        (n64(), text()).prop_map(|(s, reason)| Body::RevokeSite {
            site: SiteId(s),
            reason
        }),
        (n64(), pk(), n64(), wh()).prop_map(|(s, k, t, c)| Body::ReplaceSiteKey {
            site: SiteId(s),
            new_device_key: k,
            baseline_time: t,
            baseline_counter: c,
        }),
        (acct(), vintage(), wh(), text()).prop_map(|(account, vintage, amount, reason)| {
            Body::WithdrawCredits {
                account,
                vintage,
                amount,
                reason,
            }
        }),
        authority_change().prop_map(|change| Body::ProposeAuthoritySet { change }),
        regulator_change().prop_map(|change| Body::ProposeRegulatorSet { change }),
        params().prop_map(|params| Body::ProposeChainParams { params }),
        (n64(), any::<bool>()).prop_map(|(p, approve)| Body::Vote {
            proposal: ProposalId(p),
            approve
        }),
        (signed_vote(), signed_vote()).prop_map(|(first, second)| Body::Evidence { first, second }),
    ]
}

prop_compose! {
    fn unsigned_tx()(chain_id in hash(), signer in acct(), nonce in n64(), body in body())
                    -> UnsignedTx {
        UnsignedTx { chain_id, signer, nonce, body }
    }
}

fn transaction() -> impl Strategy<Value = Transaction> {
    (unsigned_tx(), sig()).prop_map(|(unsigned, signature)| Transaction {
        unsigned,
        signature,
    })
}

// ---- strategies: blocks and consensus ------------------------------------

fn header() -> impl Strategy<Value = Header> {
    (
        (hash(), height(), hash(), n64(), pk(), hash()),
        (hash(), hash(), hash(), hash(), hash()),
    )
        .prop_map(
            |(
                (chain_id, height, parent_hash, timestamp_ms, proposer, tx_root),
                (state_root, event_root, vs, nvs, pc),
            )| Header {
                chain_id,
                height,
                parent_hash,
                timestamp_ms,
                proposer,
                tx_root,
                state_root,
                event_root,
                validator_set_hash: vs,
                next_validator_set_hash: nvs,
                parent_commit_hash: pc,
            },
        )
}

prop_compose! {
    fn commit()(height in height(), round in any::<u32>(), block_hash in hash(),
                validator_set_hash in hash(), signers in bvec(any::<u8>(), 32),
                signatures in bvec(sig(), 4)) -> CommitCertificate {
        CommitCertificate { height, round, block_hash, validator_set_hash, signers, signatures }
    }
}

fn block() -> impl Strategy<Value = Block> {
    (header(), bvec(transaction(), 3), prop::option::of(commit())).prop_map(
        |(header, txs, parent_commit)| Block {
            header,
            txs,
            parent_commit,
        },
    )
}

prop_compose! {
    fn proposal()(chain_id in hash(), height in height(), round in any::<u32>(),
                  valid_round in prop::option::of(any::<u32>()), block_hash in hash(),
                  proposer in pk()) -> Proposal {
        Proposal { chain_id, height, round, valid_round, block_hash, proposer }
    }
}

fn signed_proposal() -> impl Strategy<Value = SignedProposal> {
    (proposal(), sig()).prop_map(|(proposal, signature)| SignedProposal {
        proposal,
        signature,
    })
}

fn validator() -> impl Strategy<Value = Validator> {
    (pk(), acct(), bstr::<64>()).prop_map(|(consensus_key, operator, name)| Validator {
        consensus_key,
        operator,
        name,
    })
}

fn validator_set() -> impl Strategy<Value = ValidatorSet> {
    prop::collection::vec(validator(), 1..6)
        .prop_filter_map("distinct keys and operators", |v| ValidatorSet::new(v).ok())
}

// ---- strategies: genesis -------------------------------------------------

fn genesis_meter() -> impl Strategy<Value = GenesisMeter> {
    (
        (bstr::<64>(), pk(), acct(), acct(), source()),
        (watts(), zone_id(), n64(), wh()),
    )
        .prop_map(
            |((serial, device_key, owner, operator, source), (capacity, zone, t, c))| {
                GenesisMeter {
                    serial,
                    device_key,
                    owner,
                    operator,
                    source,
                    capacity,
                    zone,
                    baseline_time: t,
                    baseline_counter: c,
                }
            },
        )
}

fn genesis_site() -> impl Strategy<Value = GenesisSite> {
    (bstr::<64>(), pk(), acct(), zone_id(), watts(), n64(), wh()).prop_map(
        |(serial, device_key, owner, zone, max_draw, t, c)| GenesisSite {
            serial,
            device_key,
            owner,
            zone,
            max_draw,
            baseline_time: t,
            baseline_counter: c,
        },
    )
}

fn genesis() -> impl Strategy<Value = Genesis> {
    (
        (bstr::<64>(), n64(), params(), bvec(validator(), 4)),
        (
            bvec(acct(), 3),
            bvec((zone_id(), policy()), 3),
            bvec(genesis_meter(), 3),
            bvec(genesis_site(), 3),
            prop::option::of((hash(), height(), hash())),
        ),
    )
        .prop_map(
            |(
                (chain_name, genesis_time_ms, params, authorities),
                (regulators, zones, meters, sites, continues),
            )| Genesis {
                chain_name,
                genesis_time_ms,
                params,
                authorities,
                regulators,
                zones,
                meters,
                sites,
                continues: continues.map(|(chain_id, height, state_root)| Continuation {
                    chain_id,
                    height,
                    state_root,
                }),
            },
        )
}

// ---- strategies: state values --------------------------------------------

fn account() -> impl Strategy<Value = Account> {
    (n64(), prop::collection::btree_map(vintage(), wh(), 0..5))
        .prop_map(|(nonce, holdings)| Account { nonce, holdings })
}

fn meter_status() -> impl Strategy<Value = MeterStatus> {
    prop_oneof![
        Just(MeterStatus::Pending),
        Just(MeterStatus::Active),
        Just(MeterStatus::Revoked)
    ]
}

fn meter() -> impl Strategy<Value = Meter> {
    (
        (n64(), bstr::<64>(), pk(), acct(), acct(), source(), watts()),
        (zone_id(), meter_status(), n64(), n64(), wh()),
        (prop::option::of((pk(), n64(), wh())), wh()),
    )
        .prop_map(
            |(
                (id, serial, device_key, owner, operator, source, capacity),
                (zone, status, last_sequence, last_end, last_counter),
                (pending, minted),
            )| Meter {
                id: MeterId(id),
                serial,
                device_key,
                owner,
                operator,
                source,
                capacity,
                zone,
                status,
                last_sequence,
                last_end,
                last_counter,
                pending_key: pending.map(|(device_key, baseline_time, baseline_counter)| {
                    PendingKey {
                        device_key,
                        baseline_time,
                        baseline_counter,
                    }
                }),
                minted,
            },
        )
}

fn violation_kind() -> impl Strategy<Value = ViolationKind> {
    prop::sample::select(vec![
        ViolationKind::OverDraw,
        ViolationKind::CounterWentDown,
        ViolationKind::Flagged,
        ViolationKind::PeriodGap,
        ViolationKind::MultiHour,
        ViolationKind::Unbacked,
    ])
}

fn site() -> impl Strategy<Value = Site> {
    (
        (n64(), bstr::<64>(), pk(), acct(), zone_id(), watts()),
        (n64(), n64(), wh(), n64()),
        (
            prop::option::of(text()),
            prop::option::of(text()),
            prop::option::of(violation_kind()),
        ),
        (wh(), wh(), wh(), wh()),
    )
        .prop_map(
            |(
                (id, serial, device_key, owner, zone, max_draw),
                (last_sequence, last_end, last_counter, last_seen_ms),
                (revoked, regulator_suspension, anomaly),
                (open_debt, shortfall, consumed, burned),
            )| Site {
                id: SiteId(id),
                serial,
                device_key,
                owner,
                zone,
                max_draw,
                last_sequence,
                last_end,
                last_counter,
                last_seen_ms,
                revoked,
                regulator_suspension,
                anomaly,
                open_debt,
                shortfall,
                consumed,
                burned,
            },
        )
}

fn supply() -> impl Strategy<Value = Supply> {
    (wh(), wh(), wh(), wh(), wh(), wh()).prop_map(
        |(minted, held, burned, retired, withdrawn, expired)| Supply {
            minted,
            held,
            burned,
            retired,
            withdrawn,
            expired,
        },
    )
}

fn zone() -> impl Strategy<Value = Zone> {
    (
        zone_id(),
        prop::option::of(policy()),
        prop::option::of((hour(), policy())),
        watts(),
        supply(),
        prop::option::of(hour()),
    )
        .prop_map(
            |(id, policy, pending, live_max_draw, supply, expired_through)| Zone {
                id,
                policy,
                pending,
                live_max_draw,
                supply,
                expired_through,
            },
        )
}

fn pending_change() -> impl Strategy<Value = PendingChange> {
    prop_oneof![
        authority_change().prop_map(|change| PendingChange::Authorities { change }),
        regulator_change().prop_map(|change| PendingChange::Regulators { change }),
        params().prop_map(|params| PendingChange::Params { params }),
        acct().prop_map(|operator| PendingChange::Punish { operator }),
    ]
}

fn scheduled() -> impl Strategy<Value = Scheduled> {
    (height(), pending_change()).prop_map(|(activation, change)| Scheduled { activation, change })
}

fn chain_state() -> impl Strategy<Value = ChainState> {
    (
        (
            params(),
            validator_set(),
            prop::collection::vec(acct(), 0..4),
            prop::collection::vec(scheduled(), 0..3),
            prop::collection::vec(n64().prop_map(ProposalId), 0..4),
        ),
        (height(), n64(), n64(), n64(), n64(), n64()),
    )
        .prop_map(
            |(
                (params, validators, regulators, scheduled, open_proposals),
                (height, time_ms, next_meter, next_site, next_retirement, next_proposal),
            )| ChainState {
                params,
                validators,
                regulators,
                scheduled,
                open_proposals,
                height,
                time_ms,
                next_meter,
                next_site,
                next_retirement,
                next_proposal,
            },
        )
}

fn proposal_kind() -> impl Strategy<Value = ProposalKind> {
    prop_oneof![
        authority_change().prop_map(|change| ProposalKind::Authorities { change }),
        regulator_change().prop_map(|change| ProposalKind::Regulators { change }),
        params().prop_map(|params| ProposalKind::Params { params }),
    ]
}

fn state_proposal() -> impl Strategy<Value = StateProposal> {
    (
        n64(),
        proposal_kind(),
        acct(),
        height(),
        height(),
        prop::collection::btree_map(acct(), any::<bool>(), 0..5),
        prop::sample::select(vec![
            ProposalStatus::Open,
            ProposalStatus::Passed,
            ProposalStatus::Rejected,
            ProposalStatus::Expired,
        ]),
    )
        .prop_map(
            |(id, kind, proposer, created, expires, votes, status)| StateProposal {
                id: ProposalId(id),
                kind,
                proposer,
                created,
                expires,
                votes,
                status,
            },
        )
}

fn retirement() -> impl Strategy<Value = Retirement> {
    (n64(), acct(), wh(), text(), text(), parts(), height()).prop_map(
        |(id, account, amount, beneficiary, purpose, consumed, height)| Retirement {
            id: RetirementId(id),
            account,
            amount,
            beneficiary,
            purpose,
            consumed,
            height,
        },
    )
}

fn debt() -> impl Strategy<Value = Debt> {
    (zone_id(), wh(), n64()).prop_map(|(zone, amount, deadline)| Debt {
        zone,
        amount,
        deadline,
    })
}

fn device_owner() -> impl Strategy<Value = DeviceOwner> {
    prop_oneof![
        n64().prop_map(|m| DeviceOwner::Meter(MeterId(m))),
        n64().prop_map(|s| DeviceOwner::Site(SiteId(s))),
    ]
}

// ---- strategies: events --------------------------------------------------

fn event() -> impl Strategy<Value = Event> {
    let s = || n64().prop_map(SiteId);
    let m = || n64().prop_map(MeterId);
    let p = || n64().prop_map(ProposalId);
    prop_oneof![
        (m(), n64(), acct(), vintage(), source(), wh()).prop_map(
            |(meter, sequence, owner, vintage, source, amount)| Event::Minted {
                meter,
                sequence,
                owner,
                vintage,
                source,
                amount
            }
        ),
        (acct(), acct(), parts()).prop_map(|(from, to, parts)| Event::Transferred {
            from,
            to,
            parts
        }),
        (n64(), acct(), parts()).prop_map(|(id, account, parts)| Event::Retired {
            id: RetirementId(id),
            account,
            parts
        }),
        (s(), n64(), hour(), bucket(), wh()).prop_map(|(site, sequence, hour, bucket, amount)| {
            Event::Consumed {
                site,
                sequence,
                hour,
                bucket,
                amount,
            }
        }),
        (s(), acct(), parts()).prop_map(|(site, owner, parts)| Event::Burned {
            site,
            owner,
            parts
        }),
        (s(), bucket(), wh(), n64()).prop_map(|(site, bucket, amount, deadline)| {
            Event::DebtOpened {
                site,
                bucket,
                amount,
                deadline,
            }
        }),
        (s(), bucket(), wh(), wh()).prop_map(|(site, bucket, amount, remaining)| {
            Event::DebtSettled {
                site,
                bucket,
                amount,
                remaining,
            }
        }),
        (s(), bucket(), wh()).prop_map(|(site, bucket, amount)| Event::ShortfallRecorded {
            site,
            bucket,
            amount
        }),
        (s(), wh(), wh()).prop_map(|(site, shortfall, cost)| Event::ShortfallSettled {
            site,
            shortfall,
            cost
        }),
        (s(), violation_kind(), prop::option::of(n64()), "\\PC{0,40}").prop_map(
            |(site, violation, sequence, detail)| Event::Violation {
                site,
                violation,
                sequence,
                detail
            }
        ),
        (acct(), vintage(), wh()).prop_map(|(account, vintage, amount)| Event::Expired {
            account,
            vintage,
            amount
        }),
        (acct(), vintage(), wh(), text()).prop_map(|(account, vintage, amount, reason)| {
            Event::Withdrawn {
                account,
                vintage,
                amount,
                reason,
            }
        }),
        (m(), acct(), acct(), zone_id(), source(), watts()).prop_map(
            |(meter, operator, owner, zone, source, capacity)| Event::MeterRegistered {
                meter,
                operator,
                owner,
                zone,
                source,
                capacity
            }
        ),
        (m(), pk()).prop_map(|(meter, device_key)| Event::MeterApproved { meter, device_key }),
        (m(), pk(), wh(), wh()).prop_map(|(meter, new_device_key, old_counter, new_counter)| {
            Event::MeterKeyReplaced {
                meter,
                new_device_key,
                old_counter,
                new_counter,
            }
        }),
        (m(), n64(), wh()).prop_map(|(meter, baseline_time, forfeited)| {
            Event::MeterResynced {
                meter,
                baseline_time,
                forfeited,
            }
        }),
        (m(), acct()).prop_map(|(meter, operator)| Event::MeterOperatorChanged { meter, operator }),
        (m(), text()).prop_map(|(meter, reason)| Event::MeterRevoked { meter, reason }),
        (s(), acct(), zone_id(), watts()).prop_map(|(site, owner, zone, max_draw)| {
            Event::SiteRegistered {
                site,
                owner,
                zone,
                max_draw,
            }
        }),
        (s(), text()).prop_map(|(site, reason)| Event::SiteSuspended { site, reason }),
        (s(), text()).prop_map(|(site, reason)| Event::SiteReinstated { site, reason }),
        (s(), text()).prop_map(|(site, reason)| Event::SiteRevoked { site, reason }),
        (s(), pk()).prop_map(|(site, new_device_key)| Event::SiteKeyReplaced {
            site,
            new_device_key
        }),
        (zone_id(), hour()).prop_map(|(zone, effective_hour)| Event::ZonePolicySet {
            zone,
            effective_hour
        }),
        zone_id().prop_map(|zone| Event::ZonePolicyActivated { zone }),
        (p(), acct())
            .prop_map(|(proposal, proposer)| Event::ProposalCreated { proposal, proposer }),
        (p(), acct(), any::<bool>()).prop_map(|(proposal, voter, approve)| Event::Voted {
            proposal,
            voter,
            approve
        }),
        (p(), height()).prop_map(|(proposal, activation)| Event::ProposalPassed {
            proposal,
            activation
        }),
        p().prop_map(|proposal| Event::ProposalRejected { proposal }),
        p().prop_map(|proposal| Event::ProposalExpired { proposal }),
        (pk(), acct(), height(), height()).prop_map(
            |(consensus_key, operator, height, activation)| Event::EquivocationProven {
                consensus_key,
                operator,
                height,
                activation
            }
        ),
        (hash(), any::<u32>()).prop_map(|(validator_set_hash, count)| {
            Event::AuthoritiesChanged {
                validator_set_hash,
                count,
            }
        }),
        any::<u32>().prop_map(|count| Event::RegulatorsChanged { count }),
        Just(Event::ParamsChanged),
    ]
}

fn event_record() -> impl Strategy<Value = EventRecord> {
    (prop::option::of(any::<u32>()), event())
        .prop_map(|(tx_index, event)| EventRecord { tx_index, event })
}

// ---- the tests -------------------------------------------------------------

/// One test per type; the module keeps test names apart from strategies.
mod canonical {
    use super::*;

    canonical! {
    transaction_every_body_is_canonical: Transaction = transaction();
    unsigned_tx_every_body_is_canonical: UnsignedTx = unsigned_tx();
    generation_reading_is_canonical: GenerationReading = gen_reading();
    consumption_reading_is_canonical: ConsumptionReading = cons_reading();
    signed_generation_reading_is_canonical: Signed<GenerationReading> = signed(gen_reading());
    signed_consumption_reading_is_canonical: Signed<ConsumptionReading> = signed(cons_reading());
    header_is_canonical: Header = header();
    block_is_canonical: Block = block();
    proposal_is_canonical: Proposal = proposal();
    signed_proposal_is_canonical: SignedProposal = signed_proposal();
    vote_is_canonical: Vote = vote();
    signed_vote_is_canonical: SignedVote = signed_vote();
    commit_certificate_is_canonical: CommitCertificate = commit();
    validator_set_is_canonical: ValidatorSet = validator_set();
    genesis_is_canonical: Genesis = genesis();
    account_value_is_canonical: Account = account();
    meter_value_is_canonical: Meter = meter();
    site_value_is_canonical: Site = site();
    zone_value_is_canonical: Zone = zone();
    chain_state_value_is_canonical: ChainState = chain_state();
    proposal_value_is_canonical: StateProposal = state_proposal();
    retirement_value_is_canonical: Retirement = retirement();
    debt_value_is_canonical: Debt = debt();
    device_owner_value_is_canonical: DeviceOwner = device_owner();
    event_is_canonical: Event = event();
    event_record_is_canonical: EventRecord = event_record();
    zone_id_is_canonical: ZoneId = zone_id();
    vintage_is_canonical: Vintage = vintage();
    zone_policy_is_canonical: ZonePolicy = policy();
    chain_params_is_canonical: ChainParams = params();
    }
}

/// Every body variant is reachable by the strategy, so the round trip
/// above covers them all.
#[test]
fn the_body_strategy_reaches_every_variant() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = body();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..3_000 {
        seen.insert(strategy.new_tree(&mut runner).unwrap().current().name());
    }
    assert_eq!(seen.len(), 23, "{seen:?}");
}

#[test]
fn the_event_strategy_reaches_every_variant() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = event();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..5_000 {
        seen.insert(strategy.new_tree(&mut runner).unwrap().current().kind());
    }
    assert_eq!(seen.len(), 34, "{seen:?}");
}

/// Hand-made non-canonical encodings that a lax decoder would accept.
#[test]
fn known_non_canonical_forms_are_refused() {
    // Holdings out of key order, or with a duplicate key.
    let v1 = Vintage {
        zone: ZoneId::new("AA").unwrap(),
        hour: Hour(1),
    };
    let v2 = Vintage {
        zone: ZoneId::new("AA").unwrap(),
        hour: Hour(2),
    };
    let mut holdings = BTreeMap::new();
    holdings.insert(v1.clone(), Wh(1));
    holdings.insert(v2.clone(), Wh(2));
    let good = encode(&Account { nonce: 0, holdings });
    let entry = |v: &Vintage, w: u64| {
        let mut b = encode(v);
        b.extend_from_slice(&w.to_le_bytes());
        b
    };
    for (a, b) in [
        (entry(&v2, 2), entry(&v1, 1)),
        (entry(&v1, 1), entry(&v1, 2)),
    ] {
        let mut bad = 0u64.to_le_bytes().to_vec();
        bad.extend_from_slice(&2u32.to_le_bytes());
        bad.extend(a);
        bad.extend(b);
        assert_eq!(bad.len(), good.len());
        assert!(decode::<Account>(&bad).is_err());
    }
    // A validator set out of key order.
    let v = |k: u8| Validator {
        consensus_key: PublicKey([k; 32]),
        operator: AccountId(PublicKey([k; 32])),
        name: BoundedString::new("v").unwrap(),
    };
    let set = ValidatorSet::new(vec![v(1), v(2)]).unwrap();
    assert_eq!(decode::<ValidatorSet>(&encode(&set)), Ok(set));
    let unsorted = encode(&BoundedVec::<Validator, 256>::new(vec![v(2), v(1)]).unwrap());
    assert!(decode::<ValidatorSet>(&unsorted).is_err());
    // A lowercase zone id, a bool of 2, an unknown body tag.
    assert!(decode::<ZoneId>(&encode(&"ru-bu".to_string())).is_err());
    assert!(decode::<bool>(&[2]).is_err());
    let mut tx_bytes = encode(&UnsignedTx {
        chain_id: Hash::ZERO,
        signer: AccountId(PublicKey([1; 32])),
        nonce: 0,
        body: Body::ApproveMeter { meter: MeterId(1) },
    });
    tx_bytes[32 + 32 + 8] = 23;
    assert!(decode::<UnsignedTx>(&tx_bytes).is_err());
}
