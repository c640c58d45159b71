//! `watt dev --external-site NAME`: one dev site is left to a controller
//! outside the process. The simulator never signs readings or
//! acknowledgements for it; instead it writes what that controller needs
//! to continue the site's readings to `<base-path>/external-site.json`
//! (mode 0600: it holds the site's device key and its owner's key):
//!
//! ```json
//! {"site": 1, "name": "NORTH-MINE", "zone": "DEV-1", "feeder": "DEV-1/NORTH",
//!  "chainId": "0x…", "deviceSecret": "0x<ed25519 seed>", "ownerSecret": "0x<seed>",
//!  "owner": "watt1…", "maxDrawW": "120000",
//!  "lastSequence": 0, "lastEnd": 1767243600, "lastCounter": "0"}
//! ```
//!
//! The next reading is `lastSequence + 1`, its period starts at `lastEnd`,
//! and its counter is cumulative from `lastCounter` (Wh). The file is
//! written when the simulator first finds the site on chain (at start, or
//! once the regulator has registered the joining site), from the state the
//! chain has then: on a resumed chain that is wherever the outside
//! controller left off.

use super::genesis::dev_site;
use super::grid::FEEDERS;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use watt_genesis::dev_keypair;
use watt_runtime::crypto::Hash;
use watt_runtime::state::Site;
use watt_runtime::types::SiteId;

/// The file's name inside the base path.
pub const FILE_NAME: &str = "external-site.json";

/// Where the external site's file goes for a data directory.
pub fn file_path(base_path: &Path) -> PathBuf {
    base_path.join(FILE_NAME)
}

/// The file's contents for `site` as the chain has it.
pub fn contents(chain_id: &Hash, site: &Site) -> Option<serde_json::Value> {
    let (name, device, owner, _) = dev_site(site.id)?;
    let feeder = FEEDERS
        .iter()
        .find(|f| f.sites.contains(&site.id.0))
        .map(|f| f.id);
    let device = dev_keypair(device);
    let owner = dev_keypair(owner);
    Some(serde_json::json!({
        "site": site.id.0,
        "name": name,
        "zone": site.zone.to_string(),
        "feeder": feeder,
        "chainId": chain_id.to_string(),
        "deviceSecret": format!("0x{}", hex::encode(device.seed())),
        "ownerSecret": format!("0x{}", hex::encode(owner.seed())),
        "owner": site.owner.to_string(),
        "maxDrawW": site.max_draw.0.to_string(),
        "lastSequence": site.last_sequence,
        "lastEnd": site.last_end,
        "lastCounter": site.last_counter.0.to_string(),
    }))
}

/// Writes the file for `site`, readable by its owner only: to a temporary
/// file first, renamed into place, so a controller never reads half of it.
pub fn write(path: &Path, chain_id: &Hash, site: &Site) -> std::io::Result<()> {
    let value = contents(chain_id, site).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("site {} is not a dev site", site.id),
        )
    })?;
    let tmp = path.with_extension("json.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(serde_json::to_string_pretty(&value)?.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// What the simulator keeps of the external site: enough to put its draw
/// into its feeder's head meter (the power of its latest accepted
/// readings, none once it goes quiet).
pub struct ExternalSim {
    /// The site.
    pub id: SiteId,
    /// Where its file goes.
    pub file: PathBuf,
    /// Whether the file is written.
    pub written: bool,
    /// Its last accepted end and counter.
    seen: Option<(u64, u64)>,
    /// Its draw as last estimated, W.
    pub draw_w: u64,
}

impl ExternalSim {
    /// The external site `id`, its file at `file`.
    pub fn new(id: SiteId, file: PathBuf) -> ExternalSim {
        ExternalSim {
            id,
            file,
            written: false,
            seen: None,
            draw_w: 0,
        }
    }

    /// Updates the draw from the site as the chain has it at `now`.
    pub fn observe(&mut self, site: &Site, now: u64, dark_after_s: u64) {
        let end = site.last_end;
        let counter = site.last_counter.0;
        if let Some((e0, c0)) = self.seen {
            if end > e0 {
                self.draw_w = counter.saturating_sub(c0) * 3600 / (end - e0);
            }
        }
        self.seen = Some((end, counter));
        if end + dark_after_s < now {
            self.draw_w = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watt_runtime::crypto::Keypair;
    use watt_runtime::tx::Serial;
    use watt_runtime::types::{AccountId, Watts, Wh, ZoneId};

    #[test]
    fn the_file_holds_the_keys_of_the_site_and_its_owner_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let (name, device, owner, draw) = dev_site(SiteId(1)).unwrap();
        let mut site = Site::new(
            SiteId(1),
            Serial::new(*name).unwrap(),
            dev_keypair(device).public(),
            AccountId(dev_keypair(owner).public()),
            ZoneId::new("DEV-1").unwrap(),
            Watts(*draw),
            1_767_243_600,
            Wh(0),
            0,
        );
        site.last_sequence = 7;
        site.last_counter = Wh(1234);
        let dir = tempfile::tempdir().unwrap();
        let path = file_path(dir.path());
        let chain_id = Hash([9; 32]);
        write(&path, &chain_id, &site).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["name"], "NORTH-MINE");
        assert_eq!(v["feeder"], "DEV-1/NORTH");
        assert_eq!(v["lastSequence"], 7);
        assert_eq!(v["lastCounter"], "1234");
        assert_eq!(v["maxDrawW"], "120000");
        let seed = hex::decode(v["deviceSecret"].as_str().unwrap().trim_start_matches("0x"));
        let key = Keypair::from_seed(seed.unwrap().try_into().unwrap());
        assert_eq!(key.public(), site.device_key);
        assert_eq!(v["owner"], site.owner.to_string());
        // Written again over the old one.
        write(&path, &chain_id, &site).unwrap();
    }

    #[test]
    fn its_draw_follows_its_accepted_readings() {
        let (name, device, owner, draw) = dev_site(SiteId(1)).unwrap();
        let mut site = Site::new(
            SiteId(1),
            Serial::new(*name).unwrap(),
            dev_keypair(device).public(),
            AccountId(dev_keypair(owner).public()),
            ZoneId::new("DEV-1").unwrap(),
            Watts(*draw),
            3600,
            Wh(0),
            0,
        );
        let mut x = ExternalSim::new(SiteId(1), PathBuf::new());
        x.observe(&site, 3600, 600);
        site.last_end = 3900;
        site.last_counter = Wh(7500);
        x.observe(&site, 3900, 600);
        assert_eq!(x.draw_w, 90_000);
        x.observe(&site, 4600, 600);
        assert_eq!(x.draw_w, 0, "quiet for longer than dark-after");
    }
}
