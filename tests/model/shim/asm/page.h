#ifndef MODEL_ASM_PAGE_H
#define MODEL_ASM_PAGE_H
#define PAGE_SHIFT	12
#define PAGE_SIZE	(1ul << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#endif
