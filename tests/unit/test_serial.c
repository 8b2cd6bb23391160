/* Unit tests for the 16550 UART, driven through its ports as the 8250
 * driver does. */
#include <linux/serial_reg.h>
#include <pthread.h>
#include <sched.h>

#include "devices/serial.h"
#include "test.h"

/* Defined in test_virtqueue.c: an irq_line that counts asserted edges. */
struct irq_line test_irq(int *edges);

struct sink {
	uint8_t buf[64];
	size_t n;
};

static void sink_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct sink *k = opaque;

	for (size_t i = 0; i < len && k->n < sizeof(k->buf); i++)
		k->buf[k->n++] = buf[i];
}

static uint8_t in(struct serial *s, unsigned int reg)
{
	uint8_t v = 0;

	serial_io(s, reg, &v, 1, false);
	return v;
}

static void out(struct serial *s, unsigned int reg, uint8_t v)
{
	serial_io(s, reg, &v, 1, true);
}

static void setup(struct serial *s, struct sink *k, int *edges)
{
	memset(k, 0, sizeof(*k));
	*edges = 0;
	serial_init(s, test_irq(edges),
		    (struct serial_out){ .write = sink_write, .opaque = k });
}

TEST(serial_lsr_and_transmit)
{
	struct serial s;
	struct sink k;
	int edges;

	setup(&s, &k, &edges);
	CHECK_EQ(in(&s, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	out(&s, UART_TX, 'o');
	out(&s, UART_TX, 'k');
	CHECK_EQ(k.n, 2);
	CHECK(!memcmp(k.buf, "ok", 2));
	CHECK_EQ(in(&s, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(in(&s, UART_IIR), UART_IIR_NO_INT);
	CHECK_EQ(edges, 0);	/* nothing enabled, nothing signalled */
	serial_destroy(&s);
}

TEST(serial_dlab_and_scratch)
{
	struct serial s;
	struct sink k;
	int edges;

	setup(&s, &k, &edges);
	out(&s, UART_IER, 0x05);
	out(&s, UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
	out(&s, UART_DLL, 0x01);
	out(&s, UART_DLM, 0x02);
	CHECK_EQ(in(&s, UART_DLL), 0x01);
	CHECK_EQ(in(&s, UART_DLM), 0x02);
	CHECK_EQ(k.n, 0);	/* a divisor write is not a character */
	out(&s, UART_LCR, UART_LCR_WLEN8);
	CHECK_EQ(in(&s, UART_LCR), UART_LCR_WLEN8);
	CHECK_EQ(in(&s, UART_IER), 0x05);	/* IER was not clobbered */
	out(&s, UART_IER, 0xff);
	CHECK_EQ(in(&s, UART_IER), 0x0f);	/* as the 8250 probe expects */
	out(&s, UART_SCR, 0x5a);
	CHECK_EQ(in(&s, UART_SCR), 0x5a);
	out(&s, UART_SCR, 0xa5);
	CHECK_EQ(in(&s, UART_SCR), 0xa5);
	serial_destroy(&s);
}

/* The sequence of serial8250's THRE test, then tx-driven interrupts. */
TEST(serial_thre_interrupt)
{
	struct serial s;
	struct sink k;
	int edges;

	setup(&s, &k, &edges);
	out(&s, UART_IER, UART_IER_THRI);
	CHECK_EQ(edges, 1);
	CHECK_EQ(in(&s, UART_IIR), UART_IIR_THRI);
	CHECK_EQ(in(&s, UART_IIR), UART_IIR_NO_INT);	/* the read acked it */
	out(&s, UART_IER, 0);
	out(&s, UART_IER, UART_IER_THRI);
	CHECK_EQ(edges, 2);
	CHECK_EQ(in(&s, UART_IIR), UART_IIR_THRI);
	out(&s, UART_TX, 'x');
	CHECK_EQ(edges, 3);	/* holding register empty again */
	CHECK_EQ(in(&s, UART_IIR), UART_IIR_THRI);
	out(&s, UART_TX, 'y');
	out(&s, UART_IER, 0);	/* stop_tx */
	CHECK_EQ(in(&s, UART_IIR), UART_IIR_NO_INT);
	CHECK_EQ(edges, 4);
	serial_destroy(&s);
}

TEST(serial_rx_fifo_and_interrupt)
{
	struct serial s;
	struct sink k;
	int edges;

	setup(&s, &k, &edges);
	out(&s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	CHECK_EQ(in(&s, UART_IIR), 0xc0 | UART_IIR_NO_INT);	/* 16550A */
	CHECK_EQ(serial_receive(&s, (const uint8_t *)"hi", 2), 2);
	CHECK_EQ(edges, 0);	/* RX interrupt not enabled yet */
	CHECK(in(&s, UART_LSR) & UART_LSR_DR);
	out(&s, UART_IER, UART_IER_RDI | UART_IER_THRI);
	CHECK_EQ(edges, 1);
	/* Received data outranks THRE. */
	CHECK_EQ(in(&s, UART_IIR), 0xc0 | UART_IIR_RDI);
	CHECK_EQ(in(&s, UART_RX), 'h');
	CHECK_EQ(in(&s, UART_RX), 'i');
	CHECK(!(in(&s, UART_LSR) & UART_LSR_DR));
	CHECK_EQ(in(&s, UART_IIR), 0xc0 | UART_IIR_THRI);
	CHECK_EQ(in(&s, UART_IIR), 0xc0 | UART_IIR_NO_INT);
	CHECK_EQ(serial_receive(&s, (const uint8_t *)"!", 1), 1);
	CHECK_EQ(edges, 2);	/* a fresh edge for new data */
	CHECK_EQ(in(&s, UART_RX), '!');
	serial_destroy(&s);
}

TEST(serial_rx_fifo_bounds)
{
	static uint8_t data[SERIAL_RX_FIFO + 10];
	struct serial s;
	struct sink k;
	int edges;

	setup(&s, &k, &edges);
	/* FIFO off: a 16450-style single holding byte. */
	CHECK_EQ(serial_receive(&s, data, 3), 1);
	out(&s, UART_FCR, UART_FCR_ENABLE_FIFO);
	CHECK(!(in(&s, UART_LSR) & UART_LSR_DR));	/* enabling clears */
	CHECK_EQ(serial_receive(&s, data, sizeof(data)), SERIAL_RX_FIFO);
	CHECK_EQ(serial_receive(&s, data, 1), 0);
	in(&s, UART_RX);
	CHECK_EQ(serial_receive(&s, data, 2), 1);
	out(&s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	CHECK(!(in(&s, UART_LSR) & UART_LSR_DR));
	serial_destroy(&s);
}

TEST(serial_loopback)
{
	struct serial s;
	struct sink k;
	int edges;

	setup(&s, &k, &edges);
	out(&s, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);
	CHECK_EQ(in(&s, UART_MSR) & 0xf0, UART_MSR_DCD | UART_MSR_CTS);
	out(&s, UART_TX, 'z');
	CHECK_EQ(k.n, 0);
	CHECK_EQ(in(&s, UART_RX), 'z');
	out(&s, UART_MCR, 0);
	CHECK_EQ(in(&s, UART_MSR) & 0xf0,
		 UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	serial_destroy(&s);
}

#define STRESS_BYTES 100000

static void *feed(void *arg)
{
	struct serial *s = arg;
	uint8_t c;

	for (size_t i = 0; i < STRESS_BYTES;) {
		c = i % 251;
		if (serial_receive(s, &c, 1))
			i++;
		else
			sched_yield();
	}
	return NULL;
}

/* An input thread and a "vCPU" reading the FIFO at once: nothing lost,
 * duplicated or reordered. */
TEST(serial_concurrent_receive)
{
	struct serial s;
	struct sink k;
	pthread_t t;
	size_t got = 0, bad = 0;
	int edges;

	setup(&s, &k, &edges);
	out(&s, UART_FCR, UART_FCR_ENABLE_FIFO);
	out(&s, UART_IER, UART_IER_RDI);
	pthread_create(&t, NULL, feed, &s);
	while (got < STRESS_BYTES) {
		if (!(in(&s, UART_LSR) & UART_LSR_DR))
			continue;
		if (in(&s, UART_RX) != got % 251)
			bad++;
		got++;
	}
	pthread_join(t, NULL);
	CHECK_EQ(bad, 0);
	CHECK(edges > 0);
	serial_destroy(&s);
}
