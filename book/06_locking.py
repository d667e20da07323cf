# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6. Locking: hiding a VMA from rmap until it is complete
#
# Two locks matter on the mapping path:
#
# * `mm->mmap_lock`, taken for write by `mmap()`/`munmap()`/`mprotect()`;
# * the file's {term}`rmap lock` `mapping->i_mmap_rwsem`, which guards the tree of VMAs mapping
#   the file. *Reverse-map walkers* (truncation, page migration, …) take it to find every
#   VMA of a file, and they hold no `mmap_lock` of ours.
#
# The VMA is linked into the file's rmap when it is inserted, *before* the mmap action has
# populated its page tables. For drivers that is harmless. hugetlbfs is the exception:
# it relies on no rmap walker seeing the VMA before it is complete, and for it the series
# keeps `desc->action.hide_from_rmap_until_complete`. With the flag set, the core holds the
# rmap lock from `vma_link_file()` until the action, `mapped` and the success hook are
# done.
#
# :::{admonition} The crux
# :class: tip
# What may run while the file's rmap lock is held, and what goes wrong when a failing
# mapping is undone under it?
#
# **You will be able to** read a trace for where the rmap lock is taken and dropped,
# explain the deadlock and use-after-free that ac0a3fc9c07d shipped in mainline, and tell
# whether your kernel needs the fix.
#
# **Prerequisites:** actions and their success and error hooks
# ({doc}`chapter 4 <04_mmap_actions>`), `vm_ops->mapped` ({doc}`chapter 5 <05_vm_operations>`).
# :::
#
# :::{warning}
# `hide_from_rmap_until_complete` is not a driver tool. The commit message of
# [v4 04/21](https://lore.kernel.org/all/d44248be9da68258b07c2c59d4e73485ee0ca943.1774045440.git.ljs@kernel.org/) calls it a hack for behaviour hugetlb relies on, and
# `mmap_prepare.rst` says `desc->action` should not normally be manipulated directly:
# drivers fill it through the `mmap_action_*()` helpers. If you do set it, `mapped` and
# the success hook run with `i_mmap_rwsem` held for write, so they must not take that
# lock. The cells below set it only to show the mechanism.
# :::

# %%
import errno

from mmaplab.kernel.debug.report_text import print_wrapped
from mmaplab import (
    MAP_FIXED, MAP_SHARED, MM, PAGE_SIZE, PROT_READ, DeadlockError, File, FileOperations, FMode,
    Inode, UseAfterFreeError, VmOperationsStruct,
)
from mmaplab.kernel import mmap_action as actions
from mmaplab.kernel.mmap_action import mmap_action_remap_full
from mmaplab.kernel.vma import do_vmi_munmap

BASE = 0x7F0000000000
P = PAGE_SIZE


def make_device(name, mapped):
    vm_ops = VmOperationsStruct(name=f"{name}_vm_ops", mapped=mapped)

    def prepare(desc):
        desc.vm_ops = vm_ops
        mmap_action_remap_full(desc, 0xC0000)
        desc.action.hide_from_rmap_until_complete = True
        return 0

    return File(Inode(f"/dev/{name}", 1 << 20, dev=(10, 7)),
                FileOperations(name=f"{name}_fops", mmap_prepare=prepare), FMode.READ)


def observe(start, end, pgoff, file, private_data):
    rwsem = file.f_mapping.i_mmap_rwsem
    print(f"in mapped(): rmap lock write-held = {rwsem.writer}, "
          f"PTEs present = {mm.pagetable.count(start, end)}")
    return 0


dev = make_device("hidden", observe)
mm = MM()
with mm.trace.recording() as t:
    mm.mmap(BASE, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, dev)
print(t.render())
print("after mmap(): rmap lock write-held =", dev.f_mapping.i_mmap_rwsem.writer)

# %% [markdown]
# `vma_link` reports "(rmap lock held)"; the lock is still held while `mapped` runs, after
# the PTEs were written, and released before `mmap()` returns.
#
# ## A mainline bug, fixed by [v4 04/21](https://lore.kernel.org/all/d44248be9da68258b07c2c59d4e73485ee0ca943.1774045440.git.ljs@kernel.org/)
#
# What if the action **fails** while the lock is held? The VMA must be unmapped — and
# unmapping a file VMA takes the rmap lock to unlink it (`free_pgtables()` →
# `unlink_file_vma_batch_process()`).
#
# :::{admonition} History
# :class: note
# This was not a bug of a draft of the series. Mainline has had it since actions arrived
# in **ac0a3fc9c07d** ("mm: add ability to take further action in vm_area_desc"): there,
# `call_action_complete()` in `__mmap_region()` unmapped the VMA while it still held
# `i_mmap_rwsem`, and afterwards read `vma->vm_file` of the VMA it had just freed to find
# the lock to drop. [v4 04/21](https://lore.kernel.org/all/d44248be9da68258b07c2c59d4e73485ee0ca943.1774045440.git.ljs@kernel.org/) ("mm: avoid deadlock when holding rmap on
# mmap_prepare error") fixes both, with `Fixes: ac0a3fc9c07d` and `Cc: stable`; its
# automatic backport to 7.0-stable failed, so kernels from ac0a3fc9c07d to 7.0 need a
# hand-made backport ({doc}`sources`).
# :::
#
# We can replay the mainline order in the model by swapping in a finish step of our own
# with that ordering (our code, modelled on the commit message of 04/21):

# %%
def finish_unmap_then_unlock(mm, vma, action, err, is_compat):
    if not err:
        err = actions.call_vma_mapped(mm, vma)
    if not err:
        actions.maybe_rmap_unlock_action(vma, action)
        return 0
    do_vmi_munmap(mm, vma.vm_start, vma.vm_end)     # rmap lock still held here
    actions.maybe_rmap_unlock_action(vma, action)
    return err


def failing_mapped(start, end, pgoff, file, private_data):
    return -errno.ENOMEM


def try_mmap(finish):
    original = actions.mmap_action_finish
    actions.mmap_action_finish = finish
    mm = MM()
    try:
        mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, make_device("dev", failing_mapped))
    except (DeadlockError, UseAfterFreeError) as exc:
        print_wrapped(f"{type(exc).__name__}: {exc}")
    except OSError as exc:
        print_wrapped(f"mmap failed cleanly: {exc} | VMAs: {len(mm.vmas())} | warnings: {mm.warnings}")
    finally:
        actions.mmap_action_finish = original


try_mmap(finish_unmap_then_unlock)

# %% [markdown]
# The model's lockdep reports what the kernel's would: the task would wait forever on a lock
# it holds itself. The same code had a second problem in the error path: it looked at
# `vma->vm_file` to find the lock to drop *after* the VMA had been unmapped and freed. With
# the lock taken out of the picture (so the deadlock does not hide it), the model's
# KASAN-like check catches that read:

# %%
def finish_unmap_then_read_vma(mm, vma, action, err, is_compat):
    if not err:
        err = actions.call_vma_mapped(mm, vma)
    actions.maybe_rmap_unlock_action(vma, action)
    action.hide_from_rmap_until_complete = True       # "still to unlock", as the old code assumed
    if not err:
        return 0
    do_vmi_munmap(mm, vma.vm_start, vma.vm_end)       # frees the VMA
    if action.hide_from_rmap_until_complete and vma.vm_file is not None:
        pass                                          # the read of vm_file is the bug
    return err


try_mmap(finish_unmap_then_read_vma)

# %% [markdown]
# And the fixed order — unlock, then unmap, never touch the VMA afterwards — which is what
# the model implements:

# %%
try_mmap(actions.mmap_action_finish)

# %% [markdown]
# ## The sanitizer names the bug
#
# `MM(sanitize=True)` (or `with mmaplab.kernel.debug.sanitizer.sanitizing():`) attaches
# `mmaplab.kernel.debug.sanitizer`, which plays the part of lockdep, KASAN and the refcount checks for
# hooks run through the model, and explains each finding by the rule of the API that was
# broken. The same two finish orderings, sanitized:

# %%
from mmaplab.kernel.debug.sanitizer import Sanitizer, SanitizerReport


def sanitized_mmap(finish):
    original = actions.mmap_action_finish
    actions.mmap_action_finish = finish
    mm = MM(sanitize=True)
    try:
        mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, make_device("dev", failing_mapped))
    except SanitizerReport as report:
        print(report)
    except OSError as exc:
        print_wrapped(f"no finding; mmap failed cleanly: {exc}")
    finally:
        actions.mmap_action_finish = original


for finish in (finish_unmap_then_unlock, finish_unmap_then_read_vma, actions.mmap_action_finish):
    sanitized_mmap(finish)
    print()

# %% [markdown]
# The sanitizer also catches the afs bug of {doc}`chapter 5 <05_vm_operations>` the moment it
# happens, not when the count finally goes wrong: an `mmap_prepare` hook that changes
# driver state is reported on the first `mmap()` — and again, louder, when the range merged
# and the change can never be undone. Here the first afs conversion
# (`mmaplab.drivers.afs.make_buggy()`), in "collect" mode so the run goes on:

# %%
from mmaplab.drivers import afs

driver = afs.make_buggy()
file = driver.open()
san = Sanitizer(mode="collect")
san.register(driver)                      # watch its state (Driver.observe())
mm = san.attach(MM())
mm.mmap(BASE, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, file)
mm.mmap(BASE + 2 * P, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, file, 2 * P)   # merges
for report in san.reports:
    print(report)
    print()
print("VMAs:", len(mm.vmas()), "| cb_nr_mmap:", driver.vnode.cb_nr_mmap)

# %% [markdown]
# ## In the compatibility layer the option is switched off
#
# When an `mmap_prepare` hook is called *from* a legacy `->mmap` (chapter 7), the VMA is
# not in the tree or the rmap yet, so there is nothing to hide from;
# [v4 05/21](https://lore.kernel.org/all/dda74230d26a1fcd79a3efab61fa4101dd1cac64.1774045440.git.ljs@kernel.org/) forces `hide_from_rmap_until_complete` off there ("mm:
# switch the rmap lock held option off in compat layer"). The model does the same; chapter 7 shows the stacked path.
#
# :::{admonition} What to take away
# :class: important
# * The rmap lock `i_mmap_rwsem` guards a file's tree of VMAs; unmapping a file VMA takes
#   it. Never unmap while holding it, and never read a VMA after unmapping it.
# * The deadlock and the use-after-free on a failed action were in mainline from
#   ac0a3fc9c07d to 7.0; [v4 04/21](https://lore.kernel.org/all/d44248be9da68258b07c2c59d4e73485ee0ca943.1774045440.git.ljs@kernel.org/) fixes them and is tagged for stable.
# * `hide_from_rmap_until_complete` exists for hugetlbfs. Drivers leave `desc->action` to
#   the `mmap_action_*()` helpers.
# * `MM(sanitize=True)` names the rule a hook breaks, at the moment it breaks it.
# :::
#
# :::{admonition} Try it
# :class: seealso
# {doc}`Exercise 02 <../exercises/02_mapped_refcount>` and
# {doc}`exercise 03 <../exercises/03_private_data>` run your `mapped`/`close` pair under
# failing mappings, where these error paths are taken.
# :::
