"""What a learner reads: hints that progress without giving the code away, and task texts
that only name what exists and what the setup imports."""

from __future__ import annotations

import re

import pytest

from mmaplab.exercises import EXERCISES

#: Kernel API names a task or hint may mention (the descriptor's accessors, actions,
#: pgprot_*(), VMA_*_BIT numbers, the compat layer).
_API = re.compile(r"\b(?:mmap_action_\w+|vma_desc_\w+|pgprot_\w+|VMA_\w+_BIT|"
                  r"__compat_vma_mmap|compat_\w+)\b")


def _setup_namespace(nn: str) -> dict[str, object]:
    ns: dict[str, object] = {}
    exec(compile(EXERCISES[nn].setup_code, f"<setup {nn}>", "exec"), ns)  # noqa: S102
    return ns


def _inline_code(markdown: str) -> str:
    """The inline `code` spans of the prose (fenced C blocks are the legacy code: they
    name kernel functions the learner does not call)."""
    text = re.sub(r"```.*?```", "", markdown, flags=re.S)
    return " ".join(re.findall(r"`([^`\n]+)`", text))


def _kernel_names() -> set[str]:
    import importlib

    out: set[str] = set()
    for m in ("mmap_action", "mm_types", "pgtable", "compat", "vma_flags", "memory", "mmap"):
        out |= set(vars(importlib.import_module(f"mmaplab.kernel.{m}")))
    return out


@pytest.mark.parametrize("nn", list(EXERCISES))
def test_every_api_name_a_task_or_hint_mentions_exists_and_is_imported(nn: str) -> None:
    """The prose may name kernel internals (``mmap_action_complete()``) that exist in the
    model; what the task and the hints tell the learner to use, the setup imports."""
    src = EXERCISES[nn].source
    prose = [c.text for c in src.cells if c.role == "prose"]
    named = set(_API.findall(_inline_code("\n".join(prose))))
    missing = sorted(named - _kernel_names())
    assert not missing, f"{nn}: the text names {missing}, which the model does not have"
    task = next(t for t in prose if "## Your task" in t)
    to_use = set(_API.findall(_inline_code(task))) | {
        n for h in src.hints for n in _API.findall(h)}
    ns = _setup_namespace(nn)
    missing = sorted(n for n in to_use if n not in ns)
    assert not missing, f"{nn}: the task names {missing}, which the setup does not import"


@pytest.mark.parametrize("nn", list(EXERCISES))
def test_hints_give_no_line_of_the_reference(nn: str) -> None:
    """Level 3 is nearly the answer, in words: no line of the reference solution appears
    verbatim in any hint (nor does level 2)."""
    src = EXERCISES[nn].source
    lines = {ln.strip() for ln in src.solution.splitlines()}
    code = [ln for ln in lines if len(ln) >= 12 and not ln.startswith(("#", "def "))]
    for level, hint in enumerate(src.hints, 1):
        leaked = [ln for ln in code if ln in hint]
        assert not leaked, f"{nn}: hint {level} gives away {leaked}"


@pytest.mark.parametrize("nn", list(EXERCISES))
def test_hints_progress(nn: str) -> None:
    """A nudge, then which helper or flag and why, then nearly the answer: each level
    and level 2 names the kernel helper or hook to use."""
    hints = EXERCISES[nn].source.hints
    assert len(hints) == 3 and len(set(hints)) == 3
    assert _API.search(hints[1]) or "(" in hints[1] or "->" in hints[1], (
        f"{nn}: level 2 names no helper or hook")


@pytest.mark.parametrize("nn", list(EXERCISES))
def test_texts_name_existing_paths_and_no_private_test_hooks(nn: str) -> None:
    """No `self._noncached()`-style model test hooks, no masks on the descriptor, and the
    driver model's path in the text exists."""
    from pathlib import Path

    src = EXERCISES[nn].source
    text = "\n".join(c.text for c in src.cells) + src.solution + src.stub
    assert not re.search(r"self\._(?:noncached|wc|writecombine)\(", text)
    assert "vm_flags |=" not in src.solution and "_mask(" not in src.solution
    root = Path(__file__).resolve().parents[2]
    for path in re.findall(r"`(mmaplab/[\w/]+\.py)`", text):
        assert (root / path).exists(), f"{nn}: the text names {path}, which does not exist"
