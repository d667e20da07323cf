"""The real-kernel side of the brk differential test, and its replay on ``mmaplab.MM``.

Run as a script it reads a JSON batch of sequences on stdin and runs each one in this
fresh Python process with raw ``syscall(SYS_brk, ...)`` (glibc's ``sbrk`` is never
called), ctypes ``mmap``/``munmap``/``mprotect`` and one-byte touches, all at or above
the process's break.  It prints, for every op, the result (brk's return value, relative
to *base*, or the errno) and every VMA from ``start_brk`` to the end of the window as
``(start, end, perms, offset, name, VmFlags)``, addresses relative to *base* (VmFlags
after the last op of each sequence only).

Why a child, and how it stays safe: the break belongs to glibc's malloc, whose main arena
lives in ``[start_brk, brk)``.  Before anything else the child makes glibc grow its heap
once by a large pad and never trim it (``mallopt``), so malloc never moves the break again
in this process; *base* is the page-aligned break after that.  The sequences never move
the break below it and never touch a page below it.  Between sequences the window is
unmapped and the break put back at *base* (through a one-page stand-in VMA, since a
shrink over nothing is refused).

In pytest, :func:`run_brk_on_kernel` runs a batch and :func:`replay_brk_on_model` replays
one sequence on ``MM(start_brk=<the kernel's>)``, whose heap is first grown to *base*
(and written to, so that it has an anon_vma, as glibc's heap has), and returns the first
mismatch, if any.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import random
import re
import subprocess
import sys
from typing import Any

PAGE = 4096
NR_BRK = 12  # arch/x86/entry/syscalls/syscall_64.tbl
PROT_NONE, PROT_READ, PROT_WRITE = 0, 1, 2
MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x10, 0x20
MAP_FIXED_NOREPLACE = 0x100000
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3

#: Pages of the window above *base* the sequences work in.
WINDOW_PAGES = 40
#: What the reset unmaps above *base* (the window, and a break one page past it).
RESET_PAGES = WINDOW_PAGES + 4

#: A break beyond the user address space (check_brk_limits(): ENOMEM).
HUGE = 1 << 47

_LINE = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) \S+ \d+ *(.*)$")


#: VmFlags that depend on the kernel's configuration, not on the calls (as in
#: ``kernel_oracle.VMFLAGS_IGNORED``: soft-dirty, KSM's "mg").
VMFLAGS_IGNORED = frozenset({"sd", "mg"})


def _flags(text: str) -> str:
    return " ".join(f for f in text.split() if f not in VMFLAGS_IGNORED)


# --------------------------------------------------------------------------------------
# Sequences (pytest side)
# --------------------------------------------------------------------------------------


def _brk_target(rng: random.Random) -> dict[str, Any]:
    r = rng.random()
    if r < 0.06:
        return {"op": "brk", "special": "zero"}          # brk(0): a query, always refused
    if r < 0.10:
        return {"op": "brk", "special": "below_start"}   # below start_brk: refused
    if r < 0.13:
        return {"op": "brk", "special": "huge"}          # far beyond: a VMA is in the way
    byte = rng.choice((0, 0, 1, rng.randrange(1, PAGE)))
    if r < 0.55:  # near the current break (resolved when run): small steps up and down
        return {"op": "brk", "rel": rng.randint(-3, 3) * PAGE + byte}
    page = rng.randrange(0, WINDOW_PAGES + 1)
    return {"op": "brk", "off": page * PAGE + byte}


def _range(rng: random.Random) -> dict[str, int]:
    """A range in the window; half of them placed relative to the (aligned) break."""
    length = rng.randint(1, 4) * PAGE
    if rng.random() < 0.5:
        return {"rel": rng.randint(-3, 2) * PAGE, "len": length}
    page = rng.randrange(0, WINDOW_PAGES - 1)
    return {"off": page * PAGE, "len": min(length, (WINDOW_PAGES - page) * PAGE)}


def resolve(op: dict[str, Any], base: int, cur_brk: int) -> int:
    """The op's address: ``base + off``, or for a ``rel`` op the break (page aligned for a
    range, as is for brk) plus ``rel``, kept inside the window."""
    if "rel" not in op:
        return base + op["off"]
    if op["op"] == "brk":
        return max(base, cur_brk + op["rel"])
    aligned = (cur_brk + PAGE - 1) & ~(PAGE - 1)
    limit = base + WINDOW_PAGES * PAGE - op["len"]
    return min(max(base, aligned + op["rel"]), limit)


def brk_sequences(first_seed: int, count: int) -> list[dict[str, Any]]:
    """``count`` random sequences mixing brk with mmap, munmap, mprotect and touches."""
    out = []
    for seed in range(first_seed, first_seed + count):
        rng = random.Random(f"brk-{seed}")
        ops: list[dict[str, Any]] = []
        for _ in range(rng.randint(10, 18)):
            r = rng.random()
            if r < 0.45:
                ops.append(_brk_target(rng))
            elif r < 0.60:
                kind = rng.random()
                flags = (MAP_SHARED if kind < 0.12 else MAP_PRIVATE) | MAP_ANONYMOUS
                flags |= MAP_FIXED_NOREPLACE if kind > 0.85 else MAP_FIXED
                prot = rng.choice((PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ,
                                   PROT_NONE))
                ops.append({"op": "mmap", **_range(rng), "prot": prot, "flags": flags})
            elif r < 0.70:
                ops.append({"op": "munmap", **_range(rng)})
            elif r < 0.83:
                prot = rng.choice((PROT_READ, PROT_READ | PROT_WRITE, PROT_NONE))
                ops.append({"op": "mprotect", **_range(rng), "prot": prot})
            else:
                ops.append({"op": "touch", "off": rng.randrange(0, WINDOW_PAGES) * PAGE,
                            "write": rng.random() < 0.7})
        out.append({"seed": seed, "ops": ops})
    return out


def describe(op: dict[str, Any]) -> str:
    """One op, addresses relative to *base*."""
    kind = op["op"]
    where = f"brk{op['rel']:+#x}" if "rel" in op else f"base+{op.get('off', 0):#x}"
    if kind == "brk":
        return f"brk({op['special']})" if "special" in op else f"brk({where})"
    if kind == "touch":
        return f"{'write' if op['write'] else 'read'}({where})"
    extra = f", prot={op['prot']}" if "prot" in op else ""
    extra += f", flags={op['flags']:#x}" if "flags" in op else ""
    return f"{kind}({where}, {op['len']:#x}{extra})"


# --------------------------------------------------------------------------------------
# The kernel side (the child process)
# --------------------------------------------------------------------------------------


class _Kernel:
    """The child's system calls, its heap and its window."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        libc.syscall.argtypes = [ctypes.c_long, ctypes.c_ulong]
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        libc.malloc.restype = ctypes.c_void_p
        libc.malloc.argtypes = [ctypes.c_size_t]
        libc.free.argtypes = [ctypes.c_void_p]
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        self.libc = libc
        # glibc grows its heap once, by far more than this process will ever need, and
        # never gives it back: from here on malloc does not call sbrk.
        libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
        libc.mallopt(M_TOP_PAD, 64 << 20)
        libc.free(libc.malloc(1 << 20))
        fields = open("/proc/self/stat").read().rsplit(")", 1)[1].split()
        self.start_brk = int(fields[44])  # field 47 of proc_pid_stat(5)
        self.cur0 = self.sys_brk(0)
        self.base = (self.cur0 + PAGE - 1) & ~(PAGE - 1)
        self.hi = self.base + (RESET_PAGES + 1) * PAGE

    def sys_brk(self, addr: int) -> int:
        return int(self.libc.syscall(NR_BRK, addr))

    def _errno_of(self, ret: int) -> int:
        return 0 if ret == 0 else ctypes.get_errno()

    def snapshot(self, vmflags: bool = False) -> list[list[Any]]:
        """Every VMA from start_brk to the end of the window; with ``vmflags`` its smaps
        VmFlags too (smaps walks every page table of the process: slow, so only after
        the last op of a sequence; VmFlags are "" otherwise)."""
        out: list[list[Any]] = []
        cur: list[Any] | None = None
        with open("/proc/self/smaps" if vmflags else "/proc/self/maps") as fh:
            for line in fh:
                m = _LINE.match(line)
                if m:
                    start, end = int(m[1], 16), int(m[2], 16)
                    cur = None
                    if end > self.start_brk and start < self.hi:
                        cur = [start - self.base, end - self.base, m[3], int(m[4], 16),
                               m[5].strip(), ""]
                        out.append(cur)
                elif cur is not None and line.startswith("VmFlags:"):
                    cur[5] = _flags(line.split(":", 1)[1])
        return out

    def check_clean(self) -> None:
        """The window is free (and nothing of ours is mapped past it) before a sequence."""
        for start, end, *_ in self.snapshot():
            if end > 0:
                raise RuntimeError(f"window not free: {start:#x}-{end:#x} relative to base")
        if self.sys_brk(0) != self.cur0:
            raise RuntimeError("the break did not return to base")

    def reset(self) -> None:
        length = RESET_PAGES * PAGE
        self.libc.munmap(self.base, length)
        self.libc.mmap(self.base, PAGE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
        self.sys_brk(self.cur0)
        self.libc.munmap(self.base, length)

    def target(self, op: dict[str, Any]) -> int:
        special = op.get("special")
        if special == "zero":
            return 0
        if special == "below_start":
            return self.start_brk - PAGE
        if special == "huge":
            return HUGE
        return resolve(op, self.base, self.sys_brk(0))

    def run(self, op: dict[str, Any]) -> Any:
        kind = op["op"]
        libc = self.libc
        if kind == "brk":
            return self.sys_brk(self.target(op)) - self.base
        addr = resolve(op, self.base, self.sys_brk(0))
        if kind == "touch":
            perms = next((p for s, e, p, *_ in self.snapshot()
                          if s <= op["off"] < e), "----")
            need = "w" if op["write"] else "r"
            if need not in perms:
                return "fault"
            cell = ctypes.c_char.from_address(addr)
            if op["write"]:
                cell.value = b"x"
            else:
                _ = cell.value
            return "ok"
        ctypes.set_errno(0)
        if kind == "mmap":
            ret = libc.mmap(addr, op["len"], op["prot"], op["flags"], -1, 0)
            if ret is None or ret == ctypes.c_void_p(-1).value:
                return ctypes.get_errno()
            if ret != addr:  # MAP_FIXED_NOREPLACE on an old kernel would be a hint
                libc.munmap(ret, op["len"])
                return -1
            return 0
        if kind == "munmap":
            return self._errno_of(libc.munmap(addr, op["len"]))
        if kind == "mprotect":
            return self._errno_of(libc.mprotect(addr, op["len"], op["prot"]))
        raise ValueError(kind)


def _child_main() -> None:
    req = json.load(sys.stdin)
    k = _Kernel()
    k.check_clean()
    initial = k.snapshot(vmflags=True)
    out = []
    for seq in req["sequences"]:
        results = []
        for i, op in enumerate(seq["ops"]):
            ret = k.run(op)
            results.append({"ret": ret, "vmas": k.snapshot(vmflags=i == len(seq["ops"]) - 1)})
        k.reset()
        k.check_clean()
        out.append({"seed": seq["seed"], "results": results})
    json.dump({"start_brk": k.start_brk, "cur0": k.cur0, "base": k.base, "initial": initial,
               "release": os.uname().release, "sequences": out}, sys.stdout)


# --------------------------------------------------------------------------------------
# pytest side: run the child, replay on the model
# --------------------------------------------------------------------------------------


def run_brk_on_kernel(sequences: list[dict[str, Any]], timeout: float = 120) -> dict[str, Any]:
    """Run a batch in a fresh child process; raise RuntimeError if it dies."""
    proc = subprocess.run([sys.executable, os.path.abspath(__file__)],
                          input=json.dumps({"sequences": sequences}), capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"brk oracle exited with {proc.returncode}\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout)


def model_snapshot(mm: Any, start_brk: int, base: int, vmflags: bool = True
                   ) -> list[list[Any]]:
    """The model's VMAs as the child reports the kernel's."""
    from mmaplab.kernel.maps import show_map_vma, vm_flags_mnemonics

    hi = base + (RESET_PAGES + 1) * PAGE
    out: list[list[Any]] = []
    for vma in mm.vmas():
        if vma.vm_end > start_brk and vma.vm_start < hi:
            m = _LINE.match(show_map_vma(vma))
            assert m is not None
            out.append([vma.vm_start - base, vma.vm_end - base, m[3], int(m[4], 16),
                        m[5].strip(),
                        _flags(vm_flags_mnemonics(vma.vm_flags)) if vmflags else ""])
    return out


def make_brk_model(kernel: dict[str, Any]) -> Any:
    """An MM whose heap is where the child's is: ``[start_brk, base)``, written to."""
    from mmaplab import MM

    mm = MM(start_brk=kernel["start_brk"], sanitize=False)
    assert mm.brk(kernel["cur0"]) == kernel["cur0"]
    mm.fault(kernel["start_brk"], write=True)  # glibc's heap has an anon_vma
    return mm


def _model_run(mm: Any, op: dict[str, Any], kernel: dict[str, Any]) -> Any:
    from mmaplab import MAP_ANONYMOUS

    base = kernel["base"]
    kind = op["op"]
    if kind == "brk":
        special = op.get("special")
        target = {"zero": 0, "below_start": kernel["start_brk"] - PAGE,
                  "huge": HUGE}.get(special) if special else resolve(op, base, mm.cur_brk)
        return mm.brk(target) - base
    addr = resolve(op, base, mm.cur_brk)
    try:
        if kind == "touch":
            mm.fault(addr, write=op["write"])
            return "ok"
        if kind == "mmap":
            assert op["flags"] & MAP_ANONYMOUS
            mm.mmap(addr, op["len"], op["prot"], op["flags"])
        elif kind == "munmap":
            mm.munmap(addr, op["len"])
        elif kind == "mprotect":
            mm.mprotect(addr, op["len"], op["prot"])
    except OSError as exc:
        return "fault" if kind == "touch" and exc.errno == errno.EFAULT else exc.errno
    return 0


def replay_brk_on_model(kernel: dict[str, Any], seq: dict[str, Any],
                        ops: list[dict[str, Any]]) -> str | None:
    """Replay one sequence on a fresh model; the first mismatch as a report, or None."""
    mm = make_brk_model(kernel)
    base = kernel["base"]
    got = model_snapshot(mm, kernel["start_brk"], base)
    if got != kernel["initial"]:
        return f"initial heap differs:\n kernel {kernel['initial']}\n model  {got}"
    for i, (op, res) in enumerate(zip(ops, seq["results"], strict=True)):
        ret = _model_run(mm, op, kernel)
        vmas = model_snapshot(mm, kernel["start_brk"], base, vmflags=i == len(ops) - 1)
        if ret != res["ret"] or vmas != res["vmas"]:
            done = "\n".join(f"  {describe(o)}" for o in ops[:i + 1])
            return (f"seed {seq['seed']}, op {i} {describe(op)}: kernel returned "
                    f"{res['ret']!r}, model {ret!r}\n kernel VMAs {res['vmas']}\n"
                    f" model  VMAs {vmas}\n ops:\n{done}")
    return None


if __name__ == "__main__":
    _child_main()
