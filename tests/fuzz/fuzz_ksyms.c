/* fuzz_ksyms.c - the kernel's symbol sources against damaged files
 * (libFuzzer).  A campaign reads the functions a driver may call from the
 * `--kernel` image's export tables and from a System.map, both files a
 * user hands over.  The input's first byte picks the parser (even: the
 * image, odd: the map); the rest is the file.  Besides the sanitizers:
 *  - the parser returns a count or -ENOEXEC/-ENOENT (the image only),
 *    never more symbols than it added;
 *  - finished, the table is sorted by address, every name is a non-empty
 *    string in the table's own storage, and each address looks up to a
 *    symbol of that address. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject/ksyms.h"

#define FAIL(...)	do { fprintf(stderr, __VA_ARGS__); abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ksyms k = { 0 };
	bool image;
	uint8_t *file;
	size_t len;
	long r;

	if (size < 1)
		return 0;
	image = !(data[0] & 1);
	len = size - 1;
	/* A copy of exactly the file: a read past it is a heap overflow. */
	file = malloc(len ? len : 1);
	if (!file)
		abort();
	memcpy(file, data + 1, len);
	r = image ? ksyms_parse_vmlinux(&k, file, len) :
		    ksyms_parse_system_map(&k, (const char *)file, len);
	if (r < 0 && !(image && (r == -ENOEXEC || r == -ENOENT)))
		FAIL("parse: %ld\n", r);
	if (r >= 0 && (size_t)r != k.n)
		FAIL("said %ld symbols, added %zu\n", r, k.n);
	ksyms_finish(&k);
	for (size_t i = 0; i < k.n; i++) {
		const char *n = k.sym[i].name;
		const char *found = ksyms_name(&k, k.sym[i].addr);

		if (i && k.sym[i - 1].addr > k.sym[i].addr)
			FAIL("not sorted at %zu\n", i);
		if (n < k.names || n >= k.names + k.names_len || !*n ||
		    !memchr(n, '\0', k.names + k.names_len - n))
			FAIL("symbol %zu's name is not in the table\n", i);
		if (!found)
			FAIL("0x%llx does not look up\n",
			     (unsigned long long)k.sym[i].addr);
	}
	ksyms_free(&k);
	free(file);
	return 0;
}
