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

fn terms() -> watt_runtime::sandbox::PermitTerms {
    use watt_runtime::sandbox::PermitTerms;
    PermitTerms {
        max_power: Watts(150_000),
        // March to October, 06:00 to 18:00 UTC.
        months: 0b0011_1111_1100,
        hours: (6..18).fold(0, |m, h| m | 1 << h),
        monthly_quota: Wh(50_000_000),
        expires: 1_798_761_600,
    }
}

#[test]
fn sandbox_builders_name_the_field_they_refuse() {
    use watt_runtime::sandbox::{CurtailTarget, OrderId, PermitTerms};
    let site = SiteId(2);
    assert!(issue_permit(site, terms()).is_ok());
    let field = |t: PermitTerms| issue_permit(site, t).unwrap_err();
    for (bad, name) in [
        (
            PermitTerms {
                max_power: Watts(0),
                ..terms()
            },
            "max_power",
        ),
        (
            PermitTerms {
                months: 0,
                ..terms()
            },
            "months",
        ),
        (
            PermitTerms {
                months: 0x1fff,
                ..terms()
            },
            "months",
        ),
        (
            PermitTerms {
                hours: 0,
                ..terms()
            },
            "hours",
        ),
        (
            PermitTerms {
                hours: 1 << 24,
                ..terms()
            },
            "hours",
        ),
        (
            PermitTerms {
                monthly_quota: Wh(0),
                ..terms()
            },
            "monthly_quota",
        ),
        (
            PermitTerms {
                expires: 1_798_761_601,
                ..terms()
            },
            "expires",
        ),
    ] {
        assert_eq!(field(bad).field, name);
    }
    let e = field(PermitTerms {
        months: 0x1000,
        ..terms()
    });
    assert!(
        e.reason.contains("0x1000") && e.reason.contains("12 months"),
        "{e}"
    );

    assert_eq!(revoke_permit(site, " ").unwrap_err().field, "reason");
    assert_eq!(revoke_permit(site, "bad\u{7}").unwrap_err().field, "reason");
    assert!(revoke_permit(site, "feeder rebuilt").is_ok());

    let zone = ZoneId::new("DEV-1").unwrap();
    let a = AccountId(PublicKey([7; 32]));
    let b = AccountId(PublicKey([8; 32]));
    assert!(set_zone_sandbox(zone.clone(), true, vec![a, b]).is_ok());
    assert!(set_zone_sandbox(zone.clone(), false, vec![]).is_ok());
    let e = set_zone_sandbox(zone.clone(), true, vec![a, b, a]).unwrap_err();
    assert_eq!(e.field, "grid_operators");
    assert!(e.reason.contains("named twice"), "{e}");
    let many = (0..17).map(|i| AccountId(PublicKey([i; 32]))).collect();
    assert_eq!(
        set_zone_sandbox(zone.clone(), true, many)
            .unwrap_err()
            .field,
        "grid_operators"
    );

    assert_eq!(feeder_target("dev-1/f1").unwrap_err().field, "target");
    let target = feeder_target("DEV-1/F1").unwrap();
    let start = 1_796_140_800;
    assert!(curtail(target.clone(), start, start + 3600, Watts(100_000)).is_ok());
    assert!(curtail(target.clone(), start, start + 86_400, Watts(0)).is_ok());
    for end in [start, start - 1, start + 86_401] {
        let e = curtail(target.clone(), start, end, Watts(1)).unwrap_err();
        assert_eq!(e.field, "end", "{end}");
    }
    let e = curtail(CurtailTarget::Zone(zone), start, start + 90_000, Watts(1)).unwrap_err();
    assert!(e.reason.contains("24 h"), "{e}");

    assert_eq!(cancel_curtailment(OrderId(0)).unwrap_err().field, "order");
    assert!(cancel_curtailment(OrderId(1)).is_ok());
}

#[test]
fn an_ack_is_signed_by_the_owner_key_for_the_chain() {
    use watt_runtime::crypto::verify;
    use watt_runtime::sandbox::OrderId;
    let chain = Hash([3; 32]);
    let owner = Keypair::from_seed([9; 32]);
    let e = sign_curtailment_ack(&chain, &owner, OrderId(0), SiteId(1), 5).unwrap_err();
    assert_eq!(e.field, "order");
    let signed =
        sign_curtailment_ack(&chain, &owner, OrderId(4), SiteId(1), 1_796_140_000).unwrap();
    assert_eq!(signed.reading.order, OrderId(4));
    assert_eq!(signed.reading.site, SiteId(1));
    assert_eq!(signed.reading.seen_at, 1_796_140_000);
    let hash = signed.reading.signing_hash(&chain);
    assert!(verify(&owner.public(), &hash, &signed.signature).is_ok());
    // Another chain's hash does not verify: the chain id is signed.
    let other = signed.reading.signing_hash(&Hash([4; 32]));
    assert!(verify(&owner.public(), &other, &signed.signature).is_err());
    assert!(matches!(
        ack_curtailment(signed),
        Body::AckCurtailment { .. }
    ));
}
