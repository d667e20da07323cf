/* Wrong: the boot option hpet_mmap=0 is no longer honoured. */
#include <linux/mm.h>

static int hpet_mmap_prepare(struct vm_area_desc *desc)
{
	struct hpet_dev *devp = desc->file->private_data;
	unsigned long addr = devp->hd_hpets->hp_hpet_phys;

	if (addr & (PAGE_SIZE - 1))
		return -ENOSYS;

	desc->page_prot = pgprot_noncached(desc->page_prot);
	mmap_action_simple_ioremap(desc, addr, PAGE_SIZE);
	return 0;
}
