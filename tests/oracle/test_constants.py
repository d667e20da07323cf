"""The oracles write the uapi constants out (see ``kernel_oracle``'s comment on why they
do not import the model's); here they must agree with ``mmaplab.kernel.flags``."""

from __future__ import annotations

import re

import pytest

from mmaplab.kernel import flags
from tests.oracle import brk_oracle, kernel_oracle

#: uapi names the oracles and the model share.
_UAPI = re.compile(r"^(PROT|MAP|MREMAP|MADV|MLOCK|MCL)_[A-Z0-9_]+$")


def _shared(module) -> list[str]:
    return sorted(n for n, v in vars(module).items()
                  if _UAPI.match(n) and isinstance(v, int) and hasattr(flags, n))


@pytest.mark.parametrize("oracle", [kernel_oracle, brk_oracle], ids=lambda m: m.__name__)
def test_the_oracles_uapi_constants_are_the_models(oracle):
    names = _shared(oracle)
    assert len(names) >= (40 if oracle is kernel_oracle else 6), names
    assert {n: getattr(oracle, n) for n in names} == {n: getattr(flags, n) for n in names}
    assert oracle.PAGE == flags.PAGE_SIZE


def test_every_uapi_name_the_kernel_oracle_writes_is_one_the_model_has():
    own = sorted(n for n, v in vars(kernel_oracle).items()
                 if _UAPI.match(n) and isinstance(v, int))
    # MAP_FAILED is libc's return value, not a flag
    assert [n for n in own if not hasattr(flags, n) and n != "MAP_FAILED"] == []
    assert kernel_oracle.TASK_SIZE == flags.TASK_SIZE
