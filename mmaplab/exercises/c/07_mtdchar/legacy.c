/* Exercise 07, before the series: mtdchar_mmap(), Linux 7.0. */
#include <linux/mm.h>

static int mtdchar_mmap(struct file *file, struct vm_area_struct *vma)
{
#ifdef CONFIG_MMU
	/* the MTD_RAM/MTD_ROM branch has been disabled since 2012: nothing to map */
	return -ENODEV;
#else
	/* no MMU: mtdchar_get_unmapped_area() placed the mapping; it must be shared */
	return vma->vm_flags & VM_SHARED ? 0 : -EACCES;
#endif
}
