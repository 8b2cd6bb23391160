/* rtc.c - CMOS clock registers: time in BCD, 24-hour mode, never busy. */
#include <string.h>

#include "devices/rtc.h"

enum {
	REG_SEC = 0x00, REG_MIN = 0x02, REG_HOUR = 0x04, REG_WDAY = 0x06,
	REG_MDAY = 0x07, REG_MON = 0x08, REG_YEAR = 0x09, REG_A = 0x0a,
	REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d, REG_CENTURY = 0x32,
};

static time_t host_now(void)
{
	return time(NULL);
}

void rtc_init(struct rtc *r, time_t (*now)(void))
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->now = now ? now : host_now;
}

void rtc_snap_save(struct rtc *r, struct rtc_snap *o)
{
	pthread_mutex_lock(&r->lock);
	o->index = r->index;
	memcpy(o->cmos, r->cmos, sizeof(o->cmos));
	pthread_mutex_unlock(&r->lock);
}

void rtc_snap_load(struct rtc *r, const struct rtc_snap *o)
{
	pthread_mutex_lock(&r->lock);
	r->index = o->index & 0x7f;
	memcpy(r->cmos, o->cmos, sizeof(r->cmos));
	pthread_mutex_unlock(&r->lock);
}

static uint8_t bcd(int v)
{
	return (uint8_t)((v / 10) << 4 | (v % 10));
}

static uint8_t read_reg(struct rtc *r, uint8_t reg)
{
	time_t t = r->now();
	struct tm tm;

	gmtime_r(&t, &tm);
	switch (reg) {
	case REG_SEC: return bcd(tm.tm_sec);
	case REG_MIN: return bcd(tm.tm_min);
	case REG_HOUR: return bcd(tm.tm_hour);
	case REG_WDAY: return bcd(tm.tm_wday + 1);
	case REG_MDAY: return bcd(tm.tm_mday);
	case REG_MON: return bcd(tm.tm_mon + 1);
	case REG_YEAR: return bcd(tm.tm_year % 100);
	case REG_CENTURY: return bcd(19 + tm.tm_year / 100);
	case REG_A: return 0x26;	/* 32.768 kHz base, no update in progress */
	case REG_B: return 0x02;	/* 24-hour, BCD, no interrupts */
	case REG_C: return 0x00;
	case REG_D: return 0x80;	/* valid RAM and time */
	default: return r->cmos[reg];
	}
}

void rtc_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct rtc *r = opaque;

	if (len != 1) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&r->lock);
	if (off == 0) {
		if (is_write)
			r->index = data[0] & 0x7f;	/* bit 7 is the NMI mask */
		else
			data[0] = r->index;
	} else if (is_write) {
		if (r->index > REG_D && r->index != REG_CENTURY)
			r->cmos[r->index] = data[0];
	} else {
		data[0] = read_reg(r, r->index);
	}
	pthread_mutex_unlock(&r->lock);
}
