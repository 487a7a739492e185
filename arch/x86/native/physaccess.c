/*
 * physaccess.c - checked physical peek/poke.  See physaccess.h.
 *
 * Cost of the common case (a TypeScript access to one of its own pages, e.g.
 * an EPT or VMCS page): one width switch, one page-boundary test and one
 * bitmap lookup in palloc.  Only accesses outside the pool walk the region
 * list, which has at most PHYS_MAX_REGIONS entries.
 */
#include "physaccess.h"

#include <stddef.h>

#include "memmap.h"
#include "palloc.h"

__attribute__((noreturn)) void hv_panic(const char *msg);

#define PAGE_SIZE 0x1000ull
#define PAGE_MASK (PAGE_SIZE - 1)

static struct phys_region regions[PHYS_MAX_REGIONS];
static uint32_t region_count;

/*
 * Unaligned-capable types: an access may be misaligned (it is then checked
 * page by page); x86 performs it in one instruction either way.
 */
typedef volatile uint16_t __attribute__((aligned(1), may_alias)) vu16;
typedef volatile uint32_t __attribute__((aligned(1), may_alias)) vu32;
typedef volatile uint64_t __attribute__((aligned(1), may_alias)) vu64;

/* ---- panic messages -------------------------------------------------- */

static char panic_msg[128];

struct msg {
	uint32_t n;
};

static void msg_str(struct msg *m, const char *s)
{
	while (*s && m->n < sizeof(panic_msg) - 1)
		panic_msg[m->n++] = *s++;
	panic_msg[m->n] = '\0';
}

static void msg_hex(struct msg *m, uint64_t v)
{
	char s[19] = "0x";
	int shift = 60, i = 2;

	while (shift > 0 && ((v >> shift) & 0xf) == 0)
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		s[i++] = "0123456789abcdef"[(v >> shift) & 0xf];
	s[i] = '\0';
	msg_str(m, s);
}

static void msg_dec(struct msg *m, uint64_t v)
{
	char s[21];
	int i = 20;

	s[i] = '\0';
	do {
		s[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	msg_str(m, &s[i]);
}

/* "<op>: 0x<base> (<n> bytes) <why>" */
__attribute__((noreturn)) static void panic_range(const char *op, uint64_t base,
						  uint64_t n, const char *why)
{
	struct msg m = { 0 };

	msg_str(&m, op);
	msg_str(&m, ": ");
	msg_hex(&m, base);
	msg_str(&m, " (");
	msg_dec(&m, n);
	msg_str(&m, n == 1 ? " byte) " : " bytes) ");
	msg_str(&m, why);
	hv_panic(panic_msg);
}

/* ---- the check ------------------------------------------------------- */

static bool kind_writable(uint32_t kind)
{
	return kind == PHYS_DEVICE || kind == PHYS_GUEST;
}

/*
 * Is [pa, pa + len), which lies within one page, allowed?  When it is
 * refused only because a containing region is read-only, set *read_only.
 */
static bool piece_allowed(uint64_t pa, uint64_t len, bool write, bool *read_only)
{
	if (palloc_is_allocated(pa))
		return true;
	for (uint32_t i = 0; i < region_count; i++) {
		const struct phys_region *r = &regions[i];

		/* pa >= base && pa + len <= base + size, without overflow */
		if (pa - r->base < r->size && r->size - (pa - r->base) >= len) {
			if (!write || kind_writable(r->kind))
				return true;
			*read_only = true;
		}
	}
	return false;
}

/*
 * The full check.  Returns NULL when allowed, else why not.  Widths are
 * validated by the callers.
 */
static const char *check(uint64_t pa, uint32_t width, bool write)
{
	uint64_t last = pa + width - 1;
	bool read_only = false;
	bool ok;

	if (last < pa)
		return "wraps the address space";
	if ((pa & ~PAGE_MASK) == (last & ~PAGE_MASK)) {
		ok = piece_allowed(pa, width, write, &read_only);
	} else {
		/* Straddles a page boundary: check each page's part. */
		uint64_t head = PAGE_SIZE - (pa & PAGE_MASK);

		ok = piece_allowed(pa, head, write, &read_only) &&
		     piece_allowed(pa + head, width - head, write, &read_only);
	}
	if (ok)
		return NULL;
	return read_only ? "is in read-only memory" : "is not hypervisor-owned memory";
}

static bool width_valid(uint32_t width)
{
	return width == 1 || width == 2 || width == 4 || width == 8;
}

/* ---- public API ------------------------------------------------------ */

/* Hypervisor-private reservations that no region may overlap. */
static bool kind_private(uint32_t memmap_kind)
{
	return memmap_kind == MEMMAP_HV_IMAGE || memmap_kind == MEMMAP_WASM_WINDOW ||
	       memmap_kind == MEMMAP_PAGE_POOL || memmap_kind == MEMMAP_STACKS ||
	       memmap_kind == MEMMAP_TRAMPOLINE;
}

void phys_declare(uint64_t base, uint64_t size, uint32_t kind)
{
	uint64_t pool = palloc_pool_base();

	if (kind < PHYS_DEVICE || kind >= PHYS_KIND_COUNT)
		panic_range("phys_declare", base, size, "has an unknown kind");
	if (size == 0 || base + size < base)
		panic_range("phys_declare", base, size, "is empty or wraps");
	for (uint32_t i = 0; i < region_count; i++)
		if (regions[i].base == base)
			panic_range("phys_declare", base, size, "is declared already");
	if (region_count == PHYS_MAX_REGIONS)
		panic_range("phys_declare", base, size, "does not fit: region table full");

	/* Hypervisor-private memory must stay out of reach. */
	if (pool && base < pool + palloc_pool_size() && pool < base + size)
		panic_range("phys_declare", base, size, "overlaps the page pool");
	for (uint32_t i = 0; i < memmap_reserved_count(); i++) {
		const struct memmap_reservation *r = memmap_reserved(i);

		if (kind_private(r->kind) && base < r->base + r->size &&
		    r->base < base + size)
			panic_range("phys_declare", base, size,
				    "overlaps hypervisor-private memory");
	}

	regions[region_count].base = base;
	regions[region_count].size = size;
	regions[region_count].kind = kind;
	regions[region_count].reserved = 0;
	region_count++;
}

bool phys_page_ok(uint64_t pa, bool write)
{
	bool read_only = false;

	return piece_allowed(pa & ~PAGE_MASK, PAGE_SIZE, write, &read_only);
}

int phys_try_declare_guest(uint64_t base, uint64_t size, uint64_t limit)
{
	uint64_t pool = palloc_pool_base();

	if (base >= limit)
		return -1;
	if (size > limit - base)
		size = limit - base;
	if (size == 0 || base + size < base || region_count == PHYS_MAX_REGIONS)
		return -1;
	for (uint32_t i = 0; i < region_count; i++)
		if (base < regions[i].base + regions[i].size && regions[i].base < base + size)
			return -1;
	if (pool && base < pool + palloc_pool_size() && pool < base + size)
		return -1;
	for (uint32_t i = 0; i < memmap_reserved_count(); i++) {
		const struct memmap_reservation *r = memmap_reserved(i);

		if (kind_private(r->kind) && base < r->base + r->size && r->base < base + size)
			return -1;
	}
	phys_declare(base, size, PHYS_GUEST);
	return 0;
}

void phys_undeclare(uint64_t base)
{
	struct msg m = { 0 };

	for (uint32_t i = 0; i < region_count; i++) {
		if (regions[i].base == base) {
			regions[i] = regions[--region_count];
			return;
		}
	}
	msg_str(&m, "phys_undeclare: ");
	msg_hex(&m, base);
	msg_str(&m, " was not declared");
	hv_panic(panic_msg);
}

bool phys_allowed(uint64_t pa, uint32_t width, bool write)
{
	return width_valid(width) && check(pa, width, write) == NULL;
}

uint64_t phys_read(uint64_t pa, uint32_t width)
{
	const char *why;

	if (!width_valid(width))
		panic_range("phys_read", pa, width, "has an invalid width (1, 2, 4 or 8)");
	why = check(pa, width, false);
	if (why)
		panic_range("phys_read", pa, width, why);
	switch (width) {
	case 1:
		return *(volatile uint8_t *)(uintptr_t)pa;
	case 2:
		return *(vu16 *)(uintptr_t)pa;
	case 4:
		return *(vu32 *)(uintptr_t)pa;
	default:
		return *(vu64 *)(uintptr_t)pa;
	}
}

void phys_write(uint64_t pa, uint32_t width, uint64_t value)
{
	const char *why;

	if (!width_valid(width))
		panic_range("phys_write", pa, width, "has an invalid width (1, 2, 4 or 8)");
	why = check(pa, width, true);
	if (why)
		panic_range("phys_write", pa, width, why);
	switch (width) {
	case 1:
		*(volatile uint8_t *)(uintptr_t)pa = (uint8_t)value;
		break;
	case 2:
		*(vu16 *)(uintptr_t)pa = (uint16_t)value;
		break;
	case 4:
		*(vu32 *)(uintptr_t)pa = (uint32_t)value;
		break;
	default:
		*(vu64 *)(uintptr_t)pa = value;
		break;
	}
}

uint32_t phys_region_count(void)
{
	return region_count;
}

const struct phys_region *phys_region(uint32_t i)
{
	return i < region_count ? &regions[i] : NULL;
}

const char *phys_kind_name(uint32_t kind)
{
	switch (kind) {
	case PHYS_DEVICE:
		return "DEVICE";
	case PHYS_GUEST:
		return "GUEST";
	case PHYS_MODULE:
		return "MODULE";
	case PHYS_BOOTINFO:
		return "BOOTINFO";
	default:
		return "?";
	}
}
