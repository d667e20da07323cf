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
extern struct hpets *hpets;		/* the first HPET block (the kernel's list head) */

/* drivers/mtd/mtdchar.c, include/linux/mtd/mtd.h, map.h (MTD_RAM... are generated) */
struct map_info {
	resource_size_t phys;		/* the chip's physical window */
};
struct mtd_info {
	u_char type;			/* MTD_RAM, MTD_ROM, MTD_NORFLASH, ... */
	uint64_t size;
	void *priv;			/* a map-based chip: its struct map_info */
};
struct mtd_file_info {			/* what mtdchar_open() leaves in private_data */
	struct mtd_info *mtd;
};

/* drivers/hwtracing/stm/stm.h, include/linux/stm.h, include/linux/pm_runtime.h */
struct device {				/* its runtime-PM state lives in the model */
	const char *init_name;
};
int pm_runtime_get_sync(struct device *dev);
int pm_runtime_get(struct device *dev);
int pm_runtime_put_autosuspend(struct device *dev);
void pm_runtime_mark_last_busy(struct device *dev);
struct stm_data {
	unsigned int sw_mmiosz;
	phys_addr_t (*mmio_addr)(struct stm_data *data, unsigned int master,
				 unsigned int channel, unsigned int nr_chans);
};
struct stm_device {
	struct device dev;
	struct stm_data *data;
};
struct stm_output {
	unsigned int master;
	unsigned int channel;
	unsigned int nr_chans;
};
struct stm_file {			/* what stm_char_open() leaves in private_data */
	struct stm_device *stm;
	struct stm_output output;
};
void stm_mmap_open(struct vm_area_struct *vma);		/* given: pm_runtime_get() */
void stm_mmap_close(struct vm_area_struct *vma);	/* given: put_autosuspend() */

/* fs/afs/internal.h, fs/afs/file.c; the model's address space decides read_folio */
struct afs_vnode;
struct afs_vnode *AFS_FS_I(struct inode *inode);
void afs_add_open_mmap(struct afs_vnode *vnode);
void afs_drop_open_mmap(struct afs_vnode *vnode);
void afs_vm_open(struct vm_area_struct *vma);		/* given: one more mapping */
void afs_vm_close(struct vm_area_struct *vma);		/* given: one fewer */
int generic_file_mmap_prepare(struct vm_area_desc *desc);	/* mm/filemap.c */
int generic_file_mmap(struct file *file, struct vm_area_struct *vma);	/* legacy */

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
	/* Before v4 19/21 the override was a legacy hook; kept for the legacy uio_mmap(). */
	int (*mmap)(struct uio_info *info, struct vm_area_struct *vma);
};
struct uio_device {			/* drivers/uio/uio.c */
	struct uio_info *info;		/* NULL once the device is unregistered */
	struct mutex info_lock;
};
struct uio_listener {			/* what uio_open() leaves in private_data */
	struct uio_device *dev;
};
/* uio.c's own helpers, given: the region of vm_pgoff, and the built-in memory types. */
int uio_find_mem_index(struct vm_area_struct *vma);
int uio_mmap_physical(struct vm_area_struct *vma);
int uio_mmap_logical(struct vm_area_struct *vma);
int uio_mmap_dma_coherent(struct vm_area_struct *vma);

/* drivers/staging/vme_user/vme.h, vme_bridge.h, vme_user.c (VME_* are generated) */
struct vme_resource {
	int type;			/* enum vme_resource_type: VME_MASTER, ... */
	struct list_head *entry;
};
struct vme_master_resource {
	struct list_head list;
	struct resource bus_resource;
};
struct vme_bridge {
	struct device *parent;
};
struct vme_bridge *find_bridge(struct vme_resource *resource);
struct image_desc {
	struct mutex mutex;
	struct vme_resource *resource;
	unsigned int mmap_count;
};
extern struct image_desc image[VME_DEVS];
struct vme_user_vma_priv {
	unsigned int minor;
	refcount_t refcnt;
};
void vme_user_vm_open(struct vm_area_struct *vma);	/* given: refcount_inc() */
void vme_user_vm_close(struct vm_area_struct *vma);	/* given: the last put frees */

/* drivers/target/target_core_user.c */
struct tcmu_dev {
	struct kref kref;
	struct uio_info uio_info;
	u32 mmap_pages;			/* the exact size of the mapping, in pages */
};
void tcmu_vma_open(struct vm_area_struct *vma);		/* given: kref_get() */
void tcmu_vma_close(struct vm_area_struct *vma);	/* given: kref_put() */
vm_fault_t tcmu_vma_fault(struct vm_fault *vmf);	/* given: ring and data pages */

/* drivers/misc/open-dice.c (and include/linux/of_reserved_mem.h) */
struct reserved_mem {
	phys_addr_t base;
	phys_addr_t size;
};
struct open_dice_drvdata {
	struct reserved_mem *rmem;
};
/*
 * The kernel's to_open_dice_drvdata() is container_of() on the misc device that
 * misc_open() left in filp->private_data; the model keeps the drvdata there itself.
 */
static inline struct open_dice_drvdata *to_open_dice_drvdata(struct file *filp)
{
	return filp->private_data;
}

/* include/linux/hyperv.h (enum vmbus_channel_state is generated from the model) */
struct vmbus_channel {
	struct kobject kobj;
	enum vmbus_channel_state state;
	struct page *ringbuffer_page;
	u32 ringbuffer_pagecount;
	int (*mmap_ring_buffer)(struct vmbus_channel *channel,	/* Linux 7.0 */
				struct vm_area_struct *vma);
	int (*mmap_prepare_ring_buffer)(struct vmbus_channel *channel,	/* v4 18/21 */
					struct vm_area_desc *desc);
};
void *page_address(const struct page *page);
phys_addr_t virt_to_phys(volatile void *address);

/* The made-up devices of the concept exercises (mmaplab/exercises/ex0N_*.py). */
struct fb_dev {				/* exercise 01: physical RAM */
	unsigned long base_pfn;
	unsigned long nr_pages;
};
struct regs_dev {			/* exercise 01: MMIO smaller than a page */
	phys_addr_t phys;
	unsigned long len;
};
struct buf_dev {			/* exercise 01: kernel pages */
	struct page **pages;
	unsigned long nr_pages;
};

struct trk_dev {			/* exercise 02: counts the VMAs that map it */
	unsigned long nr_pages;
	int nr_mmaps;
};
void trk_add_open_mmap(struct trk_dev *dev);
void trk_drop_open_mmap(struct trk_dev *dev);
vm_fault_t trk_fault(struct vm_fault *vmf);	/* given: faults the file's pages in */

struct ring_dev {			/* exercise 03: a ring, one context per mapping */
	unsigned long nr_pages;
};
struct ring_ctx {			/* one per mapping, shared by its split/forked VMAs */
	struct ring_dev *dev;
	refcount_t refcnt;
};
struct ring_ctx *ring_ctx_alloc(struct ring_dev *dev);	/* refcnt 1, or NULL: all in use */
void ring_ctx_free(struct ring_dev *dev, struct ring_ctx *ctx);
vm_fault_t ring_fault(struct vm_fault *vmf);	/* given: needs vma->vm_private_data */

struct chan_dev {			/* exercise 04: a channel whose callback is converted */
	int (*mmap_prepare_ring)(struct chan_dev *chan, struct vm_area_desc *desc);
};

#endif /* _MMAPLAB_DRIVERS_H */
