/* mutate.h - the fault types of the fault-injection campaign: given a
 * driver's text bytes, pick ONE mutation of its instructions, reproducibly
 * from a seed, as in-place byte patches the VMM writes into guest memory.
 *
 * The fault model follows the software-implemented fault injection line of
 * work: the Rio file cache study (Ng & Chen, "The systematic improvement of
 * fault tolerance in the Rio file cache", FTCS 1999) defined the text,
 * operand, pointer, deletion, initialization, allocation, free, copy,
 * off-by-one and synchronization faults; Nooks (Swift et al., "Improving the
 * reliability of commodity operating systems", SOSP 2003) reused that
 * injector on Linux drivers; Mondrix and the Chariot papers (Zheng et al.,
 * 2014/2016) drove the same types against isolated drivers. Each type's own
 * comment in src/inject/ says how it is realised on x86-64 machine code. */
#ifndef CHARIOT_INJECT_MUTATE_H
#define CHARIOT_INJECT_MUTATE_H

#include <stddef.h>
#include <stdint.h>

enum fault_type {
	FAULT_TEXT_FLIP,
	FAULT_SRC_OPERAND,
	FAULT_DST_OPERAND,
	FAULT_POINTER,
	FAULT_INSN_DELETE,
	FAULT_BRANCH_DELETE,
	FAULT_BRANCH_INVERT,
	FAULT_LOOP,
	FAULT_INIT_DELETE,
	FAULT_INTERFACE,
	FAULT_ALLOC,
	FAULT_PREMATURE_FREE,
	FAULT_LEAK,
	FAULT_COPY_OVERRUN,
	FAULT_OFF_BY_ONE,
	FAULT_SYNC,
	FAULT_STACK,
	FAULT_NTYPES
};

/* A function of the kernel (or of the driver): calls are matched to it by
 * their exact target address. */
struct mutate_symbol {
	uint64_t addr;
	const char *name;
};

struct mutate_input {
	const uint8_t *code;		/* the driver's text bytes */
	size_t len;
	uint64_t base;			/* guest virtual address of code[0] */
	const struct mutate_symbol *syms;	/* sorted by addr; may be NULL */
	size_t nsyms;
	/* If not NULL: a site must be an instruction starting at one of these
	 * offsets into code (ascending), the ones a workload was seen to run
	 * (`chariot run --cover`): a fault there is one it can activate. */
	const uint32_t *only;
	size_t nonly;
};

#define MUTATE_MAX_PATCHES	2
#define MUTATE_PATCH_MAX	64	/* bytes one patch may cover */
#define MUTATE_TEXT		160

struct mutate_patch {
	uint32_t off;			/* offset in the code buffer */
	uint32_t len;
	uint8_t old[MUTATE_PATCH_MAX];
	uint8_t new[MUTATE_PATCH_MAX];
};

struct mutation {
	enum fault_type type;
	uint64_t addr;			/* guest address of the site */
	size_t site;			/* index among this type's candidates */
	size_t nsites;			/* how many candidates there were */
	unsigned int npatches;
	struct mutate_patch patch[MUTATE_MAX_PATCHES];
	char what[MUTATE_TEXT];		/* e.g. "je -> jne", "call kfree deleted" */
	char before[MUTATE_TEXT];	/* disassembly of the patched bytes */
	char after[MUTATE_TEXT];
};

const char *fault_type_name(enum fault_type t);

/* The fault type named name, or -EINVAL. */
int fault_type_parse(const char *name);

/* Pick one mutation of type t from the code, chosen by seed among the
 * candidate sites (enumerated in address order). Returns 0, -ENOENT when
 * the code has no site for t, -EINVAL for a bad input (unsorted symbols,
 * code too large), -ENOMEM. The same input and seed always give the same
 * mutation. */
int mutate_pick(const struct mutate_input *in, enum fault_type t,
		uint64_t seed, struct mutation *out);

/* How many candidate sites the code has for t (>= 0), or -errno. */
long mutate_count(const struct mutate_input *in, enum fault_type t);

/* Write the mutation's new bytes into code (which must still hold the old
 * bytes), or put the old ones back. Return 0, -EINVAL when a patch is out
 * of range, -ESTALE when the code does not hold what it should (nothing is
 * written then). */
int mutate_apply(uint8_t *code, size_t len, const struct mutation *m);
int mutate_revert(uint8_t *code, size_t len, const struct mutation *m);

#endif
