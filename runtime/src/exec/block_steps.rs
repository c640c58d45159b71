//! The steps every block runs before and after its transactions.

use super::ledger::{decode_stored, Ledger};
use crate::error::TxError;
use crate::events::Event;
use crate::state::{
    activation_parts, deadline_parts, due_until, expiry_parts, holder_account, holder_prefix, tag,
    ChainState, StateError, StateKey, StateReader, Zone,
};
use crate::types::{AccountId, Hour, Vintage, Wh, ZoneId};
use std::collections::BTreeMap;

impl<R: StateReader + ?Sized> Ledger<'_, R> {
    /// Begin-block steps, in order: zone policies, expiry, deadlines,
    /// feeder hours due to close, curtailment verdicts due, proposal expiry; then records the block's height and time.
    ///
    /// Zones are visited through the due indexes (`ZoneActivation`,
    /// `VintageExpiry`), never all of them: a block's work does not grow
    /// with the number of zones ever created, only with what is due.
    pub(crate) fn begin_block(&mut self, mut chain: ChainState) -> Result<(), TxError> {
        let hour = self.hour();
        let corrupt = |k: &[u8], what: &str| StateError::Corrupt {
            key: hex::encode(k),
            reason: format!("malformed {what} key"),
        };
        // What is due, per zone, in zone order (the order events come in).
        let mut due: BTreeMap<ZoneId, Vec<Hour>> = BTreeMap::new();
        let activations = self.ov.scan(
            &[tag::ZONE_ACTIVATION],
            &due_until(tag::ZONE_ACTIVATION, hour),
        )?;
        for (k, _) in activations {
            let (_, zone) = activation_parts(&k).ok_or_else(|| corrupt(&k, "activation"))?;
            self.ov.delete(k);
            due.entry(zone).or_default();
        }
        let expiries = self.ov.scan(
            &[tag::VINTAGE_EXPIRY],
            &due_until(tag::VINTAGE_EXPIRY, hour),
        )?;
        for (k, _) in expiries {
            let (_, zone, vintage) = expiry_parts(&k).ok_or_else(|| corrupt(&k, "expiry"))?;
            self.ov.delete(k);
            due.entry(zone).or_default().push(vintage);
        }
        for (id, vintages) in due {
            let Some(mut zone) = self.zone(&id)? else {
                continue;
            };
            if let Some((effective, policy)) = zone.pending.clone() {
                if effective <= hour {
                    zone.policy = Some(policy);
                    zone.pending = None;
                    self.emit(Event::ZonePolicyActivated {
                        zone: zone.id.clone(),
                    });
                }
            }
            self.expire_zone(&mut zone, hour)?;
            // A vintage whose lifetime grew since it was scheduled is due
            // again later.
            if let Some(policy) = &zone.policy {
                for v in vintages {
                    let at = v.0.saturating_add(policy.credit_lifetime_hours);
                    if at > hour.0 {
                        self.put(&StateKey::VintageExpiry(Hour(at), id.clone(), v), &());
                    }
                }
            }
            self.put_zone(&zone);
        }
        self.close_overdue_debts()?;
        self.close_feeder_hours(chain.params.settlement_grace_s)?;
        self.judge_curtailments()?;
        self.expire_proposals(&mut chain)?;
        chain.height = self.ctx.height;
        chain.time_ms = self.ctx.timestamp_ms;
        self.put_chain(&chain);
        Ok(())
    }

    /// Expires every vintage of the zone whose hour plus the lifetime has
    /// been reached: hours up to `block hour - lifetime`, from where the
    /// last block stopped. Returns whether the zone changed.
    fn expire_zone(&mut self, zone: &mut Zone, hour: Hour) -> Result<bool, TxError> {
        let Some(policy) = &zone.policy else {
            return Ok(false);
        };
        let Some(limit) = hour.0.checked_sub(policy.credit_lifetime_hours) else {
            return Ok(false);
        };
        let from = zone.expired_through.map_or(0, |h| h.0 + 1);
        if from > limit {
            return Ok(false);
        }
        let rows = self.ov.scan(
            &holder_prefix(&zone.id, Hour(from)),
            &holder_prefix(&zone.id, Hour(limit + 1)),
        )?;
        let mut total = 0u64;
        for (k, _) in rows {
            let account = holder_account(&k).ok_or_else(|| StateError::Corrupt {
                key: hex::encode(&k),
                reason: "malformed holder key".into(),
            })?;
            let h = u64::from_be_bytes(k[17..25].try_into().map_err(|_| StateError::Corrupt {
                key: hex::encode(&k),
                reason: "malformed holder key".into(),
            })?);
            let vintage = Vintage {
                zone: zone.id.clone(),
                hour: Hour(h),
            };
            total += self.expire_holding(&account, &vintage)?.0;
        }
        zone.supply.held = zone
            .supply
            .held
            .checked_sub(Wh(total))
            .ok_or(TxError::Overflow { what: "zone held" })?;
        zone.supply.expired =
            zone.supply
                .expired
                .checked_add(Wh(total))
                .ok_or(TxError::Overflow {
                    what: "zone expired",
                })?;
        zone.expired_through = Some(Hour(limit));
        Ok(true)
    }

    fn expire_holding(&mut self, account: &AccountId, vintage: &Vintage) -> Result<Wh, TxError> {
        let mut acct = self.account(account)?;
        let amount = acct.holdings.remove(vintage).unwrap_or_default();
        self.put_account(account, &acct);
        self.delete(&crate::state::StateKey::Holder(vintage.clone(), *account));
        if !amount.is_zero() {
            self.emit(Event::Expired {
                account: *account,
                vintage: vintage.clone(),
                amount,
            });
        }
        Ok(amount)
    }

    /// Open debts whose bucket end plus grace block time has passed
    /// (deadline < now) become shortfalls. At the deadline itself the debt
    /// is still open: a generation reading ending at the bucket's end is
    /// valid until block time reaches end + max age <= the deadline, and
    /// must still be able to settle it (docs/protocol.md §6.6 and §10.2, even with zero skew).
    fn close_overdue_debts(&mut self) -> Result<(), TxError> {
        let now = self.now_s();
        let from = [tag::DEBT_DEADLINE];
        let mut to = vec![tag::DEBT_DEADLINE];
        to.extend_from_slice(&now.to_be_bytes());
        for (k, v) in self.ov.scan(&from, &to)? {
            let (deadline, site, bucket) =
                deadline_parts(&k).ok_or_else(|| StateError::Corrupt {
                    key: hex::encode(&k),
                    reason: "malformed deadline key".into(),
                })?;
            let owner: AccountId = decode_stored(&k, &v)?;
            self.record_shortfall(site, owner, bucket, deadline)?;
        }
        Ok(())
    }

    /// End-of-block steps.
    pub(crate) fn end_block(&mut self) -> Result<(), TxError> {
        self.activate_scheduled()
    }
}
