//! The story signatures' arithmetic (`monitor.core.stories`): MinHash values
//! from the shingles' hashes, how many values two signatures share, and the
//! band keys a signature is filed under. Values travel as little-endian u32
//! bytes, as the store keeps them; the functions give what numpy gives.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

fn u32s(data: &[u8], what: &str) -> PyResult<Vec<u32>> {
    if data.len() % 4 != 0 {
        return Err(PyValueError::new_err(format!(
            "{what}: {} bytes, not whole 32-bit values",
            data.len()
        )));
    }
    Ok(data
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// MurmurHash3's 32-bit finaliser.
fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^= h >> 16;
    h
}

/// Each permutation's minimum of `a * fmix32(h) + b` (mod 2^32) over the hashes.
#[pyfunction]
pub fn minhash<'py>(
    py: Python<'py>,
    hashes: &[u8],
    a: &[u8],
    b: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let hashes: Vec<u32> = u32s(hashes, "hashes")?.into_iter().map(fmix32).collect();
    let (a, b) = (u32s(a, "a")?, u32s(b, "b")?);
    if a.len() != b.len() {
        return Err(PyValueError::new_err("a and b differ in length"));
    }
    let mut out = Vec::with_capacity(a.len() * 4);
    for (&ai, &bi) in a.iter().zip(&b) {
        let least = hashes
            .iter()
            .map(|&h| ai.wrapping_mul(h).wrapping_add(bi))
            .min()
            .unwrap_or(u32::MAX);
        out.extend_from_slice(&least.to_le_bytes());
    }
    Ok(PyBytes::new(py, &out))
}

/// How many positions the two signatures' values agree at.
#[pyfunction]
pub fn agreement(x: &[u8], y: &[u8]) -> PyResult<usize> {
    if x.len() != y.len() || x.len() % 4 != 0 {
        return Err(PyValueError::new_err("signatures of different widths"));
    }
    Ok(x.chunks_exact(4)
        .zip(y.chunks_exact(4))
        .filter(|(p, q)| p == q)
        .count())
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
const MIX: (u64, u64) = (0xBF58_476D_1CE4_E5B9, 0x94D0_49BB_1331_11EB);

/// One key per band of two values: the pair as a 64-bit number, plus the
/// band's number times the golden ratio, through splitmix64's finaliser; the
/// high half, as a signed 32-bit key.
#[pyfunction]
pub fn band_keys(values: &[u8]) -> PyResult<Vec<i32>> {
    let values = u32s(values, "values")?;
    Ok(values
        .chunks_exact(2)
        .enumerate()
        .map(|(i, pair)| {
            let mut x = ((pair[0] as u64) << 32 | pair[1] as u64)
                .wrapping_add((i as u64 + 1).wrapping_mul(GOLDEN));
            x ^= x >> 30;
            x = x.wrapping_mul(MIX.0);
            x ^= x >> 27;
            x = x.wrapping_mul(MIX.1);
            x ^= x >> 31;
            (x >> 32) as u32 as i32
        })
        .collect())
}
