/* Exercise 07, reference: mtdchar_mmap_prepare() as v4 14/21 writes it. */
#include <linux/mm.h>

static int mtdchar_mmap_prepare(struct vm_area_desc *desc)
{
#ifdef CONFIG_MMU
	/* the MTD_RAM/MTD_ROM branch has been disabled since 2012: nothing to map */
	return -ENODEV;
#else
	/* no MMU: mtdchar_get_unmapped_area() placed the mapping; it must be shared */
	return vma_desc_test(desc, VMA_SHARED_BIT) ? 0 : -EACCES;
#endif
}
