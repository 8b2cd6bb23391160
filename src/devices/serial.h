/* serial.h - a 16550A UART, enough for Linux's 8250 driver and earlycon:
 * the guest console. Output goes to a caller-supplied sink, input comes
 * from serial_receive() (typically an input thread reading the host tty). */
#ifndef CHARIOT_SERIAL_H
#define CHARIOT_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/irq.h"

#define SERIAL_PORT_COM1	0x3f8
#define SERIAL_PORT_LEN		8
#define SERIAL_IRQ_COM1		4
/* Larger than a 16550's 16 bytes: the 8250 driver drains up to 256 bytes
 * per interrupt, and a deeper FIFO spares the input thread retries. */
#define SERIAL_RX_FIFO		256

/* Where transmitted bytes go. Called with the UART's lock held, in the
 * order the guest wrote them. */
struct serial_out {
	void (*write)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
};

/* All fields are private; they live here so the VMM can embed the UART. */
struct serial {
	pthread_mutex_t lock;
	struct irq_line irq;
	struct serial_out out;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thr_pending;	/* THRE interrupt latched, not yet read */
	bool irq_level;		/* last computed interrupt output */
	uint8_t rx[SERIAL_RX_FIFO];
	size_t rx_head, rx_count;
};

/* What a snapshot keeps of the UART (the guest programmed it at boot). */
struct serial_snap {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr, thr_pending, irq_level;
	uint8_t pad[3];
	uint32_t rx_head, rx_count;
	uint8_t rx[SERIAL_RX_FIFO];
};

void serial_snap_save(struct serial *s, struct serial_snap *o);
void serial_snap_load(struct serial *s, const struct serial_snap *o);

/* Power-on state. Returns 0 or -errno (mutex init). */
int serial_init(struct serial *s, struct irq_line irq, struct serial_out out);
void serial_destroy(struct serial *s);

/* Bus handler for the SERIAL_PORT_LEN ports; opaque is the struct serial. */
void serial_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
	       bool is_write);

/* Host input into the receive FIFO. Returns the bytes accepted (fewer than
 * len when the FIFO fills: the caller retries later). Thread-safe. */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len);

#endif
