/* Exercise 06, before the series: open_dice_mmap(), Linux 7.0. */
#include <linux/mm.h>

static int open_dice_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct open_dice_drvdata *drvdata = to_open_dice_drvdata(filp);

	if (vma->vm_flags & VM_MAYSHARE) {
		/* a shared mapping may read the secrets, never write them */
		if (vma->vm_flags & VM_WRITE)
			return -EPERM;
		/* ...not even after a later mprotect(PROT_WRITE) */
		vm_flags_clear(vma, VM_MAYWRITE);
	}

	/* write-combine, so that every client sees a wipe */
	vma->vm_page_prot = pgprot_writecombine(vma->vm_page_prot);
	vm_flags_set(vma, VM_DONTCOPY | VM_DONTDUMP);
	return vm_iomap_memory(vma, drvdata->rmem->base, drvdata->rmem->size);
}
