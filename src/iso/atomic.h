/* atomic.h - a guest's locked read-modify-write, trapped, performed
 * atomically.
 *
 * KVM emulates a write into a read-only slot as: read the old value from
 * RAM, compute, exit to the VMM with the new value to store.  For a
 * lock-prefixed instruction (or xchg, locked implicitly) that is not
 * atomic against another vCPU running natively on the same memory: an
 * update it makes between KVM's read and the VMM's store is lost (a spin
 * lock taken by both vCPUs, a queue-stopped bit set again).  So the VMM
 * finds the instruction (at the exit, RIP is already the next one's),
 * redoes the operation on RAM with the host's own atomic instruction, and
 * fixes what KVM left in the registers and flags when RAM had changed in
 * between (the other vCPU won the race).
 *
 * Handled: add sub and or xor inc dec neg not xadd xchg cmpxchg bts btr btc
 * on 1, 2, 4 or 8 bytes.  Left to KVM's emulation (counted by the caller):
 * adc and sbb (their carry-in is gone from the flags at the exit),
 * cmpxchg8b/16b, high-byte registers (ah..dh). */
#ifndef CHARIOT_ISO_ATOMIC_H
#define CHARIOT_ISO_ATOMIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rmw_finder;

/* A decoder for rmw_find(), one per thread; NULL when none can be made. */
struct rmw_finder *rmw_finder_new(void);
void rmw_finder_free(struct rmw_finder *f);

enum rmw_kind {
	RMW_NONE,		/* not a locked read-modify-write */
	RMW_OTHER,		/* locked, but not one handled here */
	RMW_ADD, RMW_SUB, RMW_AND, RMW_OR, RMW_XOR,
	RMW_INC, RMW_DEC, RMW_NEG, RMW_NOT,
	RMW_XADD, RMW_XCHG, RMW_CMPXCHG,
	RMW_BTS, RMW_BTR, RMW_BTC,
};

/* Registers as the exit left them: the 16 GPRs in encoding order (rax,
 * rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15), rip, rflags. */
struct rmw_regs {
	uint64_t gpr[16];
	uint64_t rip;
	uint64_t rflags;
};

struct rmw {
	enum rmw_kind kind;
	uint8_t size;		/* operand bytes: 1, 2, 4, 8 */
	uint8_t len;		/* instruction bytes */
	int8_t reg;		/* register operand (GPR number), or -1 */
	bool has_imm;
	int64_t imm;		/* immediate, sign-extended */
	/* the memory operand */
	int8_t base, index;	/* GPR numbers, -1 if none */
	uint8_t scale;
	bool rip_relative;
	int8_t seg;		/* 4 = fs, 5 = gs, else -1 */
	int64_t disp;
};

/* The locked read-modify-writes of size bytes that could end at r->rip,
 * from code[0..n) = the guest's bytes [rip - n, rip) (n <= 15), longest
 * first, at most max into out[] (kind RMW_OTHER for one not handled):
 * returns how many, or -ENOENT when none (or none whose address can be
 * checked: a register it writes is in its address).  The caller takes the
 * first whose rmw_address() is where the write went. */
int rmw_find(struct rmw_finder *f, const uint8_t *code, size_t n,
	     const struct rmw_regs *r, uint32_t size, struct rmw *out,
	     unsigned int max);

/* The linear address m wrote, from the registers at the exit; seg_base is
 * the base of m->seg (0 when none). */
uint64_t rmw_address(const struct rmw *m, const struct rmw_regs *r,
		     uint64_t seg_base);

/* Perform m on RAM at p (host address, m->size bytes, naturally aligned)
 * atomically, given data, the value KVM's emulation would store, and r,
 * the registers as KVM left them; r is corrected when RAM held another
 * value than KVM read.  Returns 1 when r changed (the caller writes it
 * back to the vCPU), 0 when not, -EINVAL for a kind not handled or a
 * misaligned p (nothing done). */
int rmw_perform(const struct rmw *m, void *p, uint64_t data,
		struct rmw_regs *r);

#endif
