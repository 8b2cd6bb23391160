/* jsonr.c - recursive-descent JSON reader (RFC 8259), nodes in one array. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "campaign/jsonr.h"

#define MAX_DEPTH	64	/* reports nest 3 deep; bounds the recursion */

struct parser {
	struct jdoc *d;
	char *p, *end;
	int depth;
};

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
				   *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int new_node(struct parser *ps, enum jtype t)
{
	struct jdoc *d = ps->d;

	if (d->n == d->cap) {
		int cap = d->cap ? d->cap * 2 : 32;
		struct jnode *nn = realloc(d->nodes, (size_t)cap * sizeof(*nn));

		if (!nn)
			return -ENOMEM;
		d->nodes = nn;
		d->cap = cap;
	}
	memset(&d->nodes[d->n], 0, sizeof(d->nodes[0]));
	d->nodes[d->n].type = t;
	d->nodes[d->n].first = -1;
	d->nodes[d->n].next = -1;
	return d->n++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* \uXXXX as UTF-8 at *out; surrogate pairs are not joined (the reports
 * never write them), each half becomes '?'. */
static int put_unicode(struct parser *ps, char **out)
{
	unsigned v = 0;

	if (ps->end - ps->p < 4)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		int h = hexval(*ps->p++);

		if (h < 0)
			return -EINVAL;
		v = v << 4 | (unsigned)h;
	}
	if (v >= 0xd800 && v < 0xe000)
		v = '?';
	/* at most 3 bytes for 6 bytes of input: fits in place */
	if (v < 0x80) {
		*(*out)++ = (char)v;
	} else if (v < 0x800) {
		*(*out)++ = (char)(0xc0 | v >> 6);
		*(*out)++ = (char)(0x80 | (v & 0x3f));
	} else {
		*(*out)++ = (char)(0xe0 | v >> 12);
		*(*out)++ = (char)(0x80 | ((v >> 6) & 0x3f));
		*(*out)++ = (char)(0x80 | (v & 0x3f));
	}
	return 0;
}

static int escape(struct parser *ps, char **out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *k;

	if (ps->p >= ps->end)
		return -EINVAL;
	if (*ps->p == 'u') {
		ps->p++;
		return put_unicode(ps, out);
	}
	k = strchr(from, *ps->p);
	if (!k || !*ps->p)
		return -EINVAL;
	*(*out)++ = to[k - from];
	ps->p++;
	return 0;
}

/* A string at ps->p (past its opening quote), decoded in place: the
 * decoded form is never longer, so the NUL lands at or before the closing
 * quote. */
static int parse_string(struct parser *ps, const char **res)
{
	char *out = ps->p;

	*res = out;
	while (ps->p < ps->end && *ps->p != '"') {
		unsigned char c = (unsigned char)*ps->p;

		if (c < 0x20)
			return -EINVAL;
		if (c == '\\') {
			ps->p++;
			if (escape(ps, &out))
				return -EINVAL;
			continue;
		}
		*out++ = *ps->p++;
	}
	if (ps->p >= ps->end)
		return -EINVAL;
	ps->p++;
	*out = '\0';
	return 0;
}

static int parse_value(struct parser *ps);

/* Elements or members up to the closing bracket; links them as children
 * of node idx. */
static int parse_children(struct parser *ps, int idx, char close)
{
	int last = -1, obj = close == '}';

	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		const char *key = NULL;
		int child;

		skip_ws(ps);
		if (obj) {
			if (ps->p >= ps->end || *ps->p++ != '"' ||
			    parse_string(ps, &key))
				return -EINVAL;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p++ != ':')
				return -EINVAL;
		}
		child = parse_value(ps);
		if (child < 0)
			return child;
		ps->d->nodes[child].key = key;
		if (last < 0)
			ps->d->nodes[idx].first = child;
		else
			ps->d->nodes[last].next = child;
		last = child;
		skip_ws(ps);
		if (ps->p >= ps->end)
			return -EINVAL;
		if (*ps->p == close) {
			ps->p++;
			return 0;
		}
		if (*ps->p++ != ',')
			return -EINVAL;
	}
}

static int parse_container(struct parser *ps, enum jtype t, char close)
{
	int idx, err;

	if (++ps->depth > MAX_DEPTH)
		return -EINVAL;
	idx = new_node(ps, t);
	if (idx < 0)
		return idx;
	err = parse_children(ps, idx, close);
	ps->depth--;
	return err ? err : idx;
}

static bool is_digit(const struct parser *ps, const char *q)
{
	return q < ps->end && *q >= '0' && *q <= '9';
}

/* The end of the number at ps->p by RFC 8259's grammar, or NULL: strtod
 * alone would also take "-inf", "-nan", hex, "01" and "1.". */
static const char *number_end(const struct parser *ps)
{
	const char *q = ps->p;

	if (q < ps->end && *q == '-')
		q++;
	if (!is_digit(ps, q))
		return NULL;
	if (*q++ == '0') {
		if (is_digit(ps, q))
			return NULL;	/* "01": no leading zeros */
	} else {
		while (is_digit(ps, q))
			q++;
	}
	if (q < ps->end && *q == '.') {
		if (!is_digit(ps, ++q))
			return NULL;
		while (is_digit(ps, q))
			q++;
	}
	if (q < ps->end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < ps->end && (*q == '+' || *q == '-'))
			q++;
		if (!is_digit(ps, q))
			return NULL;
		while (is_digit(ps, q))
			q++;
	}
	return q;
}

static int parse_number(struct parser *ps)
{
	const char *want = number_end(ps);
	char *end, *start = ps->p;
	double v;
	int idx;

	if (!want)
		return -EINVAL;
	v = strtod(ps->p, &end);
	if (end != want)
		return -EINVAL;
	ps->p = end;
	idx = new_node(ps, J_NUM);
	if (idx >= 0) {
		ps->d->nodes[idx].num = v;
		/* the digits, for 64-bit integers a double cannot hold */
		ps->d->nodes[idx].str = start;
	}
	return idx;
}

static int parse_word(struct parser *ps, const char *w, enum jtype t, double v)
{
	size_t n = strlen(w);
	int idx;

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n))
		return -EINVAL;
	ps->p += n;
	idx = new_node(ps, t);
	if (idx >= 0)
		ps->d->nodes[idx].num = v;
	return idx;
}

/* One value; returns its node index or -errno. */
static int parse_value(struct parser *ps)
{
	const char *s;
	int idx;

	skip_ws(ps);
	if (ps->p >= ps->end)
		return -EINVAL;
	switch (*ps->p) {
	case '{': ps->p++; return parse_container(ps, J_OBJ, '}');
	case '[': ps->p++; return parse_container(ps, J_ARR, ']');
	case 't': return parse_word(ps, "true", J_BOOL, 1);
	case 'f': return parse_word(ps, "false", J_BOOL, 0);
	case 'n': return parse_word(ps, "null", J_NULL, 0);
	case '"':
		ps->p++;
		idx = new_node(ps, J_STR);
		if (idx < 0)
			return idx;
		if (parse_string(ps, &s))
			return -EINVAL;
		ps->d->nodes[idx].str = s;
		return idx;
	default:
		return parse_number(ps);
	}
}

int jsonr_parse(const char *text, size_t len, struct jdoc *doc)
{
	struct parser ps = { .d = doc };
	int r;

	memset(doc, 0, sizeof(*doc));
	doc->buf = malloc(len + 1);
	if (!doc->buf)
		return -ENOMEM;
	memcpy(doc->buf, text, len);
	doc->buf[len] = '\0';	/* strtod stops here at the latest */
	ps.p = doc->buf;
	ps.end = doc->buf + len;
	r = parse_value(&ps);
	if (r >= 0) {
		skip_ws(&ps);
		r = ps.p == ps.end ? 0 : -EINVAL;
	}
	if (r < 0)
		jsonr_free(doc);
	return r < 0 ? r : 0;
}

void jsonr_free(struct jdoc *doc)
{
	free(doc->nodes);
	free(doc->buf);
	memset(doc, 0, sizeof(*doc));
}

const struct jnode *jsonr_first(const struct jdoc *d, const struct jnode *n)
{
	if (!n || (n->type != J_ARR && n->type != J_OBJ) || n->first < 0)
		return NULL;
	return &d->nodes[n->first];
}

const struct jnode *jsonr_next(const struct jdoc *d, const struct jnode *n)
{
	return n && n->next >= 0 ? &d->nodes[n->next] : NULL;
}

const struct jnode *jsonr_get(const struct jdoc *d, const struct jnode *obj,
			      const char *key)
{
	if (!obj || obj->type != J_OBJ)
		return NULL;
	for (const struct jnode *c = jsonr_first(d, obj); c; c = jsonr_next(d, c))
		if (!strcmp(c->key, key))
			return c;
	return NULL;
}

const char *jsonr_str(const struct jnode *n, const char *def)
{
	return n && n->type == J_STR ? n->str : def;
}

double jsonr_num(const struct jnode *n, double def)
{
	/* 1e999 is JSON but overflows to inf, which no writer can print back */
	return n && n->type == J_NUM && isfinite(n->num) ? n->num : def;
}

long long jsonr_int(const struct jnode *n, long long lo, long long hi,
		    long long def)
{
	/* num in (lo - 1, hi + 1) truncates into [lo, hi]; the long bounds
	 * round to -2^63 and 2^63 in double, still bounds the cast keeps. */
	if (!n || n->type != J_NUM || !(n->num > (double)lo - 1) ||
	    !(n->num < (double)hi + 1))
		return def;
	return (long long)n->num;
}

int jsonr_bool(const struct jnode *n, int def)
{
	return n && n->type == J_BOOL ? (int)n->num : def;
}

uint64_t jsonr_u64(const struct jnode *n, uint64_t def)
{
	char *end;
	uint64_t v;

	if (n && n->type == J_NUM) {
		if (n->num < 0)
			return def;
		v = strtoull(n->str, &end, 10);
		/* a fraction or exponent: the double is all there is */
		if (*end != '.' && *end != 'e' && *end != 'E')
			return v;
		/* 2^64 and beyond do not convert */
		return n->num < 18446744073709551616.0 ? (uint64_t)n->num : def;
	}
	if (!n || n->type != J_STR || !*n->str)
		return def;
	errno = 0;
	v = strtoull(n->str, &end, 0);
	return errno || *end ? def : v;
}
