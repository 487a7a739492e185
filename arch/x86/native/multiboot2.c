/*
 * multiboot2.c - validate the Multiboot2 boot information and copy out what
 * the hypervisor needs.  See multiboot2.h for the layout and the API.
 *
 * The parser trusts nothing it reads: every read is preceded by a bounds check
 * against total_size, so a corrupt MBI yields an error string, never a read
 * past the end of the structure.
 */
#include "multiboot2.h"

#include <stddef.h>

/* Tag types used here (spec 3.6). */
enum {
	TAG_END = 0,
	TAG_CMDLINE = 1,
	TAG_MODULE = 3,
	TAG_MMAP = 6,
	TAG_ACPI_OLD = 14,
	TAG_ACPI_NEW = 15,
};

#define MBI_HEADER_SIZE 8u  /* total_size + reserved        */
#define TAG_HEADER_SIZE 8u  /* type + size                  */
#define MODULE_FIXED 16u    /* header + mod_start + mod_end */
#define MMAP_FIXED 16u      /* header + entry_size + entry_version */
#define MMAP_MIN_ENTRY 24u  /* base_addr + length + type + reserved */
#define RSDP_V1_SIZE 20u    /* ACPI 1.0 RSDP                */
#define RSDP_V2_SIZE 36u    /* ACPI 2.0+ XSDP               */

static struct {
	uint64_t mbi_base;
	uint64_t mbi_size;
	const char *cmdline;
	uint32_t cmdline_len;
	bool have_cmdline;
	bool have_mmap;
	uint32_t mmap_count;
	struct mb2_mmap_entry mmap[MB2_MAX_MMAP];
	uint32_t module_count;
	struct mb2_module modules[MB2_MAX_MODULES];
	uint64_t rsdp_old;
	uint64_t rsdp_new;
	const char *error;
} mb2;

/*
 * Reads at a physical address.  Callers guarantee the natural alignment (the
 * MBI and every tag are 8-byte aligned and the fields read sit at aligned
 * offsets) and that the bytes lie inside the validated MBI.
 */
static inline uint32_t rd32(uint64_t pa)
{
	return *(const uint32_t *)(uintptr_t)pa;
}

static inline uint64_t rd64(uint64_t pa)
{
	return *(const uint64_t *)(uintptr_t)pa;
}

static bool fail(const char *why)
{
	mb2.error = why;
	return false;
}

/*
 * Find the NUL-terminated string stored in [pa, pa + room).  On success store
 * its length (without the NUL) in *len.  The NUL must lie within room bytes
 * and within MB2_MAX_STRING bytes.
 */
static bool string_in(uint64_t pa, uint64_t room, uint32_t *len,
		      const char *unterminated, const char *too_long)
{
	const char *s = (const char *)(uintptr_t)pa;
	uint64_t limit = room < MB2_MAX_STRING ? room : MB2_MAX_STRING;

	for (uint64_t i = 0; i < limit; i++) {
		if (s[i] == '\0') {
			*len = (uint32_t)i;
			return true;
		}
	}
	return fail(room > MB2_MAX_STRING ? too_long : unterminated);
}

/* Tag 1: "string" at +8. */
static bool parse_cmdline(uint64_t tag, uint32_t size)
{
	if (mb2.have_cmdline)
		return fail("multiboot2: more than one command-line tag");
	if (!string_in(tag + TAG_HEADER_SIZE, size - TAG_HEADER_SIZE,
		       &mb2.cmdline_len,
		       "multiboot2: command line is not NUL-terminated",
		       "multiboot2: command line is longer than 1023 bytes"))
		return false;
	mb2.cmdline = (const char *)(uintptr_t)(tag + TAG_HEADER_SIZE);
	mb2.have_cmdline = true;
	return true;
}

/* Tag 3: u32 mod_start at +8, u32 mod_end at +12, "string" at +16. */
static bool parse_module(uint64_t tag, uint32_t size)
{
	struct mb2_module *m;

	if (size < MODULE_FIXED + 1)
		return fail("multiboot2: module tag too small");
	if (mb2.module_count == MB2_MAX_MODULES)
		return fail("multiboot2: more than 16 modules");
	m = &mb2.modules[mb2.module_count];
	m->start = rd32(tag + 8);
	m->end = rd32(tag + 12);
	if (m->end < m->start)
		return fail("multiboot2: module ends before it starts");
	if (!string_in(tag + MODULE_FIXED, size - MODULE_FIXED, &m->cmdline_len,
		       "multiboot2: module string is not NUL-terminated",
		       "multiboot2: module string is longer than 1023 bytes"))
		return false;
	m->cmdline = (const char *)(uintptr_t)(tag + MODULE_FIXED);
	mb2.module_count++;
	return true;
}

/*
 * Tag 6: u32 entry_size at +8, u32 entry_version at +12, then entries of
 * entry_size bytes: u64 base_addr, u64 length, u32 type, u32 reserved.
 * entry_size is a multiple of 8 (spec 3.6.8), which keeps the u64 reads
 * aligned; a trailing partial entry is ignored.
 */
static bool parse_mmap(uint64_t tag, uint32_t size)
{
	uint32_t esize, n;

	if (mb2.have_mmap)
		return fail("multiboot2: more than one memory-map tag");
	if (size < MMAP_FIXED)
		return fail("multiboot2: memory-map tag too small");
	esize = rd32(tag + 8);
	if (esize < MMAP_MIN_ENTRY || (esize & 7u) != 0)
		return fail("multiboot2: bad memory-map entry size");
	n = (size - MMAP_FIXED) / esize;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t e = tag + MMAP_FIXED + (uint64_t)i * esize;
		uint64_t base = rd64(e);
		uint64_t len = rd64(e + 8);
		uint32_t type = rd32(e + 16);
		struct mb2_mmap_entry *prev;

		if (len == 0)
			continue;
		/* Merge with the previous entry when contiguous and same type. */
		prev = mb2.mmap_count ? &mb2.mmap[mb2.mmap_count - 1] : NULL;
		if (prev && prev->type == type && prev->base + prev->len == base &&
		    base > prev->base && base + len > base) {
			prev->len += len;
			continue;
		}
		if (mb2.mmap_count == MB2_MAX_MMAP)
			return fail("multiboot2: more than 64 memory-map entries");
		mb2.mmap[mb2.mmap_count].base = base;
		mb2.mmap[mb2.mmap_count].len = len;
		mb2.mmap[mb2.mmap_count].type = type;
		mb2.mmap[mb2.mmap_count].reserved = 0;
		mb2.mmap_count++;
	}
	mb2.have_mmap = true;
	return true;
}

/* Tags 14/15: a byte copy of the RSDP at +8; check size and signature. */
static bool parse_rsdp(uint64_t tag, uint32_t size, uint32_t need, uint64_t *out)
{
	static const char sig[8] = { 'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ' };
	const char *p = (const char *)(uintptr_t)(tag + TAG_HEADER_SIZE);

	if (size < TAG_HEADER_SIZE + need)
		return fail("multiboot2: ACPI RSDP tag too small");
	for (int i = 0; i < 8; i++)
		if (p[i] != sig[i])
			return fail("multiboot2: ACPI RSDP tag lacks the \"RSD PTR \" signature");
	*out = tag + TAG_HEADER_SIZE;
	return true;
}

static void reset(void)
{
	uint8_t *p = (uint8_t *)&mb2;

	for (size_t i = 0; i < sizeof(mb2); i++)
		p[i] = 0;
	mb2.cmdline = "";
	mb2.error = "";
}

static bool parse(uint64_t mbi_phys)
{
	uint64_t total, off;

	if (mbi_phys == 0)
		return fail("multiboot2: no boot information (null pointer)");
	if ((mbi_phys & 7u) != 0)
		return fail("multiboot2: boot information is not 8-byte aligned");
	total = rd32(mbi_phys);
	if (total < MBI_HEADER_SIZE + TAG_HEADER_SIZE)
		return fail("multiboot2: total_size too small");
	if (total > MB2_MAX_TOTAL_SIZE)
		return fail("multiboot2: total_size larger than 1 MiB");
	if (mbi_phys + total < mbi_phys)
		return fail("multiboot2: boot information wraps the address space");

	/* Walk the tags; off is always 8-byte aligned and <= total. */
	for (off = MBI_HEADER_SIZE;; off = (off + 7u) & ~(uint64_t)7u) {
		uint64_t tag = mbi_phys + off;
		uint32_t type, size;
		bool ok = true;

		if (off > total || total - off < TAG_HEADER_SIZE)
			return fail("multiboot2: tag list runs past total_size (no end tag)");
		type = rd32(tag);
		size = rd32(tag + 4);
		if (size < TAG_HEADER_SIZE)
			return fail("multiboot2: tag smaller than its header");
		if (size > total - off)
			return fail("multiboot2: tag extends past total_size");
		if (type == TAG_END) {
			if (size != TAG_HEADER_SIZE)
				return fail("multiboot2: end tag has a bad size");
			break;
		}
		switch (type) {
		case TAG_CMDLINE:
			ok = parse_cmdline(tag, size);
			break;
		case TAG_MODULE:
			ok = parse_module(tag, size);
			break;
		case TAG_MMAP:
			ok = parse_mmap(tag, size);
			break;
		case TAG_ACPI_OLD:
			ok = parse_rsdp(tag, size, RSDP_V1_SIZE, &mb2.rsdp_old);
			break;
		case TAG_ACPI_NEW:
			ok = parse_rsdp(tag, size, RSDP_V2_SIZE, &mb2.rsdp_new);
			break;
		default:
			break; /* not needed by the hypervisor */
		}
		if (!ok)
			return false;
		off += size;
	}
	if (!mb2.have_mmap || mb2.mmap_count == 0)
		return fail("multiboot2: no memory map (tag 6)");
	mb2.mbi_base = mbi_phys;
	mb2.mbi_size = total;
	return true;
}

bool mb2_parse(uint64_t mbi_phys)
{
	const char *why;

	reset();
	if (parse(mbi_phys))
		return true;
	/* Leave no half-filled tables behind a failure, only the reason. */
	why = mb2.error;
	reset();
	mb2.error = why;
	return false;
}

const char *mb2_error(void)
{
	return mb2.error ? mb2.error : "";
}

const char *mb2_cmdline(void)
{
	return mb2.cmdline ? mb2.cmdline : "";
}

uint32_t mb2_cmdline_len(void)
{
	return mb2.cmdline_len;
}

uint32_t mb2_mmap_count(void)
{
	return mb2.mmap_count;
}

const struct mb2_mmap_entry *mb2_mmap(uint32_t i)
{
	return i < mb2.mmap_count ? &mb2.mmap[i] : NULL;
}

uint32_t mb2_module_count(void)
{
	return mb2.module_count;
}

const struct mb2_module *mb2_module(uint32_t i)
{
	return i < mb2.module_count ? &mb2.modules[i] : NULL;
}

uint64_t mb2_rsdp(void)
{
	return mb2.rsdp_new ? mb2.rsdp_new : mb2.rsdp_old;
}

uint64_t mb2_mbi_base(void)
{
	return mb2.mbi_base;
}

uint64_t mb2_mbi_size(void)
{
	return mb2.mbi_size;
}
