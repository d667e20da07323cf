/* Exercise 06, reference: open_dice_mmap_prepare() as v4 12/21 writes it. */
#include <linux/mm.h>

static int open_dice_mmap_prepare(struct vm_area_desc *desc)
{
	struct open_dice_drvdata *drvdata = to_open_dice_drvdata(desc->file);

	if (vma_desc_test(desc, VMA_MAYSHARE_BIT)) {
		/* a shared mapping may read the secrets, never write them */
		if (vma_desc_test(desc, VMA_WRITE_BIT))
			return -EPERM;
		/* ...not even after a later mprotect(PROT_WRITE) */
		vma_desc_clear_flags(desc, VMA_MAYWRITE_BIT);
	}

	/* write-combine, so that every client sees a wipe */
	desc->page_prot = pgprot_writecombine(desc->page_prot);
	vma_desc_set_flags(desc, VMA_DONTCOPY_BIT, VMA_DONTDUMP_BIT);
	mmap_action_simple_ioremap(desc, drvdata->rmem->base, drvdata->rmem->size);
	return 0;
}
