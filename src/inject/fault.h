/* fault.h - what the fault types share (internal to src/inject/): the
 * decoded code, the seeded generator, and patch building. Each type is a
 * pair: site() says whether instruction i is a candidate, make() realises
 * the mutation there and must succeed wherever site() said yes. */
#ifndef CHARIOT_INJECT_FAULT_H
#define CHARIOT_INJECT_FAULT_H

#include <stdbool.h>

#include "inject/decode.h"
#include "inject/mutate.h"

/* Instructions a site may look back or ahead over (argument loads before
 * a call, a length load before a copy, the branch after a compare). */
#define FAULT_WINDOW	4

struct mctx {
	const struct mutate_input *in;
	struct decoder *dec;
	struct insn *insn;
	size_t n;
	uint64_t rng;		/* splitmix64 state */
};

struct fault_def {
	const char *name;
	bool (*site)(struct mctx *c, size_t i);
	int (*make)(struct mctx *c, size_t i, struct mutation *m);
};

uint64_t mctx_rand(struct mctx *c);
uint64_t mctx_below(struct mctx *c, uint64_t n);

static inline const uint8_t *insn_bytes(const struct mctx *c, size_t i)
{
	return c->in->code + c->insn[i].off;
}

static inline bool insn_valid(const struct mctx *c, size_t i)
{
	return (c->insn[i].flags & (INSN_VALID | INSN_PAD)) == INSN_VALID;
}

static inline bool insn_flow(const struct insn *in)
{
	return in->flags & (INSN_CALL | INSN_JMP | INSN_JCC | INSN_RET);
}

/* Record a patch of code[off..off+len) to bytes; -E2BIG past the limits. */
int mctx_patch(struct mctx *c, struct mutation *m, uint32_t off,
	       const uint8_t *bytes, uint32_t len);

/* The recommended multi-byte NOP forms, longest first. */
void nop_fill(uint8_t *buf, size_t len);

/* Replace instruction i by NOPs. */
int patch_nops(struct mctx *c, size_t i, struct mutation *m);

/* Decode bytes (a variant of instruction i, same length) into *out; 0 only
 * when it is still the same instruction of the same length. */
int same_insn(struct mctx *c, size_t i, const uint8_t *bytes,
	      struct insn *out);

/* Add delta to the immediate (imm) or displacement (disp) of instruction
 * i, whose operand k holds it: 0 when the field still fits and the result
 * decodes to the same instruction with operand k moved by exactly delta,
 * bytes (len of i) then holding it; -ERANGE otherwise. */
int add_imm(struct mctx *c, size_t i, int k, int64_t delta, uint8_t *bytes);
int add_disp(struct mctx *c, size_t i, int k, int64_t delta, uint8_t *bytes);

/* Copy instruction i into bytes with bit `bit` of the field at `at`
 * flipped; 0 when it still decodes to the same instruction. */
int flip_field(struct mctx *c, size_t i, uint8_t at, unsigned int bit,
	       uint8_t *bytes);

/* Operand index of the first operand of the given type, or -1. */
int find_op(const struct insn *in, uint8_t type);

/* Name of the function a direct call/jmp at i targets, NULL if unknown. */
const char *callee(const struct mctx *c, size_t i);

/* Whether some direct branch in the code targets addr. */
bool is_branch_target(const struct mctx *c, uint64_t addr);

/* The types, one pair each (fault_code.c, fault_operand.c, fault_call.c). */
#define FAULT_DECL(t) \
	bool t##_site(struct mctx *c, size_t i); \
	int t##_make(struct mctx *c, size_t i, struct mutation *m)

FAULT_DECL(text_flip);
FAULT_DECL(src_operand);
FAULT_DECL(dst_operand);
FAULT_DECL(pointer);
FAULT_DECL(insn_delete);
FAULT_DECL(branch_delete);
FAULT_DECL(branch_invert);
FAULT_DECL(loop);
FAULT_DECL(init_delete);
FAULT_DECL(interface);
FAULT_DECL(alloc);
FAULT_DECL(premature_free);
FAULT_DECL(leak);
FAULT_DECL(copy_overrun);
FAULT_DECL(off_by_one);
FAULT_DECL(sync);
FAULT_DECL(stack);

#endif
