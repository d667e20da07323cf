/*
 * drivers.h - the driver-private structures and globals of the series' drivers, in
 * our own words, backed by the driver models (mmaplab/drivers/<name>/model.py).
 * An extern global is an attribute of the driver object the program is bound to.
 */
#ifndef _MMAPLAB_DRIVERS_H
#define _MMAPLAB_DRIVERS_H

/* drivers/char/hpet.c */
struct hpets {
	unsigned long hp_hpet_phys;	/* MMIO base of the whole HPET block */
};
struct hpet_dev {
	struct hpets *hd_hpets;
};
extern bool hpet_mmap_enabled;		/* the boot option hpet_mmap= */

/* include/linux/uio_driver.h */
struct uio_mem {
	const char *name;
	phys_addr_t addr;		/* physical, or a kernel virtual address */
	resource_size_t size;
	int memtype;			/* UIO_MEM_* */
};
struct uio_info {
	const char *name;
	const char *version;
	struct uio_mem mem[MAX_UIO_MAPS];
	int (*mmap_prepare)(struct uio_info *info, struct vm_area_desc *desc);
};

#endif /* _MMAPLAB_DRIVERS_H */
