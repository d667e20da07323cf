"""Assertions over the built book: what a reader sees on each page.

The chapters and case studies are text notebooks executed at build time
(``tests.book.build.built_book``: a clean build with forced execution), so these tests read
the HTML that build produced, not any committed output.
"""

from __future__ import annotations

import importlib.util
import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jupytext
import pytest

from mmaplab.exercises import EXERCISES
from tests.book.build import built_book  # noqa: F401  (the session fixture)
from tests.book.html import Page, book_pages, read_page

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
CHAPTERS = sorted(BOOK.glob("0[0-9]_*.py"))
CASE_STUDIES = BOOK / "case_studies"




@pytest.fixture(scope="module")
def pages(built_book: Path) -> dict[str, Page]:  # noqa: F811
    return book_pages(built_book)


# -- sources (fast: no build) -------------------------------------------------------------------

def test_chapters_are_text_notebooks_only():
    assert len(CHAPTERS) >= 7, f"expected chapters 1-7 as book/0N_*.py, found {CHAPTERS}"
    committed = sorted(p.relative_to(ROOT) for p in BOOK.rglob("*.ipynb"))
    assert not committed, f"executed notebooks are built, not committed: {committed}"


@pytest.mark.parametrize("path", [*CHAPTERS, *sorted(CASE_STUDIES.glob("*.py"))],
                         ids=lambda p: p.stem)
def test_source_reads_as_a_python3_notebook(path: Path):
    nb = jupytext.read(path, fmt="py:percent")
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.metadata["jupytext"]["formats"] == "py:percent"  # what Binder's jupytext reads
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert code, f"{path.name}: a page without code cells backs no claim"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")


# -- the built book ----------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.kernel
def test_every_page_source_is_rendered_with_its_outputs(pages: dict[str, Page]):
    for path in [*CHAPTERS, *sorted(CASE_STUDIES.glob("*.py"))]:
        name = path.relative_to(ROOT).with_suffix("").as_posix()
        assert name in pages, f"{name} was not built"
        assert pages[name].outputs, f"{name}: no cell output in the HTML (not executed?)"
        assert "Traceback" not in pages[name].output_text, f"{name}: a traceback is shown"


@pytest.mark.slow
@pytest.mark.kernel
def test_every_driver_of_the_series_has_a_case_study(pages: dict[str, Page]):
    from mmaplab.drivers import NAMES, load_spec

    for name in NAMES:
        key = f"book/case_studies/{name}"
        assert (CASE_STUDIES / f"{name}.py").is_file(), f"no case study for driver {name}"
        assert key in pages, f"{name}: no page in the built book (not in _toc.yml?)"
        out = pages[key].output_text
        spec = load_spec(name)
        # The page cites the kernel files its model follows, runs the harness on the
        # spec (no undeclared difference) and shows one of the spec's mutants caught.
        assert all(f in out for f in spec.kernel_files), f"{name}: kernel files not cited"
        assert f"{spec.name}: the legacy driver vs the converted driver" in out
        assert "undeclared differences: none" in out, f"{name}: harness output missing/failing"
        assert any(f"mutant {m.name!r}" in out for m in spec.mutants), f"{name}: no mutant"
        assert "CAUGHT" in out and "NOT caught" not in out
        # A valid mapping shows page-table entries; a rejection shows an errno.
        assert "pte          [" in out and "-> -E" in out, f"{name}: mapping/rejection missing"


def _internal_target(page: Page, href: str, html: Path) -> tuple[Path, str] | None:
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
        return None
    target = page.path if not parts.path else (page.path.parent / unquote(parts.path))
    return target.resolve(), unquote(parts.fragment)


@pytest.mark.slow
@pytest.mark.kernel
def test_internal_links_resolve(built_book: Path, pages: dict[str, Page]):  # noqa: F811
    cache: dict[Path, Page] = {p.path.resolve(): p for p in pages.values()}
    broken = []
    for name, page in pages.items():
        for href in page.links:
            found = _internal_target(page, href, built_book)
            if found is None:
                continue
            target, fragment = found
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{name}: {href} (no file)")
                continue
            if fragment and target.suffix == ".html":
                if target not in cache:  # parse each page once (the API pages hold thousands)
                    cache[target] = read_page(target)
                other = cache[target]
                if fragment not in other.ids:
                    broken.append(f"{name}: {href} (no anchor #{fragment})")
    assert not broken, "broken internal links:\n" + "\n".join(broken)


def _article_targets(name: str, page: Page) -> set[str]:
    """The book pages (docnames) that the article of page ``name`` links to. Only the
    article counts: the navbar, the sidebars and the prev/next footer link every page."""
    found = set()
    for href in page.article_links:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.endswith(".html"):
            continue
        path = posixpath.normpath(posixpath.join(posixpath.dirname(name), unquote(parts.path)))
        found.add(path.removesuffix(".html"))
    return found


def _exercise_links(name: str, page: Page) -> set[str]:
    """The exercise pages (``NN_slug``) the article of page ``name`` links to."""
    return {t.removeprefix("exercises/") for t in _article_targets(name, page)
            if re.fullmatch(r"exercises/\d\d_[a-z_0-9]+", t)}


def chapters_without_an_exercise(pages: dict[str, Page]) -> list[str]:
    """The chapters and case studies whose article links no exercise."""
    return [name for name in pages if re.fullmatch(r"book/(0\d_\w+|case_studies/\w+)", name)
            and not _exercise_links(name, pages[name])]


def exercises_not_linking_back(pages: dict[str, Page], teaches: dict[str, str]) -> list[str]:
    """The exercise pages (``teaches``: exercise page -> the chapter that teaches it) whose
    article does not link that chapter."""
    return [f"{page} does not link {chapter}" for page, chapter in teaches.items()
            if page not in pages or chapter not in _article_targets(page, pages[page])]


#: Each exercise page and the chapter its source names as the one that teaches it.
TEACHES = {f"exercises/{ex.name}": ex.source.chapter for ex in EXERCISES.values()}


@pytest.mark.slow
@pytest.mark.kernel
def test_every_chapter_and_case_study_links_an_exercise(pages: dict[str, Page]):
    missing = chapters_without_an_exercise(pages)
    assert not missing, f"pages whose article has no 'Try it' link to an exercise: {missing}"
    for name in ("hpet", "afs", "vme_user", "target_core_user"):
        page = f"book/case_studies/{name}"
        links = _exercise_links(page, pages[page])
        assert any(e.endswith(name) for e in links), f"{name} does not link its exercise"


@pytest.mark.slow
@pytest.mark.kernel
def test_every_exercise_page_links_back_to_its_chapter(pages: dict[str, Page]):
    assert len(TEACHES) == len(EXERCISES) >= 14
    missing = exercises_not_linking_back(pages, TEACHES)
    assert not missing, "exercise pages whose article does not link back:\n" + "\n".join(missing)


# As the theme lays a page out. A figure is written <img .../>: the parser must not take
# its end for the article's (it did, and lost every link after a chapter's first figure).
_PAGE = """<html><body><nav class="bd-sidebar-primary">{sidebar}</nav><main>
<article class="bd-article"><section><h1>{title}</h1><figure><a href="../_images/x.svg">
<img alt="a diagram" src="../_images/x.svg"/></a></figure><p>{body}</p></section></article>
<div class="prev-next-area">{sidebar}</div></main></body></html>"""


def test_the_link_checks_read_the_article_only(tmp_path: Path):
    """Both checks fail on pages whose only link is in the sidebar or the prev/next footer,
    and pass once the article has it."""
    chapter, exercise = "book/case_studies/hpet", "exercises/05_hpet"
    nav = {chapter: '<a href="../../exercises/05_hpet.html">05</a>',
           exercise: '<a href="../book/case_studies/hpet.html">hpet</a>'}

    def build(with_links: bool) -> dict[str, Page]:
        pages = {}
        for name, link in nav.items():
            path = tmp_path / f"{name}.html"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_PAGE.format(sidebar=link, title=name,
                                         body=link if with_links else "no link here"))
            pages[name] = read_page(path)
        return pages

    without = build(with_links=False)
    sidebar_link = "../../exercises/05_hpet.html"
    assert sidebar_link in without[chapter].links
    assert sidebar_link not in without[chapter].article_links
    assert chapters_without_an_exercise(without) == [chapter]
    assert exercises_not_linking_back(without, {exercise: chapter}) == [
        f"{exercise} does not link {chapter}"]
    with_links = build(with_links=True)
    assert chapters_without_an_exercise(with_links) == []
    assert exercises_not_linking_back(with_links, {exercise: chapter}) == []


@pytest.mark.slow
@pytest.mark.kernel
def test_sources_page_links_every_patch_the_book_cites(pages: dict[str, Page]):
    cited = set()
    for page in pages.values():
        cited |= set(re.findall(r"v4 (\d\d)/21", page.text))
    assert len(cited) >= 10, f"the book cites few patches? {sorted(cited)}"
    sources = pages["book/sources"]
    linked = {m.group(1) for href, text in sources.anchors
              if href.startswith("https://lore.kernel.org/")
              for m in [re.fullmatch(r"v4 (\d\d)/21", text)] if m}
    assert cited <= linked, f"patches cited but not linked on the sources page: {cited - linked}"
    # each patch links its own message (<hash>.1774045440.git.ljs@kernel.org), not the thread
    own = {}
    for href, text in sources.anchors:
        m = re.fullmatch(r"v4 (\d\d)/21", text)
        if m and href.startswith("https://lore.kernel.org/"):
            own.setdefault(m.group(1), set()).add(href)
    ids = {n: re.fullmatch(r"https://lore\.kernel\.org/all/([0-9a-f]{40})\.1774045440\.git\."
                           r"ljs@kernel\.org/", href)
           for n, hrefs in own.items() for href in hrefs}
    assert all(len(hrefs) == 1 for hrefs in own.values()), own
    assert all(ids.values()), f"not a patch's own message: {[n for n, m in ids.items() if not m]}"
    assert len({m.group(1) for m in ids.values() if m}) == len(own) == 21
    # and wherever else the book links a patch, it is the same message
    for name, page in pages.items():
        for href, text in page.anchors:
            m = re.fullmatch(r"v4 (\d\d)/21", text)
            if m and href.startswith("https://lore.kernel.org/"):
                assert href in own[m.group(1)], f"{name}: {text} links {href}"
    commits = " ".join(href for href, _ in sources.anchors)
    for commit in ("ac0a3fc9c07d", "619eab23e1ce", "3d3544a6c996"):
        assert commit in commits, f"no link to commit {commit}"


@pytest.mark.slow
@pytest.mark.kernel
def test_history_is_told_as_mainline_bugs(pages: dict[str, Page]):
    """The rmap-lock deadlock and the use-after-free came with ac0a3fc9c07d into mainline."""
    text = "\n".join(p.text for p in pages.values())
    for wrong in ("earlier revision of the series", "v3 bug", "v2/v3"):
        assert wrong not in text, f"the book still says {wrong!r}"
    locking = pages["book/06_locking"].text
    assert "ac0a3fc9c07d" in locking and "Cc: stable" in locking


@pytest.mark.slow
@pytest.mark.kernel
def test_chapter_4_shows_its_pitfalls_executed(pages: dict[str, Page]):
    out = pages["book/04_mmap_actions"].output_text
    lines = out.splitlines()
    ring = re.search(r"ring pfns: \[(.*)\]", out).group(1).split(", ")
    legacy = next(ln for ln in lines if ln.startswith("vm_map_pages") and "offset 1" in ln)
    naive = next(ln for ln in lines if ln.startswith("map_kernel_pages_full") and "offset 1" in ln)
    assert f"[{ring[1]}, {ring[2]}]" in legacy and f"[{ring[0]}, {ring[1]}]" in naive
    assert any(ln.startswith("vm_map_pages") and "offset 3" in ln and "ENXIO" in ln
               for ln in lines)
    late = next(ln for ln in lines if ln.startswith("ioremap, then noncached"))
    simple = next(ln for ln in lines if ln.startswith("simple_ioremap, then noncached"))
    assert "VMA prot: rw- uc" in late and " uc " not in late.split("PTE:")[1] + " "
    assert " uc " in simple.split("PTE:")[1] + " "
    assert "vm_ops->mapped -> action.success_hook" in out
    assert "action.error_hook(ENOMEM)" in out and "EAGAIN" in out


@pytest.mark.slow
@pytest.mark.kernel
def test_every_cell_output_fits_100_columns(pages: dict[str, Page]):
    wide = [(len(line), name, line[:60]) for name, page in pages.items()
            for out in page.outputs for line in out.splitlines() if len(line) > 100]
    assert not wide, f"{len(wide)} output lines wider than 100 columns, e.g. {max(wide)}"


@pytest.mark.slow
@pytest.mark.kernel
def test_flags_prot_and_vma_numbers_read_as_names(pages: dict[str, Page]):
    text = "\n".join(p.output_text for p in pages.values())
    assert not re.search(r"(prot|flags)=0x", text), "mmap arguments printed as hex"
    numbers = [int(n) for n in re.findall(r"VMA #(\d+)", text)]
    assert numbers and max(numbers) < 100, f"VMA numbers from a global counter? {max(numbers)}"


def test_diagrams_match_their_generator():
    # A script, not a package: loaded from its file, with no sys.path change.
    spec = importlib.util.spec_from_file_location("make_diagrams",
                                                  BOOK / "_tools" / "make_diagrams.py")
    assert spec is not None and spec.loader is not None
    make_diagrams = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_diagrams)
    assert make_diagrams.DIAGRAMS, "no diagrams defined"
    for name, draw in make_diagrams.DIAGRAMS.items():
        committed = (BOOK / "images" / name).read_text(encoding="utf-8")
        assert committed == draw(), (f"book/images/{name} is stale: run .venv/bin/python "
                                     "book/_tools/make_diagrams.py")
        assert "0x" not in committed and committed.startswith("<svg")


def _tool(name: str):
    """Load ``book/_tools/<name>.py`` by path (the tools are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, BOOK / "_tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shows(page: Page, svg: str) -> bool:
    return any(src.rsplit("/", 1)[-1].startswith(svg.removesuffix(".svg")) for src in page.images)


@pytest.mark.slow
@pytest.mark.kernel
def test_diagrams_are_shown_in_the_chapters_that_need_them(pages: dict[str, Page]):
    make_diagrams = _tool("make_diagrams")
    need = {"book/01_why_mmap_is_deprecated": ("mmap_region_order.svg", "merge_decision.svg"),
            "book/02_mmap_path_and_vmas": ("mmap_region_order.svg",),
            "book/03_vm_area_desc": ("desc_lifecycle.svg",),
            "book/04_mmap_actions": ("desc_lifecycle.svg",),
            "book/05_vm_operations": ("vm_ops_lifecycle.svg",)}
    for name, svgs in need.items():
        for svg in svgs:
            assert _shows(pages[name], svg), f"{name} does not show {svg}"
    for svg in make_diagrams.DIAGRAMS:
        assert any(_shows(p, svg) for p in pages.values()), f"{svg} is on no page"
    # before first use: chapter 1 shows the merge decision before its first hazard
    html = pages["book/01_why_mmap_is_deprecated"].path.read_text(encoding="utf-8")
    article = html[html.index("<article"):]
    assert article.index("merge_decision") < article.index("Hazard 1")


@pytest.mark.slow
@pytest.mark.kernel
def test_address_space_view_is_also_a_static_svg(pages: dict[str, Page], built_book: Path):  # noqa: F811
    page = pages["book/02_mmap_path_and_vmas"]
    static = [src for src in page.images if src.endswith(".svg") and "_images/" in src
              and not any(src.rsplit("/", 1)[-1] == d for d in (
                  "mmap_region_order.svg", "merge_decision.svg"))]
    drawn = [(page.path.parent / unquote(src)).resolve() for src in static]
    texts = [p.read_text(encoding="utf-8") for p in drawn if p.is_file()]
    maps = [t for t in texts if "mprotect pages 2-3 r--" in t]
    assert maps, f"no static address-space SVG on chapter 2 (images: {page.images})"
    svg = maps[0]
    # one drawing per step of the slider, each VMA a bar labelled with its permissions
    assert svg.count("<svg") == 1 + 6 and "munmap page 5" in svg and ">r--p<" in svg
    assert "<script" not in svg


@pytest.mark.slow
@pytest.mark.kernel
def test_findings_are_shown_as_defects_of_the_upstream_conversion(pages: dict[str, Page]):
    rows = {}
    table = pages["book/case_studies/overview"].outputs[0]  # the summary table's cell
    for line in table.splitlines():
        cols = line.split()
        if cols and cols[0] in ("afs", "open_dice", "hpet", "mtdchar", "stm", "vme_user",
                                "hv_vmbus", "uio_hv_generic", "uio", "target_core_user"):
            rows[cols[0]] = cols
    assert len(rows) == 10, rows
    header = next(ln for ln in table.splitlines() if ln.startswith("driver"))
    assert "undeclared" in header and "defects" in header
    defects = {name: int(cols[4]) for name, cols in rows.items()}
    assert {n for n, d in defects.items() if d} == {"stm", "vme_user"}, defects
    assert all(int(cols[3]) == 0 for cols in rows.values()), "undeclared differences shown"
    for name in ("stm", "vme_user"):
        page = pages[f"book/case_studies/{name}"]
        boxes = [(cls, title) for cls, title in page.admonitions if "danger" in cls]
        assert any("defect of the upstream conversion" in t for _, t in boxes), page.admonitions
        assert "DEFECTS of the upstream conversion" in page.output_text
        assert "bug:" in page.output_text


@pytest.mark.slow
@pytest.mark.kernel
def test_chapter_3_executes_the_vma_flags_c_api(pages: dict[str, Page]):
    out = pages["book/03_vm_area_desc"].output_text
    assert re.search(r"VMA_IO_BIT is bit (\d+) \| VM_IO is the mask 0x([0-9a-f]+)", out)
    bit, mask = re.search(r"VMA_IO_BIT is bit (\d+) \| VM_IO is the mask 0x([0-9a-f]+)",
                          out).groups()
    assert 1 << int(bit) == int(mask, 16)
    assert "after set_flags: " in out and "PFNMAP|IO" in out
    assert "test_all(IO, PFNMAP): True" in out
    assert "test_any_mask(DONTEXPAND|DONTDUMP): True" in out
    cleared = next(ln for ln in out.splitlines() if ln.startswith("after _mask clr:"))
    assert "DONTEXPAND" in cleared and "DONTDUMP" not in cleared
    assert "takes VMA_*_BIT bit numbers, not the VMFlag mask" in out


@pytest.mark.slow
@pytest.mark.kernel
def test_glossary_has_30_terms_linked_from_the_chapters(pages: dict[str, Page]):
    terms = {i for i in pages["book/glossary"].ids if i.startswith("term-")}
    assert len(terms) >= 30, f"only {len(terms)} glossary terms"
    linking = [n for n, p in pages.items() if n.startswith("book/0")
               and any("glossary.html#term-" in h for h in p.links)]
    assert len(linking) >= 3, f"chapters linking the glossary with {{term}}: {linking}"


# -- the API reference -------------------------------------------------------------------------

def _make_api():  # book/_tools/make_api.py, loaded as the diagrams' tool is
    return _tool("make_api")


def test_api_reference_matches_its_generator():
    make_api = _make_api()
    written = make_api.pages()
    assert len(written) == len(make_api.LAYERS) + 1
    for name, text in written.items():
        committed = (BOOK / "reference" / name).read_text(encoding="utf-8")
        assert committed == text, (f"book/reference/{name} is stale: run .venv/bin/python "
                                   "book/_tools/make_api.py")
    modules = make_api.public_modules()
    for needed in ("mmaplab.drivers.afs.spec", "mmaplab.lab.compare",
                   "mmaplab.kernel.debug.sanitizer", "mmaplab.exercises.ex05_hpet"):
        assert needed in modules


@pytest.mark.slow
@pytest.mark.kernel
def test_api_reference_has_one_section_per_module(pages: dict[str, Page]):
    make_api = _make_api()
    sections: dict[str, str] = {}
    for name, page in pages.items():
        if name.startswith("book/reference/"):
            for i in page.ids:
                if i.startswith("module-"):
                    sections[i.removeprefix("module-")] = name
    missing = [m for m in make_api.public_modules() if m not in sections]
    assert not missing, f"modules without a section in the API reference: {missing}"
    # the harness, the sanitizer, a driver kit and an exercise each have their members
    lab = pages["book/reference/api_lab"]
    assert {"mmaplab.lab.compare.compare", "mmaplab.lab.compare.Report"} <= lab.ids
    assert "mmaplab.kernel.debug.sanitizer.Sanitizer" in pages["book/reference/api_debug"].ids
    assert "mmaplab.drivers.base.DriverSpec.defects" in pages["book/reference/api_drivers"].ids
    assert any(i.startswith("mmaplab.exercises.") for i in pages["book/reference/api_exercises"].ids
               if not i.startswith("module-"))
    # a docstring's short name links to the one documented object (book/_ext/reexports.py)
    assert any(h.endswith("api_drivers.html#mmaplab.drivers.base.DriverSpec")
               for h in lab.links), "compare()'s DriverSpec does not link to drivers.base"
