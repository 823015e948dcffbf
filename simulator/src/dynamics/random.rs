//! Deterministic random streams: one ChaCha8 stream per household, month, run and purpose.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a stream is for (part of its key), so streams of different purposes never overlap.
#[derive(Clone, Copy)]
pub enum Purpose {
    /// Once per household at the start (review phase, take-up).
    Setup = 1,
    /// The month's events of the population.
    Dynamics = 2,
    /// The month's administrative draws (same for every policy variant).
    Admin = 3,
}

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The key of the streams of one run and purpose.
#[derive(Clone, Copy)]
pub struct StreamKey([u8; 32]);

impl StreamKey {
    pub fn new(seed: u64, run: u64, purpose: Purpose) -> StreamKey {
        let mut state = seed ^ 0x646F_7564_695F_7369; // "doudi_si"
        let _ = splitmix(&mut state);
        state ^= run.wrapping_mul(0xA24B_AED4_963E_E407);
        let _ = splitmix(&mut state);
        state ^= purpose as u64;
        let mut key = [0u8; 32];
        for chunk in key.chunks_mut(8) {
            chunk.copy_from_slice(&splitmix(&mut state).to_le_bytes());
        }
        StreamKey(key)
    }

    /// The stream of household `index` positioned at month `month` (each month has 2^16 words).
    pub fn stream(&self, index: u64, month: u32) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::from_seed(self.0);
        rng.set_stream(index);
        rng.set_word_pos((month as u128) << 16);
        rng
    }
}

pub fn unit(rng: &mut ChaCha8Rng) -> f64 {
    rng.gen::<f64>()
}

/// A standard normal value (Box–Muller) from two uniforms, drawn now and transformed only if the value is
/// used (most persons' monthly normals are not): the same values and the same stream positions.
#[derive(Debug, Clone, Copy)]
pub struct Normal(f64, f64);

impl Normal {
    pub fn draw(rng: &mut ChaCha8Rng) -> Normal {
        let u1: f64 = rng.gen::<f64>();
        let u2: f64 = rng.gen::<f64>();
        Normal(u1, u2)
    }
    pub fn value(self) -> f64 {
        let u1 = if self.0 <= f64::MIN_POSITIVE {
            f64::MIN_POSITIVE
        } else {
            self.0
        };
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * self.1).cos()
    }
}
