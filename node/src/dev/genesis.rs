//! The development chain's genesis: one validator, one regulator, one zone
//! and a small community of meters and mining sites, all with public dev
//! keys (`watt_genesis::dev_keypair`).

use watt_genesis::{dev_keypair, BuiltGenesis, GenesisBuilder};
use watt_runtime::crypto::Keypair;
use watt_runtime::genesis::GenesisError;
use watt_runtime::types::{
    AccountId, ChainParams, MatchingWindow, SiteId, Source, Watts, Wh, ZoneId, ZonePolicy,
};

/// The dev zone.
pub const ZONE: &str = "DEV-1";

/// A dev meter: serial, dev-key name, owner's dev-key name, source,
/// capacity.
pub const METERS: [(&str, &str, &str, Source, u64); 3] = [
    (
        "SOL-1",
        "dev-meter-solar",
        "dev-valley-coop",
        Source::Solar,
        300_000,
    ),
    (
        "WND-1",
        "dev-meter-wind",
        "dev-hill-farm",
        Source::Wind,
        200_000,
    ),
    (
        "GEO-1",
        "dev-meter-geo",
        "dev-valley-coop",
        Source::Geothermal,
        150_000,
    ),
];

/// A dev site: serial, dev-key name, owner's dev-key name, max draw.
/// NORTH-MINE belongs to the coop that owns the solar and geothermal
/// meters and is well supplied; RIDGE-MINE's owner only gets what the hill
/// farm sells it, which is not enough.
pub const SITES: [(&str, &str, &str, u64); 2] = [
    ("NORTH-MINE", "dev-site-north", "dev-valley-coop", 120_000),
    ("RIDGE-MINE", "dev-site-ridge", "dev-ridge-miner", 180_000),
];

/// The site that joins once the chain runs, as a dev site: the simulated
/// regulator registers it in the first blocks, so it is site 3 of a dev
/// chain (it is not in genesis, which stays the one older chains and tests
/// were made with). Its owner buys what it uses from the valley coop; its
/// controller ignores curtailment orders.
pub const JOINING_SITE: (&str, &str, &str, u64) =
    ("CREEK-MINE", "dev-site-creek", "dev-creek-miner", 50_000);

/// Every dev site, by id on a dev chain: the genesis sites, then the
/// joining one.
pub const DEV_SITES: [(&str, &str, &str, u64); 3] = [SITES[0], SITES[1], JOINING_SITE];

/// The dev site with this id, if it is one.
pub fn dev_site(id: SiteId) -> Option<&'static (&'static str, &'static str, &'static str, u64)> {
    DEV_SITES.get(usize::try_from(id.0).ok()?.checked_sub(1)?)
}

/// The dev site named `name` (case-insensitive), with its id.
pub fn dev_site_named(name: &str) -> Option<SiteId> {
    DEV_SITES
        .iter()
        .position(|s| s.0.eq_ignore_ascii_case(name))
        .map(|i| SiteId(i as u64 + 1))
}

/// The validator's consensus key.
pub fn validator_key() -> Keypair {
    dev_keypair("dev-validator")
}

/// The validator's operator account key (also every meter's operator).
pub fn operator_key() -> Keypair {
    dev_keypair("dev-operator")
}

/// The regulator's key.
pub fn regulator_key() -> Keypair {
    dev_keypair("dev-regulator")
}

/// The distribution grid operator's key: the regulator names it in the
/// dev zone's sandbox, and it orders the evening curtailment.
pub fn grid_operator_key() -> Keypair {
    dev_keypair("dev-grid-operator")
}

fn acct(name: &str) -> AccountId {
    AccountId(dev_keypair(name).public())
}

/// The dev genesis starting at `time_ms`.
pub fn dev_genesis(time_ms: u64) -> Result<BuiltGenesis, GenesisError> {
    let zone = ZoneId::new(ZONE).map_err(|e| GenesisError::Invalid {
        context: "zone".into(),
        reason: e.to_string(),
    })?;
    let policy = ZonePolicy {
        matching_window: MatchingWindow::Hour,
        mining_cap_w: Watts(1_000_000),
        credit_lifetime_hours: 24 * 7,
        reading_max_age_s: 3_600,
        plausibility_tolerance_pct: 10,
        shortfall_penalty_permille: 1_500,
        dark_after_s: 600,
    };
    let params = ChainParams {
        max_clock_skew_s: 30,
        settlement_grace_s: 3_630,
        min_new_account_wh: Wh(100),
        ..ChainParams::default()
    };
    let invalid = |e: String| GenesisError::Invalid {
        context: "dev genesis".into(),
        reason: e,
    };
    let mut b = GenesisBuilder::new("watt-dev", time_ms)
        .map_err(invalid)?
        .params(params)
        .authority(
            "dev-validator",
            AccountId(operator_key().public()),
            validator_key().public(),
        )
        .map_err(invalid)?
        .regulator(AccountId(regulator_key().public()))
        .zone(zone.clone(), policy);
    let t = time_ms / 1000;
    for (serial, key, owner, source, cap) in METERS {
        b = b
            .meter(
                serial,
                dev_keypair(key).public(),
                acct(owner),
                AccountId(operator_key().public()),
                source,
                Watts(cap),
                zone.clone(),
                t,
                Wh(0),
            )
            .map_err(invalid)?;
    }
    for (serial, key, owner, draw) in SITES {
        b = b
            .site(
                serial,
                dev_keypair(key).public(),
                acct(owner),
                zone.clone(),
                Watts(draw),
                t,
                Wh(0),
            )
            .map_err(invalid)?;
    }
    b.build()
}
