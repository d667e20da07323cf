"""Exercise 01's concept kit: a frame buffer, a register block and a kernel buffer, each
mapped by one classic helper (``model``), the requests (``spec``) and the realistic
wrong conversions (``mutants``)."""

from .model import (
    BufDev,
    FbDev,
    RegsDev,
    buf_mmap,
    buf_mmap_prepare,
    fb_mmap,
    fb_mmap_prepare,
    regs_mmap,
    regs_mmap_prepare,
)
from .mutants import MUTANTS
from .spec import BUF, FB, REGS, SPEC

__all__ = ["FbDev", "RegsDev", "BufDev", "fb_mmap", "regs_mmap", "buf_mmap",
           "fb_mmap_prepare", "regs_mmap_prepare", "buf_mmap_prepare", "FB", "REGS", "BUF",
           "SPEC", "MUTANTS"]
