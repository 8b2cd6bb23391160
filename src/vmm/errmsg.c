/* errmsg.c - see errmsg.h. */
#include <stdarg.h>
#include <stdio.h>

#include "vmm/errmsg.h"

int errmsg(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}
