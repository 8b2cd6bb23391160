/* Unit tests for the fault types (src/inject/): each type on hand-assembled
 * instruction bytes with the exact patch expected, determinism of the
 * seeded choice, -ENOENT without a site, apply/revert, and random bytes
 * that must never crash the decoder or produce an out-of-range patch. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "inject/decode.h"
#include "inject/mutate.h"
#include "test.h"

#define BASE		0xffffffffc0001000ull
#define KMALLOC		0xffffffff81200000ull
#define KFREE		0xffffffff81200100ull
#define MEMCPY		0xffffffff81200200ull
#define LOCK_IRQSAVE	0xffffffff81200300ull
#define MUTEX_LOCK	0xffffffff81200400ull
#define TRYLOCK		0xffffffff81200500ull
#define SPIN_UNLOCK	0xffffffff81200600ull
#define PRINTK		0xffffffff81200700ull

static const struct mutate_symbol syms[] = {
	{ KMALLOC, "__kmalloc" },
	{ KFREE, "kfree" },
	{ MEMCPY, "memcpy" },
	{ LOCK_IRQSAVE, "_raw_spin_lock_irqsave" },
	{ MUTEX_LOCK, "mutex_lock" },
	{ TRYLOCK, "_raw_spin_trylock" },
	{ SPIN_UNLOCK, "_raw_spin_unlock" },
	{ PRINTK, "_printk" },
};

static struct mutate_input input(const uint8_t *code, size_t len)
{
	struct mutate_input in = {
		.code = code, .len = len, .base = BASE,
		.syms = syms, .nsyms = sizeof(syms) / sizeof(syms[0]),
	};
	return in;
}

/* A rel32 call (op e8) or jmp (e9) at code[off] to target. */
static void put_call(uint8_t *code, size_t off, uint8_t op, uint64_t target)
{
	int32_t rel = (int32_t)(target - (BASE + off + 5));

	code[off] = op;
	memcpy(code + off + 1, &rel, 4);
}

/* The mutation of type t at candidate k (trying seeds until one picks it). */
static int pick_site(const uint8_t *code, size_t len, enum fault_type t,
		     size_t k, struct mutation *m)
{
	struct mutate_input in = input(code, len);

	for (uint64_t seed = 0; seed < 1000; seed++) {
		int err = mutate_pick(&in, t, seed, m);

		if (err)
			return err;
		if (m->site == k)
			return 0;
	}
	return -ENOENT;
}

/* The single patch of m equals want at offset off. */
static void check_patch(const struct mutation *m, uint32_t off,
			const uint8_t *want, uint32_t len, int *failed)
{
	CHECK_EQ(m->npatches, 1);
	CHECK_EQ(m->patch[0].off, off);
	CHECK_EQ(m->patch[0].len, len);
	CHECK(!memcmp(m->patch[0].new, want, len));
}

/* Decode the code with m applied at offset off. */
static void decode_after(const uint8_t *code, size_t len,
			 const struct mutation *m, size_t off, struct insn *out)
{
	uint8_t buf[256];
	struct decoder d;

	memcpy(buf, code, len);
	memset(out, 0, sizeof(*out));
	if (mutate_apply(buf, len, m) || decoder_open(&d))
		return;
	decode_one(&d, buf + off, len - off, BASE + off, out);
	decoder_close(&d);
}

TEST(mutate_names)
{
	for (int t = 0; t < FAULT_NTYPES; t++) {
		CHECK(fault_type_name(t) != NULL);
		CHECK_EQ(fault_type_parse(fault_type_name(t)), t);
	}
	CHECK_EQ(fault_type_parse("no-such-fault"), -EINVAL);
	CHECK(fault_type_name(FAULT_NTYPES) == NULL);
}

TEST(mutate_branch_invert)
{
	static const uint8_t code[] = {
		0x74, 0x05,				/* je +5 */
		0x0f, 0x84, 0x10, 0x00, 0x00, 0x00,	/* je rel32 */
		0x73, 0x02,				/* jae +2 */
		0xc3,
	};
	struct mutation m;

	CHECK_EQ(mutate_count(&(struct mutate_input){ .code = code, .len = sizeof(code),
			      .base = BASE }, FAULT_BRANCH_INVERT), 3);
	CHECK_EQ(pick_site(code, sizeof(code), FAULT_BRANCH_INVERT, 0, &m), 0);
	check_patch(&m, 0, (const uint8_t[]){ 0x75 }, 1, failed);
	CHECK_EQ(m.addr, BASE);
	CHECK(!strncmp(m.before, "je ", 3) && !strncmp(m.after, "jne ", 4));
	CHECK_EQ(pick_site(code, sizeof(code), FAULT_BRANCH_INVERT, 1, &m), 0);
	check_patch(&m, 3, (const uint8_t[]){ 0x85 }, 1, failed);
	CHECK_EQ(pick_site(code, sizeof(code), FAULT_BRANCH_INVERT, 2, &m), 0);
	check_patch(&m, 8, (const uint8_t[]){ 0x72 }, 1, failed);
}

/* Sites only where a workload ran (mutate_input.only): the other
 * candidates are no sites, every seed picks among the rest, and a list
 * out of order is refused. */
TEST(mutate_only_covered_sites)
{
	static const uint8_t code[] = {
		0x74, 0x05,				/* 0: je +5 */
		0x0f, 0x84, 0x10, 0x00, 0x00, 0x00,	/* 2: je rel32 */
		0x73, 0x02,				/* 8: jae +2 */
		0xc3,					/* 10: ret */
	};
	static const uint32_t ran[] = { 2, 10 }, bad[] = { 10, 2 };
	struct mutate_input in = input(code, sizeof(code));
	struct mutation m;

	in.only = ran;
	in.nonly = 2;
	CHECK_EQ(mutate_count(&in, FAULT_BRANCH_INVERT), 1);
	for (uint64_t seed = 0; seed < 20; seed++) {
		CHECK_EQ(mutate_pick(&in, FAULT_BRANCH_INVERT, seed, &m), 0);
		CHECK_EQ(m.addr, BASE + 2);
		CHECK_EQ(m.nsites, 1);
	}
	in.nonly = 1;		/* offset 2 only: the ret is no site anyway */
	CHECK_EQ(mutate_count(&in, FAULT_INSN_DELETE), 1);
	in.only = ran + 1;	/* the ret only: no branch to invert */
	CHECK_EQ(mutate_pick(&in, FAULT_BRANCH_INVERT, 1, &m), -ENOENT);
	in.only = bad;
	in.nonly = 2;
	CHECK_EQ(mutate_count(&in, FAULT_BRANCH_INVERT), -EINVAL);
	in.only = NULL;
	CHECK_EQ(mutate_count(&in, FAULT_BRANCH_INVERT), -EINVAL);
}

TEST(mutate_branch_delete)
{
	static const uint8_t code[] = {
		0x74, 0x05, 0x0f, 0x84, 0x10, 0x00, 0x00, 0x00, 0xeb, 0x00,
	};
	static const uint8_t nop6[] = { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 };
	struct mutation m;

	CHECK_EQ(pick_site(code, sizeof(code), FAULT_BRANCH_DELETE, 0, &m), 0);
	check_patch(&m, 0, (const uint8_t[]){ 0x66, 0x90 }, 2, failed);
	CHECK_EQ(pick_site(code, sizeof(code), FAULT_BRANCH_DELETE, 1, &m), 0);
	check_patch(&m, 2, nop6, 6, failed);
	CHECK_EQ(m.nsites, 2);			/* jmp is not conditional */
}

TEST(mutate_text_flip)
{
	static const uint8_t code[] = { 0x48, 0x89, 0xdf, 0x90, 0xcc };
	struct mutate_input in = input(code, sizeof(code));
	struct mutation m;

	for (uint64_t seed = 0; seed < 50; seed++) {
		uint8_t x;

		CHECK_EQ(mutate_pick(&in, FAULT_TEXT_FLIP, seed, &m), 0);
		CHECK_EQ(m.nsites, 1);		/* nop and int3 are padding */
		CHECK_EQ(m.npatches, 1);
		CHECK_EQ(m.patch[0].len, 1);
		CHECK(m.patch[0].off < 3);
		x = m.patch[0].old[0] ^ m.patch[0].new[0];
		CHECK(x && !(x & (x - 1)));
	}
}

TEST(mutate_insn_delete)
{
	static const uint8_t code[] = { 0x48, 0x89, 0xdf };
	struct mutation m;

	CHECK_EQ(pick_site(code, sizeof(code), FAULT_INSN_DELETE, 0, &m), 0);
	check_patch(&m, 0, (const uint8_t[]){ 0x0f, 0x1f, 0x00 }, 3, failed);
	CHECK(!strcmp(m.after, "nop dword ptr [rax]"));
}

TEST(mutate_init_delete)
{
	static const uint8_t code[] = {
		0x48, 0x89, 0xdf,				/* mov rdi, rbx */
		0xc7, 0x43, 0x08, 0x01, 0x00, 0x00, 0x00,	/* mov [rbx+8], 1 */
		0x31, 0xc0,					/* xor eax, eax */
		0x31, 0xd8,					/* xor eax, ebx */
		0xb8, 0x40, 0x00, 0x00, 0x00,			/* mov eax, 0x40 */
	};
	static const uint8_t nop7[] = { 0x0f, 0x1f, 0x80, 0, 0, 0, 0 };
	struct mutation m;

	CHECK_EQ(pick_site(code, sizeof(code), FAULT_INIT_DELETE, 0, &m), 0);
	CHECK_EQ(m.nsites, 3);
	check_patch(&m, 3, nop7, 7, failed);
	CHECK_EQ(pick_site(code, sizeof(code), FAULT_INIT_DELETE, 1, &m), 0);
	check_patch(&m, 10, (const uint8_t[]){ 0x66, 0x90 }, 2, failed);
	CHECK_EQ(pick_site(code, sizeof(code), FAULT_INIT_DELETE, 2, &m), 0);
	CHECK_EQ(m.patch[0].off, 14);
	CHECK_EQ(pick_site(code, 3, FAULT_INIT_DELETE, 0, &m), -ENOENT);
}

TEST(mutate_src_operand)
{
	static const uint8_t code[] = {
		0x48, 0x89, 0xdf,		/* mov rdi, rbx */
		0xb8, 0x40, 0x00, 0x00, 0x00,	/* mov eax, 0x40 */
	};
	struct mutate_input in = input(code, sizeof(code));
	int regs = 0, imms = 0;
	struct mutation m;
	struct insn d;

	for (uint64_t seed = 0; seed < 64; seed++) {
		CHECK_EQ(mutate_pick(&in, FAULT_SRC_OPERAND, seed, &m), 0);
		CHECK_EQ(m.nsites, 2);
		if (m.addr == BASE) {
			decode_after(code, sizeof(code), &m, 0, &d);
			CHECK_EQ(d.id, X86_INS_MOV);
			CHECK_EQ(d.op[0].reg, X86_REG_RDI);
			CHECK(d.op[1].reg != X86_REG_RBX);
			CHECK(reg_family(d.op[1].reg) >= 0);
			regs++;
		} else {
			int64_t x;

			decode_after(code, sizeof(code), &m, 3, &d);
			CHECK_EQ(d.op[0].reg, X86_REG_EAX);
			x = d.op[1].val ^ 0x40;
			CHECK(x && !(x & (x - 1)));
			imms++;
		}
	}
	CHECK(regs > 0 && imms > 0);
}

TEST(mutate_dst_operand)
{
	static const uint8_t code[] = { 0x48, 0x89, 0xdf, 0x5b };	/* pop rbx */
	struct mutate_input in = input(code, sizeof(code));
	struct mutation m;
	struct insn d;
	int seen[16] = { 0 };

	for (uint64_t seed = 0; seed < 200; seed++) {
		CHECK_EQ(mutate_pick(&in, FAULT_DST_OPERAND, seed, &m), 0);
		CHECK_EQ(m.nsites, 2);
		decode_after(code, sizeof(code), &m, m.addr - BASE, &d);
		if (m.addr == BASE) {
			CHECK_EQ(d.id, X86_INS_MOV);
			CHECK_EQ(d.op[1].reg, X86_REG_RBX);
			CHECK(d.op[0].reg != X86_REG_RDI);
			CHECK(reg_family(d.op[0].reg) >= 0);
			CHECK(reg_family(d.op[0].reg) != REG_RSP);
			seen[reg_family(d.op[0].reg) & 15]++;
		} else {
			CHECK_EQ(d.id, X86_INS_POP);
			CHECK(d.op[0].reg != X86_REG_RBX);
			CHECK(reg_family(d.op[0].reg) != REG_RSP);
		}
	}
	CHECK(seen[REG_RAX] && seen[REG_RSI] && !seen[REG_RSP]);
}

TEST(mutate_pointer)
{
	/* mov rax, [rbx+0x10] */
	static const uint8_t code[] = { 0x48, 0x8b, 0x43, 0x10 };
	struct mutate_input in = input(code, sizeof(code));
	int base = 0, disp = 0;
	struct mutation m;
	struct insn d;

	for (uint64_t seed = 0; seed < 64; seed++) {
		CHECK_EQ(mutate_pick(&in, FAULT_POINTER, seed, &m), 0);
		decode_after(code, sizeof(code), &m, 0, &d);
		CHECK_EQ(d.id, X86_INS_MOV);
		CHECK_EQ(d.op[0].reg, X86_REG_RAX);
		CHECK_EQ(d.len, 4);
		if (d.op[1].reg != X86_REG_RBX) {
			CHECK_EQ(d.op[1].val, 0x10);
			base++;
		} else {
			CHECK(d.op[1].val != 0x10);
			disp++;
		}
	}
	CHECK(base > 0 && disp > 0);
	CHECK_EQ(mutate_pick(&in, FAULT_POINTER, 0, &m), 0);
	/* No memory operand, no pointer. */
	CHECK_EQ(pick_site((const uint8_t[]){ 0x48, 0x89, 0xdf }, 3,
			   FAULT_POINTER, 0, &m), -ENOENT);
}

TEST(mutate_loop_rep)
{
	static const uint8_t code[] = {
		0xf3, 0xa4,			/* rep movsb */
		0xf3, 0x48, 0xab,		/* rep stosq */
		0x66, 0xf3, 0xab,		/* rep stosw */
		0xf3, 0x90,			/* pause: not a rep */
		0xf3, 0xc3,			/* rep ret: not a string op */
	};
	struct mutation m;
	struct insn d;

	CHECK_EQ(pick_site(code, sizeof(code), FAULT_LOOP, 0, &m), 0);
	CHECK_EQ(m.nsites, 3);
	check_patch(&m, 0, (const uint8_t[]){ 0x3e }, 1, failed);
	decode_after(code, sizeof(code), &m, 0, &d);
	CHECK_EQ(d.id, X86_INS_MOVSB);
	CHECK_EQ(d.len, 2);
	CHECK_EQ(d.prefix0, 0);
	CHECK_EQ(pick_site(code, sizeof(code), FAULT_LOOP, 1, &m), 0);
	check_patch(&m, 2, (const uint8_t[]){ 0x3e }, 1, failed);
	CHECK_EQ(pick_site(code, sizeof(code), FAULT_LOOP, 2, &m), 0);
	check_patch(&m, 6, (const uint8_t[]){ 0x3e }, 1, failed);
	decode_after(code, sizeof(code), &m, 5, &d);
	CHECK_EQ(d.id, X86_INS_STOSW);
	CHECK_EQ(d.prefix0, 0);
}

TEST(mutate_loop_bound)
{
	static const uint8_t code[] = {
		0x48, 0x83, 0xc3, 0x01,		/* 0: add rbx, 1 */
		0x48, 0x83, 0xfb, 0x10,		/* 4: cmp rbx, 0x10 */
		0x75, 0xf6,			/* 8: jne 0 (back edge) */
		0x83, 0xf8, 0x05,		/* a: cmp eax, 5 */
		0x74, 0x02,			/* d: je forward: not a loop */
		0xc3,
	};
	struct mutate_input in = input(code, sizeof(code));
	struct mutation m;
	struct insn d;

	for (uint64_t seed = 0; seed < 32; seed++) {
		int64_t x;

		CHECK_EQ(mutate_pick(&in, FAULT_LOOP, seed, &m), 0);
		CHECK_EQ(m.nsites, 1);
		CHECK_EQ(m.addr, BASE + 4);
		decode_after(code, sizeof(code), &m, 4, &d);
		CHECK_EQ(d.id, X86_INS_CMP);
		x = d.op[1].val ^ 0x10;
		CHECK(x > 0 && x < 0x80 && !(x & (x - 1)));
	}
}

TEST(mutate_off_by_one)
{
	static const uint8_t code[] = {
		0x7c, 0x05,				/* jl -> jle */
		0x72, 0x05,				/* jb -> jbe */
		0x0f, 0x8f, 0x00, 0x01, 0x00, 0x00,	/* jg -> jge */
		0x74, 0x05,				/* je: none */
		0x83, 0xf8, 0x0a,			/* cmp eax, 10 */
	};
	struct mutation m;
	struct insn d;

	CHECK_EQ(pick_site(code, sizeof(code), FAULT_OFF_BY_ONE, 0, &m), 0);
	CHECK_EQ(m.nsites, 4);
	check_patch(&m, 0, (const uint8_t[]){ 0x7e }, 1, failed);
	CHECK_EQ(pick_site(code, sizeof(code), FAULT_OFF_BY_ONE, 1, &m), 0);
	check_patch(&m, 2, (const uint8_t[]){ 0x76 }, 1, failed);
	CHECK_EQ(pick_site(code, sizeof(code), FAULT_OFF_BY_ONE, 2, &m), 0);
	check_patch(&m, 5, (const uint8_t[]){ 0x8d }, 1, failed);
	for (uint64_t seed = 0; seed < 32; seed++) {
		CHECK_EQ(pick_site(code, sizeof(code), FAULT_OFF_BY_ONE, 3,
				   &m), 0);
		decode_after(code, sizeof(code), &m, 12, &d);
		CHECK_EQ(d.id, X86_INS_CMP);
		CHECK(d.op[1].val == 9 || d.op[1].val == 11);
	}
}

TEST(mutate_interface)
{
	uint8_t code[32] = {
		0x48, 0x89, 0xdf,	/* 0: mov rdi, rbx (overwritten below) */
		0x48, 0x89, 0xc7,	/* 3: mov rdi, rax */
		0x31, 0xf6,		/* 6: xor esi, esi */
		0x48, 0x89, 0xd8,	/* 8: mov rax, rbx: not an argument */
	};
	struct mutation m;

	put_call(code, 11, 0xe8, PRINTK);
	code[16] = 0x48; code[17] = 0x89; code[18] = 0xda;  /* mov rdx, rbx */
	code[19] = 0xeb; code[20] = 0x00;		    /* jmp: no call */
	CHECK_EQ(pick_site(code, 21, FAULT_INTERFACE, 0, &m), 0);
	CHECK_EQ(m.nsites, 2);
	check_patch(&m, 3, (const uint8_t[]){ 0x0f, 0x1f, 0x00 }, 3, failed);
	CHECK_EQ(pick_site(code, 21, FAULT_INTERFACE, 1, &m), 0);
	check_patch(&m, 6, (const uint8_t[]){ 0x66, 0x90 }, 2, failed);
}

TEST(mutate_alloc)
{
	uint8_t code[16] = { 0x48, 0x89, 0xdf };
	struct mutation m;

	put_call(code, 3, 0xe8, KMALLOC);
	put_call(code, 8, 0xe9, KMALLOC);		/* tail call */
	CHECK_EQ(pick_site(code, 13, FAULT_ALLOC, 0, &m), 0);
	CHECK_EQ(m.nsites, 2);
	check_patch(&m, 3, (const uint8_t[]){ 0x31, 0xc0, 0x0f, 0x1f, 0x00 },
		    5, failed);
	CHECK(!strcmp(m.after, "xor eax, eax; nop dword ptr [rax]"));
	CHECK(strstr(m.what, "__kmalloc") != NULL);
	CHECK_EQ(pick_site(code, 13, FAULT_ALLOC, 1, &m), 0);
	check_patch(&m, 8, (const uint8_t[]){ 0x31, 0xc0, 0xc3, 0x66, 0x90 },
		    5, failed);
	/* A call to something else, or with no symbols, is no site. */
	put_call(code, 3, 0xe8, PRINTK);
	put_call(code, 8, 0xe8, KMALLOC + 1);
	CHECK_EQ(pick_site(code, 13, FAULT_ALLOC, 0, &m), -ENOENT);
	put_call(code, 3, 0xe8, KMALLOC);
	CHECK_EQ(mutate_pick(&(struct mutate_input){ .code = code, .len = 13, .base = BASE },
			     FAULT_ALLOC, 0, &m), -ENOENT);
}

TEST(mutate_leak)
{
	uint8_t code[16] = { 0x4c, 0x89, 0xe7 };		/* mov rdi, r12 */
	struct mutation m;

	put_call(code, 3, 0xe8, KFREE);
	put_call(code, 8, 0xe9, KFREE);
	CHECK_EQ(pick_site(code, 13, FAULT_LEAK, 0, &m), 0);
	check_patch(&m, 3, (const uint8_t[]){ 0x0f, 0x1f, 0x44, 0x00, 0x00 },
		    5, failed);
	CHECK_EQ(pick_site(code, 13, FAULT_LEAK, 1, &m), 0);
	check_patch(&m, 8, (const uint8_t[]){ 0xc3, 0x0f, 0x1f, 0x40, 0x00 },
		    5, failed);
}

TEST(mutate_premature_free)
{
	uint8_t code[32] = {
		0x48, 0xc7, 0x43, 0x08, 0, 0, 0, 0,	/* 0: mov qword [rbx+8], 0 */
		0x48, 0x89, 0xdf,			/* 8: mov rdi, rbx */
	};
	uint8_t want[16] = { 0x48, 0x89, 0xdf };
	struct mutation m;
	int32_t rel;

	put_call(code, 11, 0xe8, KFREE);
	code[16] = 0xc3;
	CHECK_EQ(pick_site(code, 17, FAULT_PREMATURE_FREE, 0, &m), 0);
	put_call(want, 3, 0xe8, KFREE);		/* now at offset 3 */
	memcpy(want + 8, code, 8);
	check_patch(&m, 0, want, 16, failed);
	memcpy(&rel, m.patch[0].new + 4, 4);
	CHECK_EQ(BASE + 8 + rel, KFREE);
	CHECK(strstr(m.after, "call") == m.after + strlen("mov rdi, rbx; "));

	/* A store reading rax (clobbered by the call) may not move after it. */
	code[2] = 0x40;					/* mov [rax+8], 0 */
	CHECK_EQ(pick_site(code, 17, FAULT_PREMATURE_FREE, 0, &m), -ENOENT);
	code[2] = 0x43;
	/* Nor may code that a branch enters in the middle of the range. */
	code[17] = 0xeb; code[18] = (uint8_t)(8 - 19);	/* jmp 8 */
	CHECK_EQ(pick_site(code, 19, FAULT_PREMATURE_FREE, 0, &m), -ENOENT);
}

TEST(mutate_copy_overrun)
{
	uint8_t code[32] = {
		0xba, 0x40, 0x00, 0x00, 0x00,	/* 0: mov edx, 0x40 */
		0x48, 0x89, 0xde,		/* 5: mov rsi, rbx */
		0x4c, 0x89, 0xe7,		/* 8: mov rdi, r12 */
	};
	struct mutation m;
	struct insn d;
	int seen = 0;

	put_call(code, 11, 0xe8, MEMCPY);
	memcpy(code + 16, (const uint8_t[]){ 0xb9, 0x08, 0, 0, 0,	/* mov ecx, 8 */
					     0xf3, 0x48, 0xa5 }, 8);	/* rep movsq */
	for (uint64_t seed = 0; seed < 64; seed++) {
		struct mutate_input in = input(code, 24);

		CHECK_EQ(mutate_pick(&in, FAULT_COPY_OVERRUN, seed, &m), 0);
		CHECK_EQ(m.nsites, 2);
		if (m.addr == BASE + 11) {
			decode_after(code, 24, &m, 0, &d);
			CHECK_EQ(d.op[0].reg, X86_REG_EDX);
			CHECK(d.op[1].val == 0x41 || d.op[1].val == 0x48 ||
			      d.op[1].val == 0x80);
			seen |= d.op[1].val == 0x41 ? 1 :
				d.op[1].val == 0x48 ? 2 : 4;
		} else {
			CHECK_EQ(m.addr, BASE + 21);
			decode_after(code, 24, &m, 16, &d);
			CHECK_EQ(d.op[0].reg, X86_REG_ECX);
			CHECK(d.op[1].val == 9 || d.op[1].val == 16);
			seen |= 8;
		}
	}
	CHECK_EQ(seen, 15);
}

TEST(mutate_sync)
{
	uint8_t code[24];
	struct mutation m;

	put_call(code, 0, 0xe8, LOCK_IRQSAVE);
	put_call(code, 5, 0xe8, MUTEX_LOCK);
	put_call(code, 10, 0xe8, TRYLOCK);
	put_call(code, 15, 0xe9, SPIN_UNLOCK);
	CHECK_EQ(pick_site(code, 20, FAULT_SYNC, 0, &m), 0);
	CHECK_EQ(m.nsites, 4);
	check_patch(&m, 0, (const uint8_t[]){ 0x9c, 0x58, 0x0f, 0x1f, 0x00 },
		    5, failed);
	CHECK_EQ(pick_site(code, 20, FAULT_SYNC, 1, &m), 0);
	check_patch(&m, 5, (const uint8_t[]){ 0x31, 0xc0, 0x0f, 0x1f, 0x00 },
		    5, failed);
	CHECK_EQ(pick_site(code, 20, FAULT_SYNC, 2, &m), 0);
	check_patch(&m, 10, (const uint8_t[]){ 0x31, 0xc0, 0xff, 0xc0, 0x90 },
		    5, failed);
	CHECK_EQ(pick_site(code, 20, FAULT_SYNC, 3, &m), 0);
	check_patch(&m, 15, (const uint8_t[]){ 0x31, 0xc0, 0xc3, 0x66, 0x90 },
		    5, failed);
}

TEST(mutate_stack)
{
	static const uint8_t code[] = {
		0x48, 0x83, 0xec, 0x20,		/* 0: sub rsp, 0x20 */
		0x48, 0x89, 0x44, 0x24, 0x08,	/* 4: mov [rsp+8], rax */
		0x48, 0x89, 0x45, 0xf8,		/* 9: mov [rbp-8], rax */
		0x48, 0x8b, 0x44, 0x24, 0x08,	/* d: mov rax, [rsp+8]: a load */
	};
	struct mutation m;
	struct insn d;

	for (uint64_t seed = 0; seed < 16; seed++) {
		CHECK_EQ(pick_site(code, sizeof(code), FAULT_STACK, 0, &m), 0);
		CHECK_EQ(m.nsites, 3);
		decode_after(code, sizeof(code), &m, 0, &d);
		CHECK(d.op[1].val == 0x18 || d.op[1].val == 0x28);
		CHECK_EQ(pick_site(code, sizeof(code), FAULT_STACK, 1, &m), 0);
		decode_after(code, sizeof(code), &m, 4, &d);
		CHECK(d.op[0].val == 0 || d.op[0].val == 16);
		CHECK_EQ(d.op[0].reg, X86_REG_RSP);
		CHECK_EQ(pick_site(code, sizeof(code), FAULT_STACK, 2, &m), 0);
		decode_after(code, sizeof(code), &m, 9, &d);
		CHECK(d.op[0].val == 0 || d.op[0].val == -16);
	}
}

/* Every snippet above in one buffer: a small "driver". */
static size_t driver(uint8_t *code)
{
	static const uint8_t head[] = {
		0x55, 0x48, 0x89, 0xe5, 0x53,		/* push rbp; mov rbp, rsp; push rbx */
		0x48, 0x83, 0xec, 0x20,			/* sub rsp, 0x20 */
		0x48, 0x89, 0xfb,			/* mov rbx, rdi */
		0xbf, 0x40, 0x00, 0x00, 0x00,		/* mov edi, 0x40 */
	};
	static const uint8_t mid[] = {
		0x48, 0x85, 0xc0, 0x74, 0x10,		/* test rax, rax; je */
		0x48, 0x89, 0x45, 0xf0,			/* mov [rbp-0x10], rax */
		0x48, 0x83, 0xc3, 0x01,			/* add rbx, 1 */
		0x48, 0x83, 0xfb, 0x10, 0x7c, 0xf6,	/* cmp rbx, 16; jl back */
		0xb9, 0x08, 0, 0, 0, 0xf3, 0x48, 0xab,	/* mov ecx, 8; rep stosq */
		0xc7, 0x43, 0x08, 0x01, 0, 0, 0,	/* mov dword [rbx+8], 1 */
		0xba, 0x40, 0, 0, 0, 0x48, 0x89, 0xde,	/* mov edx, 64; mov rsi, rbx */
	};
	size_t n = 0;

	memcpy(code, head, sizeof(head));
	n = sizeof(head);
	put_call(code, n, 0xe8, KMALLOC);
	n += 5;
	memcpy(code + n, mid, sizeof(mid));
	n += sizeof(mid);
	put_call(code, n, 0xe8, MEMCPY);
	n += 5;
	put_call(code, n, 0xe8, LOCK_IRQSAVE);
	n += 5;
	memcpy(code + n, (const uint8_t[]){ 0x48, 0xc7, 0x43, 0x08, 0, 0, 0, 0,
					    0x48, 0x89, 0xdf }, 11);
	n += 11;
	put_call(code, n, 0xe8, KFREE);
	n += 5;
	memcpy(code + n, (const uint8_t[]){ 0x48, 0x83, 0xc4, 0x20, 0x5b, 0x5d,
					    0xc3, 0xcc, 0xcc }, 9);
	return n + 9;
}

TEST(mutate_every_type_has_a_site)
{
	uint8_t code[256];
	struct mutate_input in = input(code, driver(code));

	for (int t = 0; t < FAULT_NTYPES; t++) {
		long n = mutate_count(&in, t);

		if (n <= 0)
			fprintf(stderr, "  no site for %s\n",
				fault_type_name(t));
		CHECK(n > 0);
	}
}

TEST(mutate_determinism)
{
	uint8_t code[256];
	struct mutate_input in = input(code, driver(code));

	for (int t = 0; t < FAULT_NTYPES; t++) {
		struct mutation a, b;
		long n = mutate_count(&in, t);
		uint64_t hit = 0;

		for (uint64_t seed = 0; seed < 300; seed++) {
			CHECK_EQ(mutate_pick(&in, t, seed, &a), 0);
			CHECK_EQ(mutate_pick(&in, t, seed, &b), 0);
			CHECK(!memcmp(&a, &b, sizeof(a)));
			CHECK_EQ(a.nsites, n);
			if (a.site < 64)
				hit |= 1ull << a.site;
		}
		/* 300 seeds reach every candidate (up to 64 checked). */
		CHECK_EQ(hit, n >= 64 ? ~0ull : (1ull << n) - 1);
	}
}

TEST(mutate_apply_revert)
{
	uint8_t code[256], orig[256];
	size_t len = driver(code);
	struct mutate_input in = input(orig, len);
	struct mutation m;

	memcpy(orig, code, len);
	for (int t = 0; t < FAULT_NTYPES; t++) {
		CHECK_EQ(mutate_pick(&in, t, 7, &m), 0);
		CHECK_EQ(mutate_apply(code, len, &m), 0);
		CHECK(memcmp(code, orig, len) != 0);
		CHECK_EQ(mutate_apply(code, len, &m), -ESTALE);
		CHECK_EQ(mutate_revert(code, len, &m), 0);
		CHECK(!memcmp(code, orig, len));
		CHECK_EQ(mutate_revert(code, len, &m), -ESTALE);
		CHECK_EQ(mutate_apply(code, m.patch[0].off, &m), -EINVAL);
	}
}

TEST(mutate_no_site)
{
	static const uint8_t pad[] = { 0x90, 0xcc, 0x66, 0x90, 0x0f, 0x1f, 0x00 };
	struct mutate_input in = input(pad, sizeof(pad));
	struct mutate_input empty = input(NULL, 0);
	struct mutation m;

	for (int t = 0; t < FAULT_NTYPES; t++) {
		CHECK_EQ(mutate_pick(&in, t, 1, &m), -ENOENT);
		CHECK_EQ(mutate_pick(&empty, t, 1, &m), -ENOENT);
		CHECK_EQ(mutate_count(&empty, t), 0);
	}
	CHECK_EQ(mutate_pick(&in, FAULT_NTYPES, 1, &m), -EINVAL);
}

TEST(mutate_bad_symbols)
{
	static const struct mutate_symbol unsorted[] = {
		{ KFREE, "kfree" }, { KMALLOC, "__kmalloc" },
	};
	uint8_t code[8] = { 0 };
	struct mutate_input in = input(code, 5);
	struct mutation m;

	put_call(code, 0, 0xe8, KFREE);
	in.syms = unsorted;
	in.nsyms = 2;
	CHECK_EQ(mutate_pick(&in, FAULT_LEAK, 0, &m), -EINVAL);
	in.syms = NULL;
	CHECK_EQ(mutate_pick(&in, FAULT_LEAK, 0, &m), -EINVAL);
}

TEST(mutate_truncated)
{
	/* A near jcc and a call cut short: no branch or call site left
	 * (the sweep resumes inside them and finds other instructions). */
	static const uint8_t jcc[] = { 0x0f, 0x84, 0x10, 0x00 };
	static const uint8_t call[] = { 0xe8, 0x00, 0x12, 0x20 };
	static const int branchy[] = { FAULT_BRANCH_DELETE, FAULT_BRANCH_INVERT,
				       FAULT_ALLOC, FAULT_LEAK, FAULT_SYNC,
				       FAULT_PREMATURE_FREE, FAULT_INTERFACE };
	struct mutation m;

	for (size_t k = 0; k < sizeof(branchy) / sizeof(branchy[0]); k++) {
		CHECK_EQ(pick_site(jcc, sizeof(jcc), branchy[k], 0, &m),
			 -ENOENT);
		CHECK_EQ(pick_site(call, sizeof(call), branchy[k], 0, &m),
			 -ENOENT);
	}
	for (int t = 0; t < FAULT_NTYPES; t++)
		for (size_t len = 0; len < sizeof(jcc); len++) {
			int err = pick_site(jcc, len, t, 0, &m);

			CHECK(err == 0 || err == -ENOENT);
		}
}

/* Found by tests/fuzz/fuzz_mutate.c: Capstone calls the 1-byte port
 * number of `in eax, 0x40` (e5 40) a 4-byte immediate, and a flip of its
 * "bit 16" landed past the instruction: a fault that changed nothing.
 * Every flip must now change the immediate byte itself. */
TEST(mutate_immediate_inside_the_instruction)
{
	static const uint8_t code[] = { 0xe5, 0x40, 0xc3 };
	struct mutate_input in = input(code, sizeof(code));
	struct mutation m;

	for (uint64_t seed = 0; seed < 64; seed++) {
		CHECK_EQ(mutate_pick(&in, FAULT_SRC_OPERAND, seed, &m), 0);
		CHECK_EQ(m.patch[0].off, 0);
		CHECK_EQ(m.patch[0].new[0], 0xe5);
		CHECK(m.patch[0].new[1] != 0x40);
	}
}

/* Found by tests/fuzz/fuzz_mutate.c in a 10-minute run: describing a
 * patch more than 288 bytes into the code computed buf + off before
 * taking start off, a pointer past the buffer.  gcc's UBSan (the unit
 * run) does not see that; clang's does, and the fuzz target's seed "far"
 * replays this case every run.  Here: the description is still right. */
TEST(mutate_site_far_into_the_code)
{
	static uint8_t code[402];
	struct mutation m;

	memset(code, 0x90, 400);
	code[400] = 0x74;	/* je +5 */
	code[401] = 0x05;
	CHECK_EQ(pick_site(code, sizeof(code), FAULT_BRANCH_INVERT, 0, &m), 0);
	CHECK_EQ(m.patch[0].off, 400);
	CHECK(!strncmp(m.before, "je ", 3) && !strncmp(m.after, "jne ", 4));
}

TEST(mutate_random_bytes)
{
	uint64_t x = 0x2545f4914f6cdd1dull;

	for (int round = 0; round < 150; round++) {
		uint8_t code[192], orig[192];
		size_t len;

		for (size_t k = 0; k < sizeof(code); k++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			code[k] = (uint8_t)x;
		}
		len = x % sizeof(code);
		memcpy(orig, code, sizeof(code));
		for (int t = 0; t < FAULT_NTYPES; t++) {
			struct mutate_input in = input(orig, len);
			struct mutation m;
			int err = mutate_pick(&in, t, x, &m);

			CHECK(err == 0 || err == -ENOENT);
			if (err)
				continue;
			CHECK(m.patch[0].off + m.patch[0].len <= len);
			CHECK_EQ(mutate_apply(code, len, &m), 0);
			/* Only a bit flip may leave undecodable bytes. */
			if (t != FAULT_TEXT_FLIP && strstr(m.after, "(bad)")) {
				fprintf(stderr, "  %s: %s -> %s\n",
					fault_type_name(t), m.before, m.after);
				CHECK(0);
			}
			CHECK_EQ(mutate_revert(code, len, &m), 0);
			CHECK(!memcmp(code, orig, len));
		}
	}
}
