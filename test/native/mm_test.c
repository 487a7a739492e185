/*
 * mm_test.c - hosted unit test of the native memory-management layer:
 * multiboot2.c, memmap.c, palloc.c and physaccess.c, compiled unchanged with
 * -DHOSTED_TEST and linked with this file.
 *
 * "Physical memory" is host memory: the MBIs are malloc'd byte blobs and the
 * page pool and declared regions live in an aligned heap arena, whose
 * addresses are passed in as physical addresses (identity mapping).  Memory
 * maps use made-up addresses, including some above 4 GiB; memmap only does
 * arithmetic on them.
 *
 * hv_panic() longjmps back into the test, so a test can assert that an
 * operation panics and what the message says.
 *
 * Prints one "FAIL ..." line per failed check, then exactly one summary
 * line "native-mm: N passed, M failed"; exits non-zero on any failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memmap.h"
#include "multiboot2.h"
#include "palloc.h"
#include "physaccess.h"

#define KiB 0x400ull
#define MiB 0x100000ull
#define GiB 0x40000000ull
#define PAGE 0x1000ull

/* ---- harness --------------------------------------------------------- */

static unsigned passed, failed;
static const char *current_test = "";

static void check_at(bool ok, const char *what, int line)
{
	if (ok) {
		passed++;
	} else {
		failed++;
		printf("FAIL %s (line %d): %s\n", current_test, line, what);
	}
}

#define CHECK(cond) check_at((cond), #cond, __LINE__)
#define CHECK_EQ(a, b)                                                       \
	do {                                                                 \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);             \
		check_at(a_ == b_, #a " == " #b, __LINE__);                  \
		if (a_ != b_)                                                \
			printf("     got 0x%llx, want 0x%llx\n",             \
			       (unsigned long long)a_, (unsigned long long)b_); \
	} while (0)
#define CHECK_STR(s, sub) check_str((s), (sub), #s, __LINE__)

/* s must contain sub. */
static void check_str(const char *s, const char *sub, const char *what, int line)
{
	bool ok = s && strstr(s, sub) != NULL;

	check_at(ok, what, line);
	if (!ok)
		printf("     \"%s\" lacks \"%s\"\n", s ? s : "(null)", sub);
}

/* ---- the externs the native code expects ----------------------------- */

static char console[16384];
static size_t console_len;

static void console_add(const char *s)
{
	size_t n = strlen(s);

	if (console_len + n >= sizeof(console))
		n = sizeof(console) - 1 - console_len;
	memcpy(console + console_len, s, n);
	console_len += n;
	console[console_len] = '\0';
}

void kputs(const char *s)
{
	console_add(s);
}

void kputhex(uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%llx", (unsigned long long)v);
	console_add(s);
}

void kputdec(uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
	console_add(s);
}

static jmp_buf *panic_target;
static char panic_text[256];

__attribute__((noreturn)) void hv_panic(const char *msg)
{
	snprintf(panic_text, sizeof(panic_text), "%s", msg);
	if (panic_target)
		longjmp(*panic_target, 1);
	fprintf(stderr, "PANIC outside any test: %s\n", msg);
	exit(2);
}

/*
 * Run fn(ctx); it must panic with a message containing want.  All state
 * used after the longjmp is either a parameter or static, so nothing can be
 * clobbered.
 */
static void expect_panic(void (*fn)(const void *), const void *ctx,
			 const char *want, const char *what, int line)
{
	jmp_buf here;
	jmp_buf *outer = panic_target;

	panic_text[0] = '\0';
	panic_target = &here;
	if (setjmp(here) == 0) {
		fn(ctx);
		panic_target = outer;
		check_at(false, what, line);
		printf("     did not panic\n");
		return;
	}
	panic_target = outer;
	check_at(strstr(panic_text, want) != NULL, what, line);
	if (!strstr(panic_text, want))
		printf("     panic \"%s\" lacks \"%s\"\n", panic_text, want);
}

/* Run one test function; an unexpected panic fails it and moves on. */
static void run_test(const char *name, void (*fn)(void))
{
	jmp_buf here;

	current_test = name;
	panic_target = &here;
	if (setjmp(here) == 0) {
		fn();
	} else {
		failed++;
		printf("FAIL %s: unexpected PANIC: %s\n", current_test, panic_text);
	}
	panic_target = NULL;
}

/* Thunks for expect_panic. */
struct access {
	uint64_t pa;
	uint32_t width;
	uint64_t value;
};

static void do_read(const void *c)
{
	const struct access *a = c;

	(void)phys_read(a->pa, a->width);
}

static void do_write(const void *c)
{
	const struct access *a = c;

	phys_write(a->pa, a->width, a->value);
}

static void do_free(const void *c)
{
	palloc_free(*(const uint64_t *)c);
}

struct range {
	uint64_t base, size;
	uint32_t kind;
};

static void do_palloc_init(const void *c)
{
	const struct range *r = c;

	palloc_init(r->base, r->size);
}

static void do_declare(const void *c)
{
	const struct range *r = c;

	phys_declare(r->base, r->size, r->kind);
}

static void do_undeclare(const void *c)
{
	phys_undeclare(*(const uint64_t *)c);
}

#define EXPECT_READ_PANIC(pa_, w_, want)                                     \
	expect_panic(do_read, &(struct access){ (pa_), (w_), 0 }, (want),    \
		     "phys_read(" #pa_ ", " #w_ ") panics", __LINE__)
#define EXPECT_WRITE_PANIC(pa_, w_, want)                                    \
	expect_panic(do_write, &(struct access){ (pa_), (w_), 0x5a },        \
		     (want), "phys_write(" #pa_ ", " #w_ ") panics", __LINE__)
#define EXPECT_FREE_PANIC(pa_, want)                                         \
	expect_panic(do_free, &(uint64_t){ (pa_) }, (want),                  \
		     "palloc_free(" #pa_ ") panics", __LINE__)
#define EXPECT_DECLARE_PANIC(b_, s_, k_, want)                               \
	expect_panic(do_declare, &(struct range){ (b_), (s_), (k_) }, (want), \
		     "phys_declare(" #b_ ", " #s_ ", " #k_ ") panics", __LINE__)

/* ---- MBI builder ----------------------------------------------------- */

struct mbi {
	uint8_t buf[8192];
	size_t len;
	size_t tag; /* offset of the open tag */
};

static void mbi_put(struct mbi *m, const void *p, size_t n)
{
	memcpy(m->buf + m->len, p, n);
	m->len += n;
}

static void mbi_u32(struct mbi *m, uint32_t v)
{
	mbi_put(m, &v, 4);
}

static void mbi_u64(struct mbi *m, uint64_t v)
{
	mbi_put(m, &v, 8);
}

static void mbi_begin(struct mbi *m)
{
	memset(m, 0, sizeof(*m));
	m->len = 8; /* total_size + reserved, filled by mbi_finish */
}

static void mbi_tag(struct mbi *m, uint32_t type)
{
	m->len = (m->len + 7) & ~(size_t)7;
	m->tag = m->len;
	mbi_u32(m, type);
	mbi_u32(m, 0); /* size, filled by mbi_tag_end */
}

static void mbi_tag_end(struct mbi *m)
{
	uint32_t size = (uint32_t)(m->len - m->tag);

	memcpy(m->buf + m->tag + 4, &size, 4);
}

static void mbi_string_tag(struct mbi *m, uint32_t type, const char *s)
{
	mbi_tag(m, type);
	mbi_put(m, s, strlen(s) + 1);
	mbi_tag_end(m);
}

static void mbi_module(struct mbi *m, uint32_t start, uint32_t end, const char *s)
{
	mbi_tag(m, 3);
	mbi_u32(m, start);
	mbi_u32(m, end);
	mbi_put(m, s, strlen(s) + 1);
	mbi_tag_end(m);
}

/* A memory-map tag; entries are {base, len, type} triples. */
static void mbi_mmap(struct mbi *m, uint32_t esize, const uint64_t (*e)[3], int n)
{
	mbi_tag(m, 6);
	mbi_u32(m, esize);
	mbi_u32(m, 0);
	for (int i = 0; i < n; i++) {
		size_t start = m->len;

		mbi_u64(m, e[i][0]);
		mbi_u64(m, e[i][1]);
		mbi_u32(m, (uint32_t)e[i][2]);
		mbi_u32(m, 0);
		while (m->len < start + esize)
			m->buf[m->len++] = 0;
	}
	mbi_tag_end(m);
}

static void mbi_rsdp(struct mbi *m, uint32_t type, size_t len, const char *sig)
{
	uint8_t r[36] = { 0 };

	memcpy(r, sig, 8);
	r[15] = type == 15 ? 2 : 0; /* revision */
	mbi_tag(m, type);
	mbi_put(m, r, len);
	mbi_tag_end(m);
}

/* Append the end tag and set total_size. */
static void mbi_end(struct mbi *m)
{
	uint32_t total;

	mbi_tag(m, 0);
	mbi_tag_end(m);
	total = (uint32_t)m->len;
	memcpy(m->buf, &total, 4);
}

/*
 * Copy the first len bytes into a heap block of exactly that size, so the
 * sanitizer catches any read past it.  Freed by the caller.
 */
static uint8_t *blob(const struct mbi *m, size_t len)
{
	uint8_t *p = malloc(len);

	memcpy(p, m->buf, len);
	return p;
}

static uint64_t pa_of(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* Parse a blob holding the first len bytes of m. */
static bool parse_len(const struct mbi *m, size_t len)
{
	uint8_t *p = blob(m, len);
	bool ok = mb2_parse(pa_of(p));

	free(p);
	return ok;
}

static bool parse(const struct mbi *m)
{
	return parse_len(m, m->len);
}

/* The machine most tests use; the blob stays alive (memmap keeps pointers). */
static const uint64_t good_map[][3] = {
	{ 0x0, 0x9fc00, 1 },             /* conventional memory          */
	{ 0x9fc00, 0x400, 2 },           /* EBDA                          */
	{ 0xf0000, 0x10000, 2 },         /* BIOS ROM                      */
	{ 0x100000, 0x7f00000, 1 },      /* 1 MiB .. 128 MiB              */
	{ 0x7000000, 0x100000, 2 },      /* firmware hole inside the RAM  */
	{ 0x10000000, 0x10000000, 1 },   /* 256 MiB .. 512 MiB            */
	{ 0xfec00000, 0x1000, 2 },       /* IOAPIC                        */
	{ 0x100000000, 0x4000000, 1 },   /* 4 GiB .. 4 GiB + 64 MiB       */
};
#define MOD0_START 0x200000u
#define MOD0_END 0x280123u
#define MOD1_START 0x300000u
#define MOD1_END 0x340000u

static struct mbi good;
static uint8_t *good_blob;

static void build_good(struct mbi *m)
{
	mbi_begin(m);
	mbi_string_tag(m, 1, "hv console=ttyS0 loglevel=3");
	mbi_string_tag(m, 2, "GRUB 2.06"); /* unknown to the parser: skipped */
	mbi_module(m, MOD0_START, MOD0_END, "sos_kernel");
	mbi_module(m, MOD1_START, MOD1_END, "");
	mbi_mmap(m, 24, good_map, 8);
	mbi_rsdp(m, 14, 20, "RSD PTR ");
	mbi_rsdp(m, 15, 36, "RSD PTR ");
	mbi_end(m);
}

/* Parse the good MBI (kept alive) and build the memory map over it. */
static bool setup_good_machine(void)
{
	if (!good_blob) {
		build_good(&good);
		good_blob = blob(&good, good.len);
	}
	return mb2_parse(pa_of(good_blob)) &&
	       memmap_init_with_image(0x100000, 0x17f800);
}

/* ---- multiboot2 ------------------------------------------------------ */

static void test_mb2_good(void)
{
	const struct mb2_module *m0, *m1;
	uint64_t rsdp;

	CHECK(setup_good_machine());
	CHECK(strcmp(mb2_error(), "") == 0);
	CHECK(strcmp(mb2_cmdline(), "hv console=ttyS0 loglevel=3") == 0);
	CHECK_EQ(mb2_cmdline_len(), 27);

	CHECK_EQ(mb2_module_count(), 2);
	m0 = mb2_module(0);
	m1 = mb2_module(1);
	CHECK(m0 && m1 && mb2_module(2) == NULL);
	if (m0 && m1) {
		CHECK_EQ(m0->start, MOD0_START);
		CHECK_EQ(m0->end, MOD0_END);
		CHECK(strcmp(m0->cmdline, "sos_kernel") == 0);
		CHECK_EQ(m0->cmdline_len, 10);
		CHECK_EQ(m1->start, MOD1_START);
		CHECK(strcmp(m1->cmdline, "") == 0);
		CHECK_EQ(m1->cmdline_len, 0);
		/* Strings point into the MBI itself. */
		CHECK(pa_of(m0->cmdline) > pa_of(good_blob) &&
		      pa_of(m0->cmdline) < pa_of(good_blob) + good.len);
	}

	CHECK_EQ(mb2_mmap_count(), 8);
	for (uint32_t i = 0; i < 8 && i < mb2_mmap_count(); i++) {
		CHECK_EQ(mb2_mmap(i)->base, good_map[i][0]);
		CHECK_EQ(mb2_mmap(i)->len, good_map[i][1]);
		CHECK_EQ(mb2_mmap(i)->type, good_map[i][2]);
	}
	CHECK(mb2_mmap(8) == NULL);

	/* The ACPI 2.0 copy wins; it sits inside the MBI. */
	rsdp = mb2_rsdp();
	CHECK(rsdp > pa_of(good_blob) && rsdp + 36 <= pa_of(good_blob) + good.len);
	CHECK(memcmp((const void *)(uintptr_t)rsdp, "RSD PTR ", 8) == 0);
	CHECK_EQ(((const uint8_t *)(uintptr_t)rsdp)[15], 2);

	CHECK_EQ(mb2_mbi_base(), pa_of(good_blob));
	CHECK_EQ(mb2_mbi_size(), good.len);
}

static void test_mb2_variants(void)
{
	struct mbi m;
	static const uint64_t split[][3] = {
		{ 0x100000, 0x100000, 1 }, /* contiguous, same type: merged */
		{ 0x200000, 0x100000, 1 },
		{ 0x300000, 0x0, 1 },      /* empty: dropped                 */
		{ 0x300000, 0x100000, 2 },
	};

	/* Minimal MBI: memory map only, no command line, no RSDP. */
	mbi_begin(&m);
	mbi_mmap(&m, 24, split, 4);
	mbi_end(&m);
	CHECK(parse(&m));
	CHECK(strcmp(mb2_cmdline(), "") == 0);
	CHECK_EQ(mb2_cmdline_len(), 0);
	CHECK_EQ(mb2_module_count(), 0);
	CHECK_EQ(mb2_rsdp(), 0);
	CHECK_EQ(mb2_mmap_count(), 2);
	CHECK_EQ(mb2_mmap(0)->base, 0x100000);
	CHECK_EQ(mb2_mmap(0)->len, 0x200000);
	CHECK_EQ(mb2_mmap(1)->type, 2);

	/* Entries larger than 24 bytes (allowed by the spec). */
	mbi_begin(&m);
	mbi_mmap(&m, 32, good_map, 8);
	mbi_end(&m);
	CHECK(parse(&m));
	CHECK_EQ(mb2_mmap_count(), 8);
	CHECK_EQ(mb2_mmap(7)->base, 0x100000000);

	/* Only the ACPI 1.0 RSDP. */
	mbi_begin(&m);
	mbi_rsdp(&m, 14, 20, "RSD PTR ");
	mbi_mmap(&m, 24, good_map, 8);
	mbi_end(&m);
	{
		uint8_t *p = blob(&m, m.len);

		CHECK(mb2_parse(pa_of(p)));
		CHECK_EQ(mb2_rsdp(), pa_of(p) + 16);
		free(p);
	}

	/* A 1023-byte command line is the longest accepted. */
	{
		char s[1100];

		memset(s, 'x', sizeof(s));
		s[1023] = '\0';
		mbi_begin(&m);
		mbi_string_tag(&m, 1, s);
		mbi_mmap(&m, 24, good_map, 1);
		mbi_end(&m);
		CHECK(parse(&m));
		CHECK_EQ(mb2_cmdline_len(), 1023);
	}
}

/* Build a malformed MBI with mutate() and check the reason. */
static void expect_bad(struct mbi *m, const char *want, int line)
{
	bool ok = parse(m);

	check_at(!ok, "malformed MBI is rejected", line);
	check_at(strstr(mb2_error(), want) != NULL, want, line);
	if (!strstr(mb2_error(), want))
		printf("     error \"%s\"\n", mb2_error());
	/* A failed parse leaves no half-filled tables behind. */
	check_at(mb2_mmap_count() == 0 && mb2_module_count() == 0 &&
			 mb2_rsdp() == 0 && mb2_mbi_size() == 0 &&
			 strcmp(mb2_cmdline(), "") == 0,
		 "tables are empty after a failure", line);
}

static void put32_at(struct mbi *m, size_t off, uint32_t v)
{
	memcpy(m->buf + off, &v, 4);
}

static void test_mb2_malformed(void)
{
	struct mbi m;
	size_t tag;

	/* Null and misaligned pointers. */
	CHECK(!mb2_parse(0));
	CHECK_STR(mb2_error(), "null");
	build_good(&m);
	{
		uint8_t *p = malloc(m.len + 8);

		memcpy(p + 4, m.buf, m.len);
		CHECK(!mb2_parse(pa_of(p + 4)));
		CHECK_STR(mb2_error(), "8-byte aligned");
		free(p);
	}

	/* total_size too small / too large. */
	build_good(&m);
	put32_at(&m, 0, 8);
	expect_bad(&m, "total_size too small", __LINE__);
	build_good(&m);
	put32_at(&m, 0, 2u << 20);
	expect_bad(&m, "larger than 1 MiB", __LINE__);

	/* Truncated: total_size stops before the end tag. */
	build_good(&m);
	put32_at(&m, 0, (uint32_t)(m.len - 8));
	m.len -= 8;
	expect_bad(&m, "no end tag", __LINE__);

	/* Truncated in the middle of the memory-map tag. */
	build_good(&m);
	put32_at(&m, 0, 200);
	m.len = 200;
	expect_bad(&m, "past total_size", __LINE__);

	/* A tag whose size reaches past total_size. */
	mbi_begin(&m);
	mbi_mmap(&m, 24, good_map, 2);
	tag = m.len;
	mbi_string_tag(&m, 2, "boot loader");
	mbi_end(&m);
	put32_at(&m, tag + 4, 4096);
	expect_bad(&m, "extends past total_size", __LINE__);

	/* A tag smaller than its own header. */
	mbi_begin(&m);
	mbi_mmap(&m, 24, good_map, 2);
	tag = m.len;
	mbi_string_tag(&m, 2, "boot loader");
	mbi_end(&m);
	put32_at(&m, tag + 4, 4);
	expect_bad(&m, "smaller than its header", __LINE__);

	/*
	 * A size that puts the next tag off the 8-byte grid: the parser rounds
	 * up, lands inside the string and reads garbage as a tag header.
	 */
	mbi_begin(&m);
	mbi_mmap(&m, 24, good_map, 2);
	tag = m.len;
	mbi_string_tag(&m, 2, "abcdefghijklmnopqrstuvwxyz0123456789");
	mbi_end(&m);
	put32_at(&m, tag + 4, 13);
	memset(m.buf + tag + 16, 0xff, 8); /* where the parser looks next */
	expect_bad(&m, "extends past total_size", __LINE__);

	/* End tag with a bad size. */
	mbi_begin(&m);
	mbi_mmap(&m, 24, good_map, 2);
	mbi_end(&m);
	put32_at(&m, m.len - 4, 16);
	expect_bad(&m, "extends past total_size", __LINE__);
	mbi_begin(&m);
	mbi_mmap(&m, 24, good_map, 2);
	mbi_end(&m);
	m.len += 8; /* room for a 16-byte end tag */
	put32_at(&m, 0, (uint32_t)m.len);
	put32_at(&m, m.len - 12, 16);
	expect_bad(&m, "end tag has a bad size", __LINE__);

	/* No memory map. */
	mbi_begin(&m);
	mbi_string_tag(&m, 1, "hv");
	mbi_end(&m);
	expect_bad(&m, "no memory map", __LINE__);

	/* A memory map with only empty entries counts as none. */
	{
		static const uint64_t empty[][3] = { { 0x100000, 0, 1 } };

		mbi_begin(&m);
		mbi_mmap(&m, 24, empty, 1);
		mbi_end(&m);
		expect_bad(&m, "no memory map", __LINE__);
	}

	/* Bad memory-map entry sizes. */
	mbi_begin(&m);
	mbi_mmap(&m, 24, good_map, 2);
	mbi_end(&m);
	put32_at(&m, 16, 20);
	expect_bad(&m, "entry size", __LINE__);
	put32_at(&m, 16, 28);
	expect_bad(&m, "entry size", __LINE__);

	/* Two memory maps, two command lines. */
	mbi_begin(&m);
	mbi_mmap(&m, 24, good_map, 2);
	mbi_mmap(&m, 24, good_map, 2);
	mbi_end(&m);
	expect_bad(&m, "more than one memory-map tag", __LINE__);
	mbi_begin(&m);
	mbi_string_tag(&m, 1, "a");
	mbi_string_tag(&m, 1, "b");
	mbi_mmap(&m, 24, good_map, 2);
	mbi_end(&m);
	expect_bad(&m, "more than one command-line tag", __LINE__);

	/* Unterminated and over-long command lines. */
	mbi_begin(&m);
	mbi_mmap(&m, 24, good_map, 2);
	mbi_tag(&m, 1);
	mbi_put(&m, "abcdefgh", 8);
	mbi_tag_end(&m);
	mbi_end(&m);
	expect_bad(&m, "not NUL-terminated", __LINE__);
	{
		char s[1100];

		memset(s, 'x', sizeof(s));
		s[1024] = '\0';
		mbi_begin(&m);
		mbi_string_tag(&m, 1, s);
		mbi_mmap(&m, 24, good_map, 2);
		mbi_end(&m);
		expect_bad(&m, "longer than 1023", __LINE__);
	}

	/* Modules: end before start, unterminated string, tag too small, 17 of them. */
	mbi_begin(&m);
	mbi_module(&m, 0x300000, 0x200000, "backwards");
	mbi_mmap(&m, 24, good_map, 2);
	mbi_end(&m);
	expect_bad(&m, "ends before it starts", __LINE__);
	mbi_begin(&m);
	mbi_tag(&m, 3);
	mbi_u32(&m, 0x200000);
	mbi_u32(&m, 0x300000);
	mbi_put(&m, "xy", 2);
	mbi_tag_end(&m);
	mbi_mmap(&m, 24, good_map, 2);
	mbi_end(&m);
	expect_bad(&m, "module string is not NUL-terminated", __LINE__);
	mbi_begin(&m);
	mbi_tag(&m, 3);
	mbi_u32(&m, 0x200000);
	mbi_u32(&m, 0x300000);
	mbi_tag_end(&m);
	mbi_mmap(&m, 24, good_map, 2);
	mbi_end(&m);
	expect_bad(&m, "module tag too small", __LINE__);
	mbi_begin(&m);
	for (uint32_t i = 0; i < 17; i++)
		mbi_module(&m, 0x200000 + i * 0x1000, 0x200000 + i * 0x1000 + 0x800, "m");
	mbi_mmap(&m, 24, good_map, 2);
	mbi_end(&m);
	expect_bad(&m, "more than 16 modules", __LINE__);

	/* 65 distinct memory-map entries do not fit. */
	{
		static uint64_t many[65][3];

		for (int i = 0; i < 65; i++) {
			many[i][0] = (uint64_t)i * 2 * MiB;
			many[i][1] = MiB;
			many[i][2] = 1;
		}
		mbi_begin(&m);
		mbi_mmap(&m, 24, (const uint64_t (*)[3])many, 65);
		mbi_end(&m);
		expect_bad(&m, "more than 64 memory-map entries", __LINE__);
		/* ...but 64 do. */
		mbi_begin(&m);
		mbi_mmap(&m, 24, (const uint64_t (*)[3])many, 64);
		mbi_end(&m);
		CHECK(parse(&m));
		CHECK_EQ(mb2_mmap_count(), 64);
	}

	/* RSDP tags: too small, bad signature. */
	mbi_begin(&m);
	mbi_rsdp(&m, 15, 20, "RSD PTR ");
	mbi_mmap(&m, 24, good_map, 2);
	mbi_end(&m);
	expect_bad(&m, "RSDP tag too small", __LINE__);
	mbi_begin(&m);
	mbi_rsdp(&m, 14, 20, "RSD PTX ");
	mbi_mmap(&m, 24, good_map, 2);
	mbi_end(&m);
	expect_bad(&m, "signature", __LINE__);
}

/* ---- memmap ---------------------------------------------------------- */

static bool has_reservation(uint64_t base, uint64_t size, uint32_t kind)
{
	for (uint32_t i = 0; i < memmap_reserved_count(); i++) {
		const struct memmap_reservation *r = memmap_reserved(i);

		if (r->base == base && r->size == size && r->kind == kind)
			return true;
	}
	return false;
}

static void test_memmap_build(void)
{
	static const uint64_t want_ram[][2] = {
		{ 0x0, 0x9f000 },                /* 0x9fc00 rounded down       */
		{ 0x100000, 0x6f00000 },         /* up to the firmware hole    */
		{ 0x7100000, 0xf00000 },         /* after it, to 128 MiB       */
		{ 0x10000000, 0x10000000 },
		{ 0x100000000, 0x4000000 },
	};
	uint64_t total = 0;

	CHECK(setup_good_machine());
	CHECK_EQ(memmap_ram_count(), 5);
	for (uint32_t i = 0; i < 5 && i < memmap_ram_count(); i++) {
		CHECK_EQ(memmap_ram(i)->base, want_ram[i][0]);
		CHECK_EQ(memmap_ram(i)->size, want_ram[i][1]);
		total += want_ram[i][1];
	}
	CHECK(memmap_ram(5) == NULL);
	CHECK_EQ(memmap_total_ram(), total);

	/* Fixed reservations, widened to whole pages. */
	CHECK_EQ(memmap_reserved_count(), 5);
	CHECK(has_reservation(0, MiB, MEMMAP_LOW_1M));
	CHECK(has_reservation(0x100000, 0x80000, MEMMAP_HV_IMAGE));
	CHECK(has_reservation(MOD0_START, 0x81000, MEMMAP_MODULE));
	CHECK(has_reservation(MOD1_START, MOD1_END - MOD1_START, MEMMAP_MODULE));
	{
		uint64_t b = pa_of(good_blob) & ~(PAGE - 1);
		uint64_t e = (pa_of(good_blob) + good.len + PAGE - 1) & ~(PAGE - 1);

		CHECK(has_reservation(b, e - b, MEMMAP_MBI));
	}
	CHECK(memmap_reserved(5) == NULL);

	CHECK_EQ(memmap_overlap(0x17f000, 1), MEMMAP_HV_IMAGE);
	CHECK_EQ(memmap_overlap(0x180000, PAGE), 0);
	CHECK_EQ(memmap_overlap(0x27ffff, 2), MEMMAP_MODULE);
	CHECK_EQ(memmap_overlap(0xb8000, 4000), MEMMAP_LOW_1M);
	CHECK_EQ(memmap_overlap(0x1000000, 0), 0);

	CHECK(strcmp(memmap_kind_name(MEMMAP_WASM_WINDOW), "WASM_WINDOW") == 0);
	CHECK(strcmp(memmap_kind_name(MEMMAP_TRAMPOLINE), "TRAMPOLINE") == 0);
	CHECK(strcmp(memmap_kind_name(0), "?") == 0);
	CHECK(strcmp(memmap_kind_name(99), "?") == 0);
}

static void test_memmap_carve(void)
{
	uint64_t at = 0;

	CHECK(setup_good_machine());

	/*
	 * 48 MiB, 2 MiB aligned: 2 MiB is taken by module 0, so the first fit
	 * is 4 MiB.
	 */
	CHECK(memmap_carve(48 * MiB, 2 * MiB, MEMMAP_WASM_WINDOW, &at));
	CHECK_EQ(at, 4 * MiB);
	CHECK(has_reservation(4 * MiB, 48 * MiB, MEMMAP_WASM_WINDOW));

	/* 16 MiB, page aligned: past the image, both modules and the window. */
	CHECK(memmap_carve(16 * MiB, PAGE, MEMMAP_PAGE_POOL, &at));
	CHECK_EQ(at, 52 * MiB);

	/* A small odd size is rounded to pages and fills a gap low down. */
	CHECK(memmap_carve(5000, 0, MEMMAP_STACKS, &at));
	CHECK_EQ(at, 0x180000); /* right after the image */
	CHECK(has_reservation(0x180000, 2 * PAGE, MEMMAP_STACKS));
	CHECK(memmap_carve(PAGE, PAGE, MEMMAP_STACKS, &at));
	CHECK_EQ(at, 0x182000);

	/* 60 MiB fits neither after the pool nor after the hole: 256 MiB. */
	CHECK(memmap_carve(60 * MiB, PAGE, MEMMAP_PAGE_POOL, &at));
	CHECK_EQ(at, 0x10000000);

	/* 1 GiB alignment exists only at 4 GiB. */
	CHECK(memmap_carve(PAGE, GiB, MEMMAP_STACKS, &at));
	CHECK_EQ(at, 0x100000000);

	/* Below 4 GiB, a 16 MiB alignment... */
	CHECK(memmap_carve_below(MiB, 16 * MiB, 4 * GiB, MEMMAP_STACKS, &at));
	CHECK_EQ(at, 80 * MiB); /* 16 is the window, 64 the pool */
	/* ...and nothing at all below 1 MiB. */
	at = 0x1234;
	CHECK(!memmap_carve_below(PAGE, PAGE, MiB, MEMMAP_TRAMPOLINE, &at));
	CHECK_EQ(at, 0x1234);
	CHECK_STR(memmap_error(), "no free RAM");

	/* Too large for any range. */
	CHECK(!memmap_carve(GiB, 2 * MiB, MEMMAP_PAGE_POOL, &at));
	CHECK_STR(memmap_error(), "no free RAM");

	/* Bad arguments. */
	CHECK(!memmap_carve(0, PAGE, MEMMAP_STACKS, &at));
	CHECK_STR(memmap_error(), "bad size");
	CHECK(!memmap_carve(PAGE, 3 * PAGE, MEMMAP_STACKS, &at));
	CHECK_STR(memmap_error(), "power of two");
	CHECK(!memmap_carve(PAGE, PAGE, 0, &at));
	CHECK(!memmap_carve(PAGE, PAGE, MEMMAP_KIND_COUNT, &at));
	CHECK_STR(memmap_error(), "unknown reservation kind");

	/* Every carved range is in RAM and overlaps no other reservation. */
	for (uint32_t i = 0; i < memmap_reserved_count(); i++) {
		const struct memmap_reservation *a = memmap_reserved(i);

		if (a->kind < MEMMAP_WASM_WINDOW)
			continue;
		for (uint32_t j = 0; j < memmap_reserved_count(); j++) {
			const struct memmap_reservation *b = memmap_reserved(j);

			if (i != j)
				CHECK(a->base + a->size <= b->base ||
				      b->base + b->size <= a->base);
		}
	}

	/* The console listing names the kinds. */
	console_len = 0;
	memmap_print();
	CHECK_STR(console, "memmap: reserved [0x0000000000400000, 0x0000000003400000) 49152 KiB WASM_WINDOW");
	CHECK_STR(console, "memmap: ram      [0x0000000100000000, 0x0000000104000000)");
	CHECK_STR(console, "LOW_1M");
	CHECK_STR(console, "usable RAM 446 MiB");
}

static void test_memmap_reserve_and_full(void)
{
	uint64_t at;
	uint32_t n;

	CHECK(setup_good_machine());
	/* The trampoline is an annotation inside the first MiB. */
	CHECK(memmap_reserve(0x8000, 0x100, MEMMAP_TRAMPOLINE));
	CHECK(has_reservation(0x8000, PAGE, MEMMAP_TRAMPOLINE));
	CHECK(!memmap_reserve(0x8000, 0, MEMMAP_TRAMPOLINE));
	CHECK(!memmap_reserve(UINT64_MAX - 10, 100, MEMMAP_TRAMPOLINE));
	CHECK(!memmap_reserve(0x8000, PAGE, 42));

	/* Fill the table: a clear failure, never an overrun. */
	for (n = memmap_reserved_count(); n < MEMMAP_MAX_RESERVED; n++)
		CHECK(memmap_reserve(0x20000000 + (uint64_t)n * PAGE, PAGE, MEMMAP_STACKS));
	CHECK_EQ(memmap_reserved_count(), MEMMAP_MAX_RESERVED);
	CHECK(!memmap_reserve(0x30000000, PAGE, MEMMAP_STACKS));
	CHECK_STR(memmap_error(), "full");
	CHECK(!memmap_carve(PAGE, PAGE, MEMMAP_STACKS, &at));
	CHECK_STR(memmap_error(), "full");
}

static void test_memmap_small_and_odd(void)
{
	struct mbi m;
	uint64_t at = 0;
	uint8_t *p;
	static const uint64_t small[][3] = {
		{ 0x0, 0xa0000, 1 },
		{ 0x100000, 0x700000, 1 },      /* 1 MiB .. 8 MiB   */
		{ 0x800800, 0x1ff800, 1 },      /* unaligned both ends */
		{ 0x9ff000, 0x3000, 1 },        /* overlaps the previous */
	};
	static const uint64_t no_ram[][3] = { { 0x0, 0x100000, 2 } };

	mbi_begin(&m);
	mbi_mmap(&m, 24, small, 4);
	mbi_end(&m);
	p = blob(&m, m.len);
	CHECK(mb2_parse(pa_of(p)));
	CHECK(memmap_init_with_image(0x100000, 0x200000));
	CHECK_EQ(memmap_ram_count(), 3);
	CHECK_EQ(memmap_ram(2)->base, 0x801000);
	CHECK_EQ(memmap_ram(2)->size, 0xa02000 - 0x801000); /* merged overlap */

	/* 48 MiB does not fit in 8 MiB of RAM: a clean failure. */
	CHECK(!memmap_carve(48 * MiB, 2 * MiB, MEMMAP_WASM_WINDOW, &at));
	CHECK_STR(memmap_error(), "no free RAM");
	/* 4 MiB, 2 MiB aligned: first fit at 2 MiB (image ends there). */
	CHECK(memmap_carve(4 * MiB, 2 * MiB, MEMMAP_WASM_WINDOW, &at));
	CHECK_EQ(at, 2 * MiB);
	/* Another 4 MiB does not fit any more. */
	CHECK(!memmap_carve(4 * MiB, PAGE, MEMMAP_PAGE_POOL, &at));
	free(p);

	/* Bad image range. */
	CHECK(setup_good_machine());
	CHECK(!memmap_init_with_image(0x200000, 0x100000));
	CHECK_STR(memmap_error(), "image");

	/* A memory map without usable RAM. */
	mbi_begin(&m);
	mbi_mmap(&m, 24, no_ram, 1);
	mbi_end(&m);
	p = blob(&m, m.len);
	CHECK(mb2_parse(pa_of(p)));
	CHECK(!memmap_init_with_image(0x100000, 0x200000));
	CHECK_STR(memmap_error(), "no usable RAM");
	free(p);

	/* No successful mb2_parse first. */
	CHECK(!mb2_parse(0));
	CHECK(!memmap_init_with_image(0x100000, 0x200000));
	CHECK_STR(memmap_error(), "mb2_parse");
	CHECK_EQ(memmap_ram_count(), 0);
	CHECK_EQ(memmap_reserved_count(), 0);
}

/* ---- palloc ---------------------------------------------------------- */

/* The arena that plays physical memory for palloc and physaccess. */
#define ARENA_PAGES 160
static uint8_t *arena;

static uint64_t arena_page(uint32_t n)
{
	return pa_of(arena) + (uint64_t)n * PAGE;
}

static bool page_is_zero(uint64_t pa)
{
	const uint8_t *p = (const uint8_t *)(uintptr_t)pa;

	for (uint64_t i = 0; i < PAGE; i++)
		if (p[i])
			return false;
	return true;
}

static void test_palloc_basic(void)
{
	enum { N = 130 }; /* spans three bitmap words, the last one partly */
	static uint64_t got[N];
	static bool seen[N];
	uint64_t base = arena_page(4);
	bool all_ok = true;

	memset(arena, 0xaa, (size_t)ARENA_PAGES * PAGE);
	palloc_init(base, N * PAGE + 100); /* the partial page is dropped */
	CHECK_EQ(palloc_total_count(), N);
	CHECK_EQ(palloc_free_count(), N);
	CHECK_EQ(palloc_pool_base(), base);
	CHECK_EQ(palloc_pool_size(), N * PAGE);
	CHECK(!palloc_is_allocated(base));

	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < N; i++) {
		uint64_t pa = palloc_alloc();
		uint64_t idx = (pa - base) / PAGE;

		got[i] = pa;
		if (pa == 0 || (pa & (PAGE - 1)) || pa < base || idx >= N ||
		    seen[idx] || !page_is_zero(pa) || !palloc_is_allocated(pa) ||
		    !palloc_is_allocated(pa + PAGE - 1))
			all_ok = false;
		else
			seen[idx] = true;
	}
	CHECK(all_ok); /* distinct, aligned, in the pool, zeroed, marked */
	CHECK_EQ(palloc_free_count(), 0);
	/* Exhaustion is a normal result, not a panic. */
	CHECK_EQ(palloc_alloc(), 0);
	CHECK_EQ(palloc_alloc(), 0);
	/* The pages around the pool were never touched. */
	CHECK(((uint8_t *)arena)[4 * PAGE - 1] == 0xaa);
	CHECK(((uint8_t *)arena)[(4 + N) * PAGE] == 0xaa);

	/* Free one in the middle: it is the one handed out next. */
	palloc_free(got[77]);
	CHECK(!palloc_is_allocated(got[77]));
	CHECK_EQ(palloc_free_count(), 1);
	memset((void *)(uintptr_t)got[76], 0x55, PAGE);
	CHECK_EQ(palloc_alloc(), got[77]);

	/* Dirty everything, free everything, reallocate: all zero again. */
	for (int i = 0; i < N; i++) {
		memset((void *)(uintptr_t)got[i], 0x77, PAGE);
		palloc_free(got[i]);
	}
	CHECK_EQ(palloc_free_count(), N);
	all_ok = true;
	for (int i = 0; i < N; i++) {
		uint64_t pa = palloc_alloc();

		if (pa == 0 || !page_is_zero(pa))
			all_ok = false;
	}
	CHECK(all_ok);
	CHECK_EQ(palloc_alloc(), 0);
	for (int i = 0; i < N; i++)
		palloc_free(got[i]);
	CHECK_EQ(palloc_free_count(), N);
}

static void test_palloc_panics(void)
{
	uint64_t base = arena_page(4);
	uint64_t a, b;

	palloc_init(base, 8 * PAGE);
	a = palloc_alloc();
	b = palloc_alloc();
	CHECK(a && b && a != b);

	EXPECT_FREE_PANIC(a + 8, "not page aligned");
	EXPECT_FREE_PANIC(base - PAGE, "outside the page pool");
	EXPECT_FREE_PANIC(base + 8 * PAGE, "outside the page pool");
	EXPECT_FREE_PANIC(0, "outside the page pool");
	EXPECT_FREE_PANIC(base + 5 * PAGE, "not allocated");
	palloc_free(b);
	EXPECT_FREE_PANIC(b, "double free");
	/* The message names the address. */
	{
		char want[40];

		snprintf(want, sizeof(want), "0x%llx", (unsigned long long)b);
		CHECK_STR(panic_text, want);
	}
	CHECK_EQ(palloc_free_count(), 7); /* the failed frees changed nothing */
	CHECK(palloc_is_allocated(a));
	CHECK(!palloc_is_allocated(base - 1));
	CHECK(!palloc_is_allocated(UINT64_MAX));

	/* Bad pools. */
	expect_panic(do_palloc_init, &(struct range){ base + 8, 8 * PAGE, 0 },
		     "not page aligned", "palloc_init(misaligned)", __LINE__);
	expect_panic(do_palloc_init, &(struct range){ 0, 8 * PAGE, 0 },
		     "null", "palloc_init(0)", __LINE__);
	expect_panic(do_palloc_init, &(struct range){ base, 100, 0 },
		     "smaller than one page", "palloc_init(tiny)", __LINE__);
	expect_panic(do_palloc_init,
		     &(struct range){ base, PALLOC_MAX_BYTES + PAGE, 0 },
		     "larger than", "palloc_init(huge)", __LINE__);
	expect_panic(do_palloc_init,
		     &(struct range){ UINT64_MAX - 0xfff - 4 * PAGE, 8 * PAGE, 0 },
		     "wraps", "palloc_init(wrapping)", __LINE__);
}

static void test_palloc_max_pool(void)
{
	/*
	 * A maximal (1 GiB) pool at a made-up address above 4 GiB: only the
	 * bitmap is exercised, so no allocation may happen (that would zero
	 * the page).  Check the bookkeeping at the edges.
	 */
	uint64_t base = 0x4000000000ull;

	palloc_init(base, PALLOC_MAX_BYTES);
	CHECK_EQ(palloc_total_count(), PALLOC_MAX_PAGES);
	CHECK_EQ(palloc_free_count(), PALLOC_MAX_PAGES);
	CHECK(!palloc_is_allocated(base + PALLOC_MAX_BYTES - 1));
	CHECK(!palloc_is_allocated(base + PALLOC_MAX_BYTES));
	EXPECT_FREE_PANIC(base + PALLOC_MAX_BYTES - PAGE, "not allocated");
	EXPECT_FREE_PANIC(base + PALLOC_MAX_BYTES, "outside");
}

/* ---- physaccess ------------------------------------------------------ */

/*
 * Arena layout for these tests (pages):
 *   0..7    page pool (8 pages)
 *   8       GUEST region (right after the pool)
 *   9       MODULE region (right after the GUEST one)
 *   10      never declared
 *   11      DEVICE region
 *   12      never declared
 *   13      BOOTINFO region (first 100 bytes only)
 *   14..    never declared
 */
static void test_phys_matrix(void)
{
	uint64_t pool = arena_page(0);
	uint64_t guest = arena_page(8), mod = arena_page(9);
	uint64_t dev = arena_page(11), info = arena_page(13);
	uint64_t a, b, last = 0;
	static const uint32_t widths[] = { 1, 2, 4, 8 };

	CHECK(setup_good_machine());
	memset(arena, 0, (size_t)ARENA_PAGES * PAGE);
	palloc_init(pool, 8 * PAGE);
	phys_declare(guest, PAGE, PHYS_GUEST);
	phys_declare(mod, PAGE, PHYS_MODULE);
	phys_declare(dev, PAGE, PHYS_DEVICE);
	phys_declare(info, 100, PHYS_BOOTINFO);
	CHECK_EQ(phys_region_count(), 4);
	CHECK(strcmp(phys_kind_name(PHYS_MODULE), "MODULE") == 0);
	CHECK(strcmp(phys_kind_name(0), "?") == 0);

	/* An allocated page: every width reads back what was written. */
	a = palloc_alloc();
	b = palloc_alloc();
	CHECK_EQ(b, a + PAGE); /* fresh pool: handed out in order */
	for (int i = 0; i < 4; i++) {
		uint32_t w = widths[i];
		uint64_t v = 0x8877665544332211ull;
		uint64_t mask = w == 8 ? ~0ull : (1ull << (8 * w)) - 1;

		phys_write(a + 16 * i, w, v);
		CHECK_EQ(phys_read(a + 16 * i, w), v & mask);
		CHECK_EQ(phys_read(a + 16 * i, 8), v & mask); /* nothing spilled */
	}
	phys_write(a + 64, 8, 0x1122334455667788ull);
	CHECK_EQ(phys_read(a + 64, 1), 0x88);
	CHECK_EQ(phys_read(a + 64, 2), 0x7788);
	CHECK_EQ(phys_read(a + 64, 4), 0x55667788);
	CHECK_EQ(phys_read(a + 65, 4), 0x44556677); /* misaligned, same page */
	CHECK_EQ(phys_read(a + PAGE - 8, 8), 0);

	/* Straddling two allocated pages is fine... */
	phys_write(a + PAGE - 2, 4, 0xdeadbeef);
	CHECK_EQ(phys_read(a + PAGE - 2, 4), 0xdeadbeef);
	CHECK_EQ(phys_read(b, 2), 0xdead);
	/* ...but not once the second page is freed. */
	palloc_free(b);
	EXPECT_WRITE_PANIC(a + PAGE - 2, 4, "(4 bytes) is not hypervisor-owned memory");
	EXPECT_READ_PANIC(a + PAGE - 1, 2, "is not hypervisor-owned");
	CHECK(phys_allowed(a + PAGE - 1, 1, true));
	CHECK(!phys_allowed(a + PAGE - 1, 2, false));

	/* A freed page, and a pool page never handed out. */
	EXPECT_READ_PANIC(b, 4, "is not hypervisor-owned");
	EXPECT_WRITE_PANIC(b + 8, 8, "is not hypervisor-owned");
	EXPECT_READ_PANIC(pool + 7 * PAGE, 1, "is not hypervisor-owned");
	CHECK_EQ(palloc_alloc(), b);

	/* Straddling from the last pool page into the GUEST region. */
	while (palloc_free_count())
		last = palloc_alloc();
	CHECK_EQ(last, pool + 7 * PAGE);
	phys_write(guest - 4, 8, 0x0102030405060708ull);
	CHECK_EQ(phys_read(guest, 4), 0x01020304);
	CHECK_EQ(phys_read(guest - 4, 8), 0x0102030405060708ull);
	/* GUEST into MODULE: readable, not writable. */
	CHECK_EQ(phys_read(mod - 2, 4), 0);
	EXPECT_WRITE_PANIC(mod - 2, 4, "is in read-only memory");
	palloc_free(last);
	EXPECT_READ_PANIC(guest - 4, 8, "is not hypervisor-owned");

	/* DEVICE: every width, both directions, up to the last byte. */
	for (int i = 0; i < 4; i++) {
		uint32_t w = widths[i];

		phys_write(dev + PAGE - w, w, 0xff);
		CHECK_EQ(phys_read(dev + PAGE - w, w), 0xff);
		EXPECT_READ_PANIC(dev + PAGE - w + 1, w, "is not hypervisor-owned");
		EXPECT_WRITE_PANIC(dev - 1, w, "is not hypervisor-owned");
	}

	/* MODULE and BOOTINFO: reads fine, writes panic at every width. */
	((uint8_t *)arena)[9 * PAGE + 3] = 0x42;
	CHECK_EQ(phys_read(mod + 3, 1), 0x42);
	CHECK_EQ(phys_read(info + 92, 8), 0);
	EXPECT_READ_PANIC(info + 93, 8, "(8 bytes) is not hypervisor-owned");
	for (int i = 0; i < 4; i++) {
		uint32_t w = widths[i];

		EXPECT_WRITE_PANIC(mod + 8, w, "is in read-only memory");
		EXPECT_WRITE_PANIC(info, w, "is in read-only memory");
		CHECK(phys_allowed(mod + 8, w, false));
		CHECK(!phys_allowed(mod + 8, w, true));
	}
	CHECK_EQ(((uint8_t *)arena)[9 * PAGE + 8], 0); /* nothing was written */

	/* Undeclared addresses: the message names address and width. */
	EXPECT_READ_PANIC(arena_page(10), 4, "is not hypervisor-owned");
	EXPECT_READ_PANIC(arena_page(14), 4, "is not hypervisor-owned");
	EXPECT_READ_PANIC(0xdead0000ull, 1, "phys_read: 0xdead0000 (1 byte) is not hypervisor-owned memory");
	EXPECT_READ_PANIC(0xdead0000ull, 2, "phys_read: 0xdead0000 (2 bytes)");
	EXPECT_WRITE_PANIC(0xdead0000ull, 4, "phys_write: 0xdead0000 (4 bytes) is not hypervisor-owned memory");
	EXPECT_WRITE_PANIC(0x123456789abcull, 8, "phys_write: 0x123456789abc (8 bytes)");
	EXPECT_READ_PANIC(0, 8, "phys_read: 0x0 (8 bytes)");
	EXPECT_READ_PANIC(UINT64_MAX - 2, 8, "wraps");

	/* Invalid widths. */
	EXPECT_READ_PANIC(dev, 3, "invalid width");
	EXPECT_WRITE_PANIC(dev, 0, "invalid width");
	EXPECT_WRITE_PANIC(dev, 16, "invalid width");
	CHECK(!phys_allowed(dev, 3, false));

	/* Undeclare: the region is gone. */
	phys_undeclare(dev);
	EXPECT_READ_PANIC(dev, 4, "is not hypervisor-owned");
	phys_undeclare(guest);
	phys_undeclare(mod);
	phys_undeclare(info);
	CHECK_EQ(phys_region_count(), 0);
}

static void test_phys_declare_rules(void)
{
	uint64_t pool = arena_page(0);
	uint64_t wasm = 0;

	CHECK(setup_good_machine());
	palloc_init(pool, 8 * PAGE);
	CHECK(memmap_carve(48 * MiB, 2 * MiB, MEMMAP_WASM_WINDOW, &wasm));

	EXPECT_DECLARE_PANIC(arena_page(20), 0, PHYS_GUEST, "is empty");
	EXPECT_DECLARE_PANIC(UINT64_MAX - PAGE, 2 * PAGE, PHYS_GUEST, "wraps");
	EXPECT_DECLARE_PANIC(arena_page(20), PAGE, 0, "unknown kind");
	EXPECT_DECLARE_PANIC(arena_page(20), PAGE, PHYS_KIND_COUNT, "unknown kind");
	/* Hypervisor-private memory. */
	EXPECT_DECLARE_PANIC(pool + 3 * PAGE, 4, PHYS_DEVICE, "overlaps the page pool");
	EXPECT_DECLARE_PANIC(pool - PAGE, 2 * PAGE, PHYS_GUEST, "overlaps the page pool");
	EXPECT_DECLARE_PANIC(0x17f000ull, 2 * PAGE, PHYS_GUEST, "hypervisor-private");
	EXPECT_DECLARE_PANIC(wasm + 10 * MiB, PAGE, PHYS_BOOTINFO, "hypervisor-private");
	EXPECT_DECLARE_PANIC(0, 4 * GiB, PHYS_GUEST, "hypervisor-private");
	/* Not private: LOW_1M (VGA), MBI, modules. */
	phys_declare(0xb8000, 4000, PHYS_DEVICE);
	phys_declare(mb2_mbi_base(), mb2_mbi_size(), PHYS_BOOTINFO);
	phys_declare(MOD0_START, MOD0_END - MOD0_START, PHYS_MODULE);
	CHECK_EQ(phys_region_count(), 3);
	CHECK(phys_allowed(mb2_rsdp(), 8, false));
	CHECK(!phys_allowed(mb2_rsdp(), 8, true));
	EXPECT_DECLARE_PANIC(0xb8000ull, PAGE, PHYS_DEVICE, "declared already");

	/* Undeclaring something never declared is a bug. */
	expect_panic(do_undeclare, &(uint64_t){ 0xb9000 }, "phys_undeclare: 0xb9000 was not declared",
		     "phys_undeclare(unknown) panics", __LINE__);

	/* The table holds PHYS_MAX_REGIONS regions, then panics. */
	for (uint32_t i = phys_region_count(); i < PHYS_MAX_REGIONS; i++)
		phys_declare(0x200000000ull + i * PAGE, PAGE, PHYS_GUEST);
	CHECK_EQ(phys_region_count(), PHYS_MAX_REGIONS);
	EXPECT_DECLARE_PANIC(0x300000000ull, PAGE, PHYS_GUEST, "region table full");
	CHECK(phys_region(PHYS_MAX_REGIONS) == NULL);
	CHECK(phys_region(0) != NULL);

	/* Empty it again. */
	while (phys_region_count())
		phys_undeclare(phys_region(0)->base);
	CHECK_EQ(phys_region_count(), 0);
}

/* ---- main ------------------------------------------------------------ */

int main(void)
{
	arena = aligned_alloc(PAGE, (size_t)ARENA_PAGES * PAGE);
	if (!arena) {
		printf("native-mm: 0 passed, 1 failed\n");
		return 1;
	}

	/* Before palloc_init: nothing allocated, nothing to hand out. */
	current_test = "palloc_uninitialised";
	CHECK_EQ(palloc_alloc(), 0);
	CHECK(!palloc_is_allocated(pa_of(arena)));
	CHECK_EQ(palloc_total_count(), 0);

	run_test("mb2_good", test_mb2_good);
	run_test("mb2_variants", test_mb2_variants);
	run_test("mb2_malformed", test_mb2_malformed);
	run_test("memmap_build", test_memmap_build);
	run_test("memmap_carve", test_memmap_carve);
	run_test("memmap_reserve_and_full", test_memmap_reserve_and_full);
	run_test("memmap_small_and_odd", test_memmap_small_and_odd);
	run_test("palloc_basic", test_palloc_basic);
	run_test("palloc_panics", test_palloc_panics);
	run_test("palloc_max_pool", test_palloc_max_pool);
	run_test("phys_matrix", test_phys_matrix);
	run_test("phys_declare_rules", test_phys_declare_rules);

	free(good_blob);
	free(arena);
	printf("native-mm: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
