//! Every builder's transaction is accepted and finalised by a real node,
//! through the typed client (`watt dev`, no simulated community).

use std::time::Duration;
use watt_genesis::dev_keypair;
use watt_rpc_client::api::{ChainApiClient, FeedersApiClient, SitesApiClient};
use watt_rpc_client::builders::*;
use watt_rpc_client::client::{Signer, WattClient};
use watt_rpc_client::view::{self, SiteStatus};
use watt_runtime::block::{Vote, VoteKind};
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::feeder::{Attachee, DeclaredLoad, FeederId, FeederReading};
use watt_runtime::tx::{Body, ConsumptionReading, GenerationReading, RegulatorChange};
use watt_runtime::types::{
    AccountId, ChainParams, Height, Hour, MatchingWindow, MeterId, ProposalId, SiteId, Source,
    Vintage, Watts, Wh, ZoneId, ZonePolicy,
};
use watt_test_support::DevProc;

struct Chain {
    client: WattClient,
    chain_id: Hash,
    kinds: Vec<&'static str>,
}

impl Chain {
    async fn send(&mut self, key: &Keypair, body: Body) -> Height {
        let kind = body.name();
        let signer = Signer::new(Keypair::from_seed(key.seed()), self.chain_id);
        let nonce = self.client.nonce(signer.account()).await.unwrap();
        let tx = signer.sign(nonce, body);
        let loc = self
            .client
            .submit_and_wait(&tx, Duration::from_secs(60))
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        self.kinds.push(kind);
        loc.height
    }

    async fn now_s(&self) -> u64 {
        let head = ChainApiClient::finalized_head(self.client.api())
            .await
            .unwrap();
        // Before the first block: no head yet.
        head.map_or(0, |h| h.timestamp_ms / 1000)
    }

    /// The start of the hour the chain is in, early enough in it that a
    /// baseline there stays within the hour of age allowed while the
    /// transaction lands (else the next hour, once it has begun).
    async fn whole_hour_soon(&self) -> u64 {
        let now = self.now_s().await;
        let start = now / 3600 * 3600;
        if now - start < 2400 {
            return start;
        }
        self.wait_until(start + 3600).await;
        start + 3600
    }

    async fn wait_until(&self, unix_s: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        while self.now_s().await < unix_s {
            assert!(
                tokio::time::Instant::now() < deadline,
                "chain time too slow"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn acct(k: &Keypair) -> AccountId {
    AccountId(k.public())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_builder_is_accepted_by_a_real_node() {
    let node = DevProc::start();
    let client = WattClient::new(&node.url).unwrap();
    let genesis = ChainApiClient::genesis(client.api()).await.unwrap();
    let mut c = Chain {
        client,
        chain_id: genesis.chain_id,
        kinds: Vec::new(),
    };
    let t0 = genesis.genesis.genesis_time_ms / 1000;
    let zone = ZoneId::new("DEV-1").unwrap();
    let (operator, regulator, validator) = (
        dev_keypair("dev-operator"),
        dev_keypair("dev-regulator"),
        dev_keypair("dev-validator"),
    );
    let (coop, bob) = (dev_keypair("dev-valley-coop"), dev_keypair("builders-bob"));

    // Mint, move, retire.
    c.wait_until(t0 + 600).await;
    let reading = GenerationReading {
        meter: MeterId(1),
        sequence: 1,
        period_start: t0,
        period_end: t0 + 600,
        counter: Wh(5_000),
        flags: 0,
    }
    .sign(&c.chain_id, &dev_keypair("dev-meter-solar"));
    c.send(&operator, submit_readings(vec![reading]).unwrap())
        .await;
    c.send(&coop, transfer(acct(&bob), Wh(2_000))).await;
    c.send(
        &coop,
        retire(Wh(100), "Town hall", "street lights").unwrap(),
    )
    .await;
    // Bob spends everything, so his site's consumption becomes debt.
    c.send(&bob, retire(Wh(2_000), "School", "heating").unwrap())
        .await;

    // A meter's life: register, approve, resync, hand over, new key.
    let now = c.now_s().await;
    let device = |name: &str, serial: &'static str, time: u64| Device {
        serial,
        key: dev_keypair(name).public(),
        zone: zone.clone(),
        baseline_time: time,
        baseline_counter: Wh(0),
    };
    let meter = MeterId(4);
    c.send(
        &operator,
        register_meter(
            device("b-meter", "B-METER", now),
            acct(&coop),
            Source::Wind,
            Watts(100_000),
        )
        .unwrap(),
    )
    .await;
    c.send(&regulator, approve_meter(meter)).await;
    c.send(&operator, resync_meter(meter, now, Wh(10))).await;
    c.send(&regulator, transfer_meter_operator(meter, acct(&operator)))
        .await;
    c.send(
        &operator,
        replace_meter_key(meter, dev_keypair("b-meter-2").public(), now, Wh(10)),
    )
    .await;

    // A feeder: registered on a whole hour with a declared-load key, the
    // meter attached from a later hour. Its first hour is metered below.
    let feeder = "B-FEEDER/1";
    let (head_key, declared_key) = (
        dev_keypair("b-feeder-head"),
        dev_keypair("b-feeder-declared"),
    );
    let b0 = c.whole_hour_soon().await;
    let spec = FeederSpec {
        id: feeder,
        zone: zone.clone(),
        rated_capacity: Watts(1_000_000),
        loss_permille: 30,
        alert_floor: Wh(100),
        alert_hours: 1,
        mining_share_permille: 500,
        head_key: head_key.public(),
        baseline_time: b0,
        baseline_import: Wh(0),
        baseline_export: Wh(0),
        declared_key: Some(declared_key.public()),
    };
    c.send(&regulator, register_feeder(spec).unwrap()).await;
    let later = Hour(c.now_s().await / 3600 + 2);
    c.send(
        &regulator,
        attach_to_feeder(Attachee::Meter(meter), feeder, later).unwrap(),
    )
    .await;

    // A site's life: register, consume into debt, suspend, reinstate, new key.
    let site = SiteId(3);
    let site_start = c.now_s().await;
    c.send(
        &regulator,
        register_site(
            device("b-site", "B-SITE", site_start),
            acct(&bob),
            Watts(100_000),
        )
        .unwrap(),
    )
    .await;
    c.wait_until(site_start + 60).await;
    let consumed = ConsumptionReading {
        site,
        sequence: 1,
        period_start: site_start,
        period_end: site_start + 60,
        counter: Wh(100),
        flags: 0,
    }
    .sign(&c.chain_id, &dev_keypair("b-site"));
    c.send(&bob, submit_consumption(vec![consumed]).unwrap())
        .await;

    // The feeder's first hour: 10 kWh in at the head, 1 kWh declared.
    c.wait_until(b0 + 3600 - 20).await;
    let id = FeederId::new(feeder).unwrap();
    let head = FeederReading {
        feeder: id.clone(),
        sequence: 1,
        period_start: b0,
        period_end: b0 + 3600,
        import: Wh(10_000),
        export: Wh(0),
        flags: 0,
    }
    .sign(&c.chain_id, &head_key);
    c.send(&coop, submit_feeder_readings(vec![head]).unwrap())
        .await;
    let declared = DeclaredLoad {
        feeder: id,
        hour: Hour(b0 / 3600),
        energy: Wh(1_000),
    }
    .sign(&c.chain_id, &declared_key);
    c.send(&coop, submit_declared_load(vec![declared]).unwrap())
        .await;
    c.send(&regulator, suspend_site(site, "inspection").unwrap())
        .await;
    c.send(&regulator, reinstate_site(site, "inspected").unwrap())
        .await;

    // Zones, withdrawals, governance (every vote a no: the dev chain keeps
    // its single validator).
    let policy = ZonePolicy {
        matching_window: MatchingWindow::Day,
        mining_cap_w: Watts(500_000),
        credit_lifetime_hours: 48,
        reading_max_age_s: 3_600,
        plausibility_tolerance_pct: 10,
        shortfall_penalty_permille: 1_200,
        dark_after_s: 600,
    };
    c.send(
        &regulator,
        set_zone_policy(ZoneId::new("DEV-2").unwrap(), policy),
    )
    .await;
    let vintage = Vintage {
        zone: zone.clone(),
        hour: Hour(t0 / 3600),
    };
    c.send(
        &regulator,
        withdraw_credits(acct(&coop), vintage, Wh(10), "meter miscalibrated").unwrap(),
    )
    .await;
    // A regulator's params proposal waits for the authorities too; the
    // operator votes it down.
    c.send(&regulator, propose_chain_params(ChainParams::default()))
        .await;
    c.send(&operator, vote(ProposalId(1), false)).await;
    // One regulator decides alone: adding the coop passes at once.
    c.send(
        &regulator,
        propose_regulator_change(RegulatorChange::Add {
            account: acct(&coop),
        }),
    )
    .await;

    // The debt becomes a shortfall after its hour and the grace; then Bob
    // gets credits and settles it.
    let grace = genesis.genesis.params.settlement_grace_s;
    let bucket_end = (site_start + 60 - 1) / 3600 * 3600 + 3600;
    c.wait_until(bucket_end + grace + 1).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s = SitesApiClient::can_run(c.client.api(), site, None)
            .await
            .unwrap();
        if s.status == SiteStatus::SuspendedShortfall {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no shortfall: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.send(&coop, transfer(acct(&bob), Wh(1_000))).await;
    c.send(&bob, settle_shortfall(site)).await;

    // The feeder's hour closed with 8.7 kWh unexplained (10 in, 1
    // declared, 0.3 losses): an alert, which the regulator clears; then
    // the head meter comes back on a new baseline.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let f = FeedersApiClient::get(c.client.api(), view::FeederId(feeder.into()), None)
            .await
            .unwrap()
            .expect("the feeder is registered");
        if let Some(a) = f.alert {
            assert_eq!(a.unexplained, Wh(8_700), "{a:?}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no alert: {f:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.send(
        &regulator,
        clear_feeder_alert(feeder, "meter below the head replaced").unwrap(),
    )
    .await;
    let b1 = c.whole_hour_soon().await;
    c.send(
        &regulator,
        resync_feeder_meter(feeder, b1, Wh(12_000), Wh(0)).unwrap(),
    )
    .await;
    c.send(
        &regulator,
        replace_site_key(
            site,
            dev_keypair("b-site-2").public(),
            c.now_s().await,
            Wh(100),
        ),
    )
    .await;
    c.send(&regulator, revoke_site(site, "closed").unwrap())
        .await;
    c.send(&operator, revoke_meter(meter, "decommissioned").unwrap())
        .await;

    // Last: evidence that the dev validator signed two different prevotes.
    let vote_for = |block: u8| {
        Vote {
            kind: VoteKind::Prevote,
            chain_id: c.chain_id,
            height: Height(2),
            round: 7,
            block_hash: Some(Hash([block; 32])),
            validator: validator.public(),
        }
        .sign(&validator)
    };
    let (first, second) = (vote_for(1), vote_for(2));
    c.send(&coop, evidence(first, second)).await;
    // And an authority proposal, which the single authority passes at once
    // (the new set takes over two blocks later; nothing follows here).
    c.send(
        &operator,
        propose_add_authority(
            &c.chain_id,
            acct(&bob),
            &dev_keypair("b-validator"),
            "bob-coop",
        )
        .unwrap(),
    )
    .await;

    let mut kinds = c.kinds.clone();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds.len(), 29, "every body was sent: {kinds:?}");
}
