/* jsonr.h - a small JSON reader for the campaign: it reads back the run
 * reports `chariot run --json` writes and the campaign's own results.jsonl
 * (src/vmm/json.c only writes). The whole document is parsed into one
 * array of nodes; strings are decoded in a private copy of the text. */
#ifndef CHARIOT_CAMPAIGN_JSONR_H
#define CHARIOT_CAMPAIGN_JSONR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jnode {
	enum jtype type;
	const char *key;	/* member name inside an object, else NULL */
	const char *str;	/* J_STR: decoded, NUL-terminated; J_NUM: its text */
	double num;		/* J_NUM; J_BOOL: 0 or 1 */
	int first;		/* J_ARR/J_OBJ: index of the first child, or -1 */
	int next;		/* index of the next sibling, or -1 */
};

struct jdoc {
	struct jnode *nodes;	/* nodes[0] is the root */
	int n, cap;
	char *buf;		/* the text's copy that strings point into */
};

/* Parse len bytes of text. Returns 0, -EINVAL for text that is not one
 * whole JSON value (trailing white space allowed), -ENOMEM. */
int jsonr_parse(const char *text, size_t len, struct jdoc *doc);
void jsonr_free(struct jdoc *doc);

static inline const struct jnode *jsonr_root(const struct jdoc *d)
{
	return d->n ? &d->nodes[0] : NULL;
}

/* The member key of object obj (NULL if obj is not an object or lacks it). */
const struct jnode *jsonr_get(const struct jdoc *d, const struct jnode *obj,
			      const char *key);
/* Children of an array or object: first, then next until NULL. */
const struct jnode *jsonr_first(const struct jdoc *d, const struct jnode *n);
const struct jnode *jsonr_next(const struct jdoc *d, const struct jnode *n);

/* Typed looks: the value, or def when absent or of another type. */
const char *jsonr_str(const struct jnode *n, const char *def);
/* A finite number; a number too large for a double (1e999) is def. */
double jsonr_num(const struct jnode *n, double def);
/* A number in [lo, hi], its fraction dropped; def when absent, of another
 * type or out of range (a damaged file must not make the cast undefined). */
long long jsonr_int(const struct jnode *n, long long lo, long long hi,
		    long long def);
/* 1 true, 0 false, def otherwise (null, absent, other types). */
int jsonr_bool(const struct jnode *n, int def);
/* A number, or a string "0x..."/decimal as the reports write addresses. */
uint64_t jsonr_u64(const struct jnode *n, uint64_t def);

#endif
