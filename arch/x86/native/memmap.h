/*
 * memmap.h - the host physical memory map and the hypervisor's reservations.
 *
 * Built once at boot from the Multiboot2 memory map (mb2_parse() must have
 * succeeded first):
 *
 *  - usable RAM: the type-1 (available) entries, each shrunk inward to whole
 *    4 KiB pages, sorted, merged where contiguous, with every page touched by
 *    a non-available entry removed (firmware maps sometimes overlap);
 *
 *  - reservations: ranges that must never be handed out again nor appear in
 *    any guest, each widened outward to whole pages and tagged with a kind.
 *    memmap_init() records the first MiB (BIOS data, real-mode IVT, EBDA, and
 *    later the AP trampoline), the hypervisor image, the MBI and every boot
 *    module.  Later the boot path carves the Wasm linear-memory window, the
 *    page pool and the stacks out of the remaining RAM with memmap_carve().
 *
 * All tables are static arrays; a full table or a request that does not fit
 * fails with false and a constant reason in memmap_error(), for the caller to
 * print.  Not thread-safe: used by the boot CPU before the APs start.
 */
#ifndef HV_NATIVE_MEMMAP_H
#define HV_NATIVE_MEMMAP_H

#include <stdbool.h>
#include <stdint.h>

#define MEMMAP_PAGE_SIZE 0x1000ull
#define MEMMAP_LOW_LIMIT 0x100000ull /* end of the always-reserved first MiB */
#define MEMMAP_MAX_RAM 128           /* usable RAM ranges                   */
#define MEMMAP_MAX_RESERVED 48       /* reservations                        */

/* What a reservation holds. 0 is deliberately not a kind. */
enum memmap_kind {
	MEMMAP_HV_IMAGE = 1,    /* the hypervisor's own ELF image          */
	MEMMAP_MBI = 2,         /* Multiboot2 boot information             */
	MEMMAP_MODULE = 3,      /* a boot module (guest kernel, initrd...) */
	MEMMAP_LOW_1M = 4,      /* [0, 1 MiB): BIOS/real-mode area         */
	MEMMAP_WASM_WINDOW = 5, /* linear memory of the compiled Wasm      */
	MEMMAP_PAGE_POOL = 6,   /* pages managed by palloc                 */
	MEMMAP_STACKS = 7,      /* per-CPU hypervisor stacks               */
	MEMMAP_TRAMPOLINE = 8,  /* AP start-up trampoline                  */
	MEMMAP_GUEST_RAM = 9,   /* RAM of a pre-launched (or test) VM      */
	MEMMAP_KIND_COUNT
};

/* A usable RAM range [base, base + size); both page aligned. */
struct memmap_range {
	uint64_t base;
	uint64_t size;
};

/* A reserved range [base, base + size); both page aligned. */
struct memmap_reservation {
	uint64_t base;
	uint64_t size;
	uint32_t kind; /* enum memmap_kind */
	uint32_t reserved;
};

/*
 * Build the map from the parsed Multiboot2 memory map and record the fixed
 * reservations, the image being [__image_start, __image_end) from the linker
 * script.  Freestanding build only.
 */
bool memmap_init(void);

/* The same, with the image range passed in (used by memmap_init and tests). */
bool memmap_init_with_image(uint64_t image_start, uint64_t image_end);

/*
 * Reserve the lowest range of usable RAM that is size bytes long (rounded up
 * to whole pages), starts at a multiple of align (a power of two; values
 * below 4 KiB mean 4 KiB) and overlaps no existing reservation; tag it with
 * kind and store its base in *out.  False (and *out untouched) when no such
 * range exists, the arguments are invalid or the table is full.
 */
bool memmap_carve(uint64_t size, uint64_t align, uint32_t kind, uint64_t *out);

/* memmap_carve() restricted to ranges that end at or below limit. */
bool memmap_carve_below(uint64_t size, uint64_t align, uint64_t limit,
			uint32_t kind, uint64_t *out);

/*
 * Record a reservation at a fixed address, widened to whole pages.  No
 * overlap check: this annotates ranges chosen elsewhere, e.g. the AP
 * trampoline inside the first MiB.  False on bad arguments or a full table.
 */
bool memmap_reserve(uint64_t base, uint64_t size, uint32_t kind);

/* Reservations, in the order they were made; NULL when i is out of range. */
uint32_t memmap_reserved_count(void);
const struct memmap_reservation *memmap_reserved(uint32_t i);

/* Usable RAM ranges, ascending; NULL when i is out of range. */
uint32_t memmap_ram_count(void);
const struct memmap_range *memmap_ram(uint32_t i);

/* Bytes of usable RAM (reserved parts included). */
uint64_t memmap_total_ram(void);

/*
 * The kind of the first reservation overlapping [base, base + size), or 0
 * when none does.
 */
uint32_t memmap_overlap(uint64_t base, uint64_t size);

/* "HV_IMAGE", "MBI", ... ; "?" for an unknown kind. */
const char *memmap_kind_name(uint32_t kind);

/* Why the last failing call failed; "" when nothing failed yet. */
const char *memmap_error(void);

/* Print the usable RAM and the reservations through kputs(). */
void memmap_print(void);

#endif /* HV_NATIVE_MEMMAP_H */
