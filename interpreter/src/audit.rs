//! The roll audit (seed 004: 错保, 漏保, 应退未退): compares who the roll pays with what the policy
//! decides, and says why for each finding and how much money a month is at stake.

use crate::data::Household;
use crate::eval::{EvalError, HouseholdEval, Month, Scope};
use crate::explain::{explain, failing_conditions};
use crate::num::Num;
use crate::policy::Policy;
use crate::value::Value;
use doudi_dsl::ast::EntityKind;
use doudi_dsl::ir::DefId;
use rayon::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

/// (kind of finding, households, money at stake).
type KindTotal = (Kind, u64, Num);
/// (kind of finding, region, households, money at stake).
type RegionTotal = (Kind, String, u64, Num);

/// Which inputs and definitions the audit compares.
pub struct AuditConfig {
    paid_slot: usize,
    eligible: DefId,
    payment: DefId,
    counted: DefId,
}

impl AuditConfig {
    pub fn new(
        policy: &Policy,
        paid: &str,
        eligible: &str,
        payment: &str,
        counted: &str,
    ) -> Result<AuditConfig, String> {
        let p = &policy.program;
        let paid_slot = p
            .household_inputs
            .iter()
            .position(|i| i.name == paid)
            .ok_or_else(|| format!("the policy has no household input `{paid}` saying whether the roll pays a household"))?;
        let def = |name: &str, e: EntityKind| {
            p.def_by_name(e, name)
                .ok_or_else(|| format!("the policy has no {} definition `{name}`", e.as_str()))
        };
        Ok(AuditConfig {
            paid_slot,
            eligible: def(eligible, EntityKind::Household)?,
            payment: def(payment, EntityKind::Household)?,
            counted: def(counted, EntityKind::Person)?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// 错保: paid but not eligible.
    PaidNotEligible,
    /// 漏保: eligible but not paid.
    EligibleNotPaid,
    /// 应退未退: paid while members who no longer count (dead, imprisoned) are on the roll.
    UncountedMemberPaid,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Kind::PaidNotEligible => "paid_not_eligible",
            Kind::EligibleNotPaid => "eligible_not_paid",
            Kind::UncountedMemberPaid => "uncounted_member_paid",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Kind::PaidNotEligible => "错保 paid but not eligible",
            Kind::EligibleNotPaid => "漏保 eligible but not paid",
            Kind::UncountedMemberPaid => "应退未退 dead or imprisoned members on a paid household",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub household: String,
    pub kind: Kind,
    pub members: Vec<String>,
    /// The definitions whose conditions failed (e.g. `assets_ok`), or `counted`.
    pub category: String,
    /// The failing tests as people read them (`vehicles 机动车数量`), for 错保.
    pub reasons: Vec<String>,
    pub reason: String,
    /// Money a month at stake: the estimated wrong payment, the missed payment, or the excess.
    pub monthly: Num,
}

fn payment(ev: &mut HouseholdEval<'_>, id: DefId) -> Result<Num, EvalError> {
    Ok(ev.def(id, Scope::Household)?.to_num().unwrap_or(Num::ZERO))
}

/// Audits one household.
pub fn audit_household(
    policy: &Policy,
    cfg: &AuditConfig,
    hh: &Household,
    month: Month,
) -> Result<Vec<Finding>, EvalError> {
    let mut out = Vec::new();
    let paid = hh.fields.get(cfg.paid_slot) == Some(&Value::Bool(true));
    let mut ev = HouseholdEval::new(policy, hh, month);
    let eligible = ev.def(cfg.eligible, Scope::Household)?.as_bool();
    if paid && !eligible {
        let node = explain(&mut ev, cfg.eligible, Scope::Household)?;
        let fails = failing_conditions(&node);
        let mut cats: Vec<String> = fails.iter().map(|f| f.subject.clone()).collect();
        cats.sort();
        cats.dedup();
        // What the roll most likely pays: the gap, as if the household were eligible.
        let mut what_if = HouseholdEval::new(policy, hh, month);
        what_if.force(cfg.eligible, Scope::Household, Value::Bool(true));
        let p = payment(&mut what_if, cfg.payment)?;
        out.push(Finding {
            household: hh.id.clone(),
            kind: Kind::PaidNotEligible,
            members: Vec::new(),
            reasons: cats.iter().map(|c| subject_label(policy, c)).collect(),
            category: cats.join("+"),
            reason: fails
                .iter()
                .map(|f| f.reason.clone())
                .collect::<Vec<_>>()
                .join("; "),
            monthly: if p > Num::ZERO { p } else { Num::ZERO },
        });
    }
    if !paid && eligible {
        out.push(Finding {
            household: hh.id.clone(),
            kind: Kind::EligibleNotPaid,
            members: Vec::new(),
            category: "eligible".into(),
            reasons: Vec::new(),
            reason: "eligible under the policy but not on the roll".into(),
            monthly: payment(&mut ev, cfg.payment)?,
        });
    }
    if paid {
        let mut gone = Vec::new();
        let mut reasons = Vec::new();
        for i in 0..hh.members.len() {
            if !ev.def(cfg.counted, Scope::Person(i))?.as_bool() {
                gone.push(i);
                let node = explain(&mut ev, cfg.counted, Scope::Person(i))?;
                let why: Vec<String> = failing_conditions(&node)
                    .into_iter()
                    .map(|f| f.reason)
                    .collect();
                reasons.push(format!("member {}: {}", hh.members[i].id, why.join("; ")));
            }
        }
        if !gone.is_empty() {
            let actual = payment(&mut ev, cfg.payment)?;
            let mut counted_all = HouseholdEval::new(policy, hh, month);
            for &i in &gone {
                counted_all.force(cfg.counted, Scope::Person(i), Value::Bool(true));
            }
            let if_counted = payment(&mut counted_all, cfg.payment)?;
            let excess = if_counted.checked_sub(&actual).unwrap_or(Num::ZERO);
            out.push(Finding {
                household: hh.id.clone(),
                kind: Kind::UncountedMemberPaid,
                members: gone.iter().map(|&i| hh.members[i].id.clone()).collect(),
                category: "counted".into(),
                reasons: Vec::new(),
                reason: reasons.join("; "),
                monthly: if excess > Num::ZERO {
                    excess
                } else {
                    Num::ZERO
                },
            });
        }
    }
    Ok(out)
}

/// Audits a chunk of households in parallel; findings in input order.
///
/// Most households are neither paid nor eligible and have no finding: the compiled path decides
/// eligibility for those (exactly as the reference would); every other household, and any household
/// the compiled path defers, is audited by [`audit_household`].
pub fn audit_chunk(
    policy: &Policy,
    cfg: &AuditConfig,
    hs: &[Household],
    month: Month,
) -> Result<Vec<Vec<Finding>>, EvalError> {
    let Ok(cp) = crate::fast::CompiledPolicy::new(policy, &[cfg.eligible]) else {
        return hs
            .par_iter()
            .with_min_len(64)
            .map(|h| audit_household(policy, cfg, h, month))
            .collect();
    };
    hs.par_iter()
        .with_min_len(64)
        .map_init(
            || (cp.session(month), Vec::with_capacity(1)),
            |(s, out), h| {
                let paid = h.fields.get(cfg.paid_slot) == Some(&Value::Bool(true));
                out.clear();
                if !paid && s.try_evaluate(h, out) && out[0] == Value::Bool(false) {
                    return Ok(Vec::new());
                }
                audit_household(policy, cfg, h, month)
            },
        )
        .collect()
}

/// Counts and money a month by kind of finding, and for 错保 by failing test (a household that fails
/// several tests is counted under each of them).
#[derive(Default)]
pub struct Summary {
    /// (kind, households, money)
    pub kinds: Vec<(Kind, u64, Num)>,
    /// (kind, test, households, money)
    pub reasons: Vec<(Kind, String, u64, Num)>,
}

fn bump(count: &mut u64, money: &mut Num, add: &Num) {
    *count += 1;
    if let Ok(m) = money.checked_add(add) {
        *money = m;
    }
}

impl Summary {
    pub fn add(&mut self, f: &Finding) {
        match self.kinds.iter_mut().find(|(k, _, _)| *k == f.kind) {
            Some(r) => bump(&mut r.1, &mut r.2, &f.monthly),
            None => self.kinds.push((f.kind, 1, f.monthly.clone())),
        }
        if f.kind == Kind::PaidNotEligible {
            for reason in &f.reasons {
                match self
                    .reasons
                    .iter_mut()
                    .find(|(k, c, _, _)| *k == f.kind && c == reason)
                {
                    Some(r) => bump(&mut r.2, &mut r.3, &f.monthly),
                    None => self
                        .reasons
                        .push((f.kind, reason.clone(), 1, f.monthly.clone())),
                }
            }
        }
    }
    fn sorted(&self) -> (Vec<KindTotal>, Vec<RegionTotal>) {
        let mut k = self.kinds.clone();
        k.sort_by_key(|r| r.0);
        let mut r = self.reasons.clone();
        r.sort_by(|a, b| {
            (a.0, std::cmp::Reverse(a.2), &a.1).cmp(&(b.0, std::cmp::Reverse(b.2), &b.1))
        });
        (k, r)
    }
    pub fn render(&self, month: Month) -> String {
        let mut out = format!("roll audit for {month}\n");
        let (kinds, reasons) = self.sorted();
        let label = |k: Kind| k.label().to_string();
        let w1 = kinds
            .iter()
            .map(|r| width(&label(r.0)))
            .chain(reasons.iter().map(|r| width(&r.1) + 4))
            .max()
            .unwrap_or(0)
            .max(7);
        out.push_str(&format!(
            "{}  {:>10}  {:>16}\n",
            pad("finding", w1),
            "households",
            "monthly at stake"
        ));
        let mut total = Num::ZERO;
        let mut n = 0;
        for (k, count, money) in &kinds {
            out.push_str(&format!(
                "{}  {:>10}  {:>16}\n",
                pad(&label(*k), w1),
                count,
                money.format_fixed(2)
            ));
            for (_, reason, c, m) in reasons.iter().filter(|r| r.0 == *k) {
                out.push_str(&format!(
                    "{}  {:>10}  {:>16}\n",
                    pad(&format!("  · {reason}"), w1),
                    c,
                    m.format_fixed(2)
                ));
            }
            total = total.checked_add(money).unwrap_or(total.clone());
            n += count;
        }
        out.push_str(&format!(
            "{}  {:>10}  {:>16}\n",
            pad("total findings", w1),
            n,
            total.format_fixed(2)
        ));
        if kinds.is_empty() {
            out.push_str("no findings: the roll agrees with the policy\n");
        } else {
            out.push_str(
                "· a 错保 household failing several tests is listed under each of them.\n\
                 money at stake a month: 错保, the gap payment the household would get if it were eligible (0 when its income is \
                 at or above the standard: the data does not hold the amount actually paid); 漏保, the payment it should get; \
                 应退未退, what counting the dead or imprisoned members adds to the payment\n",
            );
        }
        out
    }
}

/// Writes `findings.csv` and `summary.csv` into a directory atomically (temporary files, then rename;
/// the temporary files are removed if the writer is dropped before `finish`).
pub struct FindingsWriter {
    dir: PathBuf,
    tmp: PathBuf,
    stmp: PathBuf,
    w: Option<csv::Writer<std::fs::File>>,
}

impl FindingsWriter {
    pub fn create(dir: &Path) -> Result<FindingsWriter, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        crate::tmpfiles::sweep(dir);
        let tmp = dir.join(".findings.csv.tmp");
        let stmp = dir.join(".summary.csv.tmp");
        let mut w = csv::Writer::from_path(&tmp)
            .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        let header = w
            .write_record([
                "household_id",
                "finding",
                "members",
                "category",
                "reason",
                "monthly_at_stake",
            ])
            .map_err(|e| e.to_string());
        let writer = FindingsWriter {
            dir: dir.to_path_buf(),
            tmp,
            stmp,
            w: Some(w),
        };
        header?;
        Ok(writer)
    }
    pub fn write(&mut self, f: &Finding) -> Result<(), String> {
        let Some(w) = &mut self.w else {
            return Err("the findings are already written".into());
        };
        w.write_record([
            f.household.as_str(),
            f.kind.code(),
            &f.members.join(" "),
            &f.category,
            &f.reason,
            &f.monthly.format_fixed(2),
        ])
        .map_err(|e| e.to_string())
    }
    pub fn finish(mut self, summary: &Summary, _month: Month) -> Result<(), String> {
        if let Some(mut w) = self.w.take() {
            w.flush().map_err(|e| e.to_string())?;
        }
        {
            let mut f = std::fs::File::create(&self.stmp).map_err(|e| e.to_string())?;
            writeln!(f, "finding,failing_test,households,monthly_at_stake")
                .map_err(|e| e.to_string())?;
            let (kinds, reasons) = summary.sorted();
            for (k, n, m) in kinds {
                writeln!(f, "{},,{},{}", k.code(), n, m.format_fixed(2))
                    .map_err(|e| e.to_string())?;
                for (_, r, n, m) in reasons.iter().filter(|r| r.0 == k) {
                    writeln!(
                        f,
                        "{},\"{}\",{},{}",
                        k.code(),
                        r.replace('"', "\"\""),
                        n,
                        m.format_fixed(2)
                    )
                    .map_err(|e| e.to_string())?;
                }
            }
        }
        std::fs::rename(&self.tmp, self.dir.join("findings.csv")).map_err(|e| e.to_string())?;
        std::fs::rename(&self.stmp, self.dir.join("summary.csv")).map_err(|e| e.to_string())?;
        Ok(())
    }
}

impl Drop for FindingsWriter {
    fn drop(&mut self) {
        // After a successful `finish` both are gone already; on any error path they are removed here.
        let _ = std::fs::remove_file(&self.tmp);
        let _ = std::fs::remove_file(&self.stmp);
    }
}

/// A failing test's subject with its Chinese label when the policy declares one.
fn subject_label(policy: &Policy, name: &str) -> String {
    let p = &policy.program;
    let label = p
        .find_def(name)
        .and_then(|d| p.defs[d as usize].label.clone())
        .or_else(|| {
            p.household_inputs
                .iter()
                .find(|i| i.name == name)
                .and_then(|i| i.label.clone())
        })
        .or_else(|| {
            p.person_inputs
                .iter()
                .find(|i| i.name == name)
                .and_then(|i| i.label.clone())
        })
        .or_else(|| {
            p.param_by_name(name)
                .and_then(|i| p.params[i as usize].label.clone())
        });
    match label {
        Some(l) => format!("{name} {l}"),
        None => name.to_string(),
    }
}

fn width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// Pads to a display width (CJK characters are two columns wide).
fn pad(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(width(s))))
}
