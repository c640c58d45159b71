//! Unit tests of the builders: each names the field it refuses.

use super::*;

#[test]
fn builders_name_the_field_they_refuse() {
    let long = "x".repeat(10_000);
    let e = retire(Wh(1), &long, "lights").unwrap_err();
    assert_eq!(e.field, "beneficiary");
    let e = retire(Wh(1), "town", "bad\u{7}char").unwrap_err();
    assert_eq!(e.field, "purpose");
    let e = submit_readings(vec![]).map(|_| ()).err();
    assert!(e.is_none(), "an empty list is the node's to refuse");
    assert!(retire(Wh(1), "town", "lights").is_ok());
}

fn spec() -> FeederSpec<'static> {
    FeederSpec {
        id: "DEV-1/F1",
        zone: ZoneId::new("DEV-1").unwrap(),
        rated_capacity: Watts(1_000_000),
        loss_permille: 30,
        alert_floor: Wh(100),
        alert_hours: 2,
        mining_share_permille: 500,
        head_key: PublicKey([1; 32]),
        baseline_time: 1_767_225_600,
        baseline_import: Wh(0),
        baseline_export: Wh(0),
        declared_key: None,
    }
}

#[test]
fn feeder_builders_name_the_field_they_refuse() {
    assert!(register_feeder(spec()).is_ok());
    let field = |f: FeederSpec<'_>| register_feeder(f).unwrap_err().field;
    assert_eq!(
        field(FeederSpec {
            id: "dev-1/f1",
            ..spec()
        }),
        "id"
    );
    assert_eq!(
        field(FeederSpec {
            rated_capacity: Watts(0),
            ..spec()
        }),
        "rated_capacity"
    );
    assert_eq!(
        field(FeederSpec {
            loss_permille: 1001,
            ..spec()
        }),
        "loss_permille"
    );
    assert_eq!(
        field(FeederSpec {
            mining_share_permille: 1001,
            ..spec()
        }),
        "mining_share_permille"
    );
    for hours in [0, 169] {
        let f = FeederSpec {
            alert_hours: hours,
            ..spec()
        };
        assert_eq!(field(f), "alert_hours");
    }
    assert_eq!(
        field(FeederSpec {
            baseline_time: 1_767_225_601,
            ..spec()
        }),
        "baseline_time"
    );
    assert_eq!(
        field(FeederSpec {
            declared_key: Some(PublicKey([1; 32])),
            ..spec()
        }),
        "declared_key"
    );
    let site = Attachee::Site(SiteId(1));
    assert_eq!(
        attach_to_feeder(site, "F", Hour(1)).unwrap_err().field,
        "feeder"
    );
    assert!(attach_to_feeder(site, "DEV-1/F1", Hour(1)).is_ok());
    assert_eq!(
        clear_feeder_alert("DEV-1/F1", "  ").unwrap_err().field,
        "reason"
    );
    assert_eq!(
        clear_feeder_alert("DEV-1/F1", "bad\u{7}")
            .unwrap_err()
            .field,
        "reason"
    );
    assert!(clear_feeder_alert("DEV-1/F1", "meter swapped").is_ok());
    let e = resync_feeder_meter("DEV-1/F1", 7_201, Wh(0), Wh(0)).unwrap_err();
    assert_eq!(e.field, "baseline_time");
    assert!(e.reason.contains("7200"), "{e}");
    assert!(resync_feeder_meter("DEV-1/F1", 7_200, Wh(5), Wh(1)).is_ok());
    let e = submit_declared_load(vec![]).map(|_| ()).err();
    assert!(e.is_none(), "an empty list is the node's to refuse");
}
