/*
 * multiboot2.h - parser for the Multiboot2 boot information (MBI).
 *
 * GRUB hands the hypervisor a pointer to the MBI in EBX (the boot stub passes
 * it on, together with the magic from EAX).  The MBI is a list of tags:
 *
 *   +0  u32 total_size   (whole MBI, fixed header and end tag included)
 *   +4  u32 reserved
 *   +8  tag, tag, ... , end tag (type 0, size 8)
 *
 *   tag: +0 u32 type, +4 u32 size (header included, padding excluded),
 *        payload; the next tag starts at the next 8-byte boundary.
 *
 * (Multiboot2 specification, section 3.6 "Boot information format".)
 *
 * mb2_parse() validates the whole structure and copies what the hypervisor
 * needs into static tables, so nothing later walks untrusted tag lists:
 *   type 1  boot command line
 *   type 3  modules (start, end, string)
 *   type 6  memory map
 *   type 14 ACPI 1.0 RSDP copy, type 15 ACPI 2.0+ RSDP copy
 * Every other tag is skipped.  Strings are not copied: the accessors return
 * pointers into the MBI, which memmap keeps reserved for the hypervisor's
 * whole lifetime.
 *
 * Freestanding: only <stdint.h>, <stddef.h>, <stdbool.h>.
 */
#ifndef HV_NATIVE_MULTIBOOT2_H
#define HV_NATIVE_MULTIBOOT2_H

#include <stdbool.h>
#include <stdint.h>

/* Value the boot loader leaves in EAX (spec 3.3); checked by the boot path. */
#define MB2_BOOTLOADER_MAGIC 0x36d76289u

#define MB2_MAX_MMAP 64      /* memory-map entries kept (after merging)   */
#define MB2_MAX_MODULES 16   /* boot modules kept                         */
#define MB2_MAX_STRING 1024  /* longest string, terminating NUL included  */
#define MB2_MAX_TOTAL_SIZE (1u << 20) /* a sane upper bound for an MBI     */

/* Memory-map entry types (spec 3.6.8). Anything else means reserved. */
enum mb2_mmap_type {
	MB2_MMAP_AVAILABLE = 1,
	MB2_MMAP_RESERVED = 2,
	MB2_MMAP_ACPI_RECLAIMABLE = 3,
	MB2_MMAP_NVS = 4,
	MB2_MMAP_BADRAM = 5,
};

/* One memory-map entry: [base, base + len) of the given type. */
struct mb2_mmap_entry {
	uint64_t base;
	uint64_t len;
	uint32_t type;
	uint32_t reserved;
};

/*
 * One boot module: its image occupies [start, end) in physical memory.
 * cmdline points at the NUL-terminated module string inside the MBI;
 * cmdline_len excludes the NUL.
 */
struct mb2_module {
	uint64_t start;
	uint64_t end;
	const char *cmdline;
	uint32_t cmdline_len;
};

/*
 * Parse the MBI at physical address mbi_phys (identity mapped).  Returns
 * false, with a constant reason in mb2_error(), when the MBI is malformed:
 * null or misaligned pointer, insane total_size, a tag smaller than its header
 * or reaching past total_size, no end tag, an unterminated or over-long
 * string, a module that ends before it starts, a bad memory-map entry size,
 * a duplicated command-line or memory-map tag, a table overflow, or no memory
 * map at all.  Adjacent memory-map entries of the same type are merged.
 * May be called again; every call starts from empty tables.
 */
bool mb2_parse(uint64_t mbi_phys);

/* Why the last mb2_parse() failed; "" after a successful parse. */
const char *mb2_error(void);

/* The boot command line; "" when the boot loader passed none. */
const char *mb2_cmdline(void);
uint32_t mb2_cmdline_len(void);

/* Memory map, in the order the boot loader gave it; NULL when i is out of range. */
uint32_t mb2_mmap_count(void);
const struct mb2_mmap_entry *mb2_mmap(uint32_t i);

/* Boot modules, in MBI order; NULL when i is out of range. */
uint32_t mb2_module_count(void);
const struct mb2_module *mb2_module(uint32_t i);

/*
 * Physical address of the RSDP copy inside the MBI (the ACPI 2.0+ copy when
 * both are present), or 0 when the boot loader passed none.
 */
uint64_t mb2_rsdp(void);

/* The MBI itself: [mb2_mbi_base(), mb2_mbi_base() + mb2_mbi_size()). */
uint64_t mb2_mbi_base(void);
uint64_t mb2_mbi_size(void);

#endif /* HV_NATIVE_MULTIBOOT2_H */
