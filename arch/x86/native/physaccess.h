/*
 * physaccess.h - checked physical memory access: the memory-safety boundary
 * between the TypeScript hypervisor and the machine.
 *
 * Every peek/poke that TypeScript performs lands here.  An access of width
 * bytes at pa is allowed only when each page it touches is either
 *   - a page that palloc has handed out (EPT tables, VMCS, bitmaps...), or
 *   - wholly inside one declared region that permits the access
 * (an access that straddles a page boundary is split there and both halves
 * are checked).  Anything else is a hypervisor bug and panics with the
 * address and width, so a wrong pointer in TypeScript can never scribble over
 * the hypervisor image, the Wasm window, the stacks or a page already freed.
 *
 * Regions are declared by the native boot path and by TypeScript through the
 * intrinsics.  Regions may not overlap the hypervisor's private memory: the
 * HV_IMAGE, WASM_WINDOW, PAGE_POOL, STACKS and TRAMPOLINE reservations of
 * memmap and the palloc pool (whose pages are reachable only while allocated).
 *
 * Not thread-safe: callers hold the lock that serialises TypeScript.
 */
#ifndef HV_NATIVE_PHYSACCESS_H
#define HV_NATIVE_PHYSACCESS_H

#include <stdbool.h>
#include <stdint.h>

#define PHYS_MAX_REGIONS 64

/* What a declared region is; decides whether writes are allowed. */
enum phys_kind {
	PHYS_DEVICE = 1,   /* MMIO: LAPIC, IOAPIC, VGA text buffer...  rw */
	PHYS_GUEST = 2,    /* guest RAM owned by the hypervisor         rw */
	PHYS_MODULE = 3,   /* a boot module (kernel image, initrd)      ro */
	PHYS_BOOTINFO = 4, /* MBI, ACPI tables                          ro */
	PHYS_KIND_COUNT
};

struct phys_region {
	uint64_t base;
	uint64_t size;
	uint32_t kind; /* enum phys_kind */
	uint32_t reserved;
};

/*
 * Allow accesses to [base, base + size) as kind.  Byte granular.  Panics on
 * an empty or wrapping range, an unknown kind, a base already declared, a
 * full table, or an overlap with hypervisor-private memory (see above).
 */
void phys_declare(uint64_t base, uint64_t size, uint32_t kind);

/*
 * phys_declare for a range TypeScript asks for at run time (the Service VM's
 * RAM, which it may copy to and from): PHYS_GUEST, clipped to the memory the
 * boot page tables map (limit). Never panics: returns 0, or -1 when the range
 * is empty, wraps, is declared already, overlaps the page pool or
 * hypervisor-private memory, or the table is full.
 */
int phys_try_declare_guest(uint64_t base, uint64_t size, uint64_t limit);

/*
 * Would a read (or, with write, a write) of the whole 4 KiB page holding pa
 * be allowed?  For copies to and from guest memory: a guest may point the
 * hypervisor at memory it does not own (MMIO in the Service VM's identity
 * map), which is refused, not a panic.
 */
bool phys_page_ok(uint64_t pa, bool write);

/* Withdraw the region declared at base; panics when there is none. */
void phys_undeclare(uint64_t base);

/*
 * Read / write width (1, 2, 4 or 8) bytes at pa with a single volatile
 * access (so MMIO sees the access it asked for).  Writes store the low width
 * bytes of value.  Panic with a message naming pa and width when the access
 * is not allowed or the width is invalid.
 */
uint64_t phys_read(uint64_t pa, uint32_t width);
void phys_write(uint64_t pa, uint32_t width, uint64_t value);

/* The check alone: would this access be allowed?  Never panics. */
bool phys_allowed(uint64_t pa, uint32_t width, bool write);

/* Declared regions, in no particular order; NULL when i is out of range. */
uint32_t phys_region_count(void);
const struct phys_region *phys_region(uint32_t i);

/* "DEVICE", "GUEST", "MODULE", "BOOTINFO"; "?" for an unknown kind. */
const char *phys_kind_name(uint32_t kind);

#endif /* HV_NATIVE_PHYSACCESS_H */
