"""The two test tiers, and the helpers that give a broad test cheap representatives.

* ``make test`` (what CI runs) runs every collected test, with the default hypothesis
  profile.
* ``make test-fast``, the inner loop, runs the tests without a ``slow``, ``kernel`` or
  ``browser`` marker (:data:`FAST_TIER`, the expression the Makefile passes to ``-m``),
  under the hypothesis profile :data:`FAST_PROFILE`.

A sweep (every exercise x every wrong answer, every seed batch against the running
kernel) keeps a few representatives in the fast tier and marks the rest ``slow``, so
``make test`` still runs all of it: :func:`sample`.  A hypothesis test that asks for more
examples than the default states its full count through :func:`examples`, which the fast
profile scales down.  ``tests/test_tiers.py`` checks that every test is in exactly one of
the fast tier and the slow/kernel/browser tiers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pytest
from hypothesis import settings

#: The ``-m`` expression of ``make test-fast`` (tests/test_tiers.py reads the Makefile's).
FAST_TIER = "not slow and not browser and not kernel"
#: The markers that keep a test out of the fast tier.
OTHER_TIERS = ("slow", "kernel", "browser")

#: ``make test-fast`` loads this profile (``--hypothesis-profile=fast``).
FAST_PROFILE = "fast"
_FAST_EXAMPLES = 10
settings.register_profile(FAST_PROFILE, max_examples=_FAST_EXAMPLES)
#: hypothesis's own default ``max_examples`` (the "default" profile, used by ``make test``).
_DEFAULT_EXAMPLES = 100


def examples(full: int) -> int:
    """``max_examples`` for a test that wants ``full`` under the default profile: scaled by
    the loaded profile (a tenth under :data:`FAST_PROFILE`, never fewer than 5)."""
    loaded = settings.default.max_examples
    if loaded >= _DEFAULT_EXAMPLES:
        return full
    return max(5, full * loaded // _DEFAULT_EXAMPLES)


def sample(params: Iterable[Any], *, key: Callable[[Any], object] | None = None,
           keep: int = 1, ids: Sequence[str] | None = None) -> list[Any]:
    """``params`` for ``pytest.mark.parametrize``: the first ``keep`` of each group
    (``key(param)``; one group if no key) stay in the fast tier, the others are marked
    ``slow``.  ``ids`` name the cases as ``parametrize``'s ``ids`` would."""
    out = []
    seen: dict[object, int] = {}
    for i, p in enumerate(params):
        group = key(p) if key is not None else None
        seen[group] = seen.get(group, 0) + 1
        values = p if isinstance(p, tuple) else (p,)
        marks = () if seen[group] <= keep else (pytest.mark.slow,)
        out.append(pytest.param(*values, marks=marks, id=None if ids is None else ids[i]))
    return out
