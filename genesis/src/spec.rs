//! The TOML genesis spec: what an operator writes by hand.

use crate::builder::GenesisBuilder;
use crate::{parse_rfc3339, BuiltGenesis, SpecError};
use serde::{Deserialize, Serialize};
use watt_runtime::crypto::PublicKey;
use watt_runtime::types::{AccountId, ChainParams, Source, Watts, Wh, ZoneId, ZonePolicy};

/// A genesis spec. Unknown fields are refused so that a typo is not
/// silently ignored; omitted parameters take their documented defaults.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisSpec {
    /// A human-readable chain name.
    pub chain_name: String,
    /// Genesis time, RFC 3339 UTC (`2026-01-01T00:00:00Z`).
    pub genesis_time: String,
    /// Chain parameters; every omitted field takes its default.
    #[serde(default)]
    pub params: ChainParams,
    /// The first authorities (validators and meter operators).
    #[serde(default)]
    pub authorities: Vec<AuthoritySpec>,
    /// The first regulators.
    #[serde(default)]
    pub regulators: Vec<RegulatorSpec>,
    /// Zones with their policies.
    #[serde(default)]
    pub zones: Vec<ZoneSpec>,
    /// Meters active from genesis.
    #[serde(default)]
    pub meters: Vec<MeterSpec>,
    /// Mining sites registered from genesis.
    #[serde(default)]
    pub sites: Vec<SiteSpec>,
}

/// An authority in the spec.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthoritySpec {
    /// Its name.
    pub name: String,
    /// Its stable operator account (bech32m `watt1...` or `0x` hex).
    pub operator: AccountId,
    /// Its consensus key (`0x` hex).
    pub consensus_key: PublicKey,
}

/// A regulator in the spec.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegulatorSpec {
    /// A name, for people reading the spec.
    #[serde(default)]
    pub name: String,
    /// Its account.
    pub account: AccountId,
}

/// A zone in the spec.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    /// The zone id, e.g. `RU-BU`.
    pub id: ZoneId,
    /// Its policy; every omitted field takes its default.
    #[serde(default)]
    pub policy: ZonePolicy,
}

/// A meter in the spec.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeterSpec {
    /// Serial number.
    pub serial: String,
    /// Device key (`0x` hex).
    pub device_key: PublicKey,
    /// Producer account.
    pub owner: AccountId,
    /// Operating authority's operator account.
    pub operator: AccountId,
    /// Source: solar, wind, hydro, geothermal, biomass, other-renewable.
    pub source: Source,
    /// Nameplate capacity in W.
    pub capacity_w: Watts,
    /// Zone id.
    pub zone: ZoneId,
    /// Baseline time (RFC 3339); genesis time if omitted.
    #[serde(default)]
    pub baseline_time: Option<String>,
    /// Counter at the baseline, Wh.
    #[serde(default)]
    pub baseline_counter_wh: Wh,
}

/// A mining site in the spec.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSpec {
    /// Serial number of the site meter.
    pub serial: String,
    /// Device key of the site meter (`0x` hex).
    pub device_key: PublicKey,
    /// Owner account.
    pub owner: AccountId,
    /// Zone id.
    pub zone: ZoneId,
    /// Maximum draw in W.
    pub max_draw_w: Watts,
    /// Baseline time (RFC 3339); genesis time if omitted.
    #[serde(default)]
    pub baseline_time: Option<String>,
    /// Counter at the baseline, Wh.
    #[serde(default)]
    pub baseline_counter_wh: Wh,
}

fn field_err(field: String) -> impl FnOnce(String) -> SpecError {
    move |reason| SpecError::Field { field, reason }
}

impl GenesisSpec {
    /// Parses a spec from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, SpecError> {
        Ok(toml::from_str(text)?)
    }

    /// Reads and parses a spec file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text)
    }

    /// The spec as TOML text.
    pub fn to_toml(&self) -> Result<String, SpecError> {
        toml::to_string_pretty(self).map_err(|e| SpecError::Field {
            field: "(spec)".into(),
            reason: e.to_string(),
        })
    }

    /// Builds the genesis document and its state, checking every rule.
    pub fn build(&self) -> Result<BuiltGenesis, SpecError> {
        let time_ms =
            parse_rfc3339(&self.genesis_time).map_err(field_err("genesis_time".into()))?;
        let genesis_s = time_ms / 1000;
        let mut b = GenesisBuilder::new(&self.chain_name, time_ms)
            .map_err(field_err("chain_name".into()))?
            .params(self.params.clone());
        for (i, a) in self.authorities.iter().enumerate() {
            b = b
                .authority(&a.name, a.operator, a.consensus_key)
                .map_err(field_err(format!("authorities[{i}].name")))?;
        }
        for r in &self.regulators {
            b = b.regulator(r.account);
        }
        for z in &self.zones {
            b = b.zone(z.id.clone(), z.policy.clone());
        }
        let baseline = |field: String, t: &Option<String>| -> Result<u64, SpecError> {
            match t {
                Some(t) => parse_rfc3339(t)
                    .map(|ms| ms / 1000)
                    .map_err(field_err(field)),
                None => Ok(genesis_s),
            }
        };
        for (i, m) in self.meters.iter().enumerate() {
            let t = baseline(format!("meters[{i}].baseline_time"), &m.baseline_time)?;
            b = b
                .meter(
                    &m.serial,
                    m.device_key,
                    m.owner,
                    m.operator,
                    m.source,
                    m.capacity_w,
                    m.zone.clone(),
                    t,
                    m.baseline_counter_wh,
                )
                .map_err(field_err(format!("meters[{i}].serial")))?;
        }
        for (i, s) in self.sites.iter().enumerate() {
            let t = baseline(format!("sites[{i}].baseline_time"), &s.baseline_time)?;
            b = b
                .site(
                    &s.serial,
                    s.device_key,
                    s.owner,
                    s.zone.clone(),
                    s.max_draw_w,
                    t,
                    s.baseline_counter_wh,
                )
                .map_err(field_err(format!("sites[{i}].serial")))?;
        }
        Ok(b.build()?)
    }
}
