/*
 * memmap.c - host memory map and reservations.  See memmap.h.
 *
 * Ranges are page granular.  Internally a range is handled as [base, end);
 * the highest representable end is the last page boundary below 2^64, which
 * keeps every end computation free of wrap-around.
 */
#include "memmap.h"

#include <stddef.h>

#include "multiboot2.h"

void kputs(const char *s);

#define PAGE_MASK (MEMMAP_PAGE_SIZE - 1)
#define END_MAX (~PAGE_MASK) /* 0xffff_ffff_ffff_f000 */

static struct {
	struct memmap_range ram[MEMMAP_MAX_RAM];
	uint32_t ram_count;
	struct memmap_reservation resv[MEMMAP_MAX_RESERVED];
	uint32_t resv_count;
	const char *error;
} mm;

static bool fail(const char *why)
{
	mm.error = why;
	return false;
}

static uint64_t page_down(uint64_t x)
{
	return x & ~PAGE_MASK;
}

/* Round up to a page; saturates at END_MAX instead of wrapping. */
static uint64_t page_up(uint64_t x)
{
	return x > END_MAX ? END_MAX : (x + PAGE_MASK) & ~PAGE_MASK;
}

/* base + len, saturated at 2^64 - 1. */
static uint64_t end_of(uint64_t base, uint64_t len)
{
	return base + len < base ? UINT64_MAX : base + len;
}

static bool kind_valid(uint32_t kind)
{
	return kind >= MEMMAP_HV_IMAGE && kind < MEMMAP_KIND_COUNT;
}

/* ---- usable RAM ------------------------------------------------------ */

static bool ram_append(uint64_t base, uint64_t end)
{
	if (mm.ram_count == MEMMAP_MAX_RAM)
		return fail("memmap: too many usable RAM ranges");
	mm.ram[mm.ram_count].base = base;
	mm.ram[mm.ram_count].size = end - base;
	mm.ram_count++;
	return true;
}

/* Sort ascending by base (insertion sort, n <= 128) and merge overlaps. */
static void ram_normalize(void)
{
	uint32_t n = 0;

	for (uint32_t i = 1; i < mm.ram_count; i++) {
		struct memmap_range r = mm.ram[i];
		uint32_t j = i;

		while (j > 0 && mm.ram[j - 1].base > r.base) {
			mm.ram[j] = mm.ram[j - 1];
			j--;
		}
		mm.ram[j] = r;
	}
	for (uint32_t i = 0; i < mm.ram_count; i++) {
		struct memmap_range *last = n ? &mm.ram[n - 1] : NULL;
		uint64_t end = mm.ram[i].base + mm.ram[i].size;

		if (last && mm.ram[i].base <= last->base + last->size) {
			if (end > last->base + last->size)
				last->size = end - last->base;
		} else {
			mm.ram[n++] = mm.ram[i];
		}
	}
	mm.ram_count = n;
}

/* Remove [b, e) from the usable RAM list, splitting a range if needed. */
static bool ram_subtract(uint64_t b, uint64_t e)
{
	uint32_t i = 0;

	while (i < mm.ram_count) {
		struct memmap_range *r = &mm.ram[i];
		uint64_t rb = r->base, re = r->base + r->size;

		if (e <= rb || b >= re) {
			i++;
		} else if (b <= rb && e >= re) { /* covers it: drop */
			for (uint32_t j = i + 1; j < mm.ram_count; j++)
				mm.ram[j - 1] = mm.ram[j];
			mm.ram_count--;
		} else if (b <= rb) { /* cuts the head */
			r->base = e;
			r->size = re - e;
			i++;
		} else if (e >= re) { /* cuts the tail */
			r->size = b - rb;
			i++;
		} else { /* inside: split in two */
			if (mm.ram_count == MEMMAP_MAX_RAM)
				return fail("memmap: too many usable RAM ranges");
			for (uint32_t j = mm.ram_count; j > i + 1; j--)
				mm.ram[j] = mm.ram[j - 1];
			mm.ram[i + 1].base = e;
			mm.ram[i + 1].size = re - e;
			r->size = b - rb;
			mm.ram_count++;
			i += 2;
		}
	}
	return true;
}

static bool ram_build(void)
{
	uint32_t n = mb2_mmap_count();

	/* Available entries, shrunk inward to whole pages. */
	for (uint32_t i = 0; i < n; i++) {
		const struct mb2_mmap_entry *m = mb2_mmap(i);
		uint64_t b, e;

		if (m->type != MB2_MMAP_AVAILABLE || m->base > END_MAX)
			continue;
		b = page_up(m->base);
		e = page_down(end_of(m->base, m->len));
		if (e > b && !ram_append(b, e))
			return false;
	}
	ram_normalize();
	/* Anything else wins where a buggy map overlaps it with RAM. */
	for (uint32_t i = 0; i < n; i++) {
		const struct mb2_mmap_entry *m = mb2_mmap(i);

		if (m->type != MB2_MMAP_AVAILABLE &&
		    !ram_subtract(page_down(m->base), page_up(end_of(m->base, m->len))))
			return false;
	}
	return true;
}

/* ---- reservations ---------------------------------------------------- */

/* Record [base, end) widened to pages; an empty range records nothing. */
static bool resv_add(uint64_t base, uint64_t end, uint32_t kind)
{
	uint64_t b = page_down(base), e = page_up(end);

	if (e <= b)
		return true;
	if (mm.resv_count == MEMMAP_MAX_RESERVED)
		return fail("memmap: reservation table full");
	mm.resv[mm.resv_count].base = b;
	mm.resv[mm.resv_count].size = e - b;
	mm.resv[mm.resv_count].kind = kind;
	mm.resv[mm.resv_count].reserved = 0;
	mm.resv_count++;
	return true;
}

/* The first reservation overlapping [b, e), or NULL. */
static const struct memmap_reservation *resv_hit(uint64_t b, uint64_t e)
{
	for (uint32_t i = 0; i < mm.resv_count; i++) {
		const struct memmap_reservation *r = &mm.resv[i];

		if (b < r->base + r->size && r->base < e)
			return r;
	}
	return NULL;
}

/* ---- public API ------------------------------------------------------ */

bool memmap_init_with_image(uint64_t image_start, uint64_t image_end)
{
	uint32_t nmod = mb2_module_count();

	mm.ram_count = 0;
	mm.resv_count = 0;
	mm.error = "";
	if (mb2_mmap_count() == 0)
		return fail("memmap: no memory map (mb2_parse must succeed first)");
	if (image_end <= image_start)
		return fail("memmap: empty hypervisor image range");
	if (!ram_build())
		return false;
	if (mm.ram_count == 0)
		return fail("memmap: the memory map has no usable RAM");

	if (!resv_add(0, MEMMAP_LOW_LIMIT, MEMMAP_LOW_1M) ||
	    !resv_add(image_start, image_end, MEMMAP_HV_IMAGE) ||
	    !resv_add(mb2_mbi_base(), end_of(mb2_mbi_base(), mb2_mbi_size()),
		      MEMMAP_MBI))
		return false;
	for (uint32_t i = 0; i < nmod; i++) {
		const struct mb2_module *m = mb2_module(i);

		if (!resv_add(m->start, m->end, MEMMAP_MODULE))
			return false;
	}
	return true;
}

#ifndef HOSTED_TEST
/* Bounds of the loaded image, defined by linker.ld. */
extern char __image_start[], __image_end[];

bool memmap_init(void)
{
	return memmap_init_with_image((uint64_t)(uintptr_t)__image_start,
				      (uint64_t)(uintptr_t)__image_end);
}
#endif

bool memmap_carve_below(uint64_t size, uint64_t align, uint64_t limit,
			uint32_t kind, uint64_t *out)
{
	if (!kind_valid(kind))
		return fail("memmap_carve: unknown reservation kind");
	if (size == 0 || size > END_MAX)
		return fail("memmap_carve: bad size");
	if (align & (align - 1))
		return fail("memmap_carve: alignment is not a power of two");
	if (align < MEMMAP_PAGE_SIZE)
		align = MEMMAP_PAGE_SIZE;
	size = page_up(size);
	if (mm.resv_count == MEMMAP_MAX_RESERVED)
		return fail("memmap: reservation table full");

	/*
	 * Ranges are ascending, and within a range the candidate only moves up,
	 * so the first fit is the lowest.  When a candidate overlaps a
	 * reservation, no start below that reservation's end can work either, so
	 * jump past it; each reservation is jumped at most once per range.
	 */
	for (uint32_t i = 0; i < mm.ram_count; i++) {
		uint64_t end = mm.ram[i].base + mm.ram[i].size;
		uint64_t cand;

		if (end > limit)
			end = limit;
		if (mm.ram[i].base > UINT64_MAX - (align - 1))
			break;
		cand = (mm.ram[i].base + align - 1) & ~(align - 1);
		while (cand < end && end - cand >= size) {
			const struct memmap_reservation *hit = resv_hit(cand, cand + size);
			uint64_t hit_end;

			if (!hit) {
				resv_add(cand, cand + size, kind); /* room checked above */
				*out = cand;
				return true;
			}
			hit_end = hit->base + hit->size;
			if (hit_end > UINT64_MAX - (align - 1))
				break;
			cand = (hit_end + align - 1) & ~(align - 1);
		}
	}
	return fail("memmap_carve: no free RAM range of that size and alignment");
}

bool memmap_carve(uint64_t size, uint64_t align, uint32_t kind, uint64_t *out)
{
	return memmap_carve_below(size, align, UINT64_MAX, kind, out);
}

bool memmap_reserve(uint64_t base, uint64_t size, uint32_t kind)
{
	if (!kind_valid(kind))
		return fail("memmap_reserve: unknown reservation kind");
	if (size == 0 || base + size < base || base + size > END_MAX)
		return fail("memmap_reserve: bad range");
	return resv_add(base, base + size, kind);
}

uint32_t memmap_reserved_count(void)
{
	return mm.resv_count;
}

const struct memmap_reservation *memmap_reserved(uint32_t i)
{
	return i < mm.resv_count ? &mm.resv[i] : NULL;
}

uint32_t memmap_ram_count(void)
{
	return mm.ram_count;
}

const struct memmap_range *memmap_ram(uint32_t i)
{
	return i < mm.ram_count ? &mm.ram[i] : NULL;
}

uint64_t memmap_total_ram(void)
{
	uint64_t total = 0;

	for (uint32_t i = 0; i < mm.ram_count; i++)
		total += mm.ram[i].size;
	return total;
}

uint32_t memmap_overlap(uint64_t base, uint64_t size)
{
	const struct memmap_reservation *hit;

	if (size == 0)
		return 0;
	hit = resv_hit(base, end_of(base, size));
	return hit ? hit->kind : 0;
}

const char *memmap_kind_name(uint32_t kind)
{
	static const char *const names[MEMMAP_KIND_COUNT] = {
		[MEMMAP_HV_IMAGE] = "HV_IMAGE",
		[MEMMAP_MBI] = "MBI",
		[MEMMAP_MODULE] = "MODULE",
		[MEMMAP_LOW_1M] = "LOW_1M",
		[MEMMAP_WASM_WINDOW] = "WASM_WINDOW",
		[MEMMAP_PAGE_POOL] = "PAGE_POOL",
		[MEMMAP_STACKS] = "STACKS",
		[MEMMAP_TRAMPOLINE] = "TRAMPOLINE",
		[MEMMAP_GUEST_RAM] = "GUEST_RAM",
	};

	return kind_valid(kind) ? names[kind] : "?";
}

const char *memmap_error(void)
{
	return mm.error ? mm.error : "";
}

/* ---- printing -------------------------------------------------------- */

/* Append s to the line buffer at *pos, keeping one byte for the NUL. */
static void put_str(char *buf, uint32_t cap, uint32_t *pos, const char *s)
{
	while (*s && *pos + 1 < cap)
		buf[(*pos)++] = *s++;
	buf[*pos] = '\0';
}

/* Append v as 0x followed by 16 hex digits. */
static void put_hex(char *buf, uint32_t cap, uint32_t *pos, uint64_t v)
{
	char s[19] = "0x";

	for (int i = 0; i < 16; i++)
		s[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
	s[18] = '\0';
	put_str(buf, cap, pos, s);
}

/* Append v in decimal. */
static void put_dec(char *buf, uint32_t cap, uint32_t *pos, uint64_t v)
{
	char s[21];
	int i = 20;

	s[i] = '\0';
	do {
		s[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put_str(buf, cap, pos, &s[i]);
}

static void print_range(const char *what, uint64_t base, uint64_t size,
			const char *tail)
{
	char line[112];
	uint32_t pos = 0;

	put_str(line, sizeof(line), &pos, "memmap: ");
	put_str(line, sizeof(line), &pos, what);
	put_str(line, sizeof(line), &pos, " [");
	put_hex(line, sizeof(line), &pos, base);
	put_str(line, sizeof(line), &pos, ", ");
	put_hex(line, sizeof(line), &pos, base + size);
	put_str(line, sizeof(line), &pos, ") ");
	put_dec(line, sizeof(line), &pos, size >> 10);
	put_str(line, sizeof(line), &pos, " KiB");
	put_str(line, sizeof(line), &pos, tail);
	put_str(line, sizeof(line), &pos, "\n");
	kputs(line);
}

void memmap_print(void)
{
	char line[64];
	uint32_t pos = 0;

	for (uint32_t i = 0; i < mm.ram_count; i++)
		print_range("ram     ", mm.ram[i].base, mm.ram[i].size, "");
	for (uint32_t i = 0; i < mm.resv_count; i++) {
		char tail[24];
		uint32_t tpos = 0;

		put_str(tail, sizeof(tail), &tpos, " ");
		put_str(tail, sizeof(tail), &tpos, memmap_kind_name(mm.resv[i].kind));
		print_range("reserved", mm.resv[i].base, mm.resv[i].size, tail);
	}
	put_str(line, sizeof(line), &pos, "memmap: usable RAM ");
	put_dec(line, sizeof(line), &pos, memmap_total_ram() >> 20);
	put_str(line, sizeof(line), &pos, " MiB\n");
	kputs(line);
}
