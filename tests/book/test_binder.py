"""Binder as it builds: repo2docker's server environment plus binder/, served by JupyterLab.

mybinder.org builds the image with repo2docker, which creates the notebook server's
environment from the conda lock it ships for Python 3.11 and then runs ``pip install -r
binder/requirements.txt`` in it from the repository root. This test rebuilds that
environment in a fresh virtualenv: the lock's Python packages at the lock's versions
(read from the pinned jupyter-repo2docker package, tests/book/binder_env.py), then
binder/requirements.txt from a copy of the repository. Then it checks that:

* binder/ added packages and replaced none of the server's;
* ``jupyter labextension list`` reports every extension enabled and OK;
* a JupyterLab server started from that environment, driven by headless Chromium,
  opens a chapter as the book has it (a text notebook through jupytext, or an .ipynb)
  and an exercise, runs them, renders a live widget, and runs the exercise's check;
  no extension logs an error in the browser console (jupytext's did, with 1.19.6).

The environment is built once per session (about two minutes with a warm pip cache).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.book import binder_env

ROOT = Path(__file__).resolve().parents[2]
BINDER_DIR = ROOT / "binder"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: How long one notebook may take to open and run in the lab (kernel start included).
#: About 10 s each here, quiet, and 15 s at load 5; generous, because a stuck run fails
#: the same way and says where it stuck.
RUN_TIMEOUT_S = 300
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "_build", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
    ".ruff_cache", ".hypothesis", ".ipynb_checkpoints", ".backup",
)
#: Extensions the learner needs: widgets in notebooks, and text notebooks through jupytext.
REQUIRED_EXTENSIONS = ("@jupyter-widgets/jupyterlab-manager", "jupyterlab-jupytext")
#: What an exercise's check prints or raises once it has run (solved or not).
VERDICT = re.compile(r"not solved yet|behave like the reference|Misconception|[✔✘]")
#: Text-notebook formats a chapter may be authored in (opened through jupytext).
TEXT_NOTEBOOK_SUFFIXES = (".py", ".md")


def _requirement_lines() -> list[str]:
    lines = [line.split("#", 1)[0].strip()
             for line in (BINDER_DIR / "requirements.txt").read_text().splitlines()]
    return [line for line in lines if line]


def _constraint_pins() -> dict[str, str]:
    pins = {}
    for line in (BINDER_DIR / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[binder_env.normalise(name)] = version
    return pins


# --- fast: the files themselves -------------------------------------------------------


def test_binder_runtime_is_python_311() -> None:
    assert (BINDER_DIR / "runtime.txt").read_text().strip() == "python-3.11"
    # ...which is the lock the server pins come from.
    assert binder_env.LOCK == "environment.py-3.11-linux-64.lock"


def test_binder_installs_the_book_extras_under_its_own_constraints() -> None:
    lines = _requirement_lines()
    # -c paths are relative to the requirements file, package paths to the cwd.
    assert "-c constraints.txt" in lines and ".[book]" in lines
    assert "-c ../constraints.txt" not in lines, "the dev pins replace server packages"


def test_server_pins_come_from_the_repo2docker_package() -> None:
    pins = binder_env.server_pins()
    # The notebook server's own packages, at the versions repo2docker's lock pins.
    assert {"jupyterlab", "notebook", "jupyter-server", "ipykernel", "ipywidgets",
            "jupyterlab-widgets", "tornado", "traitlets", "pyzmq"} <= set(pins)
    assert pins["jupyterlab"].startswith("4.")
    # Conda-only packages (the interpreter, C libraries, nodejs) are not pip pins.
    assert not {"python", "nodejs", "openssl", "libgcc", "zeromq"} & set(pins)
    # conda-forge names mapped to their PyPI projects.
    assert "nbconvert" in pins and "nbconvert-core" not in pins


def test_binder_constraints_pin_no_server_package() -> None:
    server = binder_env.server_pins()
    ours = _constraint_pins()
    assert ours, "binder/constraints.txt is empty"
    overlap = set(ours) & set(server)
    assert overlap <= set(binder_env.MAY_REPLACE), sorted(overlap - set(binder_env.MAY_REPLACE))
    # The jupytext pin that loads in the server's JupyterLab is the one both files name.
    assert "jupytext==" + ours["jupytext"] in _requirement_lines()


def test_binder_opens_python_text_notebooks_as_notebooks() -> None:
    """Chapters are book/**/*.py (py:percent): JupyterLab must open them with jupytext's view."""
    overrides = json.loads((BINDER_DIR / "overrides.json").read_text(encoding="utf-8"))
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers["python"] == "Jupytext Notebook"
    post_build = BINDER_DIR / "postBuild"
    assert post_build.stat().st_mode & 0o111, "binder/postBuild must be executable"
    script = post_build.read_text(encoding="utf-8")
    assert "share/jupyter/lab/settings" in script and "binder/overrides.json" in script


# --- slow: the environment, built once per session ------------------------------------


@dataclass
class BinderEnv:
    python: Path
    repo: Path
    server: dict[str, str]
    after: dict[str, str]
    seconds: float

    @property
    def bin(self) -> Path:
        return self.python.parent


@pytest.fixture(scope="session")
def binder(tmp_path_factory: pytest.TempPathFactory) -> BinderEnv:
    start = time.monotonic()
    base = tmp_path_factory.mktemp("binder")
    repo = base / "repo"
    shutil.copytree(ROOT, repo, ignore=COPY_IGNORE)
    server = binder_env.server_pins()
    try:
        python = binder_env.server_venv(base / "venv", server)
        before = binder_env.freeze(python)
        binder_env.pip(python, "install", "--quiet", "--no-compile", "-r",
                       "binder/requirements.txt", cwd=repo)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    # repo2docker then runs binder/postBuild from the repository root, in that environment.
    post = subprocess.run([str(BINDER_DIR / "postBuild")], cwd=repo, capture_output=True,
                          text=True, timeout=300,
                          env=dict(os.environ, NB_PYTHON_PREFIX=str(python.parent.parent),
                                   PATH=f"{python.parent}:{os.environ.get('PATH', '')}"))
    assert post.returncode == 0, post.stdout + post.stderr
    after = binder_env.freeze(python)
    # The venv is the server environment: what pip resolved the lock to is the baseline.
    return BinderEnv(python, repo, before, after, time.monotonic() - start)


@pytest.mark.slow
def test_binder_adds_to_the_server_environment_and_replaces_nothing(binder: BinderEnv) -> None:
    changed = binder_env.replaced(binder.server, binder.after)
    # Only the upgrades binder_env.MAY_REPLACE names and explains, to the version we pin.
    assert set(changed) <= set(binder_env.MAY_REPLACE), changed
    assert all(now == _constraint_pins()[name] for name, (_, now) in changed.items()), changed
    lock = binder_env.server_pins()
    # The baseline is the lock itself: pip installed every pin at its version.
    assert {n: binder.server.get(n) for n in lock} == lock
    added = set(binder.after) - set(binder.server)
    assert {"mmaplab", "jupytext", "jupyter-book"} <= added
    check = subprocess.run([str(binder.python), "-m", "pip", "check"], capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.slow
def test_no_jupyterlab_extension_fails(binder: BinderEnv) -> None:
    proc = subprocess.run([str(binder.bin / "jupyter"), "labextension", "list"],
                          capture_output=True, text=True, env=_jupyter_env(binder),
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    lines = {m.group(1): m.group(2) for m in
             re.finditer(r"^\s+(\S+) v\S+ (.*)$", text, re.M)}
    for name in REQUIRED_EXTENSIONS:
        assert name in lines, f"{name} is not installed:\n{text}"
    bad = {name: state for name, state in lines.items() if "enabled OK" not in state}
    assert not bad, text
    assert "JupyterLab v" + binder.server["jupyterlab"] in text


def _jupyter_env(binder: BinderEnv) -> dict[str, str]:
    """The venv first on PATH; Jupyter's user-level dirs empty, so only the venv's count."""
    home = binder.repo.parent / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), PATH=f"{binder.bin}:{env.get('PATH', '')}",
               JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), PYTHONNOUSERSITE="1")
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_lab(binder: BinderEnv) -> Iterator[str]:
    """A JupyterLab server from the Binder environment; yields ``url|token``."""
    port, token = _free_port(), secrets.token_hex(16)
    log_path = binder.repo.parent / "lab.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(binder.bin / "jupyter"), "lab", "--no-browser", f"--port={port}",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={binder.repo}", "--LabApp.expose_app_in_browser=True",
             "--allow-root"],  # CI and this machine run as root
            cwd=binder.repo, env=_jupyter_env(binder), stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2).close()
                    break
                except OSError:
                    time.sleep(0.3)
            else:
                pytest.fail("JupyterLab did not come up:\n" + log_path.read_text()[-4000:])
            yield f"{url}|{token}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def headless_chromium(profile: Path) -> Iterator[Any]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("chromium/chromedriver missing: run `make browser-deps`")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--window-size=1400,1000", f"--user-data-dir={profile}",
                 # The page polls with timers: keep Chromium from throttling them as it does
                 # for pages it considers in the background (the flags Puppeteer sets).
                 "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                 "--disable-backgrounding-occluded-windows"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def lab(binder: BinderEnv) -> Iterator[str]:
    with running_lab(binder) as url:
        yield url


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with headless_chromium(tmp_path_factory.mktemp("chromium-lab")) as driver:
        yield driver


def chapter_with_widget() -> Path:
    """The first chapter of _toc.yml whose source draws a widget, as the book has it."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            stem = chapter.get("file")
            if not stem:
                continue
            for suffix in (".ipynb", *TEXT_NOTEBOOK_SUFFIXES):
                path = ROOT / (stem + suffix)
                if path.exists() and ".display()" in path.read_text(encoding="utf-8"):
                    return path.relative_to(ROOT)
    pytest.fail("no chapter in _toc.yml displays a widget")


#: Opens a document through JupyterLab's own commands and runs every cell, in the page:
#: the page exposes the app (LabApp.expose_app_in_browser) for exactly this.  The script
#: returns at once; progress and the result go to ``window.__mmaplabRun``, which Python
#: polls with short calls (a single long-running WebDriver call hit the HTTP client's own
#: read timeout on a slow CI machine, and reported nothing about where the run was).
START_RUN_JS = """
const [path, factory, timeoutMs] = arguments;
const state = window.__mmaplabRun = {phase: 'opening', path, done: false};
(async () => {
  const app = window.jupyterapp;
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  // factory null: the default viewer for the file type, as /lab/tree/<path> opens it.
  if (factory && !app.docRegistry.getWidgetFactory(factory)) {
    throw new Error('no widget factory ' + factory);
  }
  const panel = await app.commands.execute('docmanager:open',
                                           factory ? {path, factory} : {path});
  await panel.context.ready;
  if (!panel.content?.widgets || !panel.sessionContext) {
    throw new Error(path + ' did not open as a notebook: ' + panel.constructor.name);
  }
  const cells = () => panel.content.widgets.filter(c => c.model.type === 'code');
  // What an output says, from the model (a windowed cell out of view is not rendered).
  const join = v => Array.isArray(v) ? v.join('') : (v ?? '');
  const outputText = o => o.output_type === 'stream' ? join(o.text)
    : o.output_type === 'error' ? o.ename + ': ' + o.evalue
    : join(o.data?.['text/plain']);
  const status = () => panel.sessionContext.session?.kernel?.status ?? 'no kernel';
  state.progress = () => ({
    kernel: status(), cells: cells().length,
    ran: cells().filter(c => c.model.executionCount !== null).length,
    running: cells().findIndex(c => c.model.executionState === 'running')});
  // A text notebook without kernelspec metadata asks which kernel: take the default.
  state.phase = 'starting the kernel';
  const t00 = Date.now();
  while (!panel.sessionContext.session?.kernel && Date.now() - t00 < timeoutMs) {
    document.querySelector('.jp-Dialog .jp-mod-accept')?.click();
    await sleep(250);
  }
  await panel.sessionContext.ready;
  await app.commands.execute('notebook:clear-all-cell-outputs');
  state.phase = 'running the cells';
  // Resolves once every cell has run, or run-all stopped at a failing one.
  await app.commands.execute('notebook:run-all-cells');
  // Then wait on the cell models, never on prompts in the DOM: the notebook is windowed
  // ('full'), so a cell out of view has no prompt in the page, or a stale one.
  const running = () => cells().some(c => c.model.executionState === 'running');
  while (status() !== 'idle' || running()) await sleep(250);
  state.phase = 'rendering widgets';
  // A widget view exists only in a rendered cell: bring the first one into view.
  const all = panel.content.widgets;
  const first = all.findIndex(c => c.model.type === 'code' && c.model.outputs.toJSON()
    .some(o => o.data?.['application/vnd.jupyter.widget-view+json']));
  if (first >= 0 && panel.content.scrollToItem) await panel.content.scrollToItem(first);
  await sleep(1500);  // let widget views render
  state.result = {
    kernel: panel.sessionContext.kernelDisplayName,
    cells: cells().map(c => ({
      count: c.model.executionCount,
      text: c.model.outputs.toJSON().map(outputText).join(''),
      errors: [...Array(c.model.outputs.length).keys()].map(i => c.model.outputs.get(i))
              .filter(o => o.type === 'error').map(o => o.toJSON().ename),
    })),
    widgets: panel.node.querySelectorAll('.jp-OutputArea-output .jupyter-widgets').length,
    sliders: panel.node.querySelectorAll('.jp-OutputArea-output .widget-slider').length,
    widgetErrors: [...panel.node.querySelectorAll('.jp-OutputArea-output')]
      .filter(n => /Error displaying widget|Loading widget/.test(n.innerText)).length,
  };
})().catch(e => { state.error = String(e && e.stack || e); })
    .finally(() => { state.done = true; });
"""

#: Where the run is: its phase, and (once the notebook is open) the kernel's status and
#: how many code cells have run.
POLL_RUN_JS = """
const s = window.__mmaplabRun;
if (!s) return null;
let progress = null;
try { progress = s.progress ? s.progress() : null; } catch (e) { progress = String(e); }
return {phase: s.phase, done: s.done, error: s.error ?? null, result: s.result ?? null,
        progress};
"""


def _open_lab(browser: Any, lab: str) -> None:
    url, token = lab.split("|")
    browser.get(f"{url}/lab?token={token}")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if browser.execute_script(
                "return !!(window.jupyterapp && window.jupyterapp.docRegistry"
                " && document.querySelector('.jp-LabShell'))"):
            time.sleep(2)  # the extensions activate after the shell appears
            return
        time.sleep(0.5)
    pytest.fail("JupyterLab's shell did not come up in the browser")


def _lab_log_tail(binder: BinderEnv, chars: int = 3000) -> str:
    log = binder.repo.parent / "lab.log"
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no lab.log)"


def _run(browser: Any, binder: BinderEnv, path: Path, factory: str | None) -> dict[str, Any]:
    """Run every cell of ``path`` in the lab; fail naming the phase the run was stuck in."""
    start = time.monotonic()
    browser.execute_script(START_RUN_JS, str(path), factory, RUN_TIMEOUT_S * 1000)
    state: dict[str, Any] | None = None
    while time.monotonic() - start < RUN_TIMEOUT_S:
        state = browser.execute_script(POLL_RUN_JS)
        if state and state["done"]:
            break
        time.sleep(1)
    else:
        pytest.fail(f"{path}: not finished after {RUN_TIMEOUT_S} s: {state}\n"
                    f"--- lab.log (end) ---\n{_lab_log_tail(binder)}")
    assert state is not None and not state["error"], \
        f"{path}: {state and state['error']}\n--- lab.log (end) ---\n{_lab_log_tail(binder)}"
    return dict(state["result"])


def _console_errors(browser: Any) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser")
            if entry["level"] == "SEVERE"]


@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.browser
def test_chapter_and_exercise_run_in_binder_jupyterlab(binder: BinderEnv, lab: str,
                                                       browser: Any) -> None:
    _open_lab(browser, lab)
    # jupytext's JupyterLab extension loaded: it registers the text-notebook factory.
    assert browser.execute_script(
        "return !!window.jupyterapp.docRegistry.getWidgetFactory('Jupytext Notebook')"), \
        "jupytext's JupyterLab extension did not load:\n" + "\n".join(_console_errors(browser))
    chapter = chapter_with_widget()
    # A text notebook opens with the default viewer binder/postBuild sets (jupytext's).
    factory = None if chapter.suffix in TEXT_NOTEBOOK_SUFFIXES else "Notebook"
    ran = _run(browser, binder, chapter, factory)
    assert ran["kernel"].startswith("Python 3"), ran["kernel"]
    assert all(c["count"] is not None for c in ran["cells"]), f"{chapter}: not every cell ran"
    errors = [c["errors"] for c in ran["cells"] if c["errors"]]
    assert not errors, f"{chapter}: {errors}"
    assert ran["widgets"] > 0 and ran["sliders"] > 0, f"{chapter}: no live widget rendered"
    assert ran["widgetErrors"] == 0

    exercise = sorted((binder.repo / "exercises").glob("01_*.ipynb"))[0].relative_to(binder.repo)
    done = _run(browser, binder, exercise, "Notebook")
    outputs = "\n".join(c["text"] for c in done["cells"])
    assert not {"ModuleNotFoundError", "ImportError", "NameError"} & {
        e for c in done["cells"] for e in c["errors"]}, outputs[-2000:]
    assert VERDICT.search(outputs), f"{exercise}: the check did not run:\n{outputs[-2000:]}"

    # No extension (jupytext's failed here before) and no widget view logged an error.
    severe = [m for m in _console_errors(browser) if "favicon" not in m]
    assert not severe, "\n".join(severe)
