/* errmsg.h - how VMM library code reports an error: a message into the
 * caller's buffer and an error code back; only the CLI prints and exits. */
#ifndef CHARIOT_ERRMSG_H
#define CHARIOT_ERRMSG_H

#include <stddef.h>

/* Formats the message into err (errlen bytes; 0 writes nothing) and
 * returns rc, so a failure path is one
 * `return errmsg(err, errlen, -EINVAL, ...)`. */
int errmsg(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
