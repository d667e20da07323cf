"""Interactive views for the book: an address-space map and a ``mmap_region`` step-through.

Not a kernel structure.  Every view is a *pure function of model state computed
up front*: the notebook runs a scripted sequence on an :class:`~mmaplab.kernel.mm.MM`,
keeps a :class:`Snapshot` after each step (or the trace lines of one
``mmap()``), and the widget only chooses which precomputed picture to show.
The slider drives a ``Stack`` through ``jslink``, so the view keeps working in
the static HTML book (saved widget state, no kernel).  Each view also has a
deterministic text rendering (:meth:`AddressSpaceView.text`,
:meth:`TraceStepper.text`) that the notebooks print next to it, for readers
without JavaScript and for nbval.

The SVG drawings (:func:`address_space_svg`) are our own and deterministic.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .kernel.debug.report_text import wrap
from .kernel.flags import PAGE_SHIFT, VM_SPECIAL, VMFlag, prot_string

if TYPE_CHECKING:
    from .kernel.mm import MM

__all__ = ["VmaView", "Snapshot", "snapshot", "scripted_snapshots", "address_space_svg",
           "spec_citation", "scenario_text", "mutant_text", "c_hook_text", "c_legacy_text",
           "address_space_text", "AddressSpaceView", "TraceStepper", "trace_steps", "show"]

#: Flags worth drawing as tags on a bar (the rest are in the /proc line).
_TAG_FLAGS = (VMFlag.SHARED, VMFlag.IO, VMFlag.PFNMAP, VMFlag.MIXEDMAP, VMFlag.DONTEXPAND,
              VMFlag.DONTDUMP, VMFlag.ACCOUNT, VMFlag.LOCKED, VMFlag.MERGEABLE)

#: Fill colours: anonymous, file, special (VM_SPECIAL), shared anonymous.
_COLOURS = {"anon": "#8ecae6", "file": "#ffb703", "special": "#e76f51", "shmem": "#90be6d"}


@dataclass(frozen=True)
class VmaView:
    """What the views need of one VMA (plain values, so snapshots never change)."""

    start: int
    end: int
    pgoff: int
    perms: str
    flags: str
    tags: tuple[str, ...]
    name: str
    kind: str
    ops: str

    @property
    def pages(self) -> int:
        return (self.end - self.start) >> PAGE_SHIFT


@dataclass(frozen=True)
class Snapshot:
    """The VMAs of an address space after one labelled step."""

    label: str
    vmas: tuple[VmaView, ...]
    note: str = ""


def _kind(flags: VMFlag, has_file: bool, name: str) -> str:
    if flags & VM_SPECIAL:
        return "special"
    if name.startswith("/dev/zero"):
        return "shmem"
    return "file" if has_file else "anon"


def snapshot(mm: MM, label: str, note: str = "") -> Snapshot:
    """Freeze the VMAs of ``mm`` (as ``/proc/<pid>/maps`` would list them) under ``label``."""
    views = []
    for vma in mm.vmas():
        name = vma.vm_file.path() if vma.vm_file is not None else ""
        tags = tuple(f.name for f in _TAG_FLAGS if f in vma.vm_flags and f.name)
        ops = vma.vm_ops.name if vma.vm_ops is not None else "-"
        views.append(VmaView(vma.vm_start, vma.vm_end, vma.vm_pgoff, prot_string(vma.vm_flags),
                             vma.vm_flags.names(), tags, name,
                             _kind(vma.vm_flags, vma.vm_file is not None, name), ops))
    return Snapshot(label, tuple(views), note)


def scripted_snapshots(mm: MM, steps: Sequence[tuple[str, Callable[[MM], Any]]],
                       initial: str = "empty") -> list[Snapshot]:
    """Run ``steps`` (label, action) on ``mm`` and return a snapshot before and after each.

    An action that raises ``OSError`` is recorded: its snapshot's note says which
    errno the kernel returned, and the sequence goes on (as a program would).
    """
    shots = [snapshot(mm, initial)]
    for label, action in steps:
        note = ""
        try:
            action(mm)
        except OSError as exc:
            note = f"failed: {exc}"
        shots.append(snapshot(mm, label, note))
    return shots


def address_space_text(shot: Snapshot) -> str:
    """One line per VMA: range, pages, perms, pgoff, tags, backing (deterministic)."""
    head = f"== {shot.label}" + (f"  [{shot.note}]" if shot.note else "")
    if not shot.vmas:
        return head + "\n   (no VMAs)"
    lines = [head]
    for v in shot.vmas:
        tags = ",".join(v.tags) or "-"
        lines.append(f"   {v.start:012x}-{v.end:012x} {v.pages:3d}p {v.perms} "
                     f"pgoff={v.pgoff:#x} {tags:<24} {v.name or '[anon]'}")
    return "\n".join(lines)


def _bounds(shots: Sequence[Snapshot]) -> tuple[int, int]:
    starts = [v.start for s in shots for v in s.vmas]
    ends = [v.end for s in shots for v in s.vmas]
    if not starts:
        return 0, 1 << PAGE_SHIFT
    return min(starts), max(ends)


def address_space_svg(shot: Snapshot, lo: int | None = None, hi: int | None = None,
                      width: int = 640) -> str:
    """An SVG of the VMAs in ``[lo, hi)`` as coloured bars labelled with perms and tags.

    ``lo``/``hi`` default to the snapshot's own extent; pass a common window to
    compare snapshots.  Output is byte-for-byte deterministic.
    """
    if lo is None or hi is None:
        lo, hi = _bounds([shot])
    span = max(hi - lo, 1)
    bar_y, bar_h = 34, 34
    height = bar_y + bar_h + 46
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="11">',
             f'<title>{html.escape(shot.label)}</title>',
             f'<text x="4" y="14" font-weight="bold">{html.escape(shot.label)}</text>']
    if shot.note:
        parts.append(f'<text x="4" y="27" fill="#b00020">{html.escape(shot.note)}</text>')
    parts.append(f'<rect x="0" y="{bar_y}" width="{width}" height="{bar_h}" fill="#f4f4f4" '
                 'stroke="#999"/>')
    for i, v in enumerate(shot.vmas):
        x0 = (v.start - lo) * width // span
        x1 = max((v.end - lo) * width // span, x0 + 2)
        colour = _COLOURS[v.kind]
        tip = (f"{v.start:#x}-{v.end:#x} {v.perms} pgoff={v.pgoff:#x} {v.flags} "
               f"{v.name or '[anon]'} ops={v.ops}")
        parts.append(f'<rect x="{x0}" y="{bar_y}" width="{x1 - x0}" height="{bar_h}" '
                     f'fill="{colour}" stroke="#333"><title>{html.escape(tip)}</title></rect>')
        parts.append(f'<text x="{x0 + 3}" y="{bar_y + 14}">{v.perms}</text>')
        parts.append(f'<text x="{x0 + 3}" y="{bar_y + 27}">{v.pages}p</text>')
        label = ",".join(v.tags) if v.tags else (v.name.rsplit("/", 1)[-1] or "anon")
        ty = bar_y + bar_h + 14 + 12 * (i % 2)
        parts.append(f'<text x="{x0}" y="{ty}" fill="#444">{html.escape(label[:28])}</text>')
    parts.append(f'<text x="0" y="{height - 4}" fill="#666">{lo:#x}</text>')
    parts.append(f'<text x="{width}" y="{height - 4}" fill="#666" text-anchor="end">'
                 f'{hi:#x}</text>')
    parts.append("</svg>")
    return "".join(parts)


#: What to install when the front end is missing (`pip install mmaplab` has no dependency).
MISSING_FRONT_END = ("mmaplab.widgets needs {name}, which is not installed: "
                     "pip install 'mmaplab[widgets]'")


def _widgets() -> Any:
    # Imported lazily: the model itself needs no front end, and the text views work without.
    try:
        import ipywidgets
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(MISSING_FRONT_END.format(name="ipywidgets"),
                                  name=exc.name) from None
    return ipywidgets


def show(widget: Any, fallback: str) -> None:
    """Display ``widget`` with a fixed ``text/plain`` instead of its repr.

    A widget's own repr lists its state (and changes between ipywidgets
    versions); the fixed text keeps nbval's comparison meaningful and is what a
    front-end without widget support shows.
    """
    try:
        from IPython.display import display
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(MISSING_FRONT_END.format(name="IPython"),
                                  name=exc.name) from None

    bundle = {
        "application/vnd.jupyter.widget-view+json": {
            "version_major": 2, "version_minor": 0, "model_id": widget.model_id},
        "text/plain": fallback,
    }
    display(bundle, raw=True)


class AddressSpaceView:
    """A slider over precomputed :class:`Snapshot` s, each drawn as an SVG address map."""

    def __init__(self, shots: Sequence[Snapshot], width: int = 640) -> None:
        if not shots:
            raise ValueError("AddressSpaceView needs at least one snapshot")
        self.shots = list(shots)
        self.lo, self.hi = _bounds(self.shots)
        self.width = width

    def svgs(self) -> list[str]:
        return [address_space_svg(s, self.lo, self.hi, self.width) for s in self.shots]

    def text(self) -> str:
        """Every snapshot as text, in order (the static fallback)."""
        return wrap("\n".join(address_space_text(s) for s in self.shots))

    def static_svg(self) -> str:
        """Every step's drawing stacked in one SVG, on the common scale: what the slider
        shows, for a page read without JavaScript (deterministic)."""
        parts, y = [], 0
        for svg in self.svgs():
            found = re.search(r'height="(\d+)"', svg)
            assert found is not None  # address_space_svg always writes its height
            parts.append(svg.replace("<svg ", f'<svg x="0" y="{y}" ', 1))
            y += int(found.group(1)) + 6
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{y}" '
                f'viewBox="0 0 {self.width} {y}">' + "".join(parts) + "</svg>")

    def display_static(self) -> None:
        """Display :meth:`static_svg` as an image (``image/svg+xml``), no widget needed."""
        try:
            from IPython.display import display
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(MISSING_FRONT_END.format(name="IPython"),
                                      name=exc.name) from None
        display({"image/svg+xml": self.static_svg(),
                 "text/plain": f"[address-space map: {len(self.shots)} steps]"}, raw=True)

    def widget(self) -> Any:
        """``VBox(SelectionSlider, Stack[HTML...])`` linked in JavaScript."""
        w = _widgets()
        labels = [f"{i}: {s.label}" for i, s in enumerate(self.shots)]
        pages = [w.HTML(value=svg) for svg in self.svgs()]
        stack = w.Stack(children=pages, selected_index=0)
        slider = w.SelectionSlider(options=labels, value=labels[0], description="step",
                                   continuous_update=True,
                                   layout=w.Layout(width=f"{self.width}px"),
                                   style={"description_width": "40px"})
        w.jslink((slider, "index"), (stack, "selected_index"))
        return w.VBox([slider, stack])

    def display(self) -> None:
        show(self.widget(), f"[address-space view: {len(self.shots)} steps; text below]")


def trace_steps(mm: MM, operation: Callable[[MM], Any]) -> tuple[list[str], str]:
    """Run ``operation(mm)`` with tracing on; return its trace lines and the outcome."""
    with mm.trace.recording() as t:
        try:
            result = operation(mm)
            outcome = f"returned {result:#x}" if isinstance(result, int) else "returned"
        except OSError as exc:
            outcome = f"failed: {exc}"
    return [str(s) for s in t.steps], outcome


class TraceStepper:
    """Step through the trace of one operation (e.g. a driver's ``mmap()``)."""

    def __init__(self, title: str, lines: Sequence[str], outcome: str) -> None:
        if not lines:
            raise ValueError("TraceStepper needs at least one trace line")
        self.title = title
        self.lines = list(lines)
        self.outcome = outcome

    def page(self, i: int) -> str:
        """HTML for step ``i``: earlier lines plain, line ``i`` highlighted, later ones grey."""
        rows = []
        for j, line in enumerate(self.lines):
            text = html.escape(line)
            if j < i:
                rows.append(text)
            elif j == i:
                rows.append(f'<b style="background:#ffe08a">{text}</b>')
            else:
                rows.append(f'<span style="color:#bbb">{text}</span>')
        foot = html.escape(self.outcome) if i == len(self.lines) - 1 else "&nbsp;"
        return (f'<div><b>{html.escape(self.title)}</b> — step {i + 1}/{len(self.lines)}'
                f'<pre style="line-height:1.25">{chr(10).join(rows)}</pre>'
                f'<div>{foot}</div></div>')

    def text(self) -> str:
        """Numbered trace plus outcome (the static fallback)."""
        body = "\n".join(f"{i + 1:2d} {line}" for i, line in enumerate(self.lines))
        return wrap(f"{self.title}\n{body}\n=> {self.outcome}")

    def widget(self) -> Any:
        w = _widgets()
        stack = w.Stack(children=[w.HTML(value=self.page(i)) for i in range(len(self.lines))],
                        selected_index=0)
        # Options are 1-based labels; the linked `index` is 0-based like the Stack's.
        sel = w.SelectionSlider(options=[str(i + 1) for i in range(len(self.lines))],
                                value="1", description="step",
                                layout=w.Layout(width="600px"))
        w.jslink((sel, "index"), (stack, "selected_index"))
        return w.VBox([sel, stack])

    def display(self) -> None:
        show(self.widget(), f"[mmap_region step-through: {len(self.lines)} steps; text below]")


def driver_mmap_trace(spec: Any, variant: str) -> TraceStepper:
    """The ``mmap_region`` trace of a driver model's first scenario's first request."""
    from .kernel.mm import MM
    from .kernel.page_alloc import reset_allocator
    from .lab.scenario import apply_op

    scenario = spec.scenarios[0]
    op = scenario.ops[0]
    reset_allocator()
    driver = spec.make(variant)
    mm = MM(sanitize=False)
    lines, outcome = trace_steps(mm, lambda m: apply_op(op, m, driver, [], []))
    title = f"{spec.name} ({variant}): {op.describe()}"
    return TraceStepper(title, lines, outcome)


class DriverStepper:
    """Choose a driver of the series and a variant, then step through its ``mmap_region``.

    A Dropdown selects one precomputed :class:`TraceStepper` (linked in JavaScript, so it
    works in the static book); :meth:`text` is the fallback summary.
    """

    def __init__(self, specs: Sequence[Any]) -> None:
        self.steppers = {f"{spec.name} — {variant}": driver_mmap_trace(spec, variant)
                         for spec in specs for variant in _VARIANTS}

    def text(self) -> str:
        """One line per driver and variant: steps, hooks called and outcome."""
        rows = []
        for label, st in self.steppers.items():
            hooks = [tok for tok in (ln.split()[0] for ln in st.lines) if "->" in tok]
            rows.append(f"{label:<32} {len(st.lines):>3} steps  hooks: "
                        f"{', '.join(hooks) or '-'}  => {st.outcome}")
        return wrap("\n".join(rows))

    def widget(self) -> Any:
        w = _widgets()
        labels = list(self.steppers)
        pick = w.Dropdown(options=labels, value=labels[0], description="driver",
                          layout=w.Layout(width="420px"))
        stack = w.Stack(children=[st.widget() for st in self.steppers.values()],
                        selected_index=0)
        w.jslink((pick, "index"), (stack, "selected_index"))
        return w.VBox([pick, stack])

    def display(self) -> None:
        show(self.widget(), f"[mmap_region step-through for {len(self.steppers)} driver "
                            "variants; summary below]")


# -- case-study helpers (book part "Case studies") ---------------------------------------------
#
# Text views over the equivalence harness (mmaplab.lab.compare): one driver model's
# legacy and converted variants run through a scenario of its SPEC, printed side by side.
# Imported lazily: the views above must not import the driver models.

_VARIANTS = ("legacy", "prepare")


def spec_citation(spec: Any) -> str:
    """The kernel files and version a driver model follows (``DriverSpec`` fields)."""
    import textwrap

    lines = [f"driver model: mmaplab.drivers.{spec.name}",
             f"kernel files: {', '.join(spec.kernel_files)}",
             f"version followed: {spec.kernel_version}"]
    return "\n".join(textwrap.fill(line, width=88, subsequent_indent="  ")
                     for line in lines)


def _scenario(spec: Any, name: str) -> Any:
    for s in spec.scenarios:
        if s.name == name:
            return s
    known = ", ".join(s.name for s in spec.scenarios)
    raise KeyError(f"{spec.name} has no scenario {name!r}; known: {known}")


def _state_text(state: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{k}={v}" for k, v in state) or "-"


def scenario_text(spec: Any, name: str, at: int | None = 0) -> str:
    """Run scenario ``name`` of ``spec`` with both variants and describe it as text.

    One block per operation: each variant's result, the hooks called (the ``f_op``
    entry hook and the ``vm_operations_struct`` callbacks) and the driver state
    afterwards.  Then, after operation ``at`` (``None``: none), the VMAs
    (``/proc/self/maps``, flags, page protection, vm_ops) and the page-table
    entries of the scenario window, printed once when both variants agree.
    Deterministic: the harness resets the pfn allocator before each run.
    """
    from .lab.scenario import run_scenario

    scen = _scenario(spec, name)
    runs = {v: run_scenario(spec.make(v), scen) for v in _VARIANTS}
    lines = [f"scenario {scen.name!r}: {scen.note}"]
    if scen.inject is not None:
        points = sorted({runs[v][0].injected or "" for v in _VARIANTS})
        lines.append(f"  fault injection: {' / '.join(points)}")
    for i, _op in enumerate(scen.ops):
        lines.append(f"  op {i}: {runs['legacy'][i].what}")
        seen = {v: _op_text(runs[v][i]) for v in _VARIANTS}
        if seen["legacy"][1:] == seen["prepare"][1:]:
            # Same outcome, same callbacks, same state: say it once (the entry hook's
            # name is the only difference, and the reader knows which is which).
            rows = [("both", seen["legacy"])]
        else:
            rows = [(v, seen[v]) for v in _VARIANTS]
        for label, (entry, result, hooks, state) in rows:
            called = ", ".join(([entry] if entry and label != "both" else []) + list(hooks))
            lines.append(f"    {label:<8}-> {result}")
            lines.append(f"    {'':<8}   hooks: {called or 'no hook'}; state: {state}")
    if at is not None:
        lines.append(f"  after op {at}:")
        for key in ("maps", "flags", "page_prot", "vm_ops", "private_data", "pte"):
            values = {v: runs[v][at].aspect(key) for v in _VARIANTS}
            if values["legacy"] == values["prepare"]:
                rows = [("both", values["legacy"])]
            else:
                rows = [(v, values[v]) for v in _VARIANTS]
            for label, value in rows:
                body = list(value) or ["(none)"]
                lines.append(f"    {key:<12} [{label}] {body[0]}")
                lines.extend(f"    {'':<12} {' ' * (len(label) + 2)} {b}" for b in body[1:])
    return wrap("\n".join(lines))


def _op_text(o: Any) -> tuple[str, str, tuple[str, ...], str]:
    """(entry hook, result, vm_ops callbacks, state) of one observed operation."""
    entry = ", ".join(o.entry_hooks)
    return entry, o.outcome, tuple(o.hooks), _state_text(o.state)


def mutant_text(spec: Any, name: str, limit: int = 3,
                keys: Sequence[str] | None = None) -> str:
    """Run mutant ``name`` of ``spec`` against the reference conversion; summarise.

    Prints the misconception the mutant stands for, whether the harness caught it
    (any undeclared difference) and its first ``limit`` differences — those whose
    key or key family is in ``keys`` first, when given.
    """
    from .lab.compare import mutant_report

    mutant = next((m for m in spec.mutants if m.name == name), None)
    if mutant is None:
        known = ", ".join(m.name for m in spec.mutants)
        raise KeyError(f"{spec.name} has no mutant {name!r}; known: {known}")
    report = mutant_report(spec, mutant)
    found = report.undeclared
    verdict = (f"CAUGHT: {len(found)} difference(s) from the reference conversion"
               if found else "NOT caught: no observable difference")
    lines = [f"mutant {mutant.name!r}: {mutant.misconception}", verdict]
    if keys:
        wanted = set(keys)
        found = ([d for d in found if d.key in wanted or d.family in wanted]
                 + [d for d in found if d.key not in wanted and d.family not in wanted])
    lines.extend(f"  {d.render()}" for d in found[:limit])
    if len(found) > limit:
        lines.append(f"  ... and {len(found) - limit} more")
    return wrap("\n".join(lines))


def c_legacy_text(nn: str) -> str:
    """Exercise ``nn``'s legacy hook in C (``f_op->mmap`` on a ``struct vm_area_struct``)
    as the book shows it: the source, then what running it in place of the legacy driver
    model's own hook gives, on every device configuration of the exercise
    (:func:`mmaplab.exercises.c_answer.check_legacy_c`): the C a reader sees is the C
    that ran."""
    from .exercises.c_answer import check_legacy_c, legacy_c_source

    source = legacy_c_source(nn) or ""
    n, reports = check_legacy_c(nn, source)
    lines = [line.expandtabs(8) for line in source.rstrip("\n").split("\n")]
    bad = [r.render() for r in reports if not r.ok]
    verdict = bad or [f"✔ {n} requests behave like the legacy driver model "
                      f"({len(reports)} device configuration{'s' if len(reports) > 1 else ''})"]
    return "\n".join([*lines, "", "-- compiled and run in place of the legacy model's hook:",
                      *verdict])


def c_hook_text(nn: str) -> str:
    """Exercise ``nn``'s C reference as the book shows it: the source, then the verdict of
    the exercise's own check on exactly that source — the C a reader sees is the C that
    ran (:mod:`mmaplab.kernel_c`, against the driver model)."""
    from .exercises.c_answer import c_sources, render_c_result, verify_c

    source = c_sources(nn)["reference"]
    n, failure, error = verify_c(nn, source, "reference.c")
    lines = [line.expandtabs(8) for line in source.rstrip("\n").split("\n")]
    return "\n".join([*lines, "", f"-- compiled and checked (mmaplab exercises check {nn} "
                       "--file reference.c):", render_c_result(nn, n, failure, error)])
