#ifndef MODEL_LINUX_SEQ_FILE_H
#define MODEL_LINUX_SEQ_FILE_H
#include <stdio.h>
struct seq_file { FILE *f; };
#define seq_printf(m, ...)	fprintf((m)->f, __VA_ARGS__)
#define seq_puts(m, s)		fputs((s), (m)->f)
#endif
