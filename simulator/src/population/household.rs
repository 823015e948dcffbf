//! One household drawn from its own stream: members, incomes, conditions, assets.

use super::*;

/// Where a household's members are drawn: its area and the income scales of its cell.
struct Place {
    area: Area,
    /// `area.index()`.
    ai: usize,
    /// The region's income scale.
    scale: f64,
    /// The area's income scale.
    area_scale: f64,
}

/// A member's age, sex and role in the household.
type Member = (u32, bool, Role);

impl<'s> Generator<'s> {
    /// The number of members of household `index` (the first draws of its stream: cheap), as
    /// [`Generator::household`] gives it.
    pub fn household_size(&self, index: u64) -> usize {
        let mut rng = stream(&self.key_main, index);
        let cell = pick(&self.cell_cdf, unit(&mut rng));
        let (_, area) = self.cells[cell];
        pick(&self.size_cdf[area.index()], unit(&mut rng)) + 1
    }

    /// Household `index` before its `on_dibao` draw: every field but `on_dibao` (false), without
    /// asking the policy (for what does not depend on the roll, such as oversampled strata).
    pub fn household_before_roll_draw(&self, index: u64) -> GeneratedHousehold {
        let spec = &self.spec;
        let mut rng = stream(&self.key_main, index);
        let cell = pick(&self.cell_cdf, unit(&mut rng));
        let (region, area) = self.cells[cell];
        let ai = area.index();
        let size = pick(&self.size_cdf[ai], unit(&mut rng)) + 1;
        let people = self.composition(&mut rng, area, size);
        let head_age = people[0].0;
        let place = Place {
            area,
            ai,
            scale: self.region_scale[region],
            area_scale: self.income_scale[ai],
        };
        let mut members: Vec<GeneratedPerson> = Vec::with_capacity(size);
        for &member in &people {
            members.push(self.person(&mut rng, &place, member));
        }
        self.ensure_breadwinner(&mut rng, area, &mut members, place.scale);
        self.draw_support(&mut rng, &mut members);

        // Household level.
        let n = members.iter().filter(|p| p.counted()).count();
        let income_cents: i64 = members
            .iter()
            .filter(|p| p.counted())
            .map(|p| p.monthly_income)
            .sum();
        let pc = if n > 0 {
            income_cents as f64 / 100.0 / n as f64
        } else {
            0.0
        };
        let pc_base = if n > 0 {
            members
                .iter()
                .filter(|p| p.counted())
                .map(|p| p.base_income)
                .sum::<f64>()
                / n as f64
        } else {
            0.0
        };
        let assets = self.assets(&mut rng, area, pc);
        let rp = &spec.registered_poor;
        let p_poor = match area {
            Area::Rural => {
                if pc < rp.line {
                    rp.rural_below_line
                } else {
                    rp.rural_above_line
                }
            }
            Area::Urban => rp.urban,
        };
        let registered_poor = unit(&mut rng) < p_poor;
        let children: Vec<&GeneratedPerson> =
            members.iter().filter(|p| p.role == Role::Child).collect();
        let u = unit(&mut rng);
        let pure_female = if !children.is_empty() {
            children.iter().all(|p| !p.male)
        } else {
            head_age >= spec.pure_female.min_head_age
                && u < spec.pure_female.no_children_listed_share
        };

        let mut drng = stream(&self.key_dibao, index);
        // The simulator's definition (`work::able_to_work`) with its default working ages.
        let able = members.iter().any(|p| {
            work::able_to_work(
                &p.work_circumstances(),
                work::DEFAULT_WORKING_AGE_MIN,
                work::DEFAULT_RETIREMENT_AGE,
            )
        });
        // The policy's answers come in `households`, which draws `on_dibao`.
        let draw = DibaoDraw {
            ratio: f64::INFINITY,
            tests_ok: false,
            able,
            u: unit(&mut drng),
        };
        let on_dibao = false;

        GeneratedHousehold {
            index,
            region,
            area,
            registered_poor,
            pure_female,
            financial_assets: assets.financial,
            vehicles: assets.vehicles,
            houses: assets.houses,
            credit: assets.credit,
            on_dibao,
            members,
            pc_base,
            dibao: draw,
        }
    }

    /// The household's composition: the head, a spouse, then parents, children or grandchildren.
    fn composition(&self, rng: &mut ChaCha8Rng, area: Area, size: usize) -> Vec<Member> {
        let comp = self.spec.composition.get(area);
        let ai = area.index();
        let kind = match size {
            1 => 0,
            2 => 1,
            _ => 2,
        };
        let bands = match kind {
            0 => &comp.single_head_ages,
            1 => &comp.couple_head_ages,
            _ => &comp.family_head_ages,
        };
        let b = bands[pick(&self.head_cdf[ai][kind], unit(rng))];
        let head_age = rng.gen_range(b.min..=b.max);
        let head_male = unit(rng) < comp.head_male_share;
        let mut people: Vec<Member> = Vec::with_capacity(size);
        people.push((head_age, head_male, Role::Head));
        let mut remaining = size - 1;
        if remaining > 0 && unit(rng) < comp.spouse_share {
            let shift = if head_male { -2.0 } else { 2.0 };
            let z: f64 = rng.sample(StandardNormal);
            let age = (head_age as f64 + shift + 3.0 * z)
                .round()
                .clamp(18.0, MAX_AGE as f64) as u32;
            people.push((age, !head_male, Role::Spouse));
            remaining -= 1;
        }
        let mut parents = 0;
        for _ in 0..remaining {
            let u = unit(rng);
            let role = if (45..=64).contains(&head_age)
                && parents < 2
                && u < comp.parent_share
                && head_age + 20 <= MAX_AGE
            {
                Role::Parent
            } else if head_age >= 55
                && u >= comp.parent_share
                && u < comp.parent_share + comp.grandchild_share
            {
                Role::Grandchild
            } else {
                Role::Child
            };
            let age = match role {
                Role::Parent => {
                    parents += 1;
                    (head_age + rng.gen_range(20..=34)).min(MAX_AGE)
                }
                Role::Grandchild => {
                    let gap = rng.gen_range(42..=62);
                    if head_age >= gap {
                        head_age - gap
                    } else {
                        rng.gen_range(0..=head_age.saturating_sub(36))
                    }
                }
                _ => {
                    let gap = rng.gen_range(20..=36);
                    if head_age >= gap {
                        head_age - gap
                    } else {
                        rng.gen_range(0..=head_age.saturating_sub(18))
                    }
                }
            };
            let male_share = if role == Role::Parent {
                comp.parent_male_share
            } else {
                comp.child_male_share
            };
            let male = unit(rng) < male_share;
            people.push((age, male, role));
        }
        people
    }

    /// One member: presence, disability, illness, schooling, employment, income, rehabilitation
    /// and pension contributions, drawn in that order.
    fn person(
        &self,
        rng: &mut ChaCha8Rng,
        place: &Place,
        (age, male, role): Member,
    ) -> GeneratedPerson {
        let spec = &self.spec;
        let area = place.area;
        let alive = unit(rng) >= band_rate(&spec.roll.dead, age);
        let imprisoned = alive && unit(rng) < band_rate(&spec.roll.imprisoned, age);
        let counted = alive && !imprisoned;
        let (grade, self_care) = self.disability(rng, age);
        let illness = self.illness(rng, age);
        let oop_parts = match illness {
            IllnessKind::None => &spec.illness.oop.none,
            IllnessKind::Uremia => &spec.illness.oop.uremia,
            IllnessKind::Mental => &spec.illness.oop.mental,
            IllnessKind::Cancer => &spec.illness.oop.cancer,
            IllnessKind::OtherMajor => &spec.illness.oop.other_major,
            IllnessKind::Chronic => &spec.illness.oop.chronic,
        };
        let oop = mixture(rng, oop_parts, 1.0);
        let medical_oop_12m = if alive { to_cents(oop) } else { 0 };
        // Heads and spouses are not full-time students: a student belongs to the parents' household.
        let in_school = counted && !matches!(role, Role::Head | Role::Spouse);
        let (schooling, tuition_year) = self.schooling(rng, place, age, in_school);
        let student = schooling != SchoolingKind::None;

        // Employment.
        let emp = &spec.employment;
        let mut p_emp = emp
            .bands(area)
            .iter()
            .find(|b| b.min <= age && age <= b.max)
            .map(|b| if male { b.male } else { b.female })
            .unwrap_or(0.0);
        if grade == 1 || grade == 2 || self_care == SelfCare::FullyDisabled {
            p_emp *= emp.severe_disability_factor;
        }
        let employed = counted && !student && unit(rng) < p_emp;
        let u = unit(rng);
        let employment_category = if employed {
            self.employment_category(age, male, u)
        } else {
            EmploymentCategory::None
        };

        // Income (before the area scale, which is linear).
        let income = spec.income.get(area);
        let parts: &[LognormalPart] = if !counted || age < 16 {
            &[]
        } else if employed {
            &income.employed
        } else if student {
            &income.student
        } else if age >= income.elderly_age {
            &income.elderly
        } else {
            &income.nonemployed
        };
        let base_income = mixture(rng, parts, place.scale);
        let monthly_income = to_cents(base_income * place.area_scale);

        // Rehabilitation.
        let rehab = mixture(rng, &spec.disability.rehab, 1.0);
        let rehab_cost_year = if grade > 0 && alive {
            to_cents(rehab)
        } else {
            0
        };

        // Pension contributions.
        let pen = &spec.pension;
        let (u, u2, u3) = (unit(rng), unit(rng), unit(rng));
        let pension_contrib_year =
            if counted && !student && pen.min_age <= age && age <= pen.max_age {
                if employed && u < pen.employee_coverage.get(area) {
                    to_cents(pen.employee_rate * monthly_income as f64 / 100.0 * 12.0)
                } else if u2 < pen.resident_coverage.get(area) {
                    to_cents(pen.resident_levels[pick(&self.level_cdf, u3)].amount)
                } else {
                    0
                }
            } else {
                0
            };

        GeneratedPerson {
            age,
            male,
            role,
            monthly_income,
            employed,
            employment_category,
            disability_grade: grade,
            self_care,
            illness,
            medical_oop_12m,
            rehab_cost_year,
            schooling,
            tuition_year,
            pension_contrib_year,
            alive,
            imprisoned,
            has_supporter: false,
            base_income,
        }
    }

    /// A member's disability grade (0: none) and self-care.
    fn disability(&self, rng: &mut ChaCha8Rng, age: u32) -> (u8, SelfCare) {
        let spec = &self.spec;
        let db = spec
            .disability
            .bands
            .iter()
            .find(|b| b.min <= age && age <= b.max);
        let mut grade = 0u8;
        if let Some(db) = db {
            if unit(rng) < db.prevalence {
                grade = pick(&self.grade_cdf, unit(rng)) as u8 + 1;
            }
        }
        let (semi, fully) = if grade == 1 || grade == 2 {
            (
                spec.disability.severe_semi_disabled,
                spec.disability.severe_fully_disabled,
            )
        } else {
            db.map(|b| (b.semi_disabled, b.fully_disabled))
                .unwrap_or((0.0, 0.0))
        };
        let u = unit(rng);
        let self_care = if u < fully {
            SelfCare::FullyDisabled
        } else if u < fully + semi {
            SelfCare::SemiDisabled
        } else {
            SelfCare::Independent
        };
        (grade, self_care)
    }

    /// A member's illness, by age band.
    fn illness(&self, rng: &mut ChaCha8Rng, age: u32) -> IllnessKind {
        let Some(ib) = self
            .spec
            .illness
            .bands
            .iter()
            .find(|b| b.min <= age && age <= b.max)
        else {
            return IllnessKind::None;
        };
        let u = unit(rng);
        let rates = [ib.uremia, ib.mental, ib.cancer, ib.other_major, ib.chronic];
        let kinds = [
            IllnessKind::Uremia,
            IllnessKind::Mental,
            IllnessKind::Cancer,
            IllnessKind::OtherMajor,
            IllnessKind::Chronic,
        ];
        let mut acc = 0.0;
        for (r, k) in rates.iter().zip(kinds) {
            acc += r;
            if u < acc {
                return k;
            }
        }
        IllnessKind::None
    }

    /// A member's schooling (compulsory 6-14, upper secondary 15-17, tertiary 18-21; none when not
    /// `in_school`) and yearly tuition (cents).
    fn schooling(
        &self,
        rng: &mut ChaCha8Rng,
        place: &Place,
        age: u32,
        in_school: bool,
    ) -> (SchoolingKind, i64) {
        let spec = &self.spec;
        let school = match place.area {
            Area::Urban => &spec.schooling.urban,
            Area::Rural => &spec.schooling.rural,
        };
        let tuition = &spec.schooling.tuition;
        let u = unit(rng);
        let u2 = unit(rng);
        let schooling = if !in_school {
            SchoolingKind::None
        } else if (6..15).contains(&age) {
            if u < school.compulsory {
                SchoolingKind::Compulsory
            } else {
                SchoolingKind::None
            }
        } else if (15..18).contains(&age) {
            if u < school.upper_secondary {
                if u2 < school.vocational_share {
                    SchoolingKind::SecondaryVocational
                } else {
                    SchoolingKind::HighSchool
                }
            } else {
                SchoolingKind::None
            }
        } else if (18..22).contains(&age) {
            if u < school.tertiary {
                match pick(&self.tertiary_cdf[place.ai], u2) {
                    0 => SchoolingKind::HigherVocational,
                    1 => SchoolingKind::University,
                    _ => SchoolingKind::AbroadSelfFunded,
                }
            } else {
                SchoolingKind::None
            }
        } else {
            SchoolingKind::None
        };
        let tuition_parts: &[LognormalPart] = match schooling {
            SchoolingKind::None => &[],
            SchoolingKind::Compulsory => &tuition.compulsory,
            SchoolingKind::HighSchool => &tuition.high_school,
            SchoolingKind::SecondaryVocational => &tuition.secondary_vocational,
            SchoolingKind::HigherVocational => &tuition.higher_vocational,
            SchoolingKind::University => &tuition.university,
            SchoolingKind::AbroadSelfFunded => &tuition.abroad_self_funded,
        };
        (schooling, to_cents(mixture(rng, tuition_parts, 1.0)))
    }

    /// An employed member's employment category (fresh graduate, released prisoner, discharged
    /// soldier) from the uniform draw `u`.
    fn employment_category(&self, age: u32, male: bool, u: f64) -> EmploymentCategory {
        let emp = &self.spec.employment;
        let sex = if male { Sex::Male } else { Sex::Female };
        let applies = |r: &CategoryRule| {
            r.min <= age && age <= r.max && !matches!(r.sex, Some(s) if s != sex)
        };
        let mut acc = 0.0;
        for (r, c) in [
            (&emp.fresh_graduate, EmploymentCategory::FreshGraduate),
            (&emp.released_prisoner, EmploymentCategory::ReleasedPrisoner),
            (
                &emp.discharged_soldier,
                EmploymentCategory::DischargedSoldier,
            ),
        ] {
            if applies(r) && u >= acc && u < acc + r.share {
                return c;
            }
            acc += r.share;
        }
        EmploymentCategory::None
    }

    /// Support: whether each member has a supporter, more likely with another counted, able member
    /// aged 18-59 in the household.
    fn draw_support(&self, rng: &mut ChaCha8Rng, members: &mut [GeneratedPerson]) {
        let support = &self.spec.support;
        for i in 0..members.len() {
            let cohabiting = members.iter().enumerate().any(|(j, q)| {
                j != i
                    && q.counted()
                    && (18..=59).contains(&q.age)
                    && !(q.disability_grade == 1 || q.disability_grade == 2)
                    && q.self_care != SelfCare::FullyDisabled
            });
            let p = if cohabiting {
                support.cohabiting_supported
            } else {
                support.alone_supported
            };
            members[i].has_supporter = unit(rng) < p;
        }
    }

    /// The household's financial assets, vehicles, houses and credit tier, scaled by its income
    /// per head `pc` (yuan a month).
    fn assets(&self, rng: &mut ChaCha8Rng, area: Area, pc: f64) -> Assets {
        let assets = self.spec.assets.get(area);
        let r = (pc / assets.reference_income).max(0.05);
        let financial = to_cents(mixture(
            rng,
            &assets.financial,
            r.powf(assets.financial_elasticity),
        ));
        let p_vehicle = (assets.vehicle_rate * r.powf(assets.vehicle_elasticity)).min(0.95);
        let (uv1, uv2) = (unit(rng), unit(rng));
        let vehicles = if uv1 < p_vehicle {
            1 + (uv2 < assets.second_vehicle_rate) as u32
        } else {
            0
        };
        let mut houses = pick(&self.house_cdf[area.index()], unit(rng)) as u32;
        if unit(rng) < (assets.extra_house_rate * (r - 1.0).max(0.0)).min(0.5) {
            houses += 1;
        }
        let credit = match pick(&self.credit_cdf, unit(rng)) {
            0 => CreditTier::Good,
            1 => CreditTier::General,
            2 => CreditTier::Serious,
            _ => CreditTier::Severe,
        };
        Assets {
            financial,
            vehicles,
            houses,
            credit,
        }
    }

    /// Households with a child under 18 and an able adult aged 18-59 but no earner after the
    /// independent draws: with the area's `employment.breadwinner` probability, the first able adult
    /// (the head before the spouse) works, with a wage from the employed mixture and, with the
    /// employee coverage, an employee pension contribution. Employment within a family is not
    /// independent (when one parent is out of work the other usually is not); without this, families with
    /// children and no earner made up half of the urban households below the line.
    pub(super) fn ensure_breadwinner(
        &self,
        rng: &mut ChaCha8Rng,
        area: Area,
        members: &mut [GeneratedPerson],
        region_scale: f64,
    ) {
        let Some(rate) = self.spec.employment.breadwinner.map(|b| b.get(area)) else {
            return;
        };
        let has_child = members.iter().any(|p| p.counted() && p.age < 18);
        if !has_child || members.iter().any(|p| p.employed) {
            return;
        }
        let able = members.iter().position(|p| {
            p.counted()
                && (18..=59).contains(&p.age)
                && p.schooling == SchoolingKind::None
                && !(p.disability_grade == 1 || p.disability_grade == 2)
                && p.self_care == SelfCare::Independent
        });
        let Some(i) = able else { return };
        if unit(rng) >= rate {
            return;
        }
        let spec = &self.spec;
        let base_income = mixture(rng, &spec.income.get(area).employed, region_scale);
        let p = &mut members[i];
        p.employed = true;
        p.base_income = base_income;
        p.monthly_income = to_cents(base_income * self.income_scale[area.index()]);
        let pen = &spec.pension;
        if p.age >= pen.min_age
            && p.age <= pen.max_age
            && unit(rng) < pen.employee_coverage.get(area)
        {
            p.pension_contrib_year =
                to_cents(pen.employee_rate * p.monthly_income as f64 / 100.0 * 12.0);
        }
    }
}

/// A household's assets as drawn.
struct Assets {
    /// Cents.
    financial: i64,
    vehicles: u32,
    houses: u32,
    credit: CreditTier,
}
