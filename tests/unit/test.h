/* test.h - a minimal unit-test harness: TEST(name) registers a case, the
 * CHECK macros record failures and go on, tests/unit/main.c runs them all
 * and prints "N passed, N failed". */
#ifndef CHARIOT_TEST_H
#define CHARIOT_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct test_case {
	const char *name;
	void (*fn)(int *failed);
};

void test_register(const char *name, void (*fn)(int *failed));

#define TEST(name)							\
	static void test_##name(int *failed);				\
	__attribute__((constructor)) static void reg_##name(void)	\
	{ test_register(#name, test_##name); }				\
	static void test_##name(int *failed)

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "  %s:%d: CHECK(%s) failed\n",		\
			__FILE__, __LINE__, #cond);			\
		*failed = 1;						\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b) {							\
		fprintf(stderr, "  %s:%d: %s == %lld, expected %s == %lld\n", \
			__FILE__, __LINE__, #a, _a, #b, _b);		\
		*failed = 1;						\
	}								\
} while (0)

/* The randomized tests' generator (xorshift64): *state must not be 0. */
static inline uint64_t test_rnd(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

#endif
