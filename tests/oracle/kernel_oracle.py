"""The real-kernel side of the differential tests, and the model replay it is compared with.

Run as a script (``python tests/oracle/kernel_oracle.py``) it reads a JSON batch of operation
sequences on stdin, runs each one with ctypes ``mmap``/``munmap``/``mprotect``, one-byte
touches and ``fork`` inside a reserved *window* of its own address space, and prints JSON
results: for every operation the errno, the returned address, and for each VMA of the
window its ``/proc/self/smaps`` header (the exact ``maps`` line), ``VmFlags`` and
``Anonymous`` size; for ``fork`` the same for the child. The kernel side runs in a
subprocess so that a crash can never take pytest down; one subprocess serves a batch.

Touches never fault: whether one would (SIGSEGV, SIGBUS beyond EOF) is decided from the
kernel's own smaps first, and the model must then answer ``OSError(EFAULT)``.

Isolation: at start the subprocess reserves ``guard + window + guard`` pages with a
``PROT_NONE`` ``MAP_NORESERVE`` private anonymous mapping, at a low hint address that the
kernel's top-down allocator never reaches, so Python's own allocations cannot land in a
hole of the window. Every sequence starts with three *setup* operations, replayed by the
model too: one-page ``MAP_SHARED|MAP_ANONYMOUS`` ``PROT_NONE`` guards on each side (shared
anonymous mappings never merge with anything), and the reservation
``mmap(base, window, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE|MAP_FIXED)`` which
resets the window. Sequence addresses are byte offsets from ``base``; the model replays at
the same absolute addresses.

In pytest, :func:`run_on_kernel` runs a batch and :func:`replay_on_model` replays one
sequence's kernel result on ``mmaplab.MM`` and returns the first mismatch, if any.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# The uapi constants below are written out here, not imported from mmaplab.kernel.flags,
# on purpose: this file is the kernel's side of the differential test, run as a plain
# script, and a constant the model got wrong must not reach the kernel through it (a
# wrong MAP_* value would then be passed to both sides and the difference vanish).
# tests/oracle/test_constants.py checks that the two agree, so neither can drift.
PAGE = 4096

PROT_NONE = 0x0
PROT_READ = 0x1
PROT_WRITE = 0x2
PROT_EXEC = 0x4
PROT_GROWSDOWN = 0x01000000
PROT_GROWSUP = 0x02000000

MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_SHARED_VALIDATE = 0x03
MAP_DROPPABLE = 0x08
MAP_TYPE = 0x0F
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_GROWSDOWN = 0x0100
MAP_DENYWRITE = 0x0800
MAP_EXECUTABLE = 0x1000
MAP_LOCKED = 0x2000
MAP_NORESERVE = 0x4000
MAP_POPULATE = 0x8000
MAP_NONBLOCK = 0x10000
MAP_STACK = 0x20000
MAP_HUGETLB = 0x40000
MAP_SYNC = 0x80000
MAP_FIXED_NOREPLACE = 0x100000
MAP_UNINITIALIZED = 0x4000000

MREMAP_MAYMOVE = 1
MREMAP_FIXED = 2
MREMAP_DONTUNMAP = 4

MADV_NORMAL = 0
MADV_RANDOM = 1
MADV_SEQUENTIAL = 2
MADV_WILLNEED = 3
MADV_DONTNEED = 4
MADV_DONTFORK = 10
MADV_DOFORK = 11
MADV_DONTDUMP = 16
MADV_DODUMP = 17
MADV_WIPEONFORK = 18
MADV_KEEPONFORK = 19

MLOCK_ONFAULT = 1
MCL_CURRENT = 1
MCL_FUTURE = 2
MCL_ONFAULT = 4

#: x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl) for the calls
#: made through syscall(2), so that no libc wrapper stands between the test and the kernel.
NR_MREMAP = 25
NR_MADVISE = 28
NR_MLOCK = 149
NR_MUNLOCK = 150
NR_MLOCKALL = 151
NR_MUNLOCKALL = 152
NR_MLOCK2 = 325
NR_MSEAL = 462

#: Ops whose effect reaches beyond the window or cannot be undone (mlockall's MCL_FUTURE,
#: a sealed window that can never be reset): a sequence with one runs in a forked child.
ISOLATED_OPS = frozenset({"mlockall", "mseal"})

#: x86-64 with 4-level paging: TASK_SIZE_MAX = (1 << 47) - PAGE_SIZE.
TASK_SIZE = (1 << 47) - PAGE

#: Pages in the window that sequences work in, and in each guard.
WINDOW_PAGES = 32
GUARD_PAGES = 1

#: Hints for the reservation, far below mmap_base so top-down allocation never reaches it.
RESERVATION_HINTS = (0x2AAA00000000, 0x1555A0000000, 0x3EEE00000000, 0x0A0000000000)

SHARED_ANON_NAME = "/dev/zero (deleted)"

#: Counters of this pytest session's replays, for the terminal summary (conftest.py).
STATS = {"sequences": 0, "ops": 0, "mismatches": 0}

#: ``seq_setwidth(m, 25 + sizeof(void *) * 6 - 1)`` in ``show_vma_header_prefix``
#: (fs/proc/task_mmu.c): ``seq_pad(m, ' ')`` pads to this width, then writes one space.
MAPS_PAD_WIDTH = 25 + 8 * 6 - 1

_MAPS_RE = re.compile(
    r"^(?P<start>[0-9a-f]+)-(?P<end>[0-9a-f]+) (?P<perms>[-r][-w][-x][ps]) "
    r"(?P<offset>[0-9a-f]+) (?P<major>[0-9a-f]+):(?P<minor>[0-9a-f]+) (?P<inode>\d+) "
    r"(?P<pad> *)(?P<name>.*)$"
)


# --------------------------------------------------------------------------------------
# /proc/<pid>/maps lines
# --------------------------------------------------------------------------------------


def parse_maps_line(line: str) -> dict[str, Any]:
    """Split one ``/proc/<pid>/maps`` line into its fields (raises ValueError if malformed)."""
    m = _MAPS_RE.match(line)
    if m is None:
        raise ValueError(f"not a maps line: {line!r}")
    return {
        "start": int(m["start"], 16),
        "end": int(m["end"], 16),
        "perms": m["perms"],
        "offset": int(m["offset"], 16),
        "major": int(m["major"], 16),
        "minor": int(m["minor"], 16),
        "inode": int(m["inode"]),
        "name": m["name"],
    }


def format_maps_line(
    start: int,
    end: int,
    perms: str,
    offset: int,
    major: int = 0,
    minor: int = 0,
    inode: int = 0,
    name: str = "",
) -> str:
    """Render a line exactly as ``show_vma_header_prefix`` + ``show_map_vma`` do."""
    head = f"{start:08x}-{end:08x} {perms} {offset:08x} {major:02x}:{minor:02x} {inode} "
    if not name:
        return head
    return head.ljust(MAPS_PAD_WIDTH) + " " + name


def canonical_line(line: str) -> str:
    """The line with dev major:minor, inode and file path normalised (padding recomputed)."""
    f = parse_maps_line(line)
    name = f["name"]
    if name and name != SHARED_ANON_NAME and name.startswith("/"):
        name = "<file>"
    return format_maps_line(f["start"], f["end"], f["perms"], f["offset"], name=name)


def maps_tuples(
    lines: list[str], base: int, file_ids: dict[str, str]
) -> list[tuple[int, int, str, int, str]]:
    """(start-base, end-base, perms, offset, name-class) for every line.

    name-class is ``""`` for private anonymous memory, ``"/dev/zero (deleted)"`` for shared
    anonymous memory and the logical file id (``f0``, ...) for a file mapping.
    """
    out = []
    for line in lines:
        f = parse_maps_line(line)
        name = f["name"]
        cls = file_ids.get(name, name)
        out.append((f["start"] - base, f["end"] - base, f["perms"], f["offset"], cls))
    return out


def window_lines(maps_text: str, lo: int, hi: int) -> list[str]:
    """The maps lines of VMAs intersecting [lo, hi)."""
    out = []
    for line in maps_text.splitlines():
        if not line:
            continue
        f = parse_maps_line(line)
        if f["start"] < hi and f["end"] > lo:
            out.append(line)
    return out


#: ``show_smap_vma_flags()`` (fs/proc/task_mmu.c): VM_* flag name -> smaps mnemonic.
VMFLAG_MNEMONICS = {
    "READ": "rd", "WRITE": "wr", "EXEC": "ex", "SHARED": "sh", "MAYREAD": "mr",
    "MAYWRITE": "mw", "MAYEXEC": "me", "MAYSHARE": "ms", "GROWSDOWN": "gd", "PFNMAP": "pf",
    "LOCKED": "lo", "IO": "io", "SEQ_READ": "sr", "RAND_READ": "rr", "DONTCOPY": "dc",
    "DONTEXPAND": "de", "LOCKONFAULT": "lf", "ACCOUNT": "ac", "NORESERVE": "nr",
    "HUGETLB": "ht", "SYNC": "sf", "ARCH_1": "ar", "WIPEONFORK": "wf", "DONTDUMP": "dd",
    "SOFTDIRTY": "sd", "MIXEDMAP": "mm", "HUGEPAGE": "hg", "NOHUGEPAGE": "nh",
    "MERGEABLE": "mg", "UFFD_MISSING": "um", "UFFD_WP": "uw", "DROPPABLE": "dp",
    "SEALED": "sl",
}
#: Mnemonics that depend on kernel configuration or sysctls, not on the calls: not compared.
VMFLAGS_IGNORED = frozenset({"sd", "mg"})


def model_vmflags(flags: Any) -> set[str]:
    """The smaps ``VmFlags`` mnemonics of a model ``VMFlag`` value."""
    out = set()
    for member in type(flags):
        if member.value and member.name in VMFLAG_MNEMONICS and member in flags:
            out.add(VMFLAG_MNEMONICS[member.name])
    return out - VMFLAGS_IGNORED


def kernel_vmflags(text: str) -> set[str]:
    return set(text.split()) - VMFLAGS_IGNORED


# --------------------------------------------------------------------------------------
# The kernel side (runs in the subprocess)
# --------------------------------------------------------------------------------------


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    ]
    libc.munmap.restype = ctypes.c_int
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mprotect.restype = ctypes.c_int
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.syscall.restype = ctypes.c_long
    return libc


MAP_FAILED = ctypes.c_void_p(-1).value


class Kernel:
    """ctypes wrappers returning ``(value, errno)``, with errno 0 on success."""

    def __init__(self) -> None:
        self.libc = _libc()

    def mmap(self, addr: int, length: int, prot: int, flags: int, fd: int, offset: int):
        if offset >= 1 << 63:  # the syscall takes an unsigned long; libc an off_t
            offset -= 1 << 64
        ctypes.set_errno(0)
        ret = self.libc.mmap(addr or None, length, prot, flags, fd, offset)
        if ret == MAP_FAILED:
            return None, ctypes.get_errno()
        return ret or 0, 0

    def munmap(self, addr: int, length: int) -> int:
        ctypes.set_errno(0)
        if self.libc.munmap(addr or None, length) != 0:
            return ctypes.get_errno()
        return 0

    def mprotect(self, addr: int, length: int, prot: int) -> int:
        ctypes.set_errno(0)
        if self.libc.mprotect(addr or None, length, prot) != 0:
            return ctypes.get_errno()
        return 0

    def syscall(self, nr: int, *args: int) -> tuple[int, int]:
        """A raw system call with unsigned-long arguments: ``(return value, errno)``."""
        ctypes.set_errno(0)
        ret = self.libc.syscall(ctypes.c_long(nr), *(ctypes.c_ulong(a & (1 << 64) - 1)
                                                     for a in args))
        if ret == -1:
            return -1, ctypes.get_errno()
        return ret, 0


def read_maps() -> str:
    with open("/proc/self/maps") as fh:
        return fh.read()


def read_smaps_window(lo: int, hi: int) -> list[dict[str, Any]]:
    """For each VMA intersecting [lo, hi): its maps line, VmFlags and Anonymous kB.

    The header of every ``/proc/self/smaps`` block is exactly the ``maps`` line. Reading
    stops at the first VMA at or above ``hi`` (the kernel then generates no more).
    """
    out: list[dict[str, Any]] = []
    cur: dict[str, Any] | None = None
    fd = os.open("/proc/self/smaps", os.O_RDONLY)
    try:
        buf = ""
        done = False
        while not done:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            buf += chunk.decode()
            *lines, buf = buf.split("\n")
            for line in lines:
                m = _MAPS_RE.match(line)
                if m is not None:
                    cur = None
                    start = int(m["start"], 16)
                    if start >= hi:
                        done = True
                        break
                    if int(m["end"], 16) > lo:
                        cur = {"line": line, "vmflags": "", "anon_kb": 0}
                        out.append(cur)
                elif cur is not None:
                    if line.startswith("VmFlags:"):
                        cur["vmflags"] = line[8:].strip()
                    elif line.startswith("Anonymous:"):
                        cur["anon_kb"] = int(line.split()[1])
    finally:
        os.close(fd)
    return out


def kernel_info() -> dict[str, Any]:
    """What the differential tests ran against."""
    try:
        version = Path("/proc/version").read_text().strip()
    except OSError:  # pragma: no cover - not Linux
        version = ""
    try:
        mmap_min_addr = int(Path("/proc/sys/vm/mmap_min_addr").read_text())
    except OSError:  # pragma: no cover
        mmap_min_addr = 65536
    cap_sys_rawio = cap_ipc_lock = False
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                cap_sys_rawio = bool(int(line.split()[1], 16) & (1 << 17))  # CAP_SYS_RAWIO
                cap_ipc_lock = bool(int(line.split()[1], 16) & (1 << 14))  # CAP_IPC_LOCK
    except OSError:  # pragma: no cover
        pass
    import resource

    memlock = resource.getrlimit(resource.RLIMIT_MEMLOCK)[0]
    try:  # x86 protection keys enabled by the OS: exec-only mappings get their own pkey
        pku = any(line.startswith("flags") and " ospke" in line
                  for line in Path("/proc/cpuinfo").read_text().splitlines())
    except OSError:  # pragma: no cover
        pku = False
    try:
        overcommit = int(Path("/proc/sys/vm/overcommit_memory").read_text())
    except OSError:  # pragma: no cover
        overcommit = 0
    return {
        "release": platform.release(),
        "machine": platform.machine(),
        "proc_version": version,
        "mmap_min_addr": mmap_min_addr,
        "cap_sys_rawio": cap_sys_rawio,
        "cap_ipc_lock": cap_ipc_lock,
        "pku": pku,
        "rlimit_memlock": memlock if memlock != resource.RLIM_INFINITY else 1 << 63,
        "overcommit_memory": overcommit,
    }


def setup_ops(window_pages: int = WINDOW_PAGES) -> list[dict[str, Any]]:
    """The guards and the window reservation (reset) every sequence starts with."""
    guard = GUARD_PAGES * PAGE
    shared_none = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED
    return [
        # The window is not compared after the guards: until the reservation the kernel's
        # window still holds the previous sequence's leftovers.
        {"op": "mmap", "addr": -guard, "len": guard, "prot": PROT_NONE, "flags": shared_none,
         "setup": True, "compare_maps": False},
        {"op": "mmap", "addr": window_pages * PAGE, "len": guard, "prot": PROT_NONE,
         "flags": shared_none, "setup": True, "compare_maps": False},
        {"op": "mmap", "addr": 0, "len": window_pages * PAGE, "prot": PROT_NONE,
         "flags": MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, "setup": True},
    ]


def op_address(op: dict[str, Any], base: int) -> int:
    """The absolute address of an op: ``addr_abs`` if given, else ``base + addr``.

    For mmap, ``addr`` None (and no ``addr_abs``) means NULL: let the kernel choose.
    """
    if op.get("addr_abs") is not None:
        return int(op["addr_abs"])
    if op.get("addr") is None:
        return 0
    return base + int(op["addr"])


def classify_touch(
    details: list[dict[str, Any]], addr: int, write: bool, file_sizes: dict[str, int]
) -> str:
    """What touching ``addr`` would do, judged from the kernel's smaps only.

    ``details``: the window's VMAs as :func:`read_smaps_window` returns them.
    ``"ok"``: safe to touch. ``"segv"``: no VMA, or no permission (no VMA flag grants the
    access). ``"sigbus"``: a file page wholly beyond EOF. ``"unknown"``: an exec-only
    mapping read (architecture and protection-key dependent), or a hole just below a
    VM_GROWSDOWN VMA (the stack would grow): not touched, not compared.
    """
    vmas = [(parse_maps_line(d["line"]), d["vmflags"].split()) for d in details]
    f = next((v for v, _ in vmas if v["start"] <= addr < v["end"]), None)
    if f is None:
        above = [(v, fl) for v, fl in vmas if v["start"] > addr]
        if above and "gd" in above[0][1]:
            return "unknown"
        return "segv"
    r, w, x = (f["perms"][i] != "-" for i in range(3))
    if write and not w:
        return "segv"
    if not write:
        if not (r or w or x):
            return "segv"
        if not (r or w):
            return "unknown"
    size = file_sizes.get(f["name"])
    if size is not None:
        page_index = (f["offset"] + (addr & ~(PAGE - 1)) - f["start"]) // PAGE
        if page_index >= (size + PAGE - 1) // PAGE:
            return "sigbus"
    return "ok"


def _touch(addr: int, write: bool) -> None:
    cell = ctypes.c_ubyte.from_address(addr)
    if write:
        cell.value = (cell.value + 1) & 0xFF
    else:
        _ = cell.value


class Window:
    """The reservation that every sequence runs in."""

    def __init__(self, kernel: Kernel, window_pages: int = WINDOW_PAGES) -> None:
        self.kernel = kernel
        self.window_pages = window_pages
        total = (window_pages + 2 * GUARD_PAGES) * PAGE
        flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE
        start = None
        for hint in RESERVATION_HINTS:
            got, err = kernel.mmap(hint, total, PROT_NONE, flags, -1, 0)
            if err:
                continue
            if got == hint:
                start = got
                break
            kernel.munmap(got, total)
        if start is None:
            start, err = kernel.mmap(0, total, PROT_NONE, flags, -1, 0)
            if err:
                raise OSError(err, "cannot reserve the test window")
        self.start = start
        self.base = start + GUARD_PAGES * PAGE
        self.end = self.base + window_pages * PAGE
        self.total = total

    @property
    def lo(self) -> int:
        return self.base - GUARD_PAGES * PAGE

    @property
    def hi(self) -> int:
        return self.end + GUARD_PAGES * PAGE

    def details(self) -> list[dict[str, Any]]:
        return read_smaps_window(self.base, self.end)


def _snapshot(det: list[dict[str, Any]]) -> dict[str, Any]:
    return {"maps": [d["line"] for d in det], "vmflags": [d["vmflags"] for d in det],
            "anon_kb": [d["anon_kb"] for d in det]}


def _fork_snapshot(window: Window) -> dict[str, Any]:
    """fork(); the child reports its window (maps, VmFlags, Anonymous) and exits at once."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no Python cleanup, no return
        try:
            os.close(rfd)
            data = json.dumps(_snapshot(window.details())).encode()
            while data:
                data = data[os.write(wfd, data):]
        finally:
            os._exit(0)
    os.close(wfd)
    chunks = []
    while chunk := os.read(rfd, 1 << 16):
        chunks.append(chunk)
    os.close(rfd)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks))


def _open_files(seq: dict[str, Any], tmpdir: str, index: int) -> tuple[dict, dict, dict]:
    """Create the sequence's files; return fds by id, paths by id, sizes by path."""
    fds: dict[str, int] = {}
    paths: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for spec in seq.get("files", []):
        path = os.path.join(tmpdir, f"s{index}-{spec['id']}")
        with open(path, "wb") as fh:
            size = int(spec["size"])
            fh.write(bytes((i * 7 + 3) & 0xFF for i in range(min(size, 64))))
            fh.truncate(size)
        fds[spec["id"]] = os.open(path, os.O_RDWR if spec.get("writable", True) else os.O_RDONLY)
        paths[spec["id"]] = path
        sizes[path] = size
    return fds, paths, sizes


def run_sequence(
    kernel: Kernel, window: Window, seq: dict[str, Any], tmpdir: str, index: int
) -> dict[str, Any]:
    """Run one sequence (setup ops first) and record every op's outcome."""
    base = window.base
    fds, paths, sizes = _open_files(seq, tmpdir, index)
    ops = setup_ops(window.window_pages) + list(seq["ops"])
    results = []
    det: list[dict[str, Any]] = []
    try:
        for op in ops:
            res: dict[str, Any] = {}
            kind = op["op"]
            addr = op_address(op, base)
            if kind == "mmap":
                fd = -1
                if op.get("fd") is not None:
                    fd = int(op["fd"])
                elif op.get("file") is not None:
                    fd = fds[op["file"]]
                got, err = kernel.mmap(
                    addr, op["len"], op["prot"], op["flags"], fd, op.get("offset", 0)
                )
                res["errno"] = err
                if not err:
                    res["ret"] = got - base
                    inside = window.lo <= got and got + op["len"] <= window.hi
                    fixed = op["flags"] & (MAP_FIXED | MAP_FIXED_NOREPLACE)
                    if not fixed:
                        res["hint_honoured"] = got == (addr + PAGE - 1) & ~(PAGE - 1)
                    if not inside or (not fixed and not res["hint_honoured"]):
                        # Placed by get_unmapped_area, not at the hint: undo at once.
                        res["cleanup"] = True
                        res["cleanup_errno"] = kernel.munmap(got, op["len"])
            elif kind == "munmap":
                res["errno"] = kernel.munmap(addr, op["len"])
            elif kind == "mprotect":
                res["errno"] = kernel.mprotect(addr, op["len"], op["prot"])
            elif kind == "touch":
                # The state recorded after the previous op is the current state.
                verdict = classify_touch(det, addr, bool(op["write"]), sizes)
                res["touch"] = verdict
                if verdict == "ok":
                    _touch(addr, bool(op["write"]))
                res["errno"] = 0 if verdict == "ok" else errno.EFAULT
            elif kind == "fork":
                res["child"] = _fork_snapshot(window)
                res["errno"] = 0
            elif kind == "mremap":
                res.update(_kernel_mremap(kernel, window, op, addr))
            elif kind in _SIMPLE_CALLS:
                nr, fields = _SIMPLE_CALLS[kind]
                args = [addr] if "addr" in fields else []
                args += [int(op[f]) for f in fields if f != "addr"]
                _, res["errno"] = kernel.syscall(nr, *args)
            else:
                raise ValueError(f"unknown op {kind!r}")
            det = window.details()
            res.update(_snapshot(det))
            results.append(res)
    finally:
        for fd in fds.values():
            os.close(fd)
        # Drop every mapping of this sequence's files before unlinking them.
        kernel.mmap(window.lo, window.total, PROT_NONE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0)
        for path in paths.values():
            os.unlink(path)
    return {
        "name": seq.get("name", f"seq-{index}"),
        "files": seq.get("files", []),
        "paths": paths,
        "sizes": {fid: sizes[p] for fid, p in paths.items()},
        "ops": ops,
        "results": results,
    }


#: op -> (syscall number, argument fields in order); "addr" is made absolute.
_SIMPLE_CALLS: dict[str, tuple[int, tuple[str, ...]]] = {
    "madvise": (NR_MADVISE, ("addr", "len", "advice")),
    "mlock": (NR_MLOCK, ("addr", "len")),
    "mlock2": (NR_MLOCK2, ("addr", "len", "flags")),
    "munlock": (NR_MUNLOCK, ("addr", "len")),
    "mlockall": (NR_MLOCKALL, ("flags",)),
    "munlockall": (NR_MUNLOCKALL, ()),
    "mseal": (NR_MSEAL, ("addr", "len", "flags")),
}


def _kernel_mremap(kernel: Kernel, window: Window, op: dict[str, Any], addr: int) -> dict:
    """mremap(); a result placed outside the window (moved by get_unmapped_area) is undone."""
    new_addr = window.base + int(op["new_addr"]) if op.get("new_addr") is not None else 0
    got, err = kernel.syscall(NR_MREMAP, addr, op["old_len"], op["new_len"], op["flags"],
                              new_addr)
    res: dict[str, Any] = {"errno": err}
    if not err:
        res["ret"] = got - window.base
        new_len = (int(op["new_len"]) + PAGE - 1) & ~(PAGE - 1)
        if not (window.lo <= got and got + new_len <= window.hi):
            res["moved_out"] = True
            res["cleanup_errno"] = kernel.munmap(got, new_len)
    return res


def run_sequence_isolated(kernel: Kernel, window: Window, seq: dict[str, Any], tmpdir: str,
                          index: int) -> dict[str, Any]:
    """``run_sequence`` in a forked child: what it does to the process dies with the child."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no Python cleanup, no return
        code = 1
        try:
            os.close(rfd)
            data = json.dumps(run_sequence(kernel, window, seq, tmpdir, index)).encode()
            while data:
                data = data[os.write(wfd, data):]
            code = 0
        finally:
            os._exit(code)
    os.close(wfd)
    chunks = []
    while chunk := os.read(rfd, 1 << 16):
        chunks.append(chunk)
    os.close(rfd)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise RuntimeError(f"isolated sequence {seq.get('name')} failed (status {status})")
    return json.loads(b"".join(chunks))


def needs_isolation(seq: dict[str, Any]) -> bool:
    return any(op["op"] in ISOLATED_OPS for op in seq["ops"])


def run_batch_here(sequences: list[dict[str, Any]], window_pages: int = WINDOW_PAGES) -> dict:
    """Run a batch in *this* process (the subprocess entry point calls this)."""
    kernel = Kernel()
    window = Window(kernel, window_pages)
    out: dict[str, Any] = {
        "kernel": kernel_info(),
        "base": window.base,
        "window_pages": window_pages,
        "sequences": [],
    }
    with tempfile.TemporaryDirectory(prefix="mmaplab-oracle-") as tmpdir:
        for i, seq in enumerate(sequences):
            run = run_sequence_isolated if needs_isolation(seq) else run_sequence
            out["sequences"].append(run(kernel, window, seq, tmpdir, i))
    return out


def main() -> int:
    payload = json.load(sys.stdin)
    if isinstance(payload, list):
        payload = {"sequences": payload}
    out = run_batch_here(payload["sequences"], payload.get("window_pages", WINDOW_PAGES))
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


def run_on_kernel(
    sequences: list[dict[str, Any]], window_pages: int = WINDOW_PAGES, timeout: float = 300
) -> dict[str, Any]:
    """Run a batch in a fresh subprocess; raise RuntimeError if it dies."""
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__)],
        input=json.dumps({"sequences": sequences, "window_pages": window_pages}),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"kernel oracle exited with {proc.returncode}\nstderr:\n{proc.stderr[-4000:]}"
        )
    return json.loads(proc.stdout)


# --------------------------------------------------------------------------------------
# The model side (runs in pytest)
# --------------------------------------------------------------------------------------


def describe_op(op: dict[str, Any]) -> str:
    """A short human-readable rendering of an op (addresses relative to base)."""
    kind = op["op"]
    if op.get("addr_abs") is not None:
        where = f"{op['addr_abs']:#x}"
    elif op.get("addr") is None:
        where = "NULL"
    else:
        where = f"base{op['addr']:+#x}"
    if kind == "mmap":
        src = f", file={op['file']}" if op.get("file") else ""
        if op.get("fd") is not None:
            src += f", fd={op['fd']}"
        return (
            f"mmap({where}, {op['len']:#x}, {prot_str(op['prot'])}, {flags_str(op['flags'])}"
            f"{src}, offset={op.get('offset', 0):#x})"
        )
    if kind == "fork":
        return "fork()"
    if kind == "munmap":
        return f"munmap({where}, {op['len']:#x})"
    if kind == "mprotect":
        return f"mprotect({where}, {op['len']:#x}, {prot_str(op['prot'])})"
    if kind == "mremap":
        na = "NULL" if op.get("new_addr") is None else f"base{op['new_addr']:+#x}"
        return (f"mremap({where}, {op['old_len']:#x}, {op['new_len']:#x}, "
                f"{mremap_flags_str(op['flags'])}, {na})")
    if kind == "madvise":
        return f"madvise({where}, {op['len']:#x}, {MADV_NAMES.get(op['advice'], op['advice'])})"
    if kind in ("mlock", "munlock"):
        return f"{kind}({where}, {op['len']:#x})"
    if kind == "mlock2":
        return f"mlock2({where}, {op['len']:#x}, {op['flags']:#x})"
    if kind == "mlockall":
        return f"mlockall({op['flags']:#x})"
    if kind == "munlockall":
        return "munlockall()"
    if kind == "mseal":
        return f"mseal({where}, {op['len']:#x}, {op.get('flags', 0):#x})"
    return f"touch({where}, {'write' if op['write'] else 'read'})"


MADV_NAMES = {MADV_NORMAL: "MADV_NORMAL", MADV_RANDOM: "MADV_RANDOM",
              MADV_SEQUENTIAL: "MADV_SEQUENTIAL", MADV_WILLNEED: "MADV_WILLNEED",
              MADV_DONTNEED: "MADV_DONTNEED", MADV_DONTFORK: "MADV_DONTFORK",
              MADV_DOFORK: "MADV_DOFORK", MADV_DONTDUMP: "MADV_DONTDUMP",
              MADV_DODUMP: "MADV_DODUMP", MADV_WIPEONFORK: "MADV_WIPEONFORK",
              MADV_KEEPONFORK: "MADV_KEEPONFORK"}


def mremap_flags_str(flags: int) -> str:
    names = [("MREMAP_MAYMOVE", MREMAP_MAYMOVE), ("MREMAP_FIXED", MREMAP_FIXED),
             ("MREMAP_DONTUNMAP", MREMAP_DONTUNMAP)]
    parts = [n for n, v in names if flags & v]
    rest = flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)
    if rest:
        parts.append(hex(rest))
    return "|".join(parts) or "0"


def prot_str(prot: int) -> str:
    names = [("PROT_READ", PROT_READ), ("PROT_WRITE", PROT_WRITE), ("PROT_EXEC", PROT_EXEC),
             ("PROT_GROWSDOWN", PROT_GROWSDOWN), ("PROT_GROWSUP", PROT_GROWSUP)]
    parts = [n for n, v in names if prot & v]
    rest = prot & ~sum(v for _, v in names)
    if rest:
        parts.append(hex(rest))
    return "|".join(parts) or "PROT_NONE"


def flags_str(flags: int) -> str:
    types = {MAP_SHARED: "MAP_SHARED", MAP_PRIVATE: "MAP_PRIVATE",
             MAP_SHARED_VALIDATE: "MAP_SHARED_VALIDATE", MAP_DROPPABLE: "MAP_DROPPABLE"}
    parts = [types.get(flags & MAP_TYPE, f"type={flags & MAP_TYPE:#x}")]
    if flags & MAP_HUGETLB and flags >> 26 & 0x3F:  # MAP_HUGE_<size>: log2 in bits 26-31
        parts.append(f"({flags >> 26 & 0x3F} << MAP_HUGE_SHIFT)")
        flags &= ~(0x3F << 26)
    names = [("MAP_FIXED", MAP_FIXED), ("MAP_ANONYMOUS", MAP_ANONYMOUS),
             ("MAP_GROWSDOWN", MAP_GROWSDOWN), ("MAP_DENYWRITE", MAP_DENYWRITE),
             ("MAP_EXECUTABLE", MAP_EXECUTABLE), ("MAP_LOCKED", MAP_LOCKED),
             ("MAP_NORESERVE", MAP_NORESERVE), ("MAP_POPULATE", MAP_POPULATE),
             ("MAP_NONBLOCK", MAP_NONBLOCK), ("MAP_STACK", MAP_STACK),
             ("MAP_HUGETLB", MAP_HUGETLB), ("MAP_SYNC", MAP_SYNC),
             ("MAP_FIXED_NOREPLACE", MAP_FIXED_NOREPLACE),
             ("MAP_UNINITIALIZED", MAP_UNINITIALIZED)]
    parts += [n for n, v in names if flags & v]
    rest = flags & ~(MAP_TYPE | sum(v for _, v in names))
    if rest:
        parts.append(hex(rest))
    return "|".join(parts)


def _model_call(fn, *args, **kwargs) -> tuple[Any, int, str]:
    """Call a model function: (value, errno, note); errno -1 for a non-OSError exception."""
    try:
        return fn(*args, **kwargs), 0, ""
    except OSError as exc:
        return None, exc.errno or 0, str(exc)
    except Exception as exc:  # noqa: BLE001 - a crash of the model is a mismatch, not an error
        return None, -1, f"{type(exc).__name__}: {exc}"


def errno_name(e: int) -> str:
    if e == 0:
        return "success"
    if e < 0:
        return "exception"
    return errno.errorcode.get(e, str(e))


def require_model() -> None:
    """Skip (pytest) while the ``mmaplab`` package is not written yet; fail if it is broken."""
    import importlib.util

    import pytest

    spec = importlib.util.find_spec("mmaplab")
    if spec is None or spec.origin in (None, "namespace"):
        pytest.skip("mmaplab is not a package yet (no mmaplab/__init__.py)")
    import mmaplab

    for name in ("MM", "RegularFile"):
        assert hasattr(mmaplab, name), f"mmaplab does not export {name}"


def make_model(info: dict[str, Any]):
    """A fresh ``MM`` configured like the kernel that was tested."""
    from mmaplab import MM

    return MM(cap_sys_rawio=info["cap_sys_rawio"], mmap_min_addr=info["mmap_min_addr"],
              cap_ipc_lock=info.get("cap_ipc_lock", False),
              rlimit_memlock=info.get("rlimit_memlock", 8 << 20), pku=info.get("pku", False))


def model_window_lines(mm, base: int, window_pages: int) -> list[str]:
    return window_lines(mm.maps(), base, base + window_pages * PAGE)


def replay_on_model(
    kres: dict[str, Any], batch: dict[str, Any], check_format: bool = True
) -> dict[str, Any] | None:
    """Replay one kernel-run sequence on a fresh ``MM``; return the first mismatch or None.

    After every op compares the errno (or success), the returned address (MAP_FIXED*)
    or whether the hint was honoured, the touch outcome, and the maps lines inside the
    window as (start, end, perms, offset, name-class) tuples; with ``check_format`` also
    that each model line is formatted exactly like the kernel's (dev, inode and path
    normalised).
    """
    from mmaplab import RegularFile

    base = batch["base"]
    wpages = batch["window_pages"]
    mm = make_model(batch["kernel"])
    files = {
        fid: RegularFile(path, kres["sizes"][fid], writable=_writable(kres, fid))
        for fid, path in kres["paths"].items()
    }
    file_ids = {path: fid for fid, path in kres["paths"].items()}
    STATS["sequences"] += 1
    for i, (op, k) in enumerate(zip(kres["ops"], kres["results"], strict=True)):
        STATS["ops"] += 1
        kind = op["op"]
        addr = op_address(op, base)
        problem = None
        note = ""
        mlines: list[str] = []
        if kind == "mmap":
            fobj = files.get(op["file"]) if op.get("file") is not None else None
            maddr = addr if (op.get("addr") is not None or op.get("addr_abs") is not None) \
                else None
            got, err, note = _model_call(
                mm.mmap, maddr, op["len"], op["prot"], op["flags"], file=fobj,
                offset=op.get("offset", 0),
            )
            if err == k["errno"] and not err:
                if not isinstance(got, int):
                    problem = f"model mmap returned {got!r}, not an int"
                elif "hint_honoured" in k:
                    honoured = got == (addr + PAGE - 1) & ~(PAGE - 1)
                    if honoured != k["hint_honoured"]:
                        problem = (
                            f"hint honoured: kernel {k['hint_honoured']}, model {honoured} "
                            f"(model placed at base{got - base:+#x})"
                        )
                    if not honoured:
                        _model_call(mm.munmap, got, op["len"])
                elif got - base != k["ret"]:
                    problem = f"returned address: kernel base{k['ret']:+#x}, model " \
                              f"base{got - base:+#x}"
                elif k.get("cleanup"):
                    _model_call(mm.munmap, got, op["len"])
        elif kind == "munmap":
            _, err, note = _model_call(mm.munmap, addr, op["len"])
        elif kind == "mprotect":
            _, err, note = _model_call(mm.mprotect, addr, op["len"], op["prot"])
        elif kind == "mremap":
            new_addr = base + op["new_addr"] if op.get("new_addr") is not None else None
            got, err, note = _model_call(mm.mremap, addr, op["old_len"], op["new_len"],
                                         op["flags"], new_addr)
            if err == k["errno"] and not err:
                problem = _check_mremap_result(mm, got, k, base, wpages, op)
        elif kind in MODEL_CALLS:
            fn = getattr(mm, kind)
            args = [addr] if "addr" in MODEL_CALLS[kind] else []
            args += [op[f] for f in MODEL_CALLS[kind] if f != "addr"]
            _, err, note = _model_call(fn, *args)
        elif kind == "touch":
            if k["touch"] == "unknown":
                err = k["errno"]
            else:
                _, err, note = _model_call(mm.fault, addr, write=bool(op["write"]))
        elif kind == "fork":
            child, err, note = _model_call(mm.fork)
            if not err:
                cproblem, clines = _compare_state(child, k["child"], base, wpages, file_ids,
                                                  check_format)
                if cproblem is not None:
                    problem = f"in the forked child: {cproblem}"
                    k = dict(k, maps=k["child"]["maps"])
                    note = "maps below are the child's"
                    _model_call(child.exit)
                    mlines = clines
                else:
                    _model_call(child.exit)  # the kernel's child exits at once too
        else:
            raise ValueError(kind)
        if problem is None and err != k["errno"]:
            problem = f"errno: kernel {errno_name(k['errno'])}, model {errno_name(err)}"
            if kind == "touch":
                problem += f" (kernel touch verdict {k['touch']!r})"
        if problem is None and op.get("compare_maps", True):
            problem, mlines = _compare_state(mm, k, base, wpages, file_ids, check_format)
        elif problem is not None and kind != "fork":
            mlines = _safe_lines(mm, base, wpages)
        if problem is not None:
            STATS["mismatches"] += 1
            return {
                "name": kres["name"],
                "index": i,
                "op": describe_op(op),
                "problem": problem,
                "model_note": note,
                "ops": [describe_op(o) for o in kres["ops"][: i + 1]],
                "raw_ops": kres["ops"][: i + 1],
                "files": {fid: {"size": kres["sizes"][fid], "writable": _writable(kres, fid)}
                          for fid in kres["paths"]},
                "kernel_maps": _rel_lines(k["maps"], base, file_ids),
                "model_maps": _rel_lines(mlines, base, file_ids),
                "kernel_errno": errno_name(k["errno"]),
                "model_errno": errno_name(err),
            }
    return None


#: Model ``MM`` methods for the new calls, with the op fields passed in order.
MODEL_CALLS: dict[str, tuple[str, ...]] = {
    "madvise": ("addr", "len", "advice"), "mlock": ("addr", "len"),
    "mlock2": ("addr", "len", "flags"), "munlock": ("addr", "len"), "mlockall": ("flags",),
    "munlockall": (), "mseal": ("addr", "len", "flags"),
}


def _check_mremap_result(mm, got: Any, k: dict[str, Any], base: int, wpages: int,
                         op: dict[str, Any]) -> str | None:
    """The returned address: equal inside the window; both outside when the kernel moved it."""
    if not isinstance(got, int):
        return f"model mremap returned {got!r}, not an int"
    new_len = (op["new_len"] + PAGE - 1) & ~(PAGE - 1)
    lo, hi = base - GUARD_PAGES * PAGE, base + (wpages + GUARD_PAGES) * PAGE
    model_out = not (lo <= got and got + new_len <= hi)
    if k.get("moved_out"):
        if not model_out:
            return f"kernel moved the mapping out of the window, model to base{got - base:+#x}"
        _model_call(mm.munmap, got, new_len)
        return None
    if got - base != k["ret"]:
        return f"returned address: kernel base{k['ret']:+#x}, model base{got - base:+#x}"
    return None


def _compare_state(mm, k: dict[str, Any], base: int, wpages: int, file_ids: dict[str, str],
                   check_format: bool) -> tuple[str | None, list[str]]:
    """Compare the model's window with a kernel snapshot: (problem or None, model lines)."""
    mlines = model_window_lines(mm, base, wpages)
    try:
        kt = maps_tuples(k["maps"], base, file_ids)
        mt = maps_tuples(mlines, base, file_ids)
    except ValueError as exc:
        return f"unparsable model maps line: {exc}", mlines
    if kt != mt:
        return "maps differ", mlines
    return _compare_details(mm, k, mlines, base, wpages, check_format), mlines


def _anon_pages(mm, vma) -> int:
    return sum(1 for pte in mm.pagetable.entries(vma.vm_start, vma.vm_end).values()
               if pte.page is not None and pte.page.kind == "anon" and not pte.special)


def _compare_details(mm, k: dict[str, Any], mlines: list[str], base: int, wpages: int,
                     check_format: bool) -> str | None:
    """Line format, smaps VmFlags and Anonymous kB of each VMA; None if all agree."""
    if check_format:
        for kl, ml in zip(k["maps"], mlines, strict=True):
            if canonical_line(kl) != canonical_line(ml) or \
                    format_maps_line(**_fmt_fields(ml)) != ml:
                return f"maps line format: kernel {kl!r}, model {ml!r}"
    if "vmflags" not in k:
        return None
    lo, hi = base, base + wpages * PAGE
    vmas = [v for v in mm.vmas() if v.vm_start < hi and v.vm_end > lo]
    for kflags, kanon, vma in zip(k["vmflags"], k["anon_kb"], vmas, strict=True):
        kf, mf = kernel_vmflags(kflags), model_vmflags(vma.vm_flags)
        where = f"VMA base{vma.vm_start - base:+#x}-base{vma.vm_end - base:+#x}"
        if kf != mf:
            return (f"VmFlags: {where}: kernel {' '.join(sorted(kf))}, model "
                    f"{' '.join(sorted(mf))} (kernel only: {' '.join(sorted(kf - mf))}; "
                    f"model only: {' '.join(sorted(mf - kf))})")
        manon = _anon_pages(mm, vma) * PAGE // 1024
        if kanon != manon:
            return f"Anonymous: {where}: kernel {kanon} kB, model {manon} kB"
    return None


def _writable(kres: dict[str, Any], fid: str) -> bool:
    for spec in kres.get("files", []):
        if spec["id"] == fid:
            return bool(spec.get("writable", True))
    return True


def _fmt_fields(line: str) -> dict[str, Any]:
    f = parse_maps_line(line)
    return {k: f[k] for k in ("start", "end", "perms", "offset", "major", "minor", "inode",
                              "name")}


def _safe_lines(mm, base: int, wpages: int) -> list[str]:
    try:
        return model_window_lines(mm, base, wpages)
    except Exception as exc:  # noqa: BLE001
        return [f"<maps() failed: {exc!r}>"]


def _rel_lines(lines: list[str], base: int, file_ids: dict[str, str]) -> list[str]:
    out = []
    for line in lines:
        try:
            s, e, perms, off, cls = maps_tuples([line], base, file_ids)[0]
        except ValueError:
            out.append(line)
            continue
        out.append(f"base{s:+#07x}-base{e:+#07x} {perms} {off:08x} {cls}")
    return out


def format_mismatch(mm: dict[str, Any]) -> str:
    """A report for one mismatch: sequence, the failing op, both maps, and the op list."""
    lines = [
        f"sequence {mm['name']}, op #{mm['index']}: {mm['op']}",
        f"  {mm['problem']}",
    ]
    if mm.get("model_note"):
        lines.append(f"  model said: {mm['model_note']}")
    lines.append(f"  files: {mm['files']}")
    lines.append("  kernel maps (window):")
    lines += [f"    {x}" for x in mm["kernel_maps"]] or ["    (none)"]
    lines.append("  model maps (window):")
    lines += [f"    {x}" for x in mm["model_maps"]] or ["    (none)"]
    lines.append("  ops:")
    lines += [f"    {j:2d} {x}" for j, x in enumerate(mm["ops"])]
    return "\n".join(lines)


def shrink(seq: dict[str, Any], problem_kind: str | None = None, rounds: int = 20) -> dict:
    """Delta-debug a diverging sequence to a minimal one that still diverges the same way.

    Removes one op at a time (each round runs every candidate on the kernel in one batch)
    while the first mismatch keeps the same kind (the text before the first ``:``).
    Returns ``{"sequence": ..., "mismatch": ...}``.
    """

    def kind_of(m: dict[str, Any] | None) -> str | None:
        return None if m is None else m["problem"].split(":")[0]

    batch = run_on_kernel([seq])
    best = replay_on_model(batch["sequences"][0], batch)
    if best is None:
        return {"sequence": seq, "mismatch": None}
    want = problem_kind or kind_of(best)
    # Only ops up to the diverging one matter.
    n_setup = len(setup_ops(batch["window_pages"]))
    seq = dict(seq, ops=list(seq["ops"][: best["index"] - n_setup + 1]))
    for _ in range(rounds):
        cands = [dict(seq, ops=seq["ops"][:i] + seq["ops"][i + 1:], name=f"{seq['name']}~{i}")
                 for i in range(len(seq["ops"]))]
        if not cands:
            break
        batch = run_on_kernel(cands)
        for cand, kres in zip(cands, batch["sequences"], strict=True):
            m = replay_on_model(kres, batch)
            if kind_of(m) == want:
                seq = dict(cand, ops=cand["ops"][: m["index"] - n_setup + 1],
                           name=seq["name"])
                best = m
                break
        else:
            break
    return {"sequence": seq, "mismatch": best}


if __name__ == "__main__":
    sys.exit(main())
