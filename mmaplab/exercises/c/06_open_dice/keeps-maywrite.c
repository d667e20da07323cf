/* Wrong: PROT_WRITE is refused, but a later mprotect(PROT_WRITE) is not. */
#include <linux/mm.h>

static int open_dice_mmap_prepare(struct vm_area_desc *desc)
{
	struct open_dice_drvdata *drvdata = to_open_dice_drvdata(desc->file);

	if (vma_desc_test(desc, VMA_MAYSHARE_BIT)) {
		/* a shared mapping may read the secrets, never write them */
		if (vma_desc_test(desc, VMA_WRITE_BIT))
			return -EPERM;
	}

	/* write-combine, so that every client sees a wipe */
	desc->page_prot = pgprot_writecombine(desc->page_prot);
	vma_desc_set_flags(desc, VMA_DONTCOPY_BIT, VMA_DONTDUMP_BIT);
	mmap_action_simple_ioremap(desc, drvdata->rmem->base, drvdata->rmem->size);
	return 0;
}
