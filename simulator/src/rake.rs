//! The arithmetic of weighting: exponential raking (calibration of weights to totals), unbiased
//! rounding of weights to whole households, and the Poisson(1) draws of the bootstrap.
//!
//! Weights are statistical estimates, not policy semantics: they are computed in floating point and
//! rounded to whole households, after which every sum is exact.

use crate::calibrate::Raking;

/// A Poisson(1) draw from a uniform `u` (the bootstrap multiplicity of a household in a run).
pub fn poisson1(u: f64) -> u64 {
    let mut k = 0u64;
    let mut p = (-1.0f64).exp();
    let mut cdf = p;
    while u > cdf && k < 20 {
        k += 1;
        p /= k as f64;
        cdf += p;
    }
    k
}

/// `x` rounded down or up with probabilities that make the rounding unbiased, by a hash of `key`.
pub fn round_unbiased(x: f64, key: u64) -> u64 {
    if x.is_nan() || x <= 0.0 {
        return 0;
    }
    let floor = x.floor();
    let mut z = key.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let u = (z >> 11) as f64 / (1u64 << 53) as f64;
    floor as u64 + ((x - floor) > u) as u64
}

/// Exponential raking (Deville and Särndal's multiplicative calibration): finds `g_i = exp(x_i·λ)`,
/// bounded to `[1/max_ratio, max_ratio]`, with `Σ d_i g_i x_ik = goal_k`, by Newton's method. `x` is
/// sparse: (constraint, value) per unit. Constraints no unit contributes to are left out.
pub fn rake(
    d: &[f64],
    x: &[Vec<(usize, f64)>],
    goal: &[f64],
    max_ratio: f64,
) -> (Vec<f64>, Raking) {
    let k = goal.len();
    let mut base = vec![0.0; k];
    for (row, di) in x.iter().zip(d) {
        for (c, v) in row {
            base[*c] += di * v;
        }
    }
    let active: Vec<bool> = (0..k).map(|c| base[c] > 0.0 && goal[c] > 0.0).collect();
    let scale: Vec<f64> = goal
        .iter()
        .map(|g| if *g > 0.0 { 1.0 / g } else { 0.0 })
        .collect();
    let (lo, hi) = (1.0 / max_ratio.max(1.0), max_ratio.max(1.0));
    let mut lambda = vec![0.0; k];
    let g_of = |lambda: &[f64], row: &[(usize, f64)]| -> (f64, bool) {
        let e: f64 = row
            .iter()
            .filter(|(c, _)| active[*c])
            .map(|(c, v)| lambda[*c] * v * scale[*c])
            .sum();
        let g = e.exp();
        if g < lo {
            (lo, true)
        } else if g > hi {
            (hi, true)
        } else {
            (g, false)
        }
    };
    let residual = |lambda: &[f64]| -> Vec<f64> {
        let mut t = vec![0.0; k];
        for (row, di) in x.iter().zip(d) {
            let (g, _) = g_of(lambda, row);
            for (c, v) in row {
                t[*c] += di * g * v * scale[*c];
            }
        }
        (0..k)
            .map(|c| if active[c] { t[c] - 1.0 } else { 0.0 })
            .collect()
    };
    let norm = |r: &[f64]| r.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let mut r = residual(&lambda);
    let mut iterations = 0;
    while norm(&r) > 1e-10 && iterations < 100 {
        iterations += 1;
        let mut jac = vec![vec![0.0; k]; k];
        for (row, di) in x.iter().zip(d) {
            let (g, clipped) = g_of(&lambda, row);
            if clipped {
                continue;
            }
            for (a, va) in row {
                for (b, vb) in row {
                    jac[*a][*b] += di * g * va * scale[*a] * vb * scale[*b];
                }
            }
        }
        for c in 0..k {
            if !active[c] {
                jac[c] = vec![0.0; k];
                jac[c][c] = 1.0;
            }
            jac[c][c] += 1e-12;
        }
        let Some(step) = solve(jac, r.iter().map(|x| -x).collect()) else {
            break;
        };
        // Damped: halve the step until the residual falls.
        let mut t = 1.0;
        let before = norm(&r);
        loop {
            let trial: Vec<f64> = lambda.iter().zip(&step).map(|(l, s)| l + t * s).collect();
            let rt = residual(&trial);
            if norm(&rt) < before || t < 1e-4 {
                lambda = trial;
                r = rt;
                break;
            }
            t /= 2.0;
        }
        if t < 1e-4 {
            break;
        }
    }
    let g: Vec<f64> = x.iter().map(|row| g_of(&lambda, row).0).collect();
    let (g_min, g_max) = g
        .iter()
        .zip(d)
        .filter(|(_, d)| **d > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(a, b), (g, _)| {
            (a.min(*g), b.max(*g))
        });
    let info = Raking {
        g_min: if g_min.is_finite() { g_min } else { 1.0 },
        g_max,
        max_residual_pct: norm(&r) * 100.0,
        iterations,
        unraked_pph: Vec::new(),
    };
    (g, info)
}

/// Solves `a · x = b` by Gaussian elimination with partial pivoting; `None` when singular.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        let (top, rest) = a.split_at_mut(col + 1);
        let pivot = &top[col];
        for (k, r) in rest.iter_mut().enumerate() {
            let f = r[col] / pivot[col];
            if f == 0.0 {
                continue;
            }
            for (x, p) in r[col..].iter_mut().zip(&pivot[col..]) {
                *x -= f * p;
            }
            b[col + 1 + k] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|c| a[row][c] * x[c]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}
