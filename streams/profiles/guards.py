"""The rebalance guards of the profile builder, now shared: see :mod:`streams.guards`."""

from streams.guards import (
    OffsetGuard,
    RecoveryStalledError,
    RecoveryWatchdog,
    SkippedOffsetsError,
    faust_committed_offsets,
    faust_recovery_remaining,
)

__all__ = ["OffsetGuard", "RecoveryStalledError", "RecoveryWatchdog", "SkippedOffsetsError",
           "faust_committed_offsets", "faust_recovery_remaining"]
