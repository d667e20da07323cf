/*
 * mmaplab.h - the kernel interface an mmap hook sees, in our own words.
 *
 * It stands for the kernel headers a driver includes (<linux/mm.h>, <linux/fs.h>,
 * <linux/mm_types.h>, ...), cut down to what the hooks of the "mm: expand
 * mmap_prepare functionality" v4 series use, on Linux 7.0, x86-64.  Every structure
 * here is backed by the Python model (mmaplab.kernel); every function by a model
 * function of the same name (mmaplab/kernel_c/bindings.py).  The constants (errnos,
 * VM_* masks, VMA_*_BIT numbers, PAGE_*) are generated from the model and come
 * before this text.
 */
#ifndef _MMAPLAB_H
#define _MMAPLAB_H

/* Compiler and annotation noise the kernel's sources carry: nothing for us. */
#define __user
#define __iomem
#define __rcu
#define __init
#define __exit
#define __maybe_unused
#define __must_check
#define __always_inline inline
#define noinline
#define __attribute__(x)
#define likely(x) (x)
#define unlikely(x) (x)
#define READ_ONCE(x) (x)
#define WRITE_ONCE(x, val) ((x) = (val))
#define container_of(ptr, type, member) \
	((type *)__container_of((ptr), #type, #member))
#define offsetof(type, member) __offsetof(#type, #member)
#define ARRAY_SIZE(arr) (sizeof(arr) / sizeof((arr)[0]))
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
#define BIT(nr) (1UL << (nr))
#define PAGE_ALIGN(addr) (((addr) + PAGE_SIZE - 1) & PAGE_MASK)
#define PHYS_PFN(x) ((unsigned long)((x) >> PAGE_SHIFT))
#define NULL ((void *)0)
#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define true 1
#define false 0
#define EXPORT_SYMBOL(sym)
#define EXPORT_SYMBOL_GPL(sym)

typedef _Bool bool;
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;
typedef unsigned char u_char;
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned long long phys_addr_t;
typedef phys_addr_t resource_size_t;
typedef unsigned long pgoff_t;
typedef long long loff_t;
typedef unsigned int gfp_t;
typedef unsigned int fmode_t;
typedef unsigned int vm_fault_t;
typedef unsigned long vm_flags_t;

/* A page protection value (x86 _PAGE_* bits): change it only through pgprot_*(). */
typedef struct { unsigned long pgprot; } pgprot_t;
/* The descriptor's flags: a bitmap indexed by VMA_*_BIT, used through vma_desc_*(). */
typedef struct { unsigned long __vma_flags; } vma_flags_t;
typedef struct { int counter; } atomic_t;
typedef struct { atomic_t refs; } refcount_t;
struct kref { refcount_t refcount; };
struct mutex { int owner; };

struct mm_struct;
struct page;
struct resource {			/* include/linux/ioport.h: [start, end] */
	resource_size_t start;
	resource_size_t end;
};
struct list_head {
	struct list_head *next, *prev;
};
struct kobject {
	const char *name;
};
struct bin_attribute;
struct address_space;

struct inode {
	unsigned long i_ino;
	loff_t i_size;
	struct address_space *i_mapping;
};

struct file {
	fmode_t f_mode;
	struct inode *f_inode;
	struct address_space *f_mapping;
	void *private_data;
};

struct vm_area_struct;
struct vm_fault;

/* What the kernel calls back on a VMA; a driver fills in what it needs. */
struct vm_operations_struct {
	void (*open)(struct vm_area_struct *vma);
	void (*close)(struct vm_area_struct *vma);
	int (*mapped)(unsigned long start, unsigned long end, pgoff_t pgoff,
		      const struct file *file, void **vm_private_data);
	int (*may_split)(struct vm_area_struct *vma, unsigned long addr);
	vm_fault_t (*fault)(struct vm_fault *vmf);
	vm_fault_t (*page_mkwrite)(struct vm_fault *vmf);
};

/* A mapping that exists: what the deprecated ->mmap hook and vm_ops receive. */
struct vm_area_struct {
	unsigned long vm_start;
	unsigned long vm_end;
	struct mm_struct *vm_mm;
	pgprot_t vm_page_prot;
	const vm_flags_t vm_flags;	/* change with vm_flags_set()/vm_flags_clear() */
	unsigned long vm_pgoff;
	struct file *vm_file;
	const struct vm_operations_struct *vm_ops;
	void *vm_private_data;
};

struct vm_fault {
	struct vm_area_struct *vma;
	pgoff_t pgoff;
	unsigned long address;
	struct page *page;
};

/* What to do once the VMA exists (set with the mmap_action_*() helpers). */
struct mmap_action {
	int (*success_hook)(const struct vm_area_struct *vma);
	int (*error_hook)(int err);
	bool hide_from_rmap_until_complete;
};

/*
 * A mapping that does not exist yet, handed to ->mmap_prepare.  The range, the mm
 * and the file are decided by the caller; the hook may change pgoff, vm_file,
 * vma_flags and page_prot, and sets vm_ops, private_data and action.
 */
struct vm_area_desc {
	struct mm_struct *const mm;
	struct file *const file;
	const unsigned long start;
	const unsigned long end;
	pgoff_t pgoff;
	struct file *vm_file;
	vma_flags_t vma_flags;
	pgprot_t page_prot;
	const struct vm_operations_struct *vm_ops;
	void *private_data;
	struct mmap_action action;
};

/* printk and warnings: recorded in the front end's log (mmaplab.kernel_c.dmesg). */
int printk(const char *fmt, ...);
int pr_info(const char *fmt, ...);
int pr_err(const char *fmt, ...);
int pr_warn(const char *fmt, ...);
int pr_debug(const char *fmt, ...);
int pr_notice(const char *fmt, ...);
bool WARN_ON(long condition);
bool WARN_ON_ONCE(long condition);
bool WARN(long condition, const char *fmt, ...);
void BUG_ON(long condition);
void *__container_of(void *ptr, const char *type, const char *member);
unsigned long __offsetof(const char *type, const char *member);

/* Page protection (arch/x86/include/asm/pgtable_types.h, pgtable.h). */
pgprot_t pgprot_noncached(pgprot_t prot);
pgprot_t pgprot_writecombine(pgprot_t prot);
pgprot_t pgprot_decrypted(pgprot_t prot);
pgprot_t pgprot_encrypted(pgprot_t prot);

/* The descriptor's accessors (include/linux/mm.h): the varargs are VMA_*_BIT numbers. */
void vma_desc_set_flags(struct vm_area_desc *desc, ...);
void vma_desc_clear_flags(struct vm_area_desc *desc, ...);
bool vma_desc_test(const struct vm_area_desc *desc, int bit);
bool vma_desc_test_any(const struct vm_area_desc *desc, ...);
bool vma_desc_test_all(const struct vm_area_desc *desc, ...);
void vma_desc_set_flags_mask(struct vm_area_desc *desc, vma_flags_t flags);
void vma_desc_clear_flags_mask(struct vm_area_desc *desc, vma_flags_t flags);
bool vma_desc_test_any_mask(const struct vm_area_desc *desc, vma_flags_t flags);
bool vma_desc_test_all_mask(const struct vm_area_desc *desc, vma_flags_t flags);
vma_flags_t mk_vma_flags(int bit, ...);
unsigned long vma_desc_size(const struct vm_area_desc *desc);
unsigned long vma_desc_pages(const struct vm_area_desc *desc);
bool vma_desc_is_cow_mapping(const struct vm_area_desc *desc);

/* Actions for ->mmap_prepare (include/linux/mm.h, v4). */
void mmap_action_remap(struct vm_area_desc *desc, unsigned long start,
		       unsigned long start_pfn, unsigned long size);
void mmap_action_remap_full(struct vm_area_desc *desc, unsigned long start_pfn);
void mmap_action_ioremap(struct vm_area_desc *desc, unsigned long start,
			 unsigned long start_pfn, unsigned long size);
void mmap_action_ioremap_full(struct vm_area_desc *desc, unsigned long start_pfn);
void mmap_action_simple_ioremap(struct vm_area_desc *desc, phys_addr_t start_phys_addr,
				unsigned long size);
void mmap_action_map_kernel_pages(struct vm_area_desc *desc, unsigned long start,
				  struct page **pages, unsigned long nr_pages);
void mmap_action_map_kernel_pages_full(struct vm_area_desc *desc, struct page **pages);

/* The deprecated ->mmap world: these work on a vm_area_struct, which must exist. */
int remap_pfn_range(struct vm_area_struct *vma, unsigned long addr, unsigned long pfn,
		    unsigned long size, pgprot_t prot);
int io_remap_pfn_range(struct vm_area_struct *vma, unsigned long addr, unsigned long pfn,
		       unsigned long size, pgprot_t prot);
int vm_iomap_memory(struct vm_area_struct *vma, phys_addr_t start, unsigned long len);
int vm_insert_page(struct vm_area_struct *vma, unsigned long addr, struct page *page);
int vm_map_pages(struct vm_area_struct *vma, struct page **pages, unsigned long num);
int vm_map_pages_zero(struct vm_area_struct *vma, struct page **pages, unsigned long num);
void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags);
void vm_flags_clear(struct vm_area_struct *vma, vm_flags_t flags);
unsigned long vma_pages(const struct vm_area_struct *vma);
int compat_vma_mmap(struct file *file, struct vm_area_struct *vma);

/* The compat layer for stacked callers (mm/util.c, v4 17/21). */
void compat_set_desc_from_vma(struct vm_area_desc *desc, const struct file *file,
			      const struct vm_area_struct *vma);
void compat_set_vma_from_desc(struct vm_area_struct *vma, struct vm_area_desc *desc);
int __compat_vma_mmap(struct vm_area_desc *desc, struct vm_area_struct *vma);
/* include/linux/fs.h: a stacking file calls the lower file's hook through this. */
int vfs_mmap(struct file *file, struct vm_area_struct *vma);
int mmap_action_complete(struct vm_area_struct *vma, struct mmap_action *action);

/* The page cache (mm/filemap.c). */
vm_fault_t filemap_fault(struct vm_fault *vmf);

/* Memory, references, locks (mm/slub.c, lib/refcount.c, kernel/locking/mutex.c). */
void *kmalloc(size_t size, gfp_t flags);
void *kzalloc(size_t size, gfp_t flags);
void kfree(const void *ptr);
void kref_get(struct kref *kref);
void refcount_set(refcount_t *r, int n);
void refcount_inc(refcount_t *r);
bool refcount_dec_and_test(refcount_t *r);
unsigned int refcount_read(const refcount_t *r);
void atomic_inc(atomic_t *v);
void atomic_dec(atomic_t *v);
int atomic_read(const atomic_t *v);
void atomic_set(atomic_t *v, int i);
void mutex_lock(struct mutex *lock);
void mutex_unlock(struct mutex *lock);
struct inode *file_inode(const struct file *file);
unsigned int iminor(const struct inode *inode);
struct device;
int dev_err(const struct device *dev, const char *fmt, ...);
bool IS_ERR(const void *ptr);
long PTR_ERR(const void *ptr);
void *ERR_PTR(long error);
struct page *virt_to_page(const void *addr);
unsigned long page_to_pfn(const struct page *page);
struct page *pfn_to_page(unsigned long pfn);

#endif /* _MMAPLAB_H */
