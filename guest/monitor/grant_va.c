// SPDX-License-Identifier: GPL-2.0
/*
 * grant_va.c - grant a guest-virtual range: the update records are
 * guest-physical (chariot_ring.h), so the range is translated, one GRANT
 * per physically contiguous run (the direct map is contiguous; anything
 * else - vmalloc'd memory, module memory, VMAP_STACK stacks, the vmemmap -
 * is walked page by page through the kernel's page tables).
 */
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/pfn.h>
#include <linux/vmalloc.h>

#include <asm/pgtable.h>

#include "monitor.h"

/* The page frame behind a kernel virtual address, at any mapping level. */
static bool kva_pfn(unsigned long va, unsigned long *pfn)
{
	unsigned int level;
	pte_t *pte = lookup_address(va, &level);

	if (!pte || !pte_present(*pte))
		return false;
	switch (level) {
	case PG_LEVEL_4K:
		*pfn = pte_pfn(*pte);
		return true;
	case PG_LEVEL_2M:
		*pfn = pmd_pfn(*(pmd_t *)pte) + ((va & ~PMD_MASK) >> PAGE_SHIFT);
		return true;
	case PG_LEVEL_1G:
		*pfn = pud_pfn(*(pud_t *)pte) + ((va & ~PUD_MASK) >> PAGE_SHIFT);
		return true;
	}
	return false;
}

/* [va, va + len) walked page by page, one grant per contiguous run. */
static int grant_pages(struct chariot_batch *b, unsigned int domain,
		       enum chariot_grant_kind kind, u64 cookie,
		       unsigned long va, unsigned long len)
{
	unsigned long end = va + len, next, pfn;
	phys_addr_t run = 0, run_end = 0, pa;
	int missing = 0;

	for (; va < end; va = next) {
		next = min((va & PAGE_MASK) + PAGE_SIZE, end);
		if (!kva_pfn(va, &pfn)) {
			missing++;
			continue;
		}
		pa = PFN_PHYS(pfn) + offset_in_page(va);
		if (run_end && pa == run_end) {
			run_end += next - va;
			continue;
		}
		if (run_end)
			chariot_post_grant_phys(b, domain, kind, cookie, run,
						run_end - run);
		run = pa;
		run_end = pa + (next - va);
	}
	if (run_end)
		chariot_post_grant_phys(b, domain, kind, cookie, run,
					run_end - run);
	return missing ? -EFAULT : 0;
}

/**
 * chariot_post_grant() - add GRANT of a guest-virtual range
 * @b:      the batch
 * @domain: the domain granted
 * @kind:   who grants
 * @cookie: the tag a REVOKE BY_COOKIE names (not 0 if it is to be revoked
 *          that way)
 * @va:     start: any mapped kernel address
 * @len:    length
 *
 * Safe in atomic context.
 *
 * Return: 0, or -EFAULT when a part of the range has no physical page (that
 * part is not granted and counted as untranslatable).
 */
int chariot_post_grant(struct chariot_batch *b, unsigned int domain,
		       enum chariot_grant_kind kind, u64 cookie,
		       const void *va, unsigned long len)
{
	unsigned long a = (unsigned long)va;

	if (!len)
		return 0;
	if (a + len < a)
		goto fault;
	if (virt_addr_valid(va) && virt_addr_valid((void *)(a + len - 1))) {
		chariot_post_grant_phys(b, domain, kind, cookie,
					virt_to_phys((void *)va), len);
		return 0;
	}
	if (!grant_pages(b, domain, kind, cookie, a, len))
		return 0;

fault:
	chariot_count(untranslatable);
	return -EFAULT;
}
