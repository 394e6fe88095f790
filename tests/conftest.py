"""Test-wide settings.

Hypothesis (6.131 and later) mixes literal constants it finds in every loaded *local*
module into its draws (with probability 0.05 per choice). bvverify is installed from
the checkout, so every number written anywhere in the library fed the derandomized
tests: an unrelated edit (measured: importing the VNN-LIB reader from the package
facade) moved the avgpool cases from 31 to 8 "holds" of 90. Draws must depend on the
tests alone, so that the verdict-balance floors measure the generators, not the
library's literals: the local-constant source is pinned empty here (Hypothesis's own
global constants stay). If Hypothesis renames the hook, the pin is skipped with a warning.
"""

from __future__ import annotations

import warnings

try:
    from hypothesis.internal.conjecture import providers as _providers

    _EMPTY = _providers.Constants(
        integers=_providers.SortedSet(),
        floats=_providers.SortedSet(key=_providers.float_to_int),
        bytes=_providers.SortedSet(),
        strings=_providers.SortedSet(),
    )
    _providers._get_local_constants = lambda: _EMPTY
except (ImportError, AttributeError) as e:  # pragma: no cover - a future Hypothesis
    warnings.warn(f"cannot pin Hypothesis's local constants ({e}): derandomized draws may follow library edits",
                  stacklevel=1)
