/* cmdcpio.c - a newc cpio archive holding chariot/ and chariot/cmd.
 * Format: "070701", thirteen 8-digit hex fields, the NUL-terminated name,
 * padding to 4 bytes, the data, padding to 4 bytes; "TRAILER!!!" ends it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cmdcpio.h"

#define NEWC_HDR_LEN	110
#define MODE_DIR	0040755
#define MODE_EXEC	0100755

struct buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

static int buf_put(struct buf *b, const void *data, size_t n)
{
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *p;

		while (cap - b->len < n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

static int buf_pad4(struct buf *b)
{
	static const uint8_t zero[4];

	return buf_put(b, zero, -b->len & 3);
}

static int put_entry(struct buf *b, unsigned int ino, const char *name,
		     unsigned int mode, const void *data, size_t size)
{
	char hdr[NEWC_HDR_LEN + 1];
	size_t namesize = strlen(name) + 1;
	int err;

	if (size > 0xffffffffu)
		return -EINVAL;
	snprintf(hdr, sizeof(hdr),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ino, mode, 0, 0, (mode & 0040000) ? 2 : 1, 0,
		 (unsigned int)size, 0, 0, 0, 0, (unsigned int)namesize, 0);
	err = buf_put(b, hdr, NEWC_HDR_LEN);
	if (!err)
		err = buf_put(b, name, namesize);
	if (!err)
		err = buf_pad4(b);
	if (!err && size)
		err = buf_put(b, data, size);
	if (!err)
		err = buf_pad4(b);
	return err;
}

/* 'word' with every ' written as '\'' (close, escaped quote, reopen). */
static int put_quoted(struct buf *b, const char *word)
{
	int err = buf_put(b, "'", 1);

	for (const char *s = word; !err && *s; s++)
		err = *s == '\'' ? buf_put(b, "'\\''", 4) : buf_put(b, s, 1);
	if (!err)
		err = buf_put(b, "'", 1);
	return err;
}

char *cmdcpio_script(int argc, char *const argv[])
{
	static const char head[] = "#!/bin/sh\n";
	struct buf b = { 0 };
	int err;

	if (argc < 1 || !argv)
		return NULL;
	err = buf_put(&b, head, sizeof(head) - 1);
	for (int i = 0; !err && i < argc; i++) {
		err = put_quoted(&b, argv[i] ? argv[i] : "");
		if (!err)
			err = buf_put(&b, i + 1 < argc ? " " : "\n", 1);
	}
	if (!err)
		err = buf_put(&b, "", 1);
	if (err) {
		free(b.p);
		return NULL;
	}
	return (char *)b.p;
}

int cmdcpio_build(int argc, char *const argv[], uint8_t **out, size_t *len)
{
	struct buf b = { 0 };
	char *script;
	int err;

	if (argc < 1 || !argv)
		return -EINVAL;
	script = cmdcpio_script(argc, argv);
	if (!script)
		return -ENOMEM;
	err = put_entry(&b, 1, "chariot", MODE_DIR, NULL, 0);
	if (!err)
		err = put_entry(&b, 2, "chariot/cmd", MODE_EXEC, script,
				strlen(script));
	if (!err)
		err = put_entry(&b, 3, "TRAILER!!!", 0, NULL, 0);
	free(script);
	if (err) {
		free(b.p);
		return err;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
