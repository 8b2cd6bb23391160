/* serial.c - 16550A UART. Transmission is instantaneous (the holding
 * register is always empty again after a write), so LSR always shows
 * THRE|TEMT and every THR write re-arms the THRE interrupt, which is what
 * paces Linux's 8250 driver. The interrupt output is edge-signalled: the
 * line is pulsed when it goes from "nothing pending" to "something
 * pending", as the ISA PIC/IOAPIC pin of COM1 latches edges. */
#include <errno.h>
#include <linux/serial_reg.h>
#include <string.h>

#include "devices/serial.h"

#define IIR_FIFO_ON	0xc0	/* IIR bits 7:6 say "16550A FIFOs enabled" */
#define IER_MASK	0x0f	/* the 8250 probe checks only these stick */
#define MCR_MASK	0x1f
/* What a connected terminal shows: carrier, data set ready, clear to send. */
#define MSR_CONNECTED	(UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS)

int serial_init(struct serial *s, struct irq_line irq, struct serial_out out)
{
	int r;

	memset(s, 0, sizeof(*s));
	r = pthread_mutex_init(&s->lock, NULL);
	if (r)
		return -r;
	s->irq = irq;
	s->out = out;
	s->dll = 12;	/* 9600 baud, the power-on divisor firmware leaves */
	return 0;
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

void serial_snap_save(struct serial *s, struct serial_snap *o)
{
	memset(o, 0, sizeof(*o));
	pthread_mutex_lock(&s->lock);
	o->ier = s->ier;
	o->lcr = s->lcr;
	o->mcr = s->mcr;
	o->scr = s->scr;
	o->dll = s->dll;
	o->dlm = s->dlm;
	o->fcr = s->fcr;
	o->thr_pending = s->thr_pending;
	o->irq_level = s->irq_level;
	o->rx_head = (uint32_t)s->rx_head;
	o->rx_count = (uint32_t)s->rx_count;
	memcpy(o->rx, s->rx, sizeof(o->rx));
	pthread_mutex_unlock(&s->lock);
}

void serial_snap_load(struct serial *s, const struct serial_snap *o)
{
	pthread_mutex_lock(&s->lock);
	s->ier = o->ier;
	s->lcr = o->lcr;
	s->mcr = o->mcr;
	s->scr = o->scr;
	s->dll = o->dll;
	s->dlm = o->dlm;
	s->fcr = o->fcr;
	s->thr_pending = o->thr_pending;
	s->irq_level = o->irq_level;
	s->rx_head = o->rx_head % SERIAL_RX_FIFO;
	s->rx_count = o->rx_count <= SERIAL_RX_FIFO ? o->rx_count : 0;
	memcpy(s->rx, o->rx, sizeof(s->rx));
	pthread_mutex_unlock(&s->lock);
}

static bool fifo_on(const struct serial *s)
{
	return s->fcr & UART_FCR_ENABLE_FIFO;
}

/* With its FIFO off a 16550 holds one received byte, like a 16450. */
static size_t rx_capacity(const struct serial *s)
{
	return fifo_on(s) ? SERIAL_RX_FIFO : 1;
}

static size_t rx_push(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	while (n < len && s->rx_count < rx_capacity(s)) {
		s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = buf[n++];
		s->rx_count++;
	}
	return n;
}

static uint8_t rx_pop(struct serial *s)
{
	uint8_t c;

	if (!s->rx_count)
		return 0;
	c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
	s->rx_count--;
	return c;
}

/* Highest-priority pending and enabled source. No line-status or modem
 * interrupts can occur: no receive errors, and the modem lines never move. */
static uint8_t iir_value(const struct serial *s)
{
	uint8_t fifo = fifo_on(s) ? IIR_FIFO_ON : 0;

	if ((s->ier & UART_IER_RDI) && s->rx_count)
		return fifo | UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thr_pending)
		return fifo | UART_IIR_THRI;
	return fifo | UART_IIR_NO_INT;
}

static void update_irq(struct serial *s)
{
	bool level = !(iir_value(s) & UART_IIR_NO_INT);

	if (level && !s->irq_level)
		irq_line_pulse(&s->irq);
	s->irq_level = level;
}

static void transmit(struct serial *s, uint8_t c)
{
	if (s->mcr & UART_MCR_LOOP)
		rx_push(s, &c, 1);
	else if (s->out.write)
		s->out.write(s->out.opaque, &c, 1);
	s->thr_pending = true;
}

static void write_ier(struct serial *s, uint8_t val)
{
	uint8_t old = s->ier;

	s->ier = val & IER_MASK;
	/* The holding register is empty, so enabling THRI raises it at once:
	 * the 8250 driver's start_tx and its THRE probe test rely on it. */
	if ((s->ier & UART_IER_THRI) && !(old & UART_IER_THRI))
		s->thr_pending = true;
}

static void write_fcr(struct serial *s, uint8_t val)
{
	/* Switching the FIFOs on or off empties them, as on the chip. */
	if ((val ^ s->fcr) & UART_FCR_ENABLE_FIFO || val & UART_FCR_CLEAR_RCVR)
		s->rx_count = 0;
	s->fcr = val & (UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_MASK);
}

static uint8_t read_iir(struct serial *s)
{
	uint8_t v = iir_value(s);

	/* Reading IIR while it reports THRI is what acknowledges THRI. */
	if ((v & UART_IIR_ID) == UART_IIR_THRI)
		s->thr_pending = false;
	return v;
}

/* In loopback the modem outputs drive the modem inputs: DTR->DSR, RTS->CTS,
 * OUT1->RI, OUT2->DCD (the 8250 loopback probe checks exactly this). */
static uint8_t read_msr(const struct serial *s)
{
	uint8_t m = s->mcr;

	if (!(m & UART_MCR_LOOP))
		return MSR_CONNECTED;
	return (m & UART_MCR_DTR ? UART_MSR_DSR : 0) |
	       (m & UART_MCR_RTS ? UART_MSR_CTS : 0) |
	       (m & UART_MCR_OUT1 ? UART_MSR_RI : 0) |
	       (m & UART_MCR_OUT2 ? UART_MSR_DCD : 0);
}

static uint8_t read_lsr(const struct serial *s)
{
	return UART_LSR_THRE | UART_LSR_TEMT | (s->rx_count ? UART_LSR_DR : 0);
}

static void reg_write(struct serial *s, unsigned int reg, uint8_t val)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_TX:
		if (dlab)
			s->dll = val;
		else
			transmit(s, val);
		break;
	case UART_IER:
		if (dlab)
			s->dlm = val;
		else
			write_ier(s, val);
		break;
	case UART_FCR:
		write_fcr(s, val);
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		s->mcr = val & MCR_MASK;
		break;
	case UART_SCR:
		s->scr = val;
		break;
	}
	/* LSR and MSR writes (factory test modes) are ignored. */
}

static uint8_t reg_read(struct serial *s, unsigned int reg)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_RX:
		return dlab ? s->dll : rx_pop(s);
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		return read_iir(s);
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return read_lsr(s);
	case UART_MSR:
		return read_msr(s);
	default:
		return s->scr;
	}
}

void serial_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
	       bool is_write)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	/* A wider access touches consecutive registers, one byte each. */
	for (uint32_t i = 0; i < len && off + i < SERIAL_PORT_LEN; i++) {
		if (is_write)
			reg_write(s, off + i, data[i]);
		else
			data[i] = reg_read(s, off + i);
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = rx_push(s, buf, len);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}
