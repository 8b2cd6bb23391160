/* Unit tests for src/iso/atomic.c: finding the locked instruction that
 * ends at a write exit's RIP from known bytes, its address, and its
 * operation redone on RAM when another vCPU changed the value after KVM
 * read it (registers and flags corrected), with the flags checked against
 * the host CPU's own. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "iso/atomic.h"
#include "test.h"

#define RIP	0xffffffffc0001040ull
#define ZF	0x40ull
#define CF	0x01ull

/* Find in `bytes` (the last instruction before RIP) preceded by nops:
 * 0 and the longest candidate in *m, else rmw_find()'s error; *count gets
 * how many candidates there were. */
static int find_n(const uint8_t *bytes, size_t n, const struct rmw_regs *r,
		  uint32_t size, struct rmw *m, int *count)
{
	struct rmw_finder *f = rmw_finder_new();
	struct rmw all[4];
	uint8_t code[15];
	int found;

	memset(code, 0x90, sizeof(code));
	memcpy(code + 15 - n, bytes, n);
	if (!f)
		return -99;
	found = rmw_find(f, code, 15, r, size, all, 4);
	rmw_finder_free(f);
	*count = found;
	if (found <= 0)
		return found;
	*m = all[0];
	return 0;
}

static int find(const uint8_t *bytes, size_t n, const struct rmw_regs *r,
		uint32_t size, struct rmw *m)
{
	int count;

	return find_n(bytes, n, r, size, m, &count);
}

static struct rmw_regs regs(void)
{
	struct rmw_regs r = { .rip = RIP, .rflags = 0x2 };

	for (int i = 0; i < 16; i++)
		r.gpr[i] = 0x1000ull * (uint64_t)(i + 1);
	return r;
}

TEST(atomic_find_kinds)
{
	static const struct {
		uint8_t b[12];
		uint8_t n, size;
		enum rmw_kind kind;
		int8_t reg, base;
		int64_t disp;
	} cases[] = {
		{ { 0xf0, 0x0f, 0xb1, 0x17 }, 4, 4, RMW_CMPXCHG, 2, 7, 0 },
		{ { 0xf0, 0xff, 0x00 }, 3, 4, RMW_INC, -1, 0, 0 },
		{ { 0x87, 0x02 }, 2, 4, RMW_XCHG, 0, 2, 0 },
		{ { 0xf0, 0x48, 0x0f, 0xba, 0x6f, 0x10, 0x05 }, 7, 8, RMW_BTS,
		  -1, 7, 0x10 },
		{ { 0xf0, 0x80, 0x4b, 0x08, 0x01 }, 5, 1, RMW_OR, -1, 3, 8 },
		{ { 0xf0, 0x48, 0x0f, 0xc1, 0x06 }, 5, 8, RMW_XADD, 0, 6, 0 },
		{ { 0xf0, 0x11, 0x07 }, 3, 4, RMW_OTHER, 0, 7, 0 },	/* adc */
		{ { 0xf0, 0xff, 0x4f, 0xf8 }, 4, 4, RMW_DEC, -1, 7, -8 },
	};
	struct rmw_regs r = regs();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rmw m;

		CHECK_EQ(find(cases[i].b, cases[i].n, &r, cases[i].size, &m),
			 0);
		CHECK_EQ(m.kind, cases[i].kind);
		CHECK_EQ(m.len, cases[i].n);
		CHECK_EQ(m.size, cases[i].size);
		if (cases[i].reg >= 0)
			CHECK_EQ(m.reg, cases[i].reg);
		CHECK_EQ(m.base, cases[i].base);
		CHECK_EQ(rmw_address(&m, &r, 0),
			 r.gpr[cases[i].base] + (uint64_t)cases[i].disp);
	}
}

TEST(atomic_find_rejects)
{
	static const uint8_t mov[] = { 0x89, 0x07 };		/* mov */
	static const uint8_t clob[] = { 0xf0, 0x0f, 0xb1, 0x10 }; /* (%rax) */
	static const uint8_t inc[] = { 0xf0, 0xff, 0x00 };
	static const uint8_t xchg_reg[] = { 0x87, 0xc2 };	/* no memory */
	struct rmw_regs r = regs();
	struct rmw m;

	CHECK_EQ(find(mov, sizeof(mov), &r, 4, &m), -ENOENT);
	/* cmpxchg writes rax, its address register: cannot be checked */
	CHECK_EQ(find(clob, sizeof(clob), &r, 4, &m), -ENOENT);
	/* the size must be the write's */
	CHECK_EQ(find(inc, sizeof(inc), &r, 8, &m), -ENOENT);
	CHECK_EQ(find(xchg_reg, sizeof(xchg_reg), &r, 4, &m), -ENOENT);
}

TEST(atomic_address_forms)
{
	/* lock addq $1,%gs:0x10 */
	static const uint8_t gs[] = { 0x65, 0xf0, 0x48, 0x83, 0x04, 0x25,
				      0x10, 0x00, 0x00, 0x00, 0x01 };
	/* lock cmpxchg %rcx,0x10(%rip) */
	static const uint8_t riprel[] = { 0xf0, 0x48, 0x0f, 0xb1, 0x0d,
					  0x10, 0x00, 0x00, 0x00 };
	/* lock btr %rax,(%rdi): bit 70 is bit 6 of the next quadword */
	static const uint8_t btr[] = { 0xf0, 0x48, 0x0f, 0xb3, 0x07 };
	/* lock incl 0x8(%rdi,%rsi,4) */
	static const uint8_t sib[] = { 0xf0, 0xff, 0x44, 0xb7, 0x08 };
	struct rmw_regs r = regs();
	struct rmw m;

	int count;

	/* also found: the same without gs (an absolute address) */
	CHECK_EQ(find_n(gs, sizeof(gs), &r, 8, &m, &count), 0);
	CHECK_EQ(count, 2);
	CHECK_EQ(m.kind, RMW_ADD);
	CHECK_EQ(m.seg, 5);
	CHECK_EQ(m.imm, 1);
	CHECK_EQ(rmw_address(&m, &r, 0xffff888000000000ull),
		 0xffff888000000010ull);
	CHECK_EQ(find(riprel, sizeof(riprel), &r, 8, &m), 0);
	CHECK(m.rip_relative);
	CHECK_EQ(rmw_address(&m, &r, 0), RIP + 0x10);
	r.gpr[0] = 70;
	CHECK_EQ(find(btr, sizeof(btr), &r, 8, &m), 0);
	CHECK_EQ(m.kind, RMW_BTR);
	CHECK_EQ(rmw_address(&m, &r, 0), r.gpr[7] + 8);
	r = regs();
	CHECK_EQ(find(sib, sizeof(sib), &r, 4, &m), 0);
	CHECK_EQ(rmw_address(&m, &r, 0), r.gpr[7] + 4 * r.gpr[6] + 8);
}

static struct rmw op(enum rmw_kind k, uint8_t size, int reg, bool imm,
		     int64_t v)
{
	return (struct rmw){ .kind = k, .size = size, .reg = (int8_t)reg,
			     .has_imm = imm, .imm = v, .base = 7,
			     .index = -1, .seg = -1 };
}

TEST(atomic_cmpxchg)
{
	uint32_t mem = 5;
	struct rmw m = op(RMW_CMPXCHG, 4, 2, false, 0);
	struct rmw_regs r = regs();

	/* KVM read 0 = eax and stored edx = 1; the other vCPU had made it
	 * 5 meanwhile: the instruction failed, eax = 5, ZF clear */
	r.gpr[0] = 0xffffffff00000000ull;
	r.gpr[2] = 1;
	r.rflags = 0x2 | ZF;
	CHECK_EQ(rmw_perform(&m, &mem, 1, &r), 1);
	CHECK_EQ(mem, 5);
	CHECK_EQ(r.gpr[0], 5);		/* zero-extended */
	CHECK_EQ(r.rflags & ZF, 0);
	/* no race: stored, nothing changed */
	mem = 0;
	r = regs();
	r.gpr[0] = 0;
	r.rflags = 0x2 | ZF;
	CHECK_EQ(rmw_perform(&m, &mem, 1, &r), 0);
	CHECK_EQ(mem, 1);
	/* KVM found it unequal: its store of the old value is not made */
	mem = 9;
	r.rflags = 0x2;
	r.gpr[0] = 7;
	CHECK_EQ(rmw_perform(&m, &mem, 7, &r), 0);
	CHECK_EQ(mem, 9);
}

TEST(atomic_lost_updates_kept)
{
	uint8_t b = 0x02;
	uint32_t cnt = 1;
	uint64_t q = 20, x = 6, bits = 0x20;
	struct rmw_regs r = regs();
	struct rmw m;

	/* lock orb $1: KVM saw 0 and would store 1 over the other's 2 */
	m = op(RMW_OR, 1, -1, true, 1);
	CHECK_EQ(rmw_perform(&m, &b, 0x01, &r), 1);
	CHECK_EQ(b, 0x03);
	CHECK(r.rflags & 0x4);		/* PF: 0x03 has two bits */
	/* lock decl to zero (refcount_dec_and_test): KVM saw 2 */
	m = op(RMW_DEC, 4, -1, false, 0);
	r = regs();
	CHECK_EQ(rmw_perform(&m, &cnt, 1, &r), 1);
	CHECK_EQ(cnt, 0);
	CHECK(r.rflags & ZF);
	/* lock xadd %rax: KVM saw 10, rax = 10, stored 13 */
	m = op(RMW_XADD, 8, 0, false, 0);
	r = regs();
	r.gpr[0] = 10;
	CHECK_EQ(rmw_perform(&m, &q, 13, &r), 1);
	CHECK_EQ(q, 23);
	CHECK_EQ(r.gpr[0], 20);
	/* xchg %rdx: KVM saw 4 */
	m = op(RMW_XCHG, 8, 2, false, 0);
	r = regs();
	r.gpr[2] = 4;
	CHECK_EQ(rmw_perform(&m, &x, 9, &r), 1);
	CHECK_EQ(x, 9);
	CHECK_EQ(r.gpr[2], 6);
	/* lock btsq $5: KVM saw it clear; the other vCPU set it */
	m = op(RMW_BTS, 8, -1, true, 5);
	r = regs();
	CHECK_EQ(rmw_perform(&m, &bits, 0x20, &r), 1);
	CHECK_EQ(bits, 0x20);
	CHECK(r.rflags & CF);
	/* 16-bit xchg keeps the register's upper bits */
	uint16_t h = 0x1234;
	m = op(RMW_XCHG, 2, 1, false, 0);
	r = regs();
	r.gpr[1] = 0xaaaa0000bbbb5555ull;
	CHECK_EQ(rmw_perform(&m, &h, 0x7777, &r), 1);
	CHECK_EQ(h, 0x7777);
	CHECK_EQ(r.gpr[1], 0xaaaa0000bbbb1234ull);
	/* misaligned, or a kind not handled: nothing done */
	uint8_t buf[16] = { 0 };
	m = op(RMW_INC, 4, -1, false, 0);
	CHECK_EQ(rmw_perform(&m, buf + 1, 1, &r), -EINVAL);
	m = op(RMW_OTHER, 4, -1, false, 0);
	CHECK_EQ(rmw_perform(&m, buf, 1, &r), -EINVAL);
	CHECK_EQ(buf[0], 0);
}

/* The host CPU's flags for op on a and b (64-bit and 8-bit forms). */
#define CPU_OP(name, insn)						\
static uint64_t cpu_##name##64(uint64_t a, uint64_t b)			\
{									\
	uint64_t f;							\
	__asm__ volatile(insn "q %2, %1\n\tpushfq\n\tpopq %0"		\
			 : "=r"(f), "+r"(a) : "r"(b) : "cc");		\
	return f;							\
}									\
static uint64_t cpu_##name##8(uint64_t a, uint64_t b)			\
{									\
	uint8_t a8 = (uint8_t)a, b8 = (uint8_t)b;			\
	uint64_t f;							\
	__asm__ volatile(insn "b %2, %1\n\tpushfq\n\tpopq %0"		\
			 : "=r"(f), "+q"(a8) : "q"(b8) : "cc");		\
	return f;							\
}
CPU_OP(add, "add")
CPU_OP(sub, "sub")
CPU_OP(and, "and")
CPU_OP(or, "or")
CPU_OP(xor, "xor")

#define CPU_UNARY(name, insn)						\
static uint64_t cpu_##name##64(uint64_t a, uint64_t b)			\
{									\
	uint64_t f;							\
	(void)b;							\
	__asm__ volatile("stc\n\t" insn "q %1\n\tpushfq\n\tpopq %0"	\
			 : "=r"(f), "+r"(a) : : "cc");			\
	return f;							\
}									\
static uint64_t cpu_##name##8(uint64_t a, uint64_t b)			\
{									\
	uint8_t a8 = (uint8_t)a;					\
	uint64_t f;							\
	(void)b;							\
	__asm__ volatile("stc\n\t" insn "b %1\n\tpushfq\n\tpopq %0"	\
			 : "=r"(f), "+q"(a8) : : "cc");			\
	return f;							\
}
CPU_UNARY(inc, "inc")
CPU_UNARY(dec, "dec")
CPU_UNARY(neg, "neg")

TEST(atomic_flags_match_cpu)
{
	static const struct {
		enum rmw_kind kind;
		uint64_t (*f64)(uint64_t, uint64_t);
		uint64_t (*f8)(uint64_t, uint64_t);
		uint64_t defined;
	} ops[] = {
		{ RMW_ADD, cpu_add64, cpu_add8, 0x8d5 },
		{ RMW_SUB, cpu_sub64, cpu_sub8, 0x8d5 },
		{ RMW_AND, cpu_and64, cpu_and8, 0x8c5 },	/* AF undefined */
		{ RMW_OR, cpu_or64, cpu_or8, 0x8c5 },
		{ RMW_XOR, cpu_xor64, cpu_xor8, 0x8c5 },
		{ RMW_INC, cpu_inc64, cpu_inc8, 0x8d5 },	/* CF kept (set) */
		{ RMW_DEC, cpu_dec64, cpu_dec8, 0x8d5 },
		{ RMW_NEG, cpu_neg64, cpu_neg8, 0x8d5 },
	};
	static const uint64_t edge[] = { 0, 1, 0x7f, 0x80, 0xff, 0x0f, 0x10,
		0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull };
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
		for (int i = 0; i < 400; i++) {
			uint64_t a, b;

			seed = seed * 6364136223846793005ull + 1;
			a = i < 100 ? edge[i % 10] : seed;
			seed = seed * 6364136223846793005ull + 1;
			b = i < 100 ? edge[i / 10] : seed >> (i % 60);
			for (int w = 0; w < 2; w++) {
				uint8_t size = w ? 1 : 8;
				struct rmw m = op(ops[o].kind, size, -1,
						  true, (int64_t)b);
				struct rmw_regs r = regs();
				uint64_t cpu = w ? ops[o].f8(a, b)
						 : ops[o].f64(a, b);
				uint64_t mem = w ? (a & 0xff) : a;

				r.rflags = 0x2 | CF;	/* as after stc */
				rmw_perform(&m, &mem, 0, &r);
				if ((r.rflags ^ cpu) & ops[o].defined) {
					fprintf(stderr, "  kind %d size %u "
						"a %llx b %llx: %llx, cpu "
						"%llx\n", ops[o].kind, size,
						(unsigned long long)a,
						(unsigned long long)b,
						(unsigned long long)r.rflags,
						(unsigned long long)cpu);
					*failed = 1;
					return;
				}
			}
		}
	}
}
