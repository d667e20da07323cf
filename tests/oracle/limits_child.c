/*
 * The kernel side of tests/oracle/test_limits_differential.py: RLIMIT_MEMLOCK and
 * RLIMIT_DATA on mmap, mprotect, mremap, mlock and mlockall(MCL_FUTURE), run by a
 * process without CAP_IPC_LOCK.
 *
 * Written in C so that nothing but the ops changes the counters the limits are checked
 * against (mm->locked_vm, mm->data_vm): a Python child allocates memory between calls,
 * and after mlockall(MCL_FUTURE) its allocations would be locked too.  No malloc after
 * start: stdio reads and writes through static buffers.
 *
 * argv: memlock_pages data_pages.  It reserves a PROT_NONE window of WINDOW pages
 * (not data, not locked), sets RLIMIT_DATA to the data_vm it has then plus data_pages
 * and RLIMIT_MEMLOCK to its locked_vm plus memlock_pages, drops CAP_IPC_LOCK, prints
 * "base <addr>", then reads ops from stdin, one a line, and prints one result a line
 * ("<ret> <errno>", ret relative to base for mmap/mremap), then the window's maps lines.
 *
 *   mmap <page> <pages> <prot> <flags>      (flags as given: the test adds MAP_FIXED)
 *   munmap <page> <pages>   mprotect <page> <pages> <prot>
 *   mlock <page> <pages>    munlock <page> <pages>
 *   mlockall <flags>        munlockall
 *   mremap <page> <old pages> <new pages> <flags> <new page>
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096UL
#define WINDOW 32

static char outbuf[1 << 16], inbuf[1 << 16];
static char text[1 << 16];

static unsigned long status_pages(const char *field)
{
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n = read(fd, text, sizeof(text) - 1);
	char *p;

	close(fd);
	text[n > 0 ? n : 0] = 0;
	p = strstr(text, field);
	return p ? strtoul(p + strlen(field), NULL, 10) / 4 : 0;  /* kB -> pages */
}

static void drop_cap_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	syscall(SYS_capget, &hdr, data);
	data[CAP_IPC_LOCK / 32].effective &= ~(1U << (CAP_IPC_LOCK % 32));
	data[CAP_IPC_LOCK / 32].permitted &= ~(1U << (CAP_IPC_LOCK % 32));
	if (syscall(SYS_capset, &hdr, data))
		perror("capset");
}

int main(int argc, char **argv)
{
	unsigned long memlock = strtoul(argv[1], NULL, 10);
	unsigned long data = strtoul(argv[2], NULL, 10);
	char op[32], line[256];
	unsigned long a, b, c, d, e;
	char *base;
	struct rlimit rl;

	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	setvbuf(stdin, inbuf, _IOFBF, sizeof(inbuf));
	base = mmap(NULL, WINDOW * PAGE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	rl.rlim_cur = rl.rlim_max = (status_pages("VmData:") + data) * PAGE;
	setrlimit(RLIMIT_DATA, &rl);
	rl.rlim_cur = rl.rlim_max = (status_pages("VmLck:") + memlock) * PAGE;
	setrlimit(RLIMIT_MEMLOCK, &rl);
	drop_cap_ipc_lock();
	printf("base %lu\n", (unsigned long)base);
	while (fgets(line, sizeof(line), stdin)) {
		long ret = 0;

		a = b = c = d = e = 0;
		if (sscanf(line, "%31s %lu %lu %lu %lu %lu", op, &a, &b, &c, &d, &e) < 1)
			continue;
		errno = 0;
		if (!strcmp(op, "mmap")) {
			void *p = mmap(base + a * PAGE, b * PAGE, c, d, -1, 0);
			ret = p == MAP_FAILED ? -1 : (char *)p - base;
		} else if (!strcmp(op, "munmap")) {
			ret = munmap(base + a * PAGE, b * PAGE);
		} else if (!strcmp(op, "mprotect")) {
			ret = mprotect(base + a * PAGE, b * PAGE, c);
		} else if (!strcmp(op, "mlock")) {
			ret = mlock(base + a * PAGE, b * PAGE);
		} else if (!strcmp(op, "munlock")) {
			ret = munlock(base + a * PAGE, b * PAGE);
		} else if (!strcmp(op, "mlockall")) {
			ret = mlockall(a);
		} else if (!strcmp(op, "munlockall")) {
			ret = munlockall();
		} else if (!strcmp(op, "vmdata")) {  /* debugging: data_vm + stack_vm, pages */
			ret = status_pages("VmData:");
		} else if (!strcmp(op, "mremap")) {
			void *p = (void *)syscall(SYS_mremap, base + a * PAGE, b * PAGE, c * PAGE,
						  d, base + e * PAGE);
			ret = p == MAP_FAILED ? -1 : (char *)p - base;
		}
		printf("%ld %d\n", ret, ret == -1 ? errno : 0);
	}
	munlockall();
	{
		int fd = open("/proc/self/maps", O_RDONLY);
		ssize_t n, len = 0;

		while ((n = read(fd, text + len, sizeof(text) - 1 - len)) > 0)
			len += n;
		text[len] = 0;
		close(fd);
		for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
			unsigned long s = strtoul(l, NULL, 16);

			if (s >= (unsigned long)base && s < (unsigned long)base + WINDOW * PAGE)
				printf("maps %s\n", l);
		}
	}
	fflush(stdout);
	return 0;
}
