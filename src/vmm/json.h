/* json.h - the little JSON writing the reports need. */
#ifndef CHARIOT_JSON_H
#define CHARIOT_JSON_H

#include <stdio.h>

/* Write s as a JSON string literal (quotes included), or null if NULL. */
void json_string(FILE *f, const char *s);

#endif
