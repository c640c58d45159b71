//! Golden vectors of the regulator's sandbox (docs/encoding.md sections 5,
//! 6, 9 and 10, docs/protocol.md §18), pinned in
//! `runtime/tests/vectors/sandbox.json`: the six sandbox bodies in
//! transactions (a curtailment of each target kind), a curtailment
//! acknowledgement signed by a site's owner, every sandbox event and the
//! violations of the two new kinds, and one state entry of each of the
//! sandbox tables `0x17` to `0x20`.
//!
//! Everything is built the way `feeders.json` is (same seeds, chain id,
//! feeder and [`Vectors`] writer), and each vector's JSON is read back
//! through the RPC's views where there is one.

use super::feeders::{state_entry, view_of};
use super::*;
use watt_runtime::feeder::FeederId;
use watt_runtime::sandbox::{
    allowed_energy, honoured, month_of, shares, CurtailTarget, CurtailmentAck, OrderId,
    PermitTerms, ALL_MONTHS,
};
use watt_runtime::state::{
    Curtailment, OrderSite, PendingWindow, Permit, Verdict, ViolationKind, ZoneSandbox,
};
use watt_runtime::tx::Signed;

/// The regulator (as in `transactions.json` and `feeders.json`).
const REGULATOR: u8 = 5;
/// Site 1's owner (`register-site` in `transactions.json`), who signs the
/// acknowledgement and relays it.
const OWNER: u8 = 2;
/// The zone's grid operator.
const GRID_OPERATOR: u8 = 16;
/// The hour of 2026-01-01T00:00Z, unix seconds / 3600.
const HOUR: u64 = 490_896;
/// Order 1's window (on feeder `RU-BU/F12`): 18:00 to 21:00 UTC on
/// 2026-01-01, three hours of evening peak.
const START: u64 = (HOUR + 18) * 3600;
const END: u64 = (HOUR + 21) * 3600;
/// The most all of order 1's affected sites may draw together.
const MAX_MINING: Watts = Watts(25_003);
/// Order 2 (the whole zone, no mining at all) starts an hour later and is
/// cancelled half an hour into its window.
const ZONE_START: u64 = START + 3600;
const CANCEL_AT: u64 = ZONE_START + 1800;

fn feeder_id() -> FeederId {
    FeederId::new("RU-BU/F12").expect("valid feeder id")
}

/// March to November (a winter ban), every hour but 17:00 to 21:00 UTC,
/// until 2027-01-01T00:00Z.
fn terms() -> PermitTerms {
    let months = ALL_MONTHS & !(1 << 0 | 1 << 1 | 1 << 11);
    let hours = (0..24u32)
        .filter(|h| !(17..21).contains(h))
        .fold(0u32, |m, h| m | 1 << h);
    let t = PermitTerms {
        max_power: Watts(80_000),
        months,
        hours,
        monthly_quota: Wh(40_000_000),
        expires: (HOUR + 365 * 24) * 3600,
    };
    assert_eq!(t.check(), Ok(()));
    assert_eq!((t.months, t.hours), (0x07fc, 0x00e1_ffff));
    t
}

/// The weights of the feeder's two permitted sites: site 1's permit of
/// 80 kW and site 2's of 20 kW, together exactly the feeder's mining share
/// (400 kW x 250 / 1000; equality is allowed).
fn weights() -> [(SiteId, Watts); 2] {
    [(SiteId(1), Watts(80_000)), (SiteId(2), Watts(20_000))]
}

/// Order 1's shares: 25 003 W x 4/5 and x 1/5, each rounded down (20 002
/// and 5 000: a watt of the order goes to no one).
fn order_shares() -> Vec<(SiteId, Watts)> {
    let s = shares(MAX_MINING, &weights());
    assert_eq!(
        s,
        vec![(SiteId(1), Watts(20_002)), (SiteId(2), Watts(5_000))]
    );
    s
}

fn ack() -> CurtailmentAck {
    CurtailmentAck {
        order: OrderId(1),
        site: SiteId(1),
        seen_at: START - 3600 + 42,
    }
}

/// The sandbox bodies, tags 29 to 34, with their signers.
fn sandbox_bodies() -> Vec<(&'static str, u8, Body)> {
    vec![
        (
            "set-zone-sandbox",
            REGULATOR,
            Body::SetZoneSandbox {
                zone: zone(),
                permits_required: true,
                grid_operators: BoundedVec::new(vec![acct(GRID_OPERATOR)]).expect("one"),
            },
        ),
        (
            "issue-permit",
            REGULATOR,
            Body::IssuePermit {
                site: SiteId(1),
                terms: terms(),
            },
        ),
        (
            "revoke-permit",
            REGULATOR,
            Body::RevokePermit {
                site: SiteId(1),
                reason: text("feeder reinforcement postponed"),
            },
        ),
        (
            "curtail-feeder",
            GRID_OPERATOR,
            Body::Curtail {
                target: CurtailTarget::Feeder(feeder_id()),
                start: START,
                end: END,
                max_mining: MAX_MINING,
            },
        ),
        (
            "curtail-zone",
            GRID_OPERATOR,
            Body::Curtail {
                target: CurtailTarget::Zone(zone()),
                start: ZONE_START,
                end: END,
                max_mining: Watts(0),
            },
        ),
        (
            "cancel-curtailment",
            GRID_OPERATOR,
            Body::CancelCurtailment { order: OrderId(2) },
        ),
        (
            "ack-curtailment",
            OWNER,
            Body::AckCurtailment {
                ack: ack().sign(&CHAIN, &key(OWNER)),
            },
        ),
    ]
}

fn transactions(v: &mut Vectors) {
    for (nonce, (name, signer, body)) in sandbox_bodies().into_iter().enumerate() {
        let (u, t) = tx(signer, nonce as u64, body);
        assert_eq!(decode::<Transaction>(&encode(&t)).expect("round-trips"), t);
        let fields = view::Transaction::from(t.clone());
        let back: view::Transaction = view_of(name, &serde_json::to_value(&fields).expect("json"));
        let back = Transaction::try_from(back).expect("the view converts to the ledger");
        assert_eq!(back, t, "{name}: JSON -> view -> ledger");
        let c = t.signature_check();
        assert!(
            watt_runtime::crypto::verify_each(&[c]).remove(0).is_ok(),
            "{name}: signature verifies"
        );
        v.signed(
            name,
            "Transaction",
            signer,
            &fields,
            &encode(&u),
            u.signing_hash(),
            &t.signature.0,
            &encode(&t),
            Some(t.hash()),
        );
    }
}

/// The owner's signed acknowledgement on its own.
fn acknowledgement(v: &mut Vectors) {
    let a = ack();
    let h = a.signing_hash(&CHAIN);
    assert_eq!(
        h,
        Domain::CurtailmentAck.signing_hash(&CHAIN, &encode(&a)),
        "watt/curtailment-ack/v1 over chain id || ack"
    );
    let s: Signed<CurtailmentAck> = a.clone().sign(&CHAIN, &key(OWNER));
    assert!(
        watt_runtime::crypto::verify(&key(OWNER).public(), &h, &s.signature).is_ok(),
        "the owner's signature verifies"
    );
    let (unsigned, encoded) = (encode(&a), encode(&s));
    assert_eq!(&encoded[..unsigned.len()], &unsigned[..]);
    assert_eq!(&encoded[unsigned.len()..], &s.signature.0[..]);
    let fields = view::Signed::<view::CurtailmentAck>::from(s.clone());
    let back: view::Signed<view::CurtailmentAck> = view_of(
        "curtailment-ack",
        &serde_json::to_value(&fields).expect("json"),
    );
    assert_eq!(
        CurtailmentAck::from(back.reading),
        a,
        "JSON -> view -> ledger"
    );
    assert_eq!(back.signature, s.signature);
    v.signed(
        "curtailment-ack",
        "Signed<CurtailmentAck>",
        OWNER,
        &fields,
        &unsigned,
        h,
        &s.signature.0,
        &encoded,
        None,
    );
}

/// Every sandbox event (tags 44 to 50), and a violation of each new kind
/// (tag 9), each a record of its own.
fn sandbox_events() -> Vec<(&'static str, EventRecord)> {
    let tolerance = ZonePolicy::default().plausibility_tolerance_pct;
    let share = order_shares()[0].1;
    let allowed = allowed_energy(share, END - START, tolerance);
    // One Wh above what the share allows: breached, compared exactly.
    let used = Wh(allowed.0 + 1);
    assert!(honoured(allowed, share, END - START, tolerance));
    assert!(!honoured(used, share, END - START, tolerance));
    let in_tx = |event| EventRecord {
        tx_index: Some(0),
        event,
    };
    let in_block = |event| EventRecord {
        tx_index: None,
        event,
    };
    vec![
        (
            "event-zone-sandbox-set",
            in_tx(Event::ZoneSandboxSet {
                zone: zone(),
                permits_from: Some(Hour(HOUR + 1)),
                grid_operators: vec![acct(GRID_OPERATOR)],
            }),
        ),
        (
            "event-zone-sandbox-set-no-permits",
            in_tx(Event::ZoneSandboxSet {
                zone: zone(),
                permits_from: None,
                grid_operators: vec![],
            }),
        ),
        (
            "event-permit-issued",
            in_tx(Event::PermitIssued {
                site: SiteId(1),
                feeder: feeder_id(),
                terms: terms(),
            }),
        ),
        (
            "event-permit-revoked",
            in_tx(Event::PermitRevoked {
                site: SiteId(1),
                reason: text("feeder reinforcement postponed"),
            }),
        ),
        (
            "event-curtailment-ordered",
            in_tx(Event::CurtailmentOrdered {
                order: OrderId(1),
                target: CurtailTarget::Feeder(feeder_id()),
                zone: zone(),
                start: START,
                end: END,
                max_mining: MAX_MINING,
                shares: order_shares(),
            }),
        ),
        (
            "event-curtailment-cancelled",
            in_tx(Event::CurtailmentCancelled {
                order: OrderId(2),
                at: CANCEL_AT,
                judged: true,
            }),
        ),
        (
            "event-curtailment-acknowledged",
            in_tx(Event::CurtailmentAcknowledged {
                order: OrderId(1),
                site: SiteId(1),
                seen_at: ack().seen_at,
            }),
        ),
        (
            "event-curtailment-verdict-breached",
            in_block(Event::CurtailmentVerdict {
                order: OrderId(1),
                site: SiteId(1),
                share,
                start: START,
                end: END,
                used,
                allowed,
                reported: true,
                honoured: false,
            }),
        ),
        (
            "event-violation-permit-breach",
            in_tx(Event::Violation {
                site: SiteId(1),
                violation: ViolationKind::PermitBreach,
                sequence: Some(12),
                detail: "outOfSeason: 1600 Wh in hour 490896 outside the permit".into(),
            }),
        ),
        (
            "event-violation-curtailment-breach",
            in_block(Event::Violation {
                site: SiteId(1),
                violation: ViolationKind::CurtailmentBreach,
                sequence: None,
                detail: format!(
                    "order 1: {} Wh in [{START}, {END}), above the {} Wh its {} W share allows",
                    used, allowed, share
                ),
            }),
        ),
    ]
}

fn events(v: &mut Vectors) {
    let mut kinds = std::collections::BTreeSet::new();
    for (name, record) in sandbox_events() {
        let encoded = encode(&record);
        let root = event_root(std::slice::from_ref(&record));
        let mut leaf = vec![0u8];
        leaf.extend_from_slice(&encoded);
        assert_eq!(
            root,
            Domain::EventRoot.hash(&leaf),
            "one record's root is its leaf"
        );
        assert_eq!(
            decode::<EventRecord>(&encoded).expect("round-trips"),
            record
        );
        kinds.insert((encode(&record.event)[0], record.event.kind()));
        let fields = view::EventRecord::from(record);
        let back: view::EventRecord = view_of(name, &serde_json::to_value(&fields).expect("json"));
        assert_eq!(back, fields, "{name}: JSON -> view");
        v.plain(name, "EventRecord", &fields, &encoded, Some(root));
    }
    // Every sandbox event has a vector, with tags 44 to 50 (and the
    // violation's 9).
    let tags: Vec<u8> = kinds.iter().map(|(t, _)| *t).collect();
    assert_eq!(tags, [9, 44, 45, 46, 47, 48, 49, 50]);
}

fn share_json(s: &[(SiteId, Watts)]) -> Value {
    json!(s
        .iter()
        .map(|(site, w)| json!({"site": site, "shareW": w.0.to_string()}))
        .collect::<Vec<_>>())
}

fn state(v: &mut Vectors) {
    let fid = || json!(view::FeederId::from(feeder_id()));
    let sandbox = ZoneSandbox {
        permits_from: Some(Hour(HOUR + 1)),
        grid_operators: vec![acct(GRID_OPERATOR)],
    };
    state_entry(
        v,
        "state-entry-zone-sandbox",
        "ZoneSandbox",
        StateKey::ZoneSandbox(zone()),
        json!({"zone": zone()}),
        json!({
            "permitsFrom": sandbox.permits_from,
            "gridOperators": sandbox.grid_operators,
        }),
        &encode(&sandbox),
    );
    let permit = Permit {
        site: SiteId(1),
        feeder: feeder_id(),
        terms: terms(),
        issued_ms: 1_767_225_601_000,
        revoked: None,
    };
    state_entry(
        v,
        "state-entry-permit",
        "Permit",
        StateKey::Permit(SiteId(1)),
        json!({"site": 1}),
        json!({
            "site": permit.site,
            "feeder": fid(),
            "terms": view::PermitTerms::from(permit.terms.clone()),
            "issuedMs": permit.issued_ms,
            "revoked": permit.revoked.as_ref().map(|t| t.as_str().to_string()),
        }),
        &encode(&permit),
    );
    state_entry(
        v,
        "state-entry-feeder-permit",
        "FeederPermit",
        StateKey::FeederPermit(feeder_id(), SiteId(1)),
        json!({"feeder": fid(), "site": 1}),
        Value::Null,
        &encode(&()),
    );
    // March 2026: 2026 x 12 + 3 - 1.
    let (month, m) = month_of(Hour(HOUR + (31 + 28) * 24));
    assert_eq!((month, m), (2026 * 12 + 2, 3));
    let usage = Wh(1_234_567);
    state_entry(
        v,
        "state-entry-permit-usage",
        "PermitUsage",
        StateKey::PermitUsage(SiteId(1), month),
        json!({"site": 1, "month": month}),
        json!(usage),
        &encode(&usage),
    );
    // Order 2: the zone order, cancelled during its window.
    let order = Curtailment {
        id: OrderId(2),
        target: CurtailTarget::Zone(zone()),
        zone: zone(),
        issuer: acct(GRID_OPERATOR),
        start: ZONE_START,
        end: END,
        max_mining: Watts(0),
        cancelled_at: Some(CANCEL_AT),
        shares: shares(Watts(0), &weights()),
        judged: false,
        ordered_ms: (START - 7200) * 1000,
    };
    assert_eq!(order.judged_window(), Some((ZONE_START, CANCEL_AT)));
    state_entry(
        v,
        "state-entry-order",
        "Curtailment",
        StateKey::Order(order.id),
        json!({"order": order.id.0}),
        json!({
            "id": order.id.0,
            "target": view::CurtailTarget::from(order.target.clone()),
            "zone": order.zone,
            "issuer": order.issuer,
            "start": order.start,
            "end": order.end,
            "maxMiningW": order.max_mining.0.to_string(),
            "cancelledAt": order.cancelled_at,
            "shares": share_json(&order.shares),
            "judged": order.judged,
            "orderedMs": order.ordered_ms,
        }),
        &encode(&order),
    );
    let tolerance = ZonePolicy::default().plausibility_tolerance_pct;
    let share = order_shares()[0].1;
    let verdict = Verdict {
        used: Wh(41_250),
        allowed: allowed_energy(share, END - START, tolerance),
        reported: true,
        honoured: true,
    };
    assert!(honoured(verdict.used, share, END - START, tolerance));
    let os = OrderSite {
        share,
        used: verdict.used,
        acked_at: Some(ack().seen_at),
        verdict: Some(verdict),
    };
    state_entry(
        v,
        "state-entry-order-site",
        "OrderSite",
        StateKey::OrderSite(OrderId(1), SiteId(1)),
        json!({"order": 1, "site": 1}),
        json!({
            "shareW": os.share.0.to_string(),
            "used": os.used,
            "ackedAt": os.acked_at,
            "verdict": {
                "used": verdict.used,
                "allowed": verdict.allowed,
                "reported": verdict.reported,
                "honoured": verdict.honoured,
            },
        }),
        &encode(&os),
    );
    // Order 2's pending window, cut at the cancel.
    let window = PendingWindow {
        start: ZONE_START,
        end: CANCEL_AT,
    };
    state_entry(
        v,
        "state-entry-pending-order",
        "PendingWindow",
        StateKey::PendingOrder(zone(), OrderId(2)),
        json!({"zone": zone(), "order": 2}),
        json!({"start": window.start, "end": window.end}),
        &encode(&window),
    );
    // Order 1 is judged in the first block after its end plus the grace.
    let due = END + ChainParams::default().settlement_grace_s;
    state_entry(
        v,
        "state-entry-order-due",
        "OrderDue",
        StateKey::OrderDue(due, OrderId(1)),
        json!({"judgeAfter": due, "order": 1}),
        Value::Null,
        &encode(&()),
    );
    state_entry(
        v,
        "state-entry-order-count",
        "OrderCount",
        StateKey::OrderCount,
        json!({}),
        json!(2u64),
        &encode(&2u64),
    );
    state_entry(
        v,
        "state-entry-feeder-site",
        "FeederSite",
        StateKey::FeederSite(feeder_id(), SiteId(1)),
        json!({"feeder": fid(), "site": 1}),
        Value::Null,
        &encode(&()),
    );
}

#[test]
fn sandbox() {
    let mut v = Vectors::new("sandbox");
    transactions(&mut v);
    acknowledgement(&mut v);
    events(&mut v);
    state(&mut v);
    // Every sandbox body has a vector, with tags 29 to 34 right after the
    // feeders' 23 to 28 (feeders.json checks 0 to 28); both curtailment
    // targets appear.
    let tags: std::collections::BTreeMap<u8, &str> = sandbox_bodies()
        .iter()
        .map(|(_, _, b)| (encode(b)[0], b.name()))
        .collect();
    assert_eq!(
        tags.keys().copied().collect::<Vec<u8>>(),
        (29..35).collect::<Vec<u8>>()
    );
    assert_eq!(tags[&29], "SetZoneSandbox");
    assert_eq!(tags[&34], "AckCurtailment");
    let targets: std::collections::BTreeSet<u8> = sandbox_bodies()
        .iter()
        .filter_map(|(_, _, b)| match b {
            Body::Curtail { target, .. } => Some(encode(target)[0]),
            _ => None,
        })
        .collect();
    assert_eq!(targets.into_iter().collect::<Vec<_>>(), [0, 1]);
    // One entry of each sandbox table, 0x17 to 0x20.
    let tables: std::collections::BTreeSet<u8> = v
        .items
        .iter()
        .filter_map(|i| i.get("key_hex")?.as_str())
        .map(|k| u8::from_str_radix(&k[2..4], 16).expect("hex"))
        .collect();
    assert_eq!(
        tables.into_iter().collect::<Vec<u8>>(),
        (0x17..=0x20).collect::<Vec<u8>>()
    );
    v.check();
}
