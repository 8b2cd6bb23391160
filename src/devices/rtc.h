/* rtc.h - a minimal MC146818 CMOS real-time clock at ports 0x70/0x71.
 * Linux reads the wall time from it at boot and probes it as rtc0; with no
 * device there it spins on the update-in-progress bit of an all-ones read
 * (seconds of boot time under emulation). Time is the host's, in BCD. */
#ifndef CHARIOT_RTC_H
#define CHARIOT_RTC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define RTC_PORT	0x70
#define RTC_PORT_LEN	2

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t cmos[128];	/* plain CMOS bytes the guest may store */
	time_t (*now)(void);	/* the clock, replaceable for tests */
};

/* What a snapshot keeps: the index register and the stored bytes. */
struct rtc_snap {
	uint8_t index;
	uint8_t cmos[128];
};

void rtc_snap_save(struct rtc *r, struct rtc_snap *o);
void rtc_snap_load(struct rtc *r, const struct rtc_snap *o);

void rtc_init(struct rtc *r, time_t (*now)(void));
void rtc_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

#endif
