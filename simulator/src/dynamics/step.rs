//! One household's month: ageing, deaths, health onsets and recoveries, jobs and wages, schooling.

use super::{
    band_of, cents_of, enum_of, int_of, money, unit, yuan_cents, Dynamics, Normal, Rates, Slots,
    StreamKey,
};
use crate::work;
use doudi_interpreter::packed::MemberFields;
use doudi_interpreter::Value;

/// What the simulator tracks about a person beyond the data.
#[derive(Debug, Clone)]
pub struct PersonSim {
    /// The part of `monthly_income` that is work income (cents): all of it for a person employed at
    /// the start (assumption), the wage of a job found later.
    pub work_cents: i64,
    /// Months left during which the person counts as a fresh graduate.
    pub graduate_months_left: u8,
}

/// What the simulator keeps about a household beside its actual data (the truth, which the
/// administration may not know yet; held packed by the caller).
#[derive(Debug, Clone)]
pub struct Actual {
    pub persons: Vec<PersonSim>,
    pub region: u16,
    /// Index of the area variant.
    pub area: u16,
    /// Reviews happen in months `t` with `(t + review_phase) % interval == 0`.
    pub review_phase: u32,
    /// Index of the household in the population (its random stream).
    pub index: u64,
    /// Uniform draw that decides whether the household applies when eligible (take-up).
    pub take_up_draw: f64,
    /// Uniform draw of the household's bootstrap multiplicity in this run.
    pub bootstrap_draw: f64,
    /// The calendar month (1–12) of the yearly wage rise of the household's workers, when wage
    /// growth is staggered over the year (`wage_growth_month = 0`).
    pub raise_month: u32,
}

/// What happened to a household this month.
#[derive(Debug, Clone, Copy, Default)]
pub struct Events {
    /// Some input changed (other than ageing): a change the household should report.
    pub changed: bool,
    /// A member died.
    pub member_died: bool,
    /// Some input changed (ageing included): earlier evaluations of the household are stale.
    pub touched: bool,
}

impl Actual {
    /// Sets up the simulator's state of a household from the data.
    pub fn new(
        hh: &impl MemberFields,
        index: u64,
        region: u16,
        slots: &Slots,
        dynamics: &Dynamics,
        setup: &StreamKey,
    ) -> Actual {
        let mut rng = setup.stream(index, 0);
        let review_phase = (unit(&mut rng) * dynamics.review_interval_months as f64) as u32
            % dynamics.review_interval_months.max(1);
        let persons = (0..hh.member_count())
            .map(|m| {
                let employed = hh.member_field(m, slots.employed).as_bool();
                let work_cents = if employed {
                    cents_of(&hh.member_field(m, slots.monthly_income)).max(0)
                } else {
                    0
                };
                PersonSim {
                    work_cents,
                    graduate_months_left: 0,
                }
            })
            .collect();
        let area = enum_of(&hh.household_field(slots.area));
        let take_up_draw = unit(&mut rng);
        let bootstrap_draw = unit(&mut rng);
        let raise_month = 1 + ((unit(&mut rng) * 12.0) as u32).min(11);
        Actual {
            persons,
            region,
            area,
            review_phase,
            index,
            take_up_draw,
            bootstrap_draw,
            raise_month,
        }
    }

    /// The calendar month of the household's wage rise: `wage_growth_month`, or its own month when
    /// that is 0 (raises staggered over the year).
    fn wage_month(&self, d: &Dynamics) -> u32 {
        if d.wage_growth_month == 0 {
            self.raise_month
        } else {
            d.wage_growth_month
        }
    }

    /// Applies one month of events (month index `t` ≥ 1, calendar month `cal`).
    /// The members' fields are read and written through `hh` (the household packed or not).
    #[allow(clippy::too_many_arguments)] // the month's context, passed as the loop holds it
    pub fn step<H: MemberFields>(
        &mut self,
        hh: &mut H,
        d: &Dynamics,
        r: &Rates,
        s: &Slots,
        key: &StreamKey,
        t: u32,
        cal: u32,
    ) -> Events {
        let mut rng = key.stream(self.index, t);
        let mut ev = Events::default();
        let month = MonthOf {
            d,
            r,
            s,
            cal,
            urban: self.area == s.urban,
            wage_month: self.wage_month(d),
        };
        for (m, sim) in self.persons.iter_mut().enumerate().take(hh.member_count()) {
            // Fixed draws per person and month.
            let draws = Draws {
                u: std::array::from_fn(|_| unit(&mut rng)),
                z_income: Normal::draw(&mut rng),
                z_cost: Normal::draw(&mut rng),
            };
            let f = &mut Fields { hh: &mut *hh, m };
            if !f.bool(s.alive) {
                continue;
            }
            month.person(f, sim, &draws, &mut ev);
        }
        ev.touched |= ev.changed;
        ev
    }
}

/// A person's draws of the month, the same number whatever happens to them.
struct Draws {
    u: [f64; 12],
    z_income: Normal,
    z_cost: Normal,
}

/// What a household's month applies to each of its members.
struct MonthOf<'a> {
    d: &'a Dynamics,
    r: &'a Rates,
    s: &'a Slots,
    /// The calendar month (1–12).
    cal: u32,
    urban: bool,
    /// The calendar month of the household's wage rise.
    wage_month: u32,
}

impl MonthOf<'_> {
    /// One living member's month, in order: ageing, death, health, work, schooling.
    fn person<H: MemberFields>(
        &self,
        f: &mut Fields<'_, H>,
        sim: &mut PersonSim,
        u: &Draws,
        ev: &mut Events,
    ) {
        let s = self.s;
        let age = self.age(f, sim, u, ev);
        if self.dies(f, age, u) {
            f.set(s.alive, Value::Bool(false));
            ev.member_died = true;
            ev.changed = true;
            return;
        }
        if f.bool(s.imprisoned) {
            return;
        }
        if self.health(f, age, u) {
            ev.changed = true;
        }
        if self.work(f, sim, age, u) {
            ev.changed = true;
        }
        if self.graduate_countdown(f, sim) {
            ev.changed = true;
        }
        // Schooling, at the start of the school year.
        if self.cal == self.d.school_year_start_month && self.schooling(f, sim, age, u) {
            ev.changed = true;
        }
    }

    /// Ageing (in the ageing month), with retirement from a job at the retirement age; the age.
    fn age<H: MemberFields>(
        &self,
        f: &mut Fields<'_, H>,
        sim: &mut PersonSim,
        u: &Draws,
        ev: &mut Events,
    ) -> i64 {
        let (d, s) = (self.d, self.s);
        let mut age = f.int(s.age);
        if self.cal == d.ageing_month {
            age += 1;
            ev.touched = true;
            f.set(s.age, Value::Int(age));
            if age == d.retirement_age as i64 && f.bool(s.employed) && u.u[10] < d.retirement_rate {
                lose_job(f, sim, s);
                ev.changed = true;
            }
        }
        age
    }

    /// Whether the person dies this month (by age band, higher with uremia or cancer).
    fn dies<H: MemberFields>(&self, f: &Fields<'_, H>, age: i64, u: &Draws) -> bool {
        let s = self.s;
        let ill = f.enumeration(s.illness);
        let mort = band_of(&self.r.mortality, age, |b| b.0).map_or(0.0, |b| {
            if ill == s.ill_uremia || ill == s.ill_cancer {
                b.2
            } else {
                b.1
            }
        });
        u.u[0] < mort
    }

    /// Onsets of disability, loss of self-care, major and chronic illness, and recovery; whether
    /// anything changed.
    fn health<H: MemberFields>(&self, f: &mut Fields<'_, H>, age: i64, u: &Draws) -> bool {
        let (d, s) = (self.d, self.s);
        let Some((_, h)) = band_of(&self.r.health, age, |b| b.0) else {
            return false;
        };
        let h = *h;
        let mut changed = false;
        let ill = f.enumeration(s.illness);
        if f.int(s.disability_grade) == 0 && u.u[1] < h[0] {
            self.disability_onset(f, u);
            changed = true;
        }
        let sc = f.enumeration(s.self_care);
        if sc == s.sc_independent && u.u[3] < h[1] {
            f.set(s.self_care, Value::Enum(s.sc_semi));
            changed = true;
        } else if sc == s.sc_semi && u.u[3] < h[2] {
            f.set(s.self_care, Value::Enum(s.sc_fully));
            changed = true;
        }
        if (ill == s.ill_none || ill == s.ill_chronic) && u.u[4] < h[3] {
            let k = &d.major_illness_kinds;
            let total = k.uremia + k.mental + k.cancer + k.other_major;
            let x = u.u[5] * total;
            let kind = if x < k.uremia {
                s.ill_uremia
            } else if x < k.uremia + k.mental {
                s.ill_mental
            } else if x < k.uremia + k.mental + k.cancer {
                s.ill_cancer
            } else {
                s.ill_other_major
            };
            f.set(s.illness, Value::Enum(kind));
            f.set(
                s.medical_oop_12m,
                money(yuan_cents(
                    d.major_illness_cost_median
                        * (d.major_illness_cost_sigma * u.z_cost.value()).exp(),
                )),
            );
            changed = true;
        } else if ill == s.ill_none && u.u[5] < h[4] {
            f.set(s.illness, Value::Enum(s.ill_chronic));
            f.set(
                s.medical_oop_12m,
                money(yuan_cents(
                    d.chronic_illness_cost_median
                        * (d.chronic_illness_cost_sigma * u.z_cost.value()).exp(),
                )),
            );
            changed = true;
        } else if (ill == s.ill_cancer || ill == s.ill_other_major) && u.u[6] < self.r.recovery {
            f.set(s.illness, Value::Enum(s.ill_none));
            f.set(s.medical_oop_12m, money(0));
            changed = true;
        }
        changed
    }

    /// A new disability: its grade, and a severe one's yearly rehabilitation cost.
    fn disability_onset<H: MemberFields>(&self, f: &mut Fields<'_, H>, u: &Draws) {
        let (d, s) = (self.d, self.s);
        let severe = u.u[2] < d.severe_disability_share;
        let grade = if severe {
            if u.u[2] < d.severe_disability_share / 2.0 {
                1
            } else {
                2
            }
        } else if u.u[2] < (1.0 + d.severe_disability_share) / 2.0 {
            3
        } else {
            4
        };
        f.set(s.disability_grade, Value::Int(grade));
        if severe {
            f.set(
                s.rehab_cost_year,
                money(yuan_cents(
                    d.rehab_cost_median * (d.rehab_cost_sigma * u.z_cost.value()).exp(),
                )),
            );
        }
    }

    /// The wage of a job found this month (cents), by area.
    fn new_job_wage(&self, u: &Draws) -> i64 {
        let d = self.d;
        let median = if self.urban {
            d.new_job_income_median.urban
        } else {
            d.new_job_income_median.rural
        };
        yuan_cents(median * (d.new_job_income_sigma * u.z_income.value()).exp())
    }

    /// Losing a job (or no longer able to hold one), finding one, or the yearly wage rise; whether
    /// anything changed.
    fn work<H: MemberFields>(
        &self,
        f: &mut Fields<'_, H>,
        sim: &mut PersonSim,
        age: i64,
        u: &Draws,
    ) -> bool {
        let (d, s) = (self.d, self.s);
        let ill = f.enumeration(s.illness);
        let grade = f.int(s.disability_grade);
        let can_work = work::able_to_work(
            &work::Circumstances {
                present: f.bool(s.alive) && !f.bool(s.imprisoned),
                age,
                independent: f.enumeration(s.self_care) == s.sc_independent,
                disability_grade: grade,
                serious_illness: s.serious_illness(ill),
                in_school: f.enumeration(s.schooling) != s.sch_none,
            },
            d.working_age_min,
            d.retirement_age,
        );
        let employed = f.bool(s.employed);
        let able_now = f.enumeration(s.self_care) == s.sc_independent
            && !(grade == 1 || grade == 2)
            && !(ill == s.ill_uremia || ill == s.ill_cancer);
        if employed && (!able_now || u.u[7] < self.r.job_loss) {
            lose_job(f, sim, s);
            true
        } else if !employed && can_work && u.u[7] < self.r.job_find {
            gain_job(f, sim, s, self.new_job_wage(u), false);
            true
        } else if employed
            && self.cal == self.wage_month
            && d.wage_growth_per_year != 0.0
            && sim.work_cents > 0
        {
            let new = ((sim.work_cents as f64) * (1.0 + d.wage_growth_per_year)).round() as i64;
            let delta = new - sim.work_cents;
            if delta == 0 {
                return false;
            }
            sim.work_cents = new;
            let inc = (cents_of(&f.get(s.monthly_income)) + delta).max(0);
            f.set(s.monthly_income, money(inc));
            true
        } else {
            false
        }
    }

    /// A fresh graduate's months run down; at the end the employment category is cleared.
    fn graduate_countdown<H: MemberFields>(
        &self,
        f: &mut Fields<'_, H>,
        sim: &mut PersonSim,
    ) -> bool {
        let s = self.s;
        if sim.graduate_months_left == 0 {
            return false;
        }
        sim.graduate_months_left -= 1;
        if sim.graduate_months_left == 0
            && f.enumeration(s.employment_category) == s.cat_fresh_graduate
        {
            f.set(s.employment_category, Value::Enum(s.cat_none));
            return true;
        }
        false
    }

    /// The school year's transitions: entry, upper secondary, tertiary, graduation (with a job for
    /// some graduates); whether anything changed.
    fn schooling<H: MemberFields>(
        &self,
        f: &mut Fields<'_, H>,
        sim: &mut PersonSim,
        age: i64,
        u: &Draws,
    ) -> bool {
        let (d, s) = (self.d, self.s);
        let sch = f.enumeration(s.schooling);
        let entry = d.school_entry_age as i64;
        let after_compulsory = entry + d.compulsory_years as i64;
        let set = |f: &mut Fields<'_, H>, kind: u16, tuition: f64| {
            f.set(s.schooling, Value::Enum(kind));
            f.set(s.tuition_year, money(yuan_cents(tuition)));
        };
        if sch == s.sch_none && age == entry {
            set(f, s.sch_compulsory, 0.0);
        } else if sch == s.sch_compulsory && age >= after_compulsory {
            if u.u[8] < d.upper_secondary_rate {
                if u.u[9] < d.secondary_vocational_share {
                    set(
                        f,
                        s.sch_secondary_vocational,
                        d.tuition_secondary_vocational,
                    );
                } else {
                    set(f, s.sch_high_school, d.tuition_high_school);
                }
            } else {
                set(f, s.sch_none, 0.0);
            }
        } else if (sch == s.sch_high_school || sch == s.sch_secondary_vocational)
            && age >= after_compulsory + 3
        {
            if u.u[8] < d.tertiary_rate {
                if u.u[9] < d.higher_vocational_share {
                    set(f, s.sch_higher_vocational, d.tuition_higher_vocational);
                } else {
                    set(f, s.sch_university, d.tuition_university);
                }
            } else {
                set(f, s.sch_none, 0.0);
            }
        } else if (sch == s.sch_university && age >= after_compulsory + 7)
            || (sch == s.sch_higher_vocational && age >= after_compulsory + 6)
        {
            set(f, s.sch_none, 0.0);
            if u.u[11] < d.graduate_employment_rate && !f.bool(s.employed) {
                gain_job(f, sim, s, self.new_job_wage(u), true);
                sim.graduate_months_left = d.fresh_graduate_months.min(255) as u8;
            }
        } else {
            return false;
        }
        true
    }
}

fn lose_job<H: MemberFields>(f: &mut Fields<'_, H>, sim: &mut PersonSim, s: &Slots) {
    let inc = (cents_of(&f.get(s.monthly_income)) - sim.work_cents).max(0);
    f.set(s.monthly_income, money(inc));
    sim.work_cents = 0;
    sim.graduate_months_left = 0;
    f.set(s.employed, Value::Bool(false));
    f.set(s.employment_category, Value::Enum(s.cat_none));
}

fn gain_job<H: MemberFields>(
    f: &mut Fields<'_, H>,
    sim: &mut PersonSim,
    s: &Slots,
    wage: i64,
    graduate: bool,
) {
    sim.work_cents = wage;
    let inc = cents_of(&f.get(s.monthly_income)) + wage;
    f.set(s.monthly_income, money(inc));
    f.set(s.employed, Value::Bool(true));
    f.set(
        s.employment_category,
        Value::Enum(if graduate {
            s.cat_fresh_graduate
        } else {
            s.cat_none
        }),
    );
}

/// One member's fields.
struct Fields<'h, H: MemberFields> {
    hh: &'h mut H,
    m: usize,
}

impl<H: MemberFields> Fields<'_, H> {
    fn get(&self, slot: usize) -> Value {
        self.hh.member_field(self.m, slot)
    }
    fn bool(&self, slot: usize) -> bool {
        self.hh.member_bool(self.m, slot)
    }
    /// An integer field (0 when it holds no integer, as `int_of`).
    fn int(&self, slot: usize) -> i64 {
        self.hh
            .member_int(self.m, slot)
            .unwrap_or_else(|| int_of(&self.get(slot)))
    }
    /// An enum field (`u16::MAX` when it holds no enum value, as `enum_of`).
    fn enumeration(&self, slot: usize) -> u16 {
        self.hh
            .member_enum(self.m, slot)
            .unwrap_or_else(|| enum_of(&self.get(slot)))
    }
    fn set(&mut self, slot: usize, v: Value) {
        self.hh.set_member_field(self.m, slot, v);
    }
}
