//! The feeder balance as a property (docs/protocol.md §17): random hourly
//! flows where the head meter and every meter below it are honest and the
//! true technical losses lie inside the allowance never raise an alert;
//! a hidden load above floor plus allowance for N consecutive hours always
//! does, in the N-th closed hour, naming the first.
//!
//! `WATT_FEEDER_CASES` sets the number of cases (default 48).

use proptest::prelude::*;
use watt_runtime::encoding::BoundedVec;
use watt_runtime::events::Event;
use watt_runtime::exec::BlockOutcome;
use watt_runtime::feeder::{Attachee, FeederId, FeederReading, NewFeeder};
use watt_runtime::state::{Feeder, StateKey};
use watt_runtime::testkit::{block_events, key, zone, TestChain, M1, S1, T0};
use watt_runtime::tx::Body;
use watt_runtime::types::{Hour, Watts, Wh};

const MAX_AGE: u64 = 1800;
const GRACE: u64 = MAX_AGE + 30;

fn config() -> ProptestConfig {
    let cases = std::env::var("WATT_FEEDER_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(48);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

fn h(n: u64) -> u64 {
    T0 + n * 3600
}

fn fid() -> FeederId {
    FeederId::new("RU-BU/F1").unwrap()
}

/// One hour of real flows, honest by construction.
#[derive(Clone, Debug)]
struct HourFlow {
    generation: u64,
    consumption: u64,
    /// The true technical losses, as a fraction (per mille) of what the
    /// allowance would permit.
    loss_share: u16,
}

fn flow() -> impl Strategy<Value = HourFlow> {
    (0u64..=5_000, 0u64..=5_000, 0u16..=1_000).prop_map(|(generation, consumption, loss_share)| {
        HourFlow {
            generation,
            consumption,
            loss_share,
        }
    })
}

/// What the head meter sees in an hour: (import, export), with losses
/// inside the allowance, plus any hidden load on top.
fn head_flows(f: &HourFlow, loss_permille: u16, hidden: u64) -> (u64, u64) {
    let l = u64::from(loss_permille);
    let (g, c) = (f.generation, f.consumption);
    let (import, export) = if c >= g {
        // Energy in: the deficit plus the losses on it (at most the
        // allowance: L x (import + g) / 1000 with import >= deficit).
        let most = l * c / 1000;
        let loss = most * u64::from(f.loss_share) / 1000;
        (c - g + loss, 0)
    } else {
        let most = (l * g / 1000).min(g - c);
        let loss = most * u64::from(f.loss_share) / 1000;
        (0, g - c - loss)
    };
    (import + hidden, export)
}

struct Run {
    c: TestChain,
    events: Vec<Event>,
}

impl Run {
    fn new(loss_permille: u16, floor: u64, alert_hours: u16) -> Run {
        let mut c = TestChain::builder()
            .with_params(|p| p.settlement_grace_s = GRACE)
            .with_policy(|p| p.reading_max_age_s = MAX_AGE)
            .build();
        let head_key = c.device("head1");
        c.ok(
            &key("reg"),
            Body::RegisterFeeder {
                feeder: NewFeeder {
                    id: fid(),
                    zone: zone(),
                    rated_capacity: Watts(1_000_000),
                    loss_permille,
                    alert_floor: Wh(floor),
                    alert_hours,
                    mining_share_permille: 500,
                    head_key,
                    baseline_time: T0,
                    baseline_import: Wh(0),
                    baseline_export: Wh(0),
                    declared_key: None,
                },
            },
        );
        for device in [Attachee::Meter(M1), Attachee::Site(S1)] {
            c.ok(
                &key("reg"),
                Body::AttachToFeeder {
                    device,
                    feeder: fid(),
                    from_hour: Hour::of_seconds(h(1)),
                },
            );
        }
        let mut run = Run {
            c,
            events: Vec::new(),
        };
        run.head(0, 0, 0);
        run
    }

    fn keep(&mut self, o: BlockOutcome) {
        self.events.extend(block_events(&o));
    }

    fn head(&mut self, n: u64, import: u64, export: u64) {
        if self.c.now_s() < h(n + 1) {
            self.c.at_s(h(n + 1));
        }
        let f: Feeder = self.c.get(&StateKey::Feeder(fid())).unwrap();
        let r = FeederReading {
            feeder: fid(),
            sequence: f.head_sequence + 1,
            period_start: f.head_last_end,
            period_end: h(n + 1),
            import: Wh(f.head_import.0 + import),
            export: Wh(f.head_export.0 + export),
            flags: 0,
        }
        .sign(&self.c.chain_id, &key("head1"));
        let tx = self.c.tx(
            &key("reg2"),
            Body::SubmitFeederReadings {
                readings: BoundedVec::new(vec![r]).unwrap(),
            },
        );
        let o = self.c.apply(vec![tx]).expect("head reading");
        self.keep(o);
    }

    fn hour(&mut self, n: u64, f: &HourFlow, loss_permille: u16, hidden: u64) {
        let o = self.c.mint(M1, h(n) + 1800, f.generation);
        self.keep(o);
        let o = self.c.consume(S1, h(n + 1), f.consumption);
        self.keep(o);
        let (import, export) = head_flows(f, loss_permille, hidden);
        self.head(n, import, export);
    }

    fn close_all(&mut self, last: u64) {
        self.c.at_s(h(last + 1) + GRACE + 1);
        let o = self.c.empty_block();
        self.keep(o);
    }

    /// (from, through) of every UnexplainedLoad, in order.
    fn alerts(&self) -> Vec<(u64, u64)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::UnexplainedLoad {
                    from_hour,
                    through_hour,
                    ..
                } => Some((
                    from_hour.0 - Hour::of_seconds(T0).0,
                    through_hour.0 - Hour::of_seconds(T0).0,
                )),
                _ => None,
            })
            .collect()
    }

    fn balances(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::FeederBalance { .. }))
            .count()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn honest_flows_with_losses_inside_the_allowance_never_alert(
        loss in 10u16..=60,
        floor in 0u64..=2_000,
        alert_hours in 1u16..=3,
        flows in prop::collection::vec(flow(), 2..7),
    ) {
        let mut run = Run::new(loss, floor, alert_hours);
        for (i, f) in flows.iter().enumerate() {
            run.hour(i as u64 + 1, f, loss, 0);
        }
        run.close_all(flows.len() as u64);
        prop_assert_eq!(run.balances(), flows.len() + 1);
        prop_assert_eq!(run.alerts(), vec![]);
    }

    #[test]
    fn a_hidden_load_for_n_hours_alerts_in_the_nth_closed_hour(
        loss in 10u16..=60,
        floor in 0u64..=2_000,
        alert_hours in 1u16..=3,
        before in prop::collection::vec(flow(), 0..3),
        during in prop::collection::vec(flow(), 3),
    ) {
        let mut run = Run::new(loss, floor, alert_hours);
        let mut n = 1;
        for f in &before {
            run.hour(n, f, loss, 0);
            n += 1;
        }
        let start = n;
        for f in during.iter().take(alert_hours as usize) {
            // Above floor plus allowance, whatever the honest flows.
            let (i, _) = head_flows(f, loss, 0);
            let allowance = u64::from(loss) * (i + f.generation) / 1000 + 1;
            let hidden = 2 * (floor + allowance + 10) + 1_000;
            run.hour(n, f, loss, hidden);
            n += 1;
        }
        run.close_all(n - 1);
        // One alert, raised by the N-th hour's close (an earlier one would
        // name an earlier last hour, and then grow in a second event).
        let last = start + u64::from(alert_hours) - 1;
        prop_assert_eq!(run.alerts(), vec![(start, last)]);
    }
}
