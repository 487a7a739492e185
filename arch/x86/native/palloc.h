/*
 * palloc.h - the 4 KiB page-frame allocator.
 *
 * Manages one contiguous pool of physical pages (the PAGE_POOL range carved
 * by memmap) with a bitmap in .bss, one bit per page, set = handed out.
 * Allocation is next-fit from the last word that had a free page, so the
 * common case inspects one 64-bit word.  Every page handed out is zeroed.
 *
 * The allocator is also the ownership oracle of physaccess: a page is
 * hypervisor memory that TypeScript may touch exactly while it is allocated.
 *
 * Errors by fault: running out of pages is a normal condition (0 returned,
 * the caller reports ENOMEM or fails the VM); freeing something that was not
 * handed out is a broken invariant and panics.
 *
 * Not thread-safe: callers hold the lock that serialises TypeScript.
 */
#ifndef HV_NATIVE_PALLOC_H
#define HV_NATIVE_PALLOC_H

#include <stdbool.h>
#include <stdint.h>

#define PALLOC_PAGE_SIZE 0x1000ull
#define PALLOC_MAX_PAGES 262144u /* 1 GiB pool -> 32 KiB bitmap */
#define PALLOC_MAX_BYTES ((uint64_t)PALLOC_MAX_PAGES * PALLOC_PAGE_SIZE)

/*
 * Manage the pool [base, base + size); size is truncated to whole pages.
 * Every page starts free.  Panics if base is 0 or not page aligned, if the
 * pool is empty, larger than PALLOC_MAX_BYTES or wraps the address space.
 * Boot time only; a second call forgets all earlier allocations.
 */
void palloc_init(uint64_t base, uint64_t size);

/* A zeroed page's physical address, or 0 when the pool is exhausted. */
uint64_t palloc_alloc(void);

/*
 * Return a page.  Panics when pa is not page aligned, lies outside the pool
 * or is not currently allocated (double free).
 */
void palloc_free(uint64_t pa);

/* Pages currently free / pages in the pool. */
uint64_t palloc_free_count(void);
uint64_t palloc_total_count(void);

/*
 * True when pa (any byte address) lies in a page of the pool that is
 * currently allocated.  O(1).
 */
bool palloc_is_allocated(uint64_t pa);

/* The pool range; both 0 before palloc_init(). */
uint64_t palloc_pool_base(void);
uint64_t palloc_pool_size(void);

#endif /* HV_NATIVE_PALLOC_H */
