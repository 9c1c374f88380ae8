"""The pure core: standard library only, no AWS imports, no environment reads, no wall clock.

Everything time-dependent takes a `Clock` (see `cronbridge.core.ports`).
"""
