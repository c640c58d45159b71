//! Site lifecycle: RegisterSite, SuspendSite, ReinstateSite, RevokeSite,
//! ReplaceSiteKey, and the derived status (docs/protocol.md §9 and §7).

use super::prelude::*;

fn site_body(c: &mut TestChain, device: &str, serial_no: &str, max_draw: u64) -> Body {
    let device_key = c.device(device);
    Body::RegisterSite {
        serial: serial(serial_no),
        device_key,
        owner: account("carol"),
        zone: zone(),
        max_draw: Watts(max_draw),
        baseline_time: c.now_s(),
        baseline_counter: Wh(0),
    }
}

fn reason(s: &str) -> crate::tx::Text {
    text(s)
}

#[test]
fn the_regulator_registers_a_site() {
    let mut c = TestChain::new();
    let body = site_body(&mut c, "site2", "SN-2", 3_000);
    let now = c.now_s();
    let out = c.ok(&key("reg"), body);
    let s2 = SiteId(2);
    assert_eq!(
        out,
        vec![Event::SiteRegistered {
            site: s2,
            owner: account("carol"),
            zone: zone(),
            max_draw: Watts(3_000),
        }]
    );
    let s = c.site(s2);
    assert_eq!(
        (s.owner, s.last_end, s.last_sequence, s.last_seen_ms),
        (account("carol"), now, 0, c.last_block_ms())
    );
    assert!(c.account_exists(&account("carol")));
    assert_eq!(c.zone().live_max_draw, Watts(8_000));
    assert_eq!(c.site_status(s2), SiteStatus::Active);
}

#[test]
fn site_registration_refusals() {
    let mut c = TestChain::new();
    let body = site_body(&mut c, "site2", "SN-2", 3_000);
    assert_eq!(
        c.expect_err(&key("op1"), body.clone()),
        TxError::NotPermitted {
            signer: account("op1"),
            role: "a regulator"
        }
    );
    let with = |f: &dyn Fn(&mut Body)| {
        let mut b = body.clone();
        f(&mut b);
        b
    };
    let now = c.now_s();
    let cases: Vec<(Body, TxError)> = vec![
        (
            with(&|b| {
                if let Body::RegisterSite { max_draw, .. } = b {
                    *max_draw = Watts(0);
                }
            }),
            TxError::ZeroPower { field: "max_draw" },
        ),
        (
            with(&|b| {
                if let Body::RegisterSite { device_key, .. } = b {
                    *device_key = key("meter1").public();
                }
            }),
            TxError::DeviceKeyInUse {
                key: key("meter1").public(),
            },
        ),
        (
            with(&|b| {
                if let Body::RegisterSite { serial: s, .. } = b {
                    *s = serial("SN-site1");
                }
            }),
            TxError::SerialInUse {
                serial: "SN-site1".into(),
            },
        ),
        (
            with(&|b| {
                if let Body::RegisterSite { zone: z, .. } = b {
                    *z = ZoneId::new("XX-YY").unwrap();
                }
            }),
            TxError::UnknownZone {
                zone: ZoneId::new("XX-YY").unwrap(),
            },
        ),
        (
            with(&|b| {
                if let Body::RegisterSite { baseline_time, .. } = b {
                    *baseline_time = now + 31;
                }
            }),
            TxError::BaselineOutOfRange {
                got: now + 31,
                oldest: now - 6 * 3600,
                latest: now + 30,
            },
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(c.expect_err(&key("reg"), body), expected);
    }
}

#[test]
fn a_suspended_site_still_records_and_burns_its_consumption() {
    let mut c = TestChain::new();
    c.mint(M2, T0 + 900, 2_000);
    let out = c.ok(
        &key("reg"),
        Body::SuspendSite {
            site: S1,
            reason: reason("inspection"),
        },
    );
    assert_eq!(
        out,
        vec![Event::SiteSuspended {
            site: S1,
            reason: reason("inspection")
        }]
    );
    assert_eq!(c.site_status(S1), SiteStatus::SuspendedByRegulator);
    // Hiding consumption must never be the cheaper path.
    c.consume(S1, T0 + 900, 500);
    assert_eq!(c.site(S1).burned, Wh(500));
    assert_eq!(c.site_status(S1), SiteStatus::SuspendedByRegulator);
    c.ok(
        &key("reg"),
        Body::ReinstateSite {
            site: S1,
            reason: reason("done"),
        },
    );
    assert_eq!(c.site_status(S1), SiteStatus::Active);
}

#[test]
fn site_status_is_the_most_severe_that_applies() {
    let mut c = TestChain::new();
    c.consume(S1, T0 + 900, 2_000); // overdraw: anomaly, and a debt
    c.at_s(T0 + 3600 + 86_400 + 1);
    c.empty_block(); // the debt becomes a shortfall; the site is dark too
    let s = c.site(S1);
    assert!(s.anomaly.is_some() && !s.shortfall.is_zero());
    assert_eq!(c.site_status(S1), SiteStatus::SuspendedAnomaly);
    c.ok(
        &key("reg"),
        Body::SuspendSite {
            site: S1,
            reason: reason("x"),
        },
    );
    assert_eq!(c.site_status(S1), SiteStatus::SuspendedByRegulator);
    c.ok(
        &key("reg"),
        Body::ReinstateSite {
            site: S1,
            reason: reason("y"),
        },
    );
    assert_eq!(c.site_status(S1), SiteStatus::SuspendedShortfall);
    c.ok(
        &key("reg"),
        Body::RevokeSite {
            site: S1,
            reason: reason("z"),
        },
    );
    assert_eq!(c.site_status(S1), SiteStatus::Revoked);
}

#[test]
fn a_revoked_site_is_final_and_frees_its_cap() {
    let mut c = TestChain::new();
    let out = c.ok(
        &key("reg"),
        Body::RevokeSite {
            site: S1,
            reason: reason("closed"),
        },
    );
    assert_eq!(
        out,
        vec![Event::SiteRevoked {
            site: S1,
            reason: reason("closed")
        }]
    );
    assert_eq!(c.site_status(S1), SiteStatus::Revoked);
    assert_eq!(c.zone().live_max_draw, Watts(0));
    let now = c.now_s();
    let new_device_key = c.device("site1-b");
    for body in [
        Body::SuspendSite {
            site: S1,
            reason: reason("a"),
        },
        Body::ReinstateSite {
            site: S1,
            reason: reason("b"),
        },
        Body::RevokeSite {
            site: S1,
            reason: reason("c"),
        },
        Body::ReplaceSiteKey {
            site: S1,
            new_device_key,
            baseline_time: now,
            baseline_counter: Wh(0),
        },
    ] {
        assert_eq!(
            c.expect_err(&key("reg"), body),
            TxError::SiteRevoked { site: S1 }
        );
    }
}

#[test]
fn replace_site_key_refusals() {
    let mut c = TestChain::new();
    let now = c.now_s();
    let body = |k: &str, t: u64| Body::ReplaceSiteKey {
        site: S1,
        new_device_key: key(k).public(),
        baseline_time: t,
        baseline_counter: Wh(0),
    };
    assert_eq!(
        c.expect_err(&key("bob"), body("site1-b", now)),
        TxError::NotPermitted {
            signer: account("bob"),
            role: "a regulator"
        }
    );
    assert_eq!(
        c.expect_err(&key("reg"), body("meter2", now)),
        TxError::DeviceKeyInUse {
            key: key("meter2").public()
        }
    );
    assert_eq!(
        c.expect_err(&key("reg"), body("site1-b", now + 31)),
        TxError::BaselineOutOfRange {
            got: now + 31,
            oldest: now - 6 * 3600,
            latest: now + 30
        }
    );
}

#[test]
fn regulator_actions_on_an_unknown_site_are_refused() {
    let mut c = TestChain::new();
    assert_eq!(
        c.expect_err(
            &key("reg"),
            Body::SuspendSite {
                site: SiteId(9),
                reason: reason("?"),
            }
        ),
        TxError::UnknownSite { site: SiteId(9) }
    );
}
