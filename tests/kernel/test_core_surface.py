"""Behaviour of the public surface that the other suites do not pin: top-down
placement (as x86-64's allocator does it), THP alignment of large anonymous
mappings, and the diagnoses a learner gets for a misbehaving hook."""

from __future__ import annotations

import errno

import pytest

from mmaplab import (
    MAP_ANONYMOUS,
    MAP_PRIVATE,
    MAP_SHARED,
    MM,
    PAGE_SIZE,
    PROT_READ,
    File,
    FileOperations,
    FMode,
    HookError,
    HookViolation,
    Inode,
)
from mmaplab.kernel.flags import MMAP_BASE, PMD_SIZE

ANON = MAP_PRIVATE | MAP_ANONYMOUS


def test_top_down_placement_and_hints():
    mm = MM()
    a = mm.mmap(None, PAGE_SIZE, PROT_READ | 2, ANON)
    assert a + PAGE_SIZE == MMAP_BASE  # the highest gap below mmap_base
    b = mm.mmap(None, PAGE_SIZE, PROT_READ, ANON)
    assert b + PAGE_SIZE == a  # next one just below (different prot: no merge)
    hint = 0x500000000000
    assert mm.mmap(hint, PAGE_SIZE, PROT_READ, ANON) == hint  # a free hint is used
    c = mm.mmap(hint, PAGE_SIZE, PROT_READ | 2, ANON)  # occupied hint: top-down instead
    assert c != hint and c + PAGE_SIZE == b


def test_large_anonymous_mappings_are_thp_aligned():
    mm = MM()
    mm.mmap(None, PAGE_SIZE, PROT_READ, ANON)
    big = mm.mmap(None, PMD_SIZE, PROT_READ, ANON)
    assert big % PMD_SIZE == 0
    odd = mm.mmap(None, PMD_SIZE + PAGE_SIZE, PROT_READ, ANON)  # not a multiple: no THP
    assert odd % PMD_SIZE != 0


def _mmap_with(prepare):
    f = File(Inode("/dev/h", PAGE_SIZE), FileOperations(name="h_fops", mmap_prepare=prepare),
             FMode.READ)
    MM().mmap(None, PAGE_SIZE, PROT_READ, MAP_SHARED, f, 0)


def test_hook_positive_errno_is_diagnosed():
    with pytest.raises(HookError, match=r"return -errno.EINVAL"):
        _mmap_with(lambda desc: errno.EINVAL)


def test_hook_exception_names_hook_and_line():
    def prepare(desc):
        return int("not a number")

    with pytest.raises(HookError, match=r"h_fops->mmap_prepare: raised ValueError.*test_core"):
        _mmap_with(prepare)


def test_hook_oserror_becomes_its_errno():
    def prepare(desc):
        raise OSError(errno.ENXIO, "no such device")

    with pytest.raises(OSError) as ei:
        _mmap_with(prepare)
    assert ei.value.errno == errno.ENXIO and not isinstance(ei.value, HookError)


def test_unknown_desc_field_is_a_violation():
    def prepare(desc):
        desc.vm_flag = 0  # typo of vm_flags
        return 0

    with pytest.raises(HookViolation, match="no field 'vm_flag'"):
        _mmap_with(prepare)


def test_the_version_is_pyprojects():
    import tomllib
    from pathlib import Path

    import mmaplab

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    assert mmaplab.__version__ == tomllib.loads(pyproject.read_text())["project"]["version"]


def test_the_version_without_metadata_is_read_from_the_source_tree(monkeypatch):
    from importlib import metadata

    import mmaplab
    from mmaplab import _version

    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert _version.version() == mmaplab.__version__
    monkeypatch.setattr(_version, "__file__", "/nonexistent/mmaplab/_version.py")
    assert _version.version() == "0+unknown"
