//! Moving credits: adding to and taking from holdings, transfers,
//! retirements, withdrawals, and the automatic settlement of open debts.

use super::ledger::Ledger;
use crate::error::TxError;
use crate::events::{Event, Parts};
use crate::state::{debt_prefix, debt_site_bucket, Debt, Retirement, Site, StateKey, StateReader};
use crate::tx::{NamedVintages, Text};
use crate::types::{AccountId, Bucket, RetirementId, SiteId, Vintage, Wh, ZoneId};

impl<R: StateReader + ?Sized> Ledger<'_, R> {
    /// Adds credits of one vintage to an account (no supply change: the
    /// caller accounts for where they came from).
    pub fn add_credits(
        &mut self,
        to: &AccountId,
        vintage: &Vintage,
        amount: Wh,
    ) -> Result<(), TxError> {
        if amount.is_zero() {
            return Ok(());
        }
        let mut acct = self.account(to)?;
        let held = acct.holdings.entry(vintage.clone()).or_default();
        if held.is_zero() {
            self.put(&StateKey::Holder(vintage.clone(), *to), &());
        }
        *held = held
            .checked_add(amount)
            .ok_or(TxError::Overflow { what: "holdings" })?;
        self.put_account(to, &acct);
        Ok(())
    }

    /// Takes `amount` from an account's holdings of vintages accepted by
    /// `eligible`: the named vintages in their order, or else the oldest
    /// first (by hour, then zone). Fails without change if they do not
    /// cover the amount.
    pub fn take_credits(
        &mut self,
        from: &AccountId,
        amount: Wh,
        named: &NamedVintages,
        eligible: impl Fn(&Vintage) -> bool,
    ) -> Result<Parts, TxError> {
        let parts = self.plan_take(from, amount, named, &eligible, false)?;
        self.remove_parts(from, &parts)?;
        Ok(parts)
    }

    /// Takes up to `amount` of eligible credits, oldest first; never fails
    /// for lack of credits (it takes what there is).
    pub fn take_up_to(
        &mut self,
        from: &AccountId,
        amount: Wh,
        eligible: impl Fn(&Vintage) -> bool,
    ) -> Result<Parts, TxError> {
        let parts = self.plan_take(from, amount, &None, &eligible, true)?;
        self.remove_parts(from, &parts)?;
        Ok(parts)
    }

    fn plan_take(
        &self,
        from: &AccountId,
        amount: Wh,
        named: &NamedVintages,
        eligible: &dyn Fn(&Vintage) -> bool,
        partial: bool,
    ) -> Result<Parts, TxError> {
        let acct = self.account(from)?;
        let order: Vec<(Vintage, Wh)> = match named {
            Some(list) => {
                let mut out: Vec<(Vintage, Wh)> = Vec::with_capacity(list.len());
                for v in list.iter() {
                    if out.iter().any(|(seen, _)| seen == v) {
                        continue;
                    }
                    let held = acct.holdings.get(v).copied().unwrap_or_default();
                    if held.is_zero() {
                        return Err(TxError::VintageNotHeld { vintage: v.clone() });
                    }
                    if !eligible(v) {
                        return Err(TxError::VintageNotEligible { vintage: v.clone() });
                    }
                    out.push((v.clone(), held));
                }
                out
            }
            None => {
                let mut all: Vec<(Vintage, Wh)> = acct
                    .holdings
                    .iter()
                    .filter(|(v, w)| !w.is_zero() && eligible(v))
                    .map(|(v, w)| (v.clone(), *w))
                    .collect();
                all.sort_by(|(a, _), (b, _)| (a.hour, &a.zone).cmp(&(b.hour, &b.zone)));
                all
            }
        };
        let mut left = amount;
        let mut parts = Vec::new();
        for (v, held) in order {
            if left.is_zero() {
                break;
            }
            let take = Wh(held.0.min(left.0));
            parts.push((v, take));
            left = left.saturating_sub(take);
        }
        if !left.is_zero() && !partial {
            return Err(TxError::InsufficientBalance {
                needed: amount,
                available: amount.saturating_sub(left),
            });
        }
        Ok(parts)
    }

    fn remove_parts(&mut self, from: &AccountId, parts: &Parts) -> Result<(), TxError> {
        if parts.is_empty() {
            return Ok(());
        }
        let mut acct = self.account(from)?;
        for (v, w) in parts {
            let held = acct.holdings.get(v).copied().unwrap_or_default();
            let rest = held.checked_sub(*w).ok_or(TxError::InsufficientBalance {
                needed: *w,
                available: held,
            })?;
            if rest.is_zero() {
                acct.holdings.remove(v);
                self.delete(&StateKey::Holder(v.clone(), *from));
            } else {
                acct.holdings.insert(v.clone(), rest);
            }
        }
        self.put_account(from, &acct);
        Ok(())
    }

    /// Changes zone supplies for credits leaving circulation, by zone.
    pub fn account_outflow(
        &mut self,
        parts: &Parts,
        field: fn(&mut crate::state::Supply) -> &mut Wh,
    ) -> Result<(), TxError> {
        let mut by_zone: std::collections::BTreeMap<ZoneId, u64> = Default::default();
        for (v, w) in parts {
            *by_zone.entry(v.zone.clone()).or_default() += w.0;
        }
        for (zone_id, total) in by_zone {
            let mut zone = self.zone(&zone_id)?.ok_or(TxError::UnknownZone {
                zone: zone_id.clone(),
            })?;
            zone.supply.held =
                zone.supply
                    .held
                    .checked_sub(Wh(total))
                    .ok_or(TxError::Overflow {
                        what: "zone held supply",
                    })?;
            let f = field(&mut zone.supply);
            *f = f.checked_add(Wh(total)).ok_or(TxError::Overflow {
                what: "zone supply",
            })?;
            self.put_zone(&zone);
        }
        Ok(())
    }

    /// Transfer.
    pub fn transfer(
        &mut self,
        from: &AccountId,
        to: &AccountId,
        amount: Wh,
        named: &NamedVintages,
    ) -> Result<(), TxError> {
        if amount.is_zero() {
            return Err(TxError::ZeroAmount);
        }
        if from == to {
            return Err(TxError::SelfTransfer);
        }
        let chain = self.chain()?;
        let known = self.account_exists(to)? || chain.is_authority(to) || chain.is_regulator(to);
        if !known && amount < chain.params.min_new_account_wh {
            return Err(TxError::BelowNewAccountMinimum {
                to: *to,
                amount,
                minimum: chain.params.min_new_account_wh,
            });
        }
        let parts = self.take_credits(from, amount, named, |_| true)?;
        for (v, w) in &parts {
            self.add_credits(to, v, *w)?;
        }
        self.emit(Event::Transferred {
            from: *from,
            to: *to,
            parts,
        });
        self.settle_debts(to)
    }

    /// Retire.
    pub fn retire(
        &mut self,
        from: &AccountId,
        amount: Wh,
        beneficiary: &Text,
        purpose: &Text,
        named: &NamedVintages,
    ) -> Result<(), TxError> {
        if amount.is_zero() {
            return Err(TxError::ZeroAmount);
        }
        let parts = self.take_credits(from, amount, named, |_| true)?;
        self.account_outflow(&parts, |s| &mut s.retired)?;
        let mut chain = self.chain()?;
        chain.next_retirement += 1;
        let id = RetirementId(chain.next_retirement);
        self.put_chain(&chain);
        let record = Retirement {
            id,
            account: *from,
            amount,
            beneficiary: beneficiary.clone(),
            purpose: purpose.clone(),
            consumed: parts.clone(),
            height: self.ctx.height,
        };
        self.put(&StateKey::Retirement(id), &record);
        self.emit(Event::Retired {
            id,
            account: *from,
            parts,
        });
        Ok(())
    }

    /// Withdraw credits issued in error (regulator only; checked by caller).
    pub fn withdraw(
        &mut self,
        account: &AccountId,
        vintage: &Vintage,
        amount: Wh,
        reason: &Text,
    ) -> Result<(), TxError> {
        if amount.is_zero() {
            return Err(TxError::ZeroAmount);
        }
        let named = crate::encoding::BoundedVec::new(vec![vintage.clone()]).ok();
        let parts = self.take_credits(account, amount, &named, |_| true)?;
        self.account_outflow(&parts, |s| &mut s.withdrawn)?;
        self.emit(Event::Withdrawn {
            account: *account,
            vintage: vintage.clone(),
            amount,
            reason: reason.clone(),
        });
        Ok(())
    }

    /// Settles an owner's open debts with eligible credits it now holds,
    /// oldest debt first.
    pub fn settle_debts(&mut self, owner: &AccountId) -> Result<(), TxError> {
        let prefix = debt_prefix(owner);
        let rows = self.ov.scan(&prefix, &crate::state::prefix_end(&prefix))?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut debts: Vec<(SiteId, Bucket, Debt)> = Vec::with_capacity(rows.len());
        for (k, v) in rows {
            let (site, bucket) =
                debt_site_bucket(&k).ok_or_else(|| crate::state::StateError::Corrupt {
                    key: hex::encode(&k),
                    reason: "malformed debt key".into(),
                })?;
            let debt: Debt = super::ledger::decode_stored(&k, &v)?;
            debts.push((site, bucket, debt));
        }
        debts.sort_by_key(|(site, bucket, _)| (bucket.start_hour(), *site));
        for (site_id, bucket, mut debt) in debts {
            let zone = debt.zone.clone();
            let parts = self.take_up_to(owner, debt.amount, |v| {
                v.zone == zone && bucket.contains(v.hour)
            })?;
            let covered = Wh(parts.iter().map(|(_, w)| w.0).sum());
            if covered.is_zero() {
                continue;
            }
            self.account_outflow(&parts, |s| &mut s.burned)?;
            debt.amount = debt.amount.saturating_sub(covered);
            let mut site: Site = self
                .get(&StateKey::Site(site_id))?
                .ok_or(TxError::UnknownSite { site: site_id })?;
            site.open_debt = site.open_debt.saturating_sub(covered);
            site.burned = site.burned.checked_add(covered).ok_or(TxError::Overflow {
                what: "site burned",
            })?;
            self.put(&StateKey::Site(site_id), &site);
            self.emit(Event::Burned {
                site: site_id,
                owner: *owner,
                parts,
            });
            self.emit(Event::DebtSettled {
                site: site_id,
                bucket,
                amount: covered,
                remaining: debt.amount,
            });
            if debt.amount.is_zero() {
                self.delete(&StateKey::Debt(*owner, site_id, bucket));
                self.delete(&StateKey::DebtDeadline(debt.deadline, site_id, bucket));
            } else {
                self.put(&StateKey::Debt(*owner, site_id, bucket), &debt);
            }
        }
        Ok(())
    }
}
