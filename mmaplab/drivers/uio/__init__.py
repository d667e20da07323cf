"""drivers/uio/uio.c: the userspace-I/O core's ``uio_mmap``, before and after the series.

The kit: ``model`` (the driver, legacy and converted), ``spec`` (scenarios, mutants,
``SPEC``).
"""

from .model import (
    MAX_UIO_MAPS,
    MEMTYPE_NAMES,
    PAGE_OFFSET,
    REGS_PHYS,
    UIO_MAJOR,
    UIO_MEM_DMA_COHERENT,
    UIO_MEM_IOVA,
    UIO_MEM_LOGICAL,
    UIO_MEM_NONE,
    UIO_MEM_PHYS,
    UIO_MEM_VIRTUAL,
    VMALLOC_START,
    UioCore,
    UioDevice,
    UioInfo,
    UioListener,
    UioMem,
    UioPdrv,
    dma_mmap_coherent,
    kmalloc_pages,
    page_address,
    virt_to_page,
    virt_to_phys,
    vmalloc_to_page,
    vzalloc_pages,
)
from .mutants import MUTANTS
from .spec import (
    RW,
    SPEC,
)

__all__ = [
    "UIO_MEM_NONE",
    "UIO_MEM_PHYS",
    "UIO_MEM_LOGICAL",
    "UIO_MEM_VIRTUAL",
    "UIO_MEM_IOVA",
    "UIO_MEM_DMA_COHERENT",
    "MEMTYPE_NAMES",
    "MAX_UIO_MAPS",
    "UIO_MAJOR",
    "PAGE_OFFSET",
    "VMALLOC_START",
    "kmalloc_pages",
    "vzalloc_pages",
    "page_address",
    "virt_to_phys",
    "virt_to_page",
    "vmalloc_to_page",
    "UioMem",
    "UioInfo",
    "UioDevice",
    "UioListener",
    "UioCore",
    "dma_mmap_coherent",
    "REGS_PHYS",
    "UioPdrv",
    "RW",
    "SPEC",
    "MUTANTS",
]
