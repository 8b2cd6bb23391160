/* cmdcpio.h - the guest command of `chariot run -- CMD ARGS...` as a small
 * newc cpio archive holding /chariot/cmd, a shell script that runs exactly
 * that argv.  The VMM places it right after the initramfs (the kernel
 * unpacks concatenated archives); guest/init runs it and reports its exit
 * status. */
#ifndef CHARIOT_CMDCPIO_H
#define CHARIOT_CMDCPIO_H

#include <stddef.h>
#include <stdint.h>

/* Build the archive for argv[0..argc) (argc >= 1; every argument is passed
 * verbatim, single-quoted).  On success *out is a malloc'd buffer of *len
 * bytes (a multiple of 4) that the caller frees.  Returns 0, -EINVAL for
 * no command, -ENOMEM. */
int cmdcpio_build(int argc, char *const argv[], uint8_t **out, size_t *len);

/* The script alone, NUL-terminated and malloc'd: "#!/bin/sh\n" then the
 * quoted words on one line.  Returns NULL for argc < 1 or out of memory. */
char *cmdcpio_script(int argc, char *const argv[]);

#endif
