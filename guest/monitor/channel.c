// SPDX-License-Identifier: GPL-2.0
/*
 * channel.c - the monitor's end of the guest <-> VMM interface: the
 * Chariot I/O ports and the shared-memory area they point at.
 *
 * The area is mapped once at load and stays mapped until unload, so the
 * panic path only copies bytes and writes a port: no allocation, no lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/kernel.h>
#include <linux/string.h>

#include "monitor.h"

static struct chariot_shm *shm;
static u32 shm_size;
static struct resource *ports;

static u32 reg_read(unsigned int reg)
{
	return inl(CHARIOT_PORT_BASE + reg);
}

static void ring(enum chariot_cmd cmd)
{
	/*
	 * outl() is no compiler barrier: order the shm stores before it.  The
	 * CPU keeps them before it (x86 never reorders stores with I/O
	 * instructions), so no fence: an sfence here also ran while the vCPU
	 * was write-protected, where KVM, which cannot emulate fences, failed.
	 */
	barrier();
	outl(cmd, CHARIOT_PORT_BASE + CHARIOT_REG_DOORBELL);
}

static int map_shm(void)
{
	u64 gpa = reg_read(CHARIOT_REG_SHM_LO) |
		  (u64)reg_read(CHARIOT_REG_SHM_HI) << 32;
	u32 size = reg_read(CHARIOT_REG_SHM_SIZE);

	if (!gpa || size < sizeof(*shm)) {
		pr_err("bad shared area %#llx+%#x\n", gpa, size);
		return -EPROTO;
	}
	shm = memremap(gpa, size, MEMREMAP_WB);
	if (!shm) {
		pr_err("cannot map shared area %#llx+%#x\n", gpa, size);
		return -ENOMEM;
	}
	if (READ_ONCE(shm->magic) != CHARIOT_ABI_MAGIC ||
	    READ_ONCE(shm->version) != CHARIOT_ABI_VERSION ||
	    READ_ONCE(shm->size) != size) {
		pr_err("shared area at %#llx has a bad header\n", gpa);
		memunmap(shm);
		shm = NULL;
		return -EPROTO;
	}
	shm_size = size;
	return 0;
}

/**
 * chariot_channel_open() - find the Chariot VMM and map the shared area
 *
 * Claims the I/O ports, checks the magic and the ABI version the VMM
 * speaks, then maps the shared-memory area it describes and checks its
 * header.
 *
 * Return: 0; -ENODEV when the VMM is not Chariot (e.g. under QEMU),
 * -EPROTO when it speaks another ABI version or describes a bad area,
 * -EBUSY or -ENOMEM.
 */
int chariot_channel_open(void)
{
	u32 magic, version;
	int err;

	ports = request_region(CHARIOT_PORT_BASE, CHARIOT_PORT_LEN, "chariot");
	if (!ports) {
		pr_err("I/O ports %#x+%#x are taken\n", CHARIOT_PORT_BASE,
		       CHARIOT_PORT_LEN);
		return -EBUSY;
	}
	magic = reg_read(CHARIOT_REG_MAGIC);
	if (magic != CHARIOT_ABI_MAGIC) {
		pr_info("no Chariot VMM here (port %#x reads %#x)\n",
			CHARIOT_PORT_BASE + CHARIOT_REG_MAGIC, magic);
		err = -ENODEV;
		goto release;
	}
	version = reg_read(CHARIOT_REG_VERSION);
	if (version != CHARIOT_ABI_VERSION) {
		pr_err("VMM speaks ABI %u, this module %u\n", version,
		       CHARIOT_ABI_VERSION);
		err = -EPROTO;
		goto release;
	}
	err = map_shm();
	if (err)
		goto release;
	return 0;

release:
	release_region(CHARIOT_PORT_BASE, CHARIOT_PORT_LEN);
	ports = NULL;
	return err;
}

/**
 * chariot_channel_close() - unmap the shared area and release the ports
 *
 * Call only once nothing can report through the channel any more (the
 * panic notifier unregistered).
 */
void chariot_channel_close(void)
{
	if (shm)
		memunmap(shm);
	shm = NULL;
	shm_size = 0;
	if (ports)
		release_region(CHARIOT_PORT_BASE, CHARIOT_PORT_LEN);
	ports = NULL;
}

/**
 * chariot_channel_announce() - post an announcement and ring the doorbell
 * @a: the announcement, complete
 */
void chariot_channel_announce(const struct chariot_announce *a)
{
	if (!shm)
		return;
	memcpy(&shm->announce, a, sizeof(*a));
	ring(CHARIOT_CMD_ANNOUNCE);
}

/**
 * chariot_channel_panic() - post a panic message and ring the doorbell
 * @msg: the panic message (may be NULL), truncated to what the area holds
 *
 * Safe in panic context: it neither sleeps nor takes a lock.
 */
void chariot_channel_panic(const char *msg)
{
	if (!shm)
		return;
	strscpy(shm->panic_msg, msg ? msg : "", sizeof(shm->panic_msg));
	ring(CHARIOT_CMD_PANIC);
}

/**
 * chariot_channel_poweroff() - tell the VMM the guest kernel powers off
 *
 * The guest has no ACPI, so without this the kernel would halt forever.
 */
void chariot_channel_poweroff(void)
{
	if (shm)
		ring(CHARIOT_CMD_POWEROFF);
}

/**
 * chariot_channel_area() - a part of the shared area
 * @offset: its offset in the area
 * @len:    its length
 *
 * Return: its address in the mapping, or NULL when the channel is closed
 * or the area is too small to hold it.
 */
void *chariot_channel_area(u32 offset, u32 len)
{
	if (!shm || offset > shm_size || len > shm_size - offset)
		return NULL;
	return (char *)shm + offset;
}

/**
 * chariot_channel_doorbell() - ring the doorbell with a command
 * @cmd: the command
 *
 * Orders the caller's stores to the shared area before the port write.
 * Safe in any context: it neither sleeps nor takes a lock.
 */
void chariot_channel_doorbell(enum chariot_cmd cmd)
{
	if (shm)
		ring(cmd);
}
