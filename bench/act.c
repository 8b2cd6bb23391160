/* bench/act.c - cost of the authorization table at driver scale: insert N
 * disjoint grants in random order, run 10 N random lookups (hits and
 * misses, an 8-byte write each), remove every grant in another random
 * order; prints ns per operation and the tree height.
 *
 *   build/bench-act [N]        (N defaults to 100000)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "iso/act.h"

#define STRIDE	0x2000ull	/* one grant every 8 KiB: misses in between */
#define BASE	0x100000000ull

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void shuffle(uint32_t *v, uint32_t n, uint64_t *s)
{
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(next_rand(s) % (i + 1)), t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

static uint64_t grant_len(uint32_t i)
{
	return 64 + (i * 2654435761u) % (STRIDE / 2);
}

static int run(struct act *act, uint32_t *order, uint32_t n, uint64_t *seed)
{
	uint64_t lookups = 10ull * n, hits = 0;
	double t0, t1, t2, t3;
	int height;

	shuffle(order, n, seed);
	t0 = now_ns();
	for (uint32_t i = 0; i < n; i++)
		if (act_insert(act, BASE + order[i] * STRIDE,
			       grant_len(order[i]), CHARIOT_GRANT_KMALLOC,
			       0xffff888000000000ull + order[i]))
			return -EIO;
	t1 = now_ns();
	height = act_height(act);
	for (uint64_t i = 0; i < lookups; i++) {
		uint64_t gpa = BASE + next_rand(seed) % (n * STRIDE);

		hits += act_coverage(act, gpa, 8) == ACT_FULL;
	}
	t2 = now_ns();
	shuffle(order, n, seed);
	for (uint32_t i = 0; i < n; i++)
		if (act_remove(act, BASE + order[i] * STRIDE,
			       grant_len(order[i])))
			return -EIO;
	t3 = now_ns();
	printf("entries %u, height %d, lookups %llu (%.0f%% hits)\n", n,
	       height, (unsigned long long)lookups, 100.0 * hits / lookups);
	printf("insert %.1f ns/op\nlookup %.1f ns/op\nremove %.1f ns/op\n",
	       (t1 - t0) / n, (t2 - t1) / lookups, (t3 - t2) / n);
	return act_count(act) ? -EIO : 0;
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 100000;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	uint32_t *order;
	struct act act;
	int err;

	if (n < 2 || n > (1u << 24)) {
		fprintf(stderr, "usage: bench-act [N], 2 <= N <= 16777216\n");
		return 2;
	}
	order = malloc(n * sizeof(*order));
	if (!order || act_init(&act, n)) {
		fprintf(stderr, "bench-act: out of memory\n");
		return 1;
	}
	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	err = run(&act, order, n, &seed);
	if (err)
		fprintf(stderr, "bench-act: table operation failed\n");
	act_destroy(&act);
	free(order);
	return err ? 1 : 0;
}
