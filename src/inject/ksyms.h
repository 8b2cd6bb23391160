/* ksyms.h - the guest kernel's function addresses, for matching a driver's
 * calls to the kernel (kmalloc, kfree, mutex_lock, ...) in mutate_pick().
 *
 * Two sources, merged:
 *  - the kernel image itself (an ELF vmlinux): its export tables
 *    __ksymtab and __ksymtab_gpl, which a stripped vmlinux keeps because
 *    the module loader links against them.  They name every function a
 *    module can call, which is all call matching needs.  Each entry is
 *    three 32-bit offsets relative to themselves (value, name, namespace:
 *    CONFIG_HAVE_ARCH_PREL32_RELOCATIONS, every x86-64 kernel since 4.19);
 *  - a System.map ("ADDR TYPE NAME" lines), when a real one is given:
 *    Debian's package ships a one-line stub ("ffffffffffffffff B The real
 *    System.map is in the linux-image-<version>-dbg package"), which adds
 *    nothing.
 * Addresses are link-time ones: the guest must run without KASLR
 * (`nokaslr`, as chariot run boots it). */
#ifndef CHARIOT_INJECT_KSYMS_H
#define CHARIOT_INJECT_KSYMS_H

#include <stddef.h>
#include <stdint.h>

#include "inject/mutate.h"

struct ksyms {
	struct mutate_symbol *sym;	/* sorted by addr, then name */
	size_t n, cap;
	char *names;			/* the names' storage (an arena) */
	size_t names_len, names_cap;
};

/* Add the export tables of the ELF kernel image at path.  Returns how
 * many symbols were added, -ENOEXEC when it is not a 64-bit ELF (a
 * bzImage, say), -ENOENT when it has no export table, -errno. */
long ksyms_load_vmlinux(struct ksyms *k, const char *path);

/* Add the text symbols (types t, T, w, W) of a System.map.  Returns how
 * many, -errno. */
long ksyms_load_system_map(struct ksyms *k, const char *path);

/* The same from memory (the parsers behind the two above). */
long ksyms_parse_vmlinux(struct ksyms *k, const uint8_t *img, size_t len);
long ksyms_parse_system_map(struct ksyms *k, const char *text, size_t len);

/* Sort by address and drop exact duplicates; call once, after all the
 * loads (the names are only usable from then on). */
void ksyms_finish(struct ksyms *k);

/* The function at exactly addr, or NULL. */
const char *ksyms_name(const struct ksyms *k, uint64_t addr);

void ksyms_free(struct ksyms *k);

#endif
