/*
 * palloc.c - bitmap page-frame allocator.  See palloc.h.
 *
 * Bitmap layout: page n of the pool is bit (n % 64) of word (n / 64); a set
 * bit means allocated.  The bits of the last word that lie past the end of
 * the pool are set at init, so the search never needs a bounds check per bit.
 */
#include "palloc.h"

__attribute__((noreturn)) void hv_panic(const char *msg);

#define PAGE_SHIFT 12
#define WORD_BITS 64u
#define MAX_WORDS (PALLOC_MAX_PAGES / WORD_BITS)

static uint64_t bitmap[MAX_WORDS];

static struct {
	uint64_t base;   /* first byte of the pool                     */
	uint64_t pages;  /* pages in the pool                          */
	uint64_t nfree;  /* pages currently free                       */
	uint32_t nwords; /* bitmap words covering the pool              */
	uint32_t hint;   /* word where the next search starts (next-fit) */
} pool;

/* ---- panic messages -------------------------------------------------- */

static char panic_msg[96];

/* Panic with "<what> 0x<pa hex><why>". */
__attribute__((noreturn)) static void panic_at(const char *what, uint64_t pa,
					       const char *why)
{
	uint32_t n = 0;
	int shift = 60;

	while (*what && n < sizeof(panic_msg) - 1)
		panic_msg[n++] = *what++;
	if (n + 2 < sizeof(panic_msg) - 1) {
		panic_msg[n++] = '0';
		panic_msg[n++] = 'x';
	}
	while (shift > 0 && ((pa >> shift) & 0xf) == 0)
		shift -= 4;
	for (; shift >= 0 && n < sizeof(panic_msg) - 1; shift -= 4)
		panic_msg[n++] = "0123456789abcdef"[(pa >> shift) & 0xf];
	while (*why && n < sizeof(panic_msg) - 1)
		panic_msg[n++] = *why++;
	panic_msg[n] = '\0';
	hv_panic(panic_msg);
}

/* ---- helpers --------------------------------------------------------- */

/* Zero one page.  rep stosq is the fastest simple way on x86-64. */
static void zero_page(uint64_t pa)
{
#if defined(__x86_64__)
	void *dst = (void *)(uintptr_t)pa;
	uint64_t count = PALLOC_PAGE_SIZE / 8;

	__asm__ volatile("rep stosq"
			 : "+D"(dst), "+c"(count)
			 : "a"(0ull)
			 : "memory");
#else
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)pa;

	for (uint64_t i = 0; i < PALLOC_PAGE_SIZE / 8; i++)
		p[i] = 0;
#endif
}

/* Page index of pa, or -1 (as UINT64_MAX) when pa is outside the pool. */
static inline uint64_t page_index(uint64_t pa)
{
	uint64_t off = pa - pool.base; /* wraps to huge when pa < base */

	return (off >> PAGE_SHIFT) < pool.pages ? off >> PAGE_SHIFT : UINT64_MAX;
}

/* ---- public API ------------------------------------------------------ */

void palloc_init(uint64_t base, uint64_t size)
{
	uint64_t pages = size >> PAGE_SHIFT;

	if (base == 0 || (base & (PALLOC_PAGE_SIZE - 1)) != 0)
		panic_at("palloc_init: pool base ", base, " is null or not page aligned");
	if (pages == 0)
		hv_panic("palloc_init: pool is smaller than one page");
	if (pages > PALLOC_MAX_PAGES)
		hv_panic("palloc_init: pool is larger than PALLOC_MAX_BYTES (1 GiB)");
	if (base + (pages << PAGE_SHIFT) < base)
		hv_panic("palloc_init: pool wraps the address space");

	for (uint32_t i = 0; i < MAX_WORDS; i++)
		bitmap[i] = 0;
	pool.base = base;
	pool.pages = pages;
	pool.nfree = pages;
	pool.nwords = (uint32_t)((pages + WORD_BITS - 1) / WORD_BITS);
	pool.hint = 0;
	/* Mark the tail bits of the last word, which map past the pool, as used. */
	if (pages % WORD_BITS)
		bitmap[pool.nwords - 1] = ~0ull << (pages % WORD_BITS);
}

uint64_t palloc_alloc(void)
{
	uint32_t w = pool.hint;

	if (pool.nfree == 0)
		return 0;
	/* nfree > 0 guarantees a clear bit in some word: the loop ends. */
	while (bitmap[w] == ~0ull) {
		if (++w == pool.nwords)
			w = 0;
	}
	{
		uint32_t bit = (uint32_t)__builtin_ctzll(~bitmap[w]);
		uint64_t pa = pool.base + (((uint64_t)w * WORD_BITS + bit) << PAGE_SHIFT);

		bitmap[w] |= 1ull << bit;
		pool.nfree--;
		pool.hint = w;
		zero_page(pa);
		return pa;
	}
}

void palloc_free(uint64_t pa)
{
	uint64_t n;

	if (pa & (PALLOC_PAGE_SIZE - 1))
		panic_at("palloc_free: ", pa, " is not page aligned");
	n = page_index(pa);
	if (n == UINT64_MAX)
		panic_at("palloc_free: ", pa, " is outside the page pool");
	if (!(bitmap[n / WORD_BITS] & (1ull << (n % WORD_BITS))))
		panic_at("palloc_free: ", pa, " is not allocated (double free?)");
	bitmap[n / WORD_BITS] &= ~(1ull << (n % WORD_BITS));
	pool.nfree++;
}

uint64_t palloc_free_count(void)
{
	return pool.nfree;
}

uint64_t palloc_total_count(void)
{
	return pool.pages;
}

bool palloc_is_allocated(uint64_t pa)
{
	uint64_t n = page_index(pa);

	return n != UINT64_MAX && (bitmap[n / WORD_BITS] >> (n % WORD_BITS)) & 1;
}

uint64_t palloc_pool_base(void)
{
	return pool.base;
}

uint64_t palloc_pool_size(void)
{
	return pool.pages << PAGE_SHIFT;
}
