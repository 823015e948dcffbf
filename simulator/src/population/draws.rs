//! Random streams (one ChaCha8 stream per household) and the draws built on them.

use super::*;

pub(super) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(super) fn derive_key(seed: u64, domain: u64) -> [u8; 32] {
    let mut state = seed ^ domain.wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut key = [0u8; 32];
    for chunk in key.chunks_mut(8) {
        chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
    }
    key
}

pub(super) fn stream(key: &[u8; 32], index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::from_seed(*key);
    rng.set_stream(index);
    rng
}

#[inline]
pub(super) fn unit(rng: &mut ChaCha8Rng) -> f64 {
    rng.gen::<f64>()
}

/// Index of the category for a uniform draw, given a cumulative distribution ending at 1.
pub(super) fn pick(cdf: &[f64], u: f64) -> usize {
    cdf.partition_point(|c| *c <= u)
        .min(cdf.len().saturating_sub(1))
}

pub(super) fn cdf_of(weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    let mut cdf: Vec<f64> = weights
        .iter()
        .map(|w| {
            acc += w / total;
            acc
        })
        .collect();
    if let Some(last) = cdf.last_mut() {
        *last = 1.0;
    }
    cdf
}

/// Draw from a lognormal mixture (two draws, always). `scale` multiplies the medians.
pub(super) fn mixture(rng: &mut ChaCha8Rng, parts: &[LognormalPart], scale: f64) -> f64 {
    let u = unit(rng);
    let z: f64 = rng.sample(StandardNormal);
    let mut acc = 0.0;
    for p in parts {
        acc += p.share;
        if u < acc {
            return p.median * scale * (p.sigma * z).exp();
        }
    }
    0.0
}

pub(super) fn band_rate(bands: &[RateBand], age: u32) -> f64 {
    bands
        .iter()
        .find(|b| b.min <= age && age <= b.max)
        .map(|b| b.rate)
        .unwrap_or(0.0)
}

pub(super) fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}
