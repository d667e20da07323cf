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
# # 5. `vm_operations_struct`: open, close and the new `mapped`
#
# A driver that keeps per-mapping state needs to know how many VMAs refer to it. The
# kernel tells it through three hooks of `vm_operations_struct`:
#
# * `open(vma)` — a VMA was **duplicated**: split in two, copied by `mremap()`, or copied
#   into a child by `fork()`. *Not* called for the first mapping (the series documents this
#   explicitly: `open` is the mirror image of `close`);
# * `close(vma)` — a VMA is going away;
# * `mapped(start, end, pgoff, file, &private_data)` — **new in the series**: the VMA was
#   created by an `mmap_prepare` hook, inserted, and *not merged* into a neighbour.
#
# With all three, "+1 on `mapped` and `open`, −1 on `close`" is a count that returns to
# zero. Which of them runs when, executed on the model for each event of a mapping's life:
#
# ```{figure} images/vm_ops_lifecycle.svg
# :alt: A table of events and the callbacks they run on the model. New mapping: mapped once. Merged mapping: nothing. mprotect splitting the middle: open twice. fork: open once. munmap of the last page: open then close. exit: close. mmap_prepare failing: nothing. The action failing after insertion: close without mapped. mapped failing: mapped then close.
# :width: 680px
#
# `mapped`, `open` and `close` across a new mapping, a merge, split, fork, munmap, exit and
# three failures. Each row is *run* on the model by `book/_tools/make_diagrams.py`.
# ```
#
# Let's check the count against a scripted life of a mapping.
#
# :::{admonition} The crux
# :class: tip
# Where does per-mapping state go when `mmap_prepare` may be followed by a merge or a failure?
#
# **You will be able to** place each reference or allocation in `mapped`, `open` or `close`, and check the
# balance through split, fork, munmap and a failing mapping.
#
# **Prerequisites:** the mapping path ({doc}`chapter 2 <02_mmap_path_and_vmas>`) and actions
# ({doc}`chapter 4 <04_mmap_actions>`).
# :::

# %%
from mmaplab.kernel.debug.report_text import print_wrapped
from mmaplab import (
    MAP_FIXED, MAP_SHARED, MM, PAGE_SIZE, PROT_READ, PROT_WRITE, File, FileOperations, FMode,
    Inode, VmOperationsStruct,
)

BASE = 0x7F0000000000
P = PAGE_SIZE


class Counter:
    def __init__(self):
        self.users = 0
        self.log = []

    def ops(self, name):
        def mapped(start, end, pgoff, file, private_data):
            self.users += 1
            self.log.append(f"mapped {(end - start) // P}p")
            private_data.value = self          # becomes vma->vm_private_data
            return 0

        def open_(vma):
            self.users += 1
            self.log.append(f"open {vma.pages}p")

        def close(vma):
            self.users -= 1
            self.log.append(f"close {vma.pages}p")

        return VmOperationsStruct(name=name, mapped=mapped, open=open_, close=close)


dev = Counter()
sym_ops = dev.ops("sym_vm_ops")


def sym_mmap_prepare(desc):
    desc.vm_ops = sym_ops
    return 0


f = File(Inode("/dev/sym", 1 << 20, dev=(10, 1)),
         FileOperations(name="sym_fops", mmap_prepare=sym_mmap_prepare), FMode.READ | FMode.WRITE)
mm = MM()
steps = [
    ("mmap 4 pages", lambda: mm.mmap(BASE, 4 * P, PROT_READ, MAP_SHARED | MAP_FIXED, f)),
    ("mprotect page 1 rw", lambda: mm.mprotect(BASE + P, P, PROT_READ | PROT_WRITE)),
    ("fork", lambda: children.append(mm.fork())),
    ("child exits", lambda: children.pop().exit()),
    ("munmap page 3", lambda: mm.munmap(BASE + 3 * P, P)),
    ("exit", lambda: mm.exit()),
]
children = []
for label, step in steps:
    dev.log.clear()
    step()
    print(f"{label:<20} users={dev.users}  VMAs={len(mm.vmas())}  hooks: {', '.join(dev.log)}")


# %% [markdown]
# Every split called `open` on the new piece, the fork called `open` on each copied VMA,
# each removal called `close`, and `mapped` ran once — for the first mapping only. The
# count ends at zero.
#
# ## Why `mapped` had to exist: the afs case
#
# `mmap_prepare` runs **before** the merge decision. Anything it does, it does for a
# mapping that may never become a VMA of its own: the range may merge into a neighbour,
# or a later step may fail. AFS (`fs/afs/file.c`) counted open mappings of a vnode to
# know when callbacks must be kept; its first conversion to `mmap_prepare` took that count
# in the prepare hook. The series reverted it (as a hotfix) and restored it with the count
# moved into `mapped`.
#
# The cell below writes the first conversion in kernel C and takes the restored version
# from exercise 09's C reference (printed), compiles both with our C front end
# (`mmaplab.kernel_c`) and installs each as the prepare hook of the real driver's model,
# `mmaplab.drivers.afs` (whose `afs_add_open_mmap()`, `afs_vm_open()` and so on the C
# calls). The difference shows as soon as two mappings of the same file merge: the afs spec
# has a scenario for exactly this case, and `run_scenario` plays it on a fresh address
# space and records what the driver saw.

# %%
from mmaplab.drivers import afs  # noqa: E402
from mmaplab.exercises.c_answer import c_sources  # noqa: E402
from mmaplab.kernel_c import compile_c, method  # noqa: E402
from mmaplab.lab.scenario import run_scenario  # noqa: E402

first_c = compile_c(r"""
#include <linux/fs.h>

static const struct vm_operations_struct afs_vm_ops = {
	.open		= afs_vm_open,
	.close		= afs_vm_close,
	.fault		= filemap_fault,
};

/* The first conversion (9d5403b1036c): counts a mapping that may still merge away. */
static int afs_file_mmap_prepare(struct vm_area_desc *desc)
{
	struct afs_vnode *vnode = AFS_FS_I(file_inode(desc->file));
	int ret;

	afs_add_open_mmap(vnode);
	ret = generic_file_mmap_prepare(desc);
	if (!ret)
		desc->vm_ops = &afs_vm_ops;
	else
		afs_drop_open_mmap(vnode);
	return ret;
}
""", "afs_first.c")
restored_c = compile_c(c_sources("09")["reference"], "reference.c")
print(restored_c.source.expandtabs(8).rstrip())


def afs_with(prog):
    """The afs driver model whose prepare hook is the C of ``prog``."""
    hook = method(prog, "afs_file_mmap_prepare")
    return lambda: type("AfsDriver", (afs.AfsDriver,), {"afs_file_mmap_prepare": hook})()


merge = next(s for s in afs.SPEC.scenarios if s.name == "merge-with-previous")
versions = [("first conversion (9d5403b1036c)", afs_with(first_c)),
            ("v4 10/21 (count in mapped)", afs_with(restored_c))]
for label, make in versions:
    print(label)
    for obs in run_scenario(make(), merge):
        state = dict(obs.state)
        print_wrapped(f"  {obs.what:<72} VMAs={len(obs.vmas)}  cb_nr_mmap={state['cb_nr_mmap']}"
              f"  on open_mmaps={state['on_open_mmaps']}")

# %% [markdown]
# Two `mmap()` calls, one merged VMA, one `close`: counting in `mmap_prepare` leaves the
# vnode believing it is still mapped — it stays on the volume's `open_mmaps` list for ever;
# counting in `mapped` is exact. The driver model has both versions too (`afs.make_buggy()`
# is the first conversion, `AfsDriver("prepare")` the restored one); the
# {doc}`case_studies/afs` page runs the whole equivalence harness on them.
#
# ## `mapped` can fail
#
# Returning an error from `mapped` unmaps the new VMA and fails the `mmap()` — after
# `close` is called on it, because the VMA did exist. A driver that allocates in `mapped`
# must therefore undo in `close` only what it really did:

# %%
import errno  # noqa: E402

fail_dev = Counter()
fail_ops = fail_dev.ops("fail_vm_ops")
vm_ops = VmOperationsStruct(name="fail_vm_ops", mapped=lambda *a: -errno.ENOMEM,
                            close=fail_ops.close, open=fail_ops.open)
f = File(Inode("/dev/fail", 1 << 20, dev=(10, 2)),
         FileOperations(name="fail_fops",
                        mmap_prepare=lambda desc: setattr(desc, "vm_ops", vm_ops)),
         FMode.READ)
mm = MM()
with mm.trace.recording() as t:
    try:
        mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, f)
    except OSError as exc:
        print_wrapped(exc)
print(t.render())
print("VMAs:", len(mm.vmas()), "| close calls:", fail_dev.log)

# %% [markdown]
# ## `close` without `mapped`
#
# The `vm_ops` are on the VMA from the moment it is inserted, before the mmap action runs.
# If the action fails — here the page-table allocation of a remap — the model, following
# v4's `mmap_action_finish()`, skips `mapped` and unmaps the VMA, and the unmap calls
# `close`. A driver counting "+1 in `mapped`, −1 in `close`" goes negative:

# %%
from mmaplab.kernel.mmap_action import mmap_action_remap_full  # noqa: E402

remap_dev = Counter()
remap_ops = remap_dev.ops("remap_vm_ops")


def remap_prepare(desc):
    desc.vm_ops = remap_ops
    mmap_action_remap_full(desc, 0xFEE00)
    return 0


f = File(Inode("/dev/remap", 1 << 20, dev=(10, 3)),
         FileOperations(name="remap_fops", mmap_prepare=remap_prepare), FMode.READ)
mm = MM()
with mm.injecting("pte_alloc", nth=1, err=errno.ENOMEM):
    try:
        mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, f)
    except OSError as exc:
        print_wrapped(exc)
print("VMAs:", len(mm.vmas()), "| users:", remap_dev.users, "| hooks:", remap_dev.log)

# %% [markdown]
# So `close` must not assume that `mapped` ran. The {doc}`stm <case_studies/stm>` and
# {doc}`vme_user <case_studies/vme_user>` pages show what that means for two converted
# drivers: both upstream conversions get it wrong.
#
# :::{admonition} What to take away
# :class: important
# * `mapped` runs once, for a new VMA that was not merged; `open` for every copy (split,
#   fork, mremap); `close` for every VMA that goes away.
# * Count in `mapped` and `open`, uncount in `close`: the count returns to zero whatever
#   the sequence of calls.
# * `close` can run without `mapped`: when the action fails after the VMA was inserted.
# :::

# %% [markdown]
# :::{admonition} Try it
# :class: seealso
# {doc}`Exercise 02 <../exercises/02_mapped_refcount>` (a reference count) and
# {doc}`exercise 03 <../exercises/03_private_data>` (a per-mapping allocation).
# :::
