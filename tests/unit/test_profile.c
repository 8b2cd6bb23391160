/* Unit tests for the RIP profile: counting, the top list's order against
 * a reference, a full table counting what it cannot keep. */
#include <stdint.h>
#include <stdlib.h>

#include "iso/profile.h"
#include "test.h"

TEST(profile_counts_and_orders)
{
	static struct profile p;
	struct profile_ent top[PROFILE_TOP];

	memset(&p, 0, sizeof(p));
	CHECK_EQ(profile_top(&p, top, PROFILE_TOP), 0);
	for (int i = 0; i < 5; i++)
		profile_add(&p, 0xffffffffc0001000ull);
	for (int i = 0; i < 9; i++)
		profile_add(&p, 0xffffffffc0001008ull);
	profile_add(&p, 0xffffffff81000000ull);
	profile_add(&p, 0xffffffff80ffffffull);
	CHECK_EQ(profile_top(&p, top, PROFILE_TOP), 4);
	CHECK_EQ(top[0].rip, 0xffffffffc0001008ull);
	CHECK_EQ(top[0].count, 9);
	CHECK_EQ(top[1].rip, 0xffffffffc0001000ull);
	CHECK_EQ(top[1].count, 5);
	/* A tie: the lower RIP first. */
	CHECK_EQ(top[2].rip, 0xffffffff80ffffffull);
	CHECK_EQ(top[3].rip, 0xffffffff81000000ull);
	CHECK_EQ(profile_top(&p, top, 1), 1);
	CHECK_EQ(top[0].count, 9);
	CHECK_EQ(p.missed, 0);
	profile_add(&p, 0);		/* cannot be kept: 0 marks free */
	CHECK_EQ(p.missed, 1);
}

/* Random counts over many RIPs: the top list equals a sort of the truth. */
TEST(profile_top_matches_reference)
{
	static struct profile p;
	enum { N = 300 };
	static uint64_t rip[N], count[N];
	struct profile_ent top[PROFILE_TOP];

	memset(&p, 0, sizeof(p));
	srand(7);
	for (int i = 0; i < N; i++) {
		rip[i] = 0xffffffffc0000000ull + (uint64_t)i * 3;
		count[i] = 0;
	}
	for (int k = 0; k < 20000; k++) {
		int i = rand() % N;

		/* Skewed: low indexes far more often. */
		if (rand() % 2)
			i /= 10;
		profile_add(&p, rip[i]);
		count[i]++;
	}
	CHECK_EQ(p.missed, 0);
	CHECK_EQ(profile_top(&p, top, PROFILE_TOP), PROFILE_TOP);
	for (int k = 0; k < PROFILE_TOP; k++) {
		/* The reference: the k-th busiest by (count desc, rip asc). */
		int best = -1;

		for (int i = 0; i < N; i++) {
			int taken = 0;

			for (int j = 0; j < k; j++)
				taken |= top[j].rip == rip[i];
			if (taken)
				continue;
			if (best < 0 || count[i] > count[best] ||
			    (count[i] == count[best] && rip[i] < rip[best]))
				best = i;
		}
		CHECK_EQ(top[k].rip, rip[best]);
		CHECK_EQ(top[k].count, count[best]);
	}
}

TEST(profile_full_table_counts_missed)
{
	static struct profile p;
	uint64_t kept = 0;
	struct profile_ent top[PROFILE_TOP];

	memset(&p, 0, sizeof(p));
	for (uint64_t i = 1; i <= 2 * PROFILE_SLOTS; i++)
		profile_add(&p, i << 4);
	CHECK_EQ(p.used, PROFILE_SLOTS / 4 * 3);
	CHECK_EQ(p.missed, 2 * PROFILE_SLOTS - PROFILE_SLOTS / 4 * 3);
	/* RIPs already kept still count. */
	for (unsigned int i = 0; i < PROFILE_SLOTS; i++)
		if (p.ent[i].rip)
			kept = p.ent[i].rip;
	profile_add(&p, kept);
	profile_add(&p, kept);
	CHECK_EQ(profile_top(&p, top, 1), 1);
	CHECK_EQ(top[0].rip, kept);
	CHECK_EQ(top[0].count, 3);
}
