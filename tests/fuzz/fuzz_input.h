/* fuzz_input.h - reading a fuzz target's input as a stream of fields:
 * each take fails, taking nothing, once the input runs short (the step
 * being read is then not run). */
#ifndef CHARIOT_FUZZ_INPUT_H
#define CHARIOT_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fz_in {
	const uint8_t *p;
	size_t n;
};

static inline bool take(struct fz_in *in, void *out, size_t len)
{
	if (in->n < len)
		return false;
	memcpy(out, in->p, len);
	in->p += len;
	in->n -= len;
	return true;
}

static inline bool take8(struct fz_in *in, uint8_t *v)
{
	return take(in, v, 1);
}

static inline bool take16(struct fz_in *in, uint16_t *v)
{
	return take(in, v, 2);
}

#endif
