//! The feeder views: round trips of the feeder bodies, the JSON form of
//! the feeder events and the errors a malformed feeder id gives.

use crate::view::{Body, Event, FeederId, ViewError};
use serde_json::Value;
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::BoundedVec;
use watt_runtime::events as ledger_events;
use watt_runtime::feeder as ledger;
use watt_runtime::testkit::{key, text, zone};
use watt_runtime::tx as ledger_tx;
use watt_runtime::types::{Hour, MeterId, SiteId, Watts, Wh};

const CHAIN: Hash = Hash([0x11; 32]);

fn fid(s: &str) -> ledger::FeederId {
    ledger::FeederId::new(s).unwrap()
}

fn new_feeder(declared_key: bool) -> ledger::NewFeeder {
    ledger::NewFeeder {
        id: fid("RU-BU/F12"),
        zone: zone(),
        rated_capacity: Watts(2_000_000),
        loss_permille: 30,
        alert_floor: Wh(500),
        alert_hours: 3,
        mining_share_permille: 400,
        head_key: key("head").public(),
        baseline_time: 1_767_225_600,
        baseline_import: Wh(10_000_000_000_000_000_000),
        baseline_export: Wh(0),
        declared_key: declared_key.then(|| key("mdm").public()),
    }
}

fn feeder_bodies() -> Vec<ledger_tx::Body> {
    let reading = |sequence, import| ledger::FeederReading {
        feeder: fid("RU-BU/F12"),
        sequence,
        period_start: 1_767_225_600 + (sequence - 1) * 900,
        period_end: 1_767_225_600 + sequence * 900,
        import: Wh(import),
        export: Wh(7),
        flags: 0b010,
    };
    let load = |hour| ledger::DeclaredLoad {
        feeder: fid("RU-BU/F12"),
        hour: Hour(hour),
        energy: Wh(u64::MAX),
    };
    vec![
        ledger_tx::Body::RegisterFeeder {
            feeder: new_feeder(true),
        },
        ledger_tx::Body::RegisterFeeder {
            feeder: new_feeder(false),
        },
        ledger_tx::Body::AttachToFeeder {
            device: ledger::Attachee::Meter(MeterId(3)),
            feeder: fid("RU-BU/F12"),
            from_hour: Hour(490_896),
        },
        ledger_tx::Body::AttachToFeeder {
            device: ledger::Attachee::Site(SiteId(2)),
            feeder: fid("RU-BU/F12"),
            from_hour: Hour(490_897),
        },
        ledger_tx::Body::SubmitFeederReadings {
            readings: BoundedVec::new(vec![
                reading(1, 1_000).sign(&CHAIN, &key("head")),
                reading(2, 2_500).sign(&CHAIN, &key("head")),
            ])
            .unwrap(),
        },
        ledger_tx::Body::SubmitDeclaredLoad {
            loads: BoundedVec::new(vec![load(490_896).sign(&CHAIN, &key("mdm"))]).unwrap(),
        },
        ledger_tx::Body::ClearFeederAlert {
            feeder: fid("RU-BU/F12"),
            reason: text("inspected: an unregistered load was removed"),
        },
        ledger_tx::Body::ResyncFeederMeter {
            feeder: fid("RU-BU/F12"),
            baseline_time: 1_767_240_000,
            baseline_import: Wh(3_000),
            baseline_export: Wh(18_446_744_073_709_551_615),
        },
    ]
}

/// Every key of every object in a JSON value, nested ones included.
fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, v)| {
            out.push(k.clone());
            keys(v, out);
        }),
        Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

fn assert_camel_case(json: &Value) {
    let mut all = Vec::new();
    keys(json, &mut all);
    for k in all {
        assert!(!k.contains('_'), "key {k:?} is not camelCase in {json}");
    }
}

#[test]
fn every_feeder_body_round_trips_through_json() {
    let tags = [
        "registerFeeder",
        "registerFeeder",
        "attachToFeeder",
        "attachToFeeder",
        "submitFeederReadings",
        "submitDeclaredLoad",
        "clearFeederAlert",
        "resyncFeederMeter",
    ];
    for (body, tag) in feeder_bodies().into_iter().zip(tags) {
        let view = Body::from(body.clone());
        let json = serde_json::to_string(&view).unwrap();
        let value: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["type"], tag, "{json}");
        assert_camel_case(&value);
        let back: Body = serde_json::from_str(&json).unwrap();
        assert_eq!(back, view);
        let ledger_back = ledger_tx::Body::try_from(back).unwrap();
        assert_eq!(ledger_back, body, "{json}");
        assert_eq!(
            ledger_back.name().to_ascii_lowercase(),
            tag.to_ascii_lowercase()
        );
    }
}

#[test]
fn feeder_bodies_follow_the_json_convention() {
    let json = |b: ledger_tx::Body| serde_json::to_value(Body::from(b)).unwrap();
    let bodies = feeder_bodies();
    let register = json(bodies[0].clone());
    let f = &register["feeder"];
    assert_eq!(f["id"], "RU-BU/F12");
    assert_eq!(f["ratedCapacity"], "2000000");
    assert_eq!(f["lossPermille"], 30);
    assert_eq!(f["alertFloor"], "500");
    assert_eq!(f["baselineTime"], 1_767_225_600u64);
    assert_eq!(f["baselineImport"], "10000000000000000000");
    let head = f["headKey"].as_str().unwrap();
    assert_eq!(head, format!("0x{}", hex::encode(key("head").public().0)));
    assert!(f["declaredKey"].as_str().unwrap().starts_with("0x"));
    assert_eq!(
        json(bodies[1].clone())["feeder"]["declaredKey"],
        Value::Null
    );
    assert_eq!(
        json(bodies[2].clone())["device"],
        serde_json::json!({"meter": 3})
    );
    assert_eq!(
        json(bodies[3].clone())["device"],
        serde_json::json!({"site": 2})
    );
    assert_eq!(json(bodies[3].clone())["fromHour"], 490_897);
    let readings = json(bodies[4].clone());
    let r = &readings["readings"][1]["reading"];
    assert_eq!(r["sequence"], 2);
    assert_eq!(r["periodEnd"], 1_767_227_400u64);
    assert_eq!(r["import"], "2500");
    assert_eq!(r["flags"], 2);
    let sig = readings["readings"][1]["signature"].as_str().unwrap();
    assert!(sig.starts_with("0x") && sig == sig.to_ascii_lowercase() && sig.len() == 130);
    let loads = json(bodies[5].clone());
    assert_eq!(loads["loads"][0]["reading"]["energy"], u64::MAX.to_string());
    assert_eq!(loads["loads"][0]["reading"]["hour"], 490_896);
}

#[test]
fn a_feeder_balance_event_has_string_amounts_and_camel_case_keys() {
    let event = ledger_events::Event::FeederBalance {
        feeder: fid("RU-BU/F12"),
        hour: Hour(490_896),
        import: Wh(10_000),
        export: Wh(1_000),
        generation: Wh(2_001),
        consumption: Wh(7_000),
        declared: Wh(4_000),
        allowance: Wh(351),
        unexplained: -350,
        status: ledger::BalanceStatus::Negative,
    };
    let view = Event::from(event);
    let json = serde_json::to_string(&view).unwrap();
    assert_eq!(
        json,
        r#"{"kind":"feederBalance","feeder":"RU-BU/F12","hour":490896,"import":"10000","export":"1000","generation":"2001","consumption":"7000","declared":"4000","allowance":"351","unexplained":"-350","status":"negative"}"#
    );
    assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), view);
    // The residual is exact far beyond 64 bits, in both directions.
    let huge = -2 * (u64::MAX as i128);
    let big = ledger_events::Event::FeederBalance {
        feeder: fid("RU-BU/F12"),
        hour: Hour(1),
        import: Wh(0),
        export: Wh(0),
        generation: Wh(0),
        consumption: Wh(u64::MAX),
        declared: Wh(u64::MAX),
        allowance: Wh(0),
        unexplained: huge,
        status: ledger::BalanceStatus::Unmetered,
    };
    let value = serde_json::to_value(Event::from(big)).unwrap();
    assert_eq!(value["unexplained"], "-36893488147419103230");
    assert_eq!(value["status"], "unmetered");
    let back: Event = serde_json::from_value(value).unwrap();
    assert!(matches!(back, Event::FeederBalance { unexplained, .. } if unexplained == huge));
}

fn feeder_events() -> Vec<ledger_events::Event> {
    use ledger_events::Event as E;
    let f = || fid("RU-BU/F12");
    vec![
        E::FeederRegistered {
            feeder: f(),
            zone: zone(),
            rated_capacity: Watts(2_000_000),
            first_hour: Hour(490_897),
        },
        E::FeederAttached {
            device: ledger::Attachee::Site(SiteId(2)),
            feeder: f(),
            from_hour: Hour(490_897),
        },
        E::FeederMeterResynced {
            feeder: f(),
            baseline_time: 1_767_240_000,
        },
        E::FeederCounterWentDown {
            feeder: f(),
            sequence: 42,
            counter: text("import"),
        },
        E::FeederBalance {
            feeder: f(),
            hour: Hour(490_896),
            import: Wh(1),
            export: Wh(0),
            generation: Wh(0),
            consumption: Wh(0),
            declared: Wh(0),
            allowance: Wh(1),
            unexplained: 0,
            status: ledger::BalanceStatus::Balanced,
        },
        E::UnexplainedLoad {
            feeder: f(),
            from_hour: Hour(490_890),
            through_hour: Hour(490_896),
            hours: 7,
            unexplained: Wh(12_600),
        },
        E::FeederAlertCleared {
            feeder: f(),
            from_hour: Hour(490_890),
            through_hour: Hour(490_896),
            reason: text("inspected"),
        },
        E::FeederOverload {
            feeder: f(),
            hour: Hour(490_896),
            import: Wh(2_100_000),
            consumption: Wh(900_000),
            capacity: Wh(2_000_000),
        },
        E::LateFeederConsumption {
            feeder: f(),
            site: SiteId(2),
            hour: Hour(490_895),
            amount: Wh(500),
        },
        E::LateFeederGeneration {
            feeder: f(),
            meter: MeterId(3),
            hour: Hour(490_895),
            amount: Wh(700),
        },
    ]
}

#[test]
fn feeder_event_kinds_are_the_runtime_kinds_and_keys_are_camel_case() {
    let events = feeder_events();
    assert_eq!(events.len(), 10);
    for event in events {
        let view = Event::from(event.clone());
        assert_eq!(view.kind(), event.kind());
        assert!(ledger_events::EVENT_KINDS.contains(&view.kind()));
        let value = serde_json::to_value(&view).unwrap();
        assert_eq!(value["kind"], event.kind());
        assert_eq!(value["feeder"], "RU-BU/F12");
        assert_camel_case(&value);
        let back: Event = serde_json::from_value(value).unwrap();
        assert_eq!(back, view);
    }
    let registered = serde_json::to_value(Event::from(feeder_events().remove(0))).unwrap();
    assert_eq!(registered["ratedCapacity"], "2000000");
    assert_eq!(registered["firstHour"], 490_897);
    let went_down = serde_json::to_value(Event::from(feeder_events().remove(3))).unwrap();
    assert_eq!(went_down["sequence"], 42);
}

#[test]
fn a_bad_feeder_id_names_its_field() {
    let attach =
        r#"{"type":"attachToFeeder","device":{"meter":3},"feeder":"ru-bu/f12","fromHour":490896}"#;
    let view: Body = serde_json::from_str(attach).unwrap();
    let err = ledger_tx::Body::try_from(view).unwrap_err();
    assert!(
        matches!(
            err,
            ViewError::FeederId {
                field: "feeder",
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with("`feeder`: ") && message.contains("ru-bu/f12"),
        "{message}"
    );

    // Inside a registration and inside a reading the path is named.
    let mut register = serde_json::to_value(Body::from(feeder_bodies().remove(0))).unwrap();
    register["feeder"]["id"] = "X".into();
    let view: Body = serde_json::from_value(register).unwrap();
    let err = ledger_tx::Body::try_from(view).unwrap_err();
    assert!(
        matches!(
            err,
            ViewError::FeederId {
                field: "feeder.id",
                ..
            }
        ),
        "{err:?}"
    );

    let mut readings = serde_json::to_value(Body::from(feeder_bodies().remove(4))).unwrap();
    readings["readings"][1]["reading"]["feeder"] = "RU BU".into();
    let view: Body = serde_json::from_value(readings).unwrap();
    let err = ledger_tx::Body::try_from(view).unwrap_err();
    assert!(
        matches!(
            err,
            ViewError::FeederId {
                field: "readings[].feeder",
                ..
            }
        ),
        "{err:?}"
    );

    let mut loads = serde_json::to_value(Body::from(feeder_bodies().remove(5))).unwrap();
    loads["loads"][0]["reading"]["feeder"] = "".into();
    let view: Body = serde_json::from_value(loads).unwrap();
    let err = ledger_tx::Body::try_from(view).unwrap_err();
    assert!(
        matches!(
            err,
            ViewError::FeederId {
                field: "loads[].feeder",
                ..
            }
        ),
        "{err:?}"
    );

    let good = FeederId("RU-BU/F12".into());
    for bad in [
        r#""+5""#,
        r#""1.0""#,
        r#""""#,
        "-1",
        r#""18446744073709551616""#,
    ] {
        let json = format!(
            r#"{{"feeder":{},"sequence":{bad},"periodStart":0,"periodEnd":900,"import":"0","export":"0","flags":0}}"#,
            serde_json::to_string(&good).unwrap()
        );
        assert!(
            serde_json::from_str::<crate::view::FeederReading>(&json).is_err(),
            "{bad}"
        );
    }
}
