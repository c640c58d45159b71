//! Golden vectors of feeders (docs/encoding.md sections 5, 6, 9 and 10,
//! docs/protocol.md §17), pinned in `runtime/tests/vectors/feeders.json`:
//! the six feeder bodies in transactions, a signed head meter reading and a
//! signed declared load, every feeder event, and one state entry of each
//! of the feeder tables `0x10` to `0x13`.
//!
//! Everything is built the way the other files' vectors are (same seeds,
//! same chain id, same [`Vectors`] writer), and each vector's JSON is also
//! read back through the RPC's views and converted to the ledger type, which
//! must give the same value (the API accepts what it shows).

use super::*;
use serde::de::DeserializeOwned;
use watt_runtime::feeder::{
    Attachee, BalanceStatus, DeclaredLoad, FeederId, FeederReading, HourFigures, NewFeeder,
};
use watt_runtime::state::{ClosedHour, Feeder, FeederAlert, FeederHour};
use watt_runtime::tx::Signed;

/// The regulator (as in `transactions.json`).
const REGULATOR: u8 = 5;
/// A relayer of readings and loads.
const RELAYER: u8 = 2;
/// The feeder's head meter.
const HEAD: u8 = 14;
/// The distribution operator's declared-load key.
const DECLARED: u8 = 15;
/// The hour of 2026-01-01T00:00Z, unix seconds / 3600.
const HOUR: u64 = 490_896;
/// Loss allowance and alert floor of the vectors' feeder.
const LOSS_PERMILLE: u16 = 30;
const ALERT_FLOOR: Wh = Wh(250);

fn feeder_id() -> FeederId {
    FeederId::new("RU-BU/F12").expect("valid feeder id")
}

fn new_feeder() -> NewFeeder {
    NewFeeder {
        id: feeder_id(),
        zone: zone(),
        rated_capacity: Watts(400_000),
        loss_permille: LOSS_PERMILLE,
        alert_floor: ALERT_FLOOR,
        alert_hours: 3,
        mining_share_permille: 250,
        head_key: key(HEAD).public(),
        baseline_time: HOUR * 3600,
        baseline_import: Wh(1_000_000),
        baseline_export: Wh(20_000),
        declared_key: Some(key(DECLARED).public()),
    }
}

fn feeder_reading() -> FeederReading {
    FeederReading {
        feeder: feeder_id(),
        sequence: 1,
        period_start: HOUR * 3600,
        period_end: HOUR * 3600 + 900,
        import: Wh(1_012_345),
        export: Wh(20_350),
        flags: 0,
    }
}

fn declared_load() -> DeclaredLoad {
    DeclaredLoad {
        feeder: feeder_id(),
        hour: Hour(HOUR),
        energy: Wh(8_400),
    }
}

/// The feeder bodies, tags 23 to 28, with their signers.
fn feeder_bodies() -> Vec<(&'static str, u8, Body)> {
    vec![
        (
            "register-feeder",
            REGULATOR,
            Body::RegisterFeeder {
                feeder: new_feeder(),
            },
        ),
        (
            "attach-to-feeder-site",
            REGULATOR,
            Body::AttachToFeeder {
                device: Attachee::Site(SiteId(1)),
                feeder: feeder_id(),
                from_hour: Hour(HOUR + 1),
            },
        ),
        (
            "submit-feeder-readings",
            RELAYER,
            Body::SubmitFeederReadings {
                readings: BoundedVec::new(vec![feeder_reading().sign(&CHAIN, &key(HEAD))])
                    .expect("one"),
            },
        ),
        (
            "submit-declared-load",
            RELAYER,
            Body::SubmitDeclaredLoad {
                loads: BoundedVec::new(vec![declared_load().sign(&CHAIN, &key(DECLARED))])
                    .expect("one"),
            },
        ),
        (
            "clear-feeder-alert",
            REGULATOR,
            Body::ClearFeederAlert {
                feeder: feeder_id(),
                reason: text("illegal tap removed"),
            },
        ),
        (
            "resync-feeder-meter",
            REGULATOR,
            Body::ResyncFeederMeter {
                feeder: feeder_id(),
                baseline_time: (HOUR + 3) * 3600,
                baseline_import: Wh(1_050_000),
                baseline_export: Wh(21_000),
            },
        ),
    ]
}

/// Reads a vector's JSON back through its view.
pub(super) fn view_of<V: DeserializeOwned>(name: &str, fields: &Value) -> V {
    serde_json::from_value(fields.clone())
        .unwrap_or_else(|e| panic!("{name}: the view does not read its own JSON: {e}"))
}

fn transactions(v: &mut Vectors) {
    for (nonce, (name, signer, body)) in feeder_bodies().into_iter().enumerate() {
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

/// A signed reading or load (with its unsigned and full encodings): the
/// vector, and its JSON read back.
#[allow(clippy::too_many_arguments)]
fn signed_object<L, R>(
    v: &mut Vectors,
    name: &str,
    ty: &str,
    signer: u8,
    signed: Signed<L>,
    signing_hash: Hash,
    unsigned: &[u8],
    encoded: &[u8],
) where
    L: Clone + PartialEq + std::fmt::Debug + TryFrom<R>,
    <L as TryFrom<R>>::Error: std::fmt::Debug,
    R: From<L> + Serialize + DeserializeOwned,
{
    assert!(
        watt_runtime::crypto::verify(&key(signer).public(), &signing_hash, &signed.signature)
            .is_ok(),
        "{name}: signature verifies"
    );
    assert_eq!(&encoded[..unsigned.len()], unsigned);
    assert_eq!(&encoded[unsigned.len()..], &signed.signature.0[..]);
    let fields = view::Signed::<R>::from(signed.clone());
    let back: view::Signed<R> = view_of(name, &serde_json::to_value(&fields).expect("json"));
    let reading = L::try_from(back.reading).expect("the view converts to the ledger");
    assert_eq!(reading, signed.reading, "{name}: JSON -> view -> ledger");
    assert_eq!(back.signature, signed.signature);
    v.signed(
        name,
        ty,
        signer,
        &fields,
        unsigned,
        signing_hash,
        &signed.signature.0,
        encoded,
        None,
    );
}

fn readings(v: &mut Vectors) {
    let r = feeder_reading();
    let h = r.signing_hash(&CHAIN);
    assert_eq!(
        h,
        Domain::FeederReading.signing_hash(&CHAIN, &encode(&r)),
        "watt/feeder-reading/v1 over chain id || reading"
    );
    let s = r.clone().sign(&CHAIN, &key(HEAD));
    let (unsigned, encoded) = (encode(&r), encode(&s));
    signed_object::<_, view::FeederReading>(
        v,
        "feeder-reading",
        "Signed<FeederReading>",
        HEAD,
        s,
        h,
        &unsigned,
        &encoded,
    );
    let d = declared_load();
    let h = d.signing_hash(&CHAIN);
    assert_eq!(
        h,
        Domain::DeclaredLoad.signing_hash(&CHAIN, &encode(&d)),
        "watt/declared-load/v1 over chain id || load"
    );
    let s = d.clone().sign(&CHAIN, &key(DECLARED));
    let (unsigned, encoded) = (encode(&d), encode(&s));
    signed_object::<_, view::DeclaredLoad>(
        v,
        "declared-load",
        "Signed<DeclaredLoad>",
        DECLARED,
        s,
        h,
        &unsigned,
        &encoded,
    );
}

/// Every feeder event (tags 34 to 43), each a record of its own: the
/// encoding is what an event-root leaf hashes, and the hash the event root
/// of a block with that one event (which is its leaf).
fn feeder_events() -> Vec<(&'static str, EventRecord)> {
    // An hour with more metered use than supply: unexplained = -360 Wh,
    // beyond the floor, so negative.
    let negative = HourFigures {
        import: Wh(10_000),
        export: Wh(1_000),
        generation: Wh(2_001),
        consumption: Wh(7_000),
        declared: Wh(4_000),
    };
    let unexplained = negative.unexplained(LOSS_PERMILLE);
    assert!(unexplained < 0, "the vector pins a negative residual");
    let status = negative.status(LOSS_PERMILLE, ALERT_FLOOR);
    assert_eq!(status, BalanceStatus::Negative);
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
            "event-feeder-registered",
            in_tx(Event::FeederRegistered {
                feeder: feeder_id(),
                zone: zone(),
                rated_capacity: Watts(400_000),
                first_hour: Hour(HOUR),
            }),
        ),
        (
            "event-feeder-attached",
            in_tx(Event::FeederAttached {
                device: Attachee::Meter(MeterId(1)),
                feeder: feeder_id(),
                from_hour: Hour(HOUR + 1),
            }),
        ),
        (
            "event-feeder-meter-resynced",
            in_tx(Event::FeederMeterResynced {
                feeder: feeder_id(),
                baseline_time: (HOUR + 3) * 3600,
            }),
        ),
        (
            "event-feeder-counter-went-down",
            in_tx(Event::FeederCounterWentDown {
                feeder: feeder_id(),
                sequence: 7,
                counter: text("export"),
            }),
        ),
        (
            "event-feeder-balance-negative",
            in_block(Event::FeederBalance {
                feeder: feeder_id(),
                hour: Hour(HOUR),
                import: negative.import,
                export: negative.export,
                generation: negative.generation,
                consumption: negative.consumption,
                declared: negative.declared,
                allowance: negative.allowance(LOSS_PERMILLE),
                unexplained,
                status,
            }),
        ),
        (
            "event-unexplained-load",
            in_block(Event::UnexplainedLoad {
                feeder: feeder_id(),
                from_hour: Hour(HOUR),
                through_hour: Hour(HOUR + 2),
                hours: 3,
                unexplained: Wh(4_750),
            }),
        ),
        (
            "event-feeder-alert-cleared",
            in_tx(Event::FeederAlertCleared {
                feeder: feeder_id(),
                from_hour: Hour(HOUR),
                through_hour: Hour(HOUR + 2),
                reason: text("illegal tap removed"),
            }),
        ),
        (
            "event-feeder-overload",
            in_block(Event::FeederOverload {
                feeder: feeder_id(),
                hour: Hour(HOUR),
                import: Wh(412_000),
                consumption: Wh(150_000),
                capacity: Wh(400_000),
            }),
        ),
        (
            "event-late-feeder-consumption",
            in_tx(Event::LateFeederConsumption {
                feeder: feeder_id(),
                site: SiteId(1),
                hour: Hour(HOUR),
                amount: Wh(1_600),
            }),
        ),
        (
            "event-late-feeder-generation",
            in_tx(Event::LateFeederGeneration {
                feeder: feeder_id(),
                meter: MeterId(1),
                hour: Hour(HOUR),
                amount: Wh(12_345),
            }),
        ),
    ]
}

fn events(v: &mut Vectors) {
    let mut kinds = std::collections::BTreeSet::new();
    for (name, record) in feeder_events() {
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
        kinds.insert(record.event.kind());
        let fields = view::EventRecord::from(record);
        let back: view::EventRecord = view_of(name, &serde_json::to_value(&fields).expect("json"));
        assert_eq!(back, fields, "{name}: JSON -> view");
        v.plain(name, "EventRecord", &fields, &encoded, Some(root));
    }
    // Every feeder event has a vector.
    assert_eq!(kinds.len(), 10);
}

/// A state entry in the form of `state-entry-account`, with the key's
/// parts in `key`. `fields` spell out every field of the value by hand, in
/// the JSON convention of docs/rpc.md: an API view of a state value need
/// not show them all, and an implementation needs them all to encode it.
pub(super) fn state_entry(
    v: &mut Vectors,
    name: &str,
    ty: &str,
    key: StateKey,
    parts: Value,
    fields: Value,
    value: &[u8],
) {
    let k = key.encode();
    v.items.push(json!({
        "name": name,
        "type": ty,
        "key": parts,
        "fields": fields,
        "key_hex": hexs(&k),
        "key_hash": watt_runtime::state::key_hash(&k).to_string(),
        "encoded_hex": hexs(value),
        "value_hash": watt_runtime::state::value_hash(value).to_string(),
    }));
}

fn state(v: &mut Vectors) {
    let n = new_feeder();
    let feeder = Feeder {
        id: n.id.clone(),
        zone: n.zone.clone(),
        rated_capacity: n.rated_capacity,
        loss_permille: n.loss_permille,
        alert_floor: n.alert_floor,
        alert_hours: n.alert_hours,
        mining_share_permille: n.mining_share_permille,
        head_key: n.head_key,
        declared_key: n.declared_key,
        head_sequence: 1,
        head_last_end: feeder_reading().period_end,
        head_import: feeder_reading().import,
        head_export: feeder_reading().export,
        open_from: Hour(HOUR + 3),
        run: 3,
        run_from: Hour(HOUR),
        run_energy: Wh(4_750),
        alert: Some(FeederAlert {
            from_hour: Hour(HOUR),
            through_hour: Hour(HOUR + 2),
            hours: 3,
            unexplained: Wh(4_750),
        }),
        registered_ms: 1_767_225_601_000,
    };
    let alert = feeder.alert.clone().expect("an alert");
    state_entry(
        v,
        "state-entry-feeder",
        "Feeder",
        StateKey::Feeder(feeder_id()),
        json!({"feeder": view::FeederId::from(feeder_id())}),
        json!({
            "id": view::FeederId::from(feeder.id.clone()),
            "zone": feeder.zone,
            "ratedCapacity": feeder.rated_capacity.0.to_string(),
            "lossPermille": feeder.loss_permille,
            "alertFloor": feeder.alert_floor,
            "alertHours": feeder.alert_hours,
            "miningSharePermille": feeder.mining_share_permille,
            "headKey": feeder.head_key,
            "declaredKey": feeder.declared_key,
            "headSequence": feeder.head_sequence.to_string(),
            "headLastEnd": feeder.head_last_end,
            "headImport": feeder.head_import,
            "headExport": feeder.head_export,
            "openFrom": feeder.open_from,
            "run": feeder.run,
            "runFrom": feeder.run_from,
            "runEnergy": feeder.run_energy,
            "alert": {
                "fromHour": alert.from_hour,
                "throughHour": alert.through_hour,
                "hours": alert.hours,
                "unexplained": alert.unexplained,
            },
            "registeredMs": feeder.registered_ms,
        }),
        &encode(&feeder),
    );
    let hour = FeederHour {
        import: Wh(3_100),
        export: Wh(40),
        generation: Wh(900),
        consumption: Wh(1_600),
        declared: Some(Wh(2_300)),
        head_seconds: 900,
        counter_down: false,
    };
    state_entry(
        v,
        "state-entry-feeder-hour",
        "FeederHour",
        StateKey::FeederHour(feeder_id(), Hour(HOUR + 3)),
        json!({"feeder": view::FeederId::from(feeder_id()), "hour": HOUR + 3}),
        json!({
            "import": hour.import,
            "export": hour.export,
            "generation": hour.generation,
            "consumption": hour.consumption,
            "declared": hour.declared,
            "headSeconds": hour.head_seconds,
            "counterDown": hour.counter_down,
        }),
        &encode(&hour),
    );
    // The hour HOUR + 3 closes after its end plus the settlement grace.
    let close_after = (HOUR + 4) * 3600 + ChainParams::default().settlement_grace_s;
    state_entry(
        v,
        "state-entry-feeder-due",
        "FeederDue",
        StateKey::FeederDue(close_after, feeder_id()),
        json!({"closeAfter": close_after, "feeder": view::FeederId::from(feeder_id())}),
        Value::Null,
        &encode(&()),
    );
    state_entry(
        v,
        "state-entry-attachment",
        "Attachment",
        StateKey::Attachment(Attachee::Site(SiteId(1)), Hour(HOUR + 1)),
        json!({"device": view::Attachee::from(Attachee::Site(SiteId(1))), "fromHour": HOUR + 1}),
        json!(view::FeederId::from(feeder_id())),
        &encode(&feeder_id()),
    );
    // A closed hour, kept: a negative residual pins the i128.
    let closed = ClosedHour {
        import: Wh(10_000),
        export: Wh(1_000),
        generation: Wh(2_000),
        consumption: Wh(7_000),
        declared: Wh(4_000),
        allowance: Wh(360),
        unexplained: -360,
        status: BalanceStatus::Balanced,
    };
    state_entry(
        v,
        "state-entry-feeder-balance",
        "ClosedHour",
        StateKey::FeederBalance(feeder_id(), Hour(HOUR + 2)),
        json!({"feeder": view::FeederId::from(feeder_id()), "hour": HOUR + 2}),
        json!({
            "import": closed.import,
            "export": closed.export,
            "generation": closed.generation,
            "consumption": closed.consumption,
            "declared": closed.declared,
            "allowance": closed.allowance,
            "unexplained": closed.unexplained.to_string(),
            "status": view::BalanceStatus::from(closed.status),
        }),
        &encode(&closed),
    );
    state_entry(
        v,
        "state-entry-open-alert",
        "OpenAlert",
        StateKey::OpenAlert(feeder_id()),
        json!({"feeder": view::FeederId::from(feeder_id())}),
        Value::Null,
        &encode(&()),
    );
    state_entry(
        v,
        "state-entry-feeder-count",
        "FeederCount",
        StateKey::FeederCount,
        json!({}),
        json!(12u32),
        &encode(&12u32),
    );
}

#[test]
fn feeders() {
    let mut v = Vectors::new("feeders");
    transactions(&mut v);
    readings(&mut v);
    events(&mut v);
    state(&mut v);
    // Every body variant appears in transactions.json or here, with its tag.
    let mut tags = std::collections::BTreeMap::new();
    for (_, _, b) in all_bodies().into_iter().chain(feeder_bodies()) {
        tags.insert(encode(&b)[0], b.name());
    }
    assert_eq!(tags.len(), 29);
    assert_eq!(
        tags.keys().copied().collect::<Vec<u8>>(),
        (0..29).collect::<Vec<u8>>()
    );
    assert_eq!(tags[&23], "RegisterFeeder");
    assert_eq!(tags[&28], "ResyncFeederMeter");
    v.check();
}
