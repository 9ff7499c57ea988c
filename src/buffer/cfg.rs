//! Validation of [`BufferCfg`] beyond what aimdb-core checks.
//!
//! aimdb-core's `BufferCfg::validate` only rejects a zero ring capacity. The browser
//! heap is small and a wrong capacity (a unit mix-up, a stray `usize::MAX`) should be
//! an error at configuration time, not an allocation failure later, so rings are
//! also capped at [`MAX_RING_CAPACITY`] slots. Validation never allocates.

use std::fmt;

use aimdb_core::buffer::BufferCfg;

/// Largest accepted `SpmcRing` capacity, in items (2^20). Storage grows lazily, so
/// a ring this large costs nothing until it fills.
pub const MAX_RING_CAPACITY: usize = 1 << 20;

/// Why a [`BufferCfg`] was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BufferCfgError {
    /// `SpmcRing { capacity: 0 }`.
    ZeroCapacity,
    /// `SpmcRing { capacity }` with `capacity > max`.
    CapacityTooLarge {
        /// The configured capacity.
        capacity: usize,
        /// [`MAX_RING_CAPACITY`].
        max: usize,
    },
}

impl fmt::Display for BufferCfgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroCapacity => f.write_str("SPMC ring capacity must be > 0 (got capacity=0)"),
            Self::CapacityTooLarge { capacity, max } => write!(
                f,
                "SPMC ring capacity={capacity} exceeds the maximum of {max} items"
            ),
        }
    }
}

impl std::error::Error for BufferCfgError {}

/// Checks `cfg` against this adapter's limits: ring capacity in
/// `1..=MAX_RING_CAPACITY`. `SingleLatest` and `Mailbox` are always valid.
pub fn validate_buffer_cfg(cfg: &BufferCfg) -> Result<(), BufferCfgError> {
    match *cfg {
        BufferCfg::SpmcRing { capacity: 0 } => Err(BufferCfgError::ZeroCapacity),
        BufferCfg::SpmcRing { capacity } if capacity > MAX_RING_CAPACITY => {
            Err(BufferCfgError::CapacityTooLarge {
                capacity,
                max: MAX_RING_CAPACITY,
            })
        }
        BufferCfg::SpmcRing { .. } | BufferCfg::SingleLatest | BufferCfg::Mailbox => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_capacity_bounds() {
        let ring = |capacity| validate_buffer_cfg(&BufferCfg::SpmcRing { capacity });
        assert_eq!(ring(0), Err(BufferCfgError::ZeroCapacity));
        assert_eq!(ring(1), Ok(()));
        assert_eq!(ring(MAX_RING_CAPACITY), Ok(()));
        assert_eq!(
            ring(MAX_RING_CAPACITY + 1),
            Err(BufferCfgError::CapacityTooLarge {
                capacity: MAX_RING_CAPACITY + 1,
                max: MAX_RING_CAPACITY
            })
        );
        assert_eq!(
            ring(usize::MAX),
            Err(BufferCfgError::CapacityTooLarge {
                capacity: usize::MAX,
                max: MAX_RING_CAPACITY
            })
        );
        assert_eq!(validate_buffer_cfg(&BufferCfg::SingleLatest), Ok(()));
        assert_eq!(validate_buffer_cfg(&BufferCfg::Mailbox), Ok(()));
    }

    #[test]
    fn display_names_the_offending_value() {
        assert!(BufferCfgError::ZeroCapacity.to_string().contains("capacity=0"));
        let msg = BufferCfgError::CapacityTooLarge {
            capacity: 1_048_577,
            max: MAX_RING_CAPACITY,
        }
        .to_string();
        assert!(msg.contains("1048577") && msg.contains("1048576"), "{msg}");
    }
}
