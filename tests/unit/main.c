/* main.c - runs every registered unit test (optionally only those whose
 * name contains argv[1]) and ends with "N passed, N failed". */
#include <stdlib.h>

#include "test.h"

#define MAX_TESTS 512

static struct test_case cases[MAX_TESTS];
static int ncases;

void test_register(const char *name, void (*fn)(int *failed))
{
	if (ncases == MAX_TESTS) {
		fprintf(stderr, "too many tests\n");
		exit(2);
	}
	cases[ncases].name = name;
	cases[ncases].fn = fn;
	ncases++;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	for (int i = 0; i < ncases; i++) {
		int f = 0;

		if (argc > 1 && !strstr(cases[i].name, argv[1]))
			continue;
		cases[i].fn(&f);
		printf("%s: %s\n", f ? "FAIL" : "PASS", cases[i].name);
		if (f)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
