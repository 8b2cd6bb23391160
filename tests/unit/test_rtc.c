/* Unit tests for the CMOS clock. */
#include "devices/rtc.h"
#include "test.h"

static time_t fixed(void)
{
	return 1795435845;	/* 2026-11-23 12:10:45 UTC, a Monday */
}

static uint8_t rd(struct rtc *r, uint8_t reg)
{
	uint8_t v = reg;

	rtc_io(r, 0, &v, 1, true);
	rtc_io(r, 1, &v, 1, false);
	return v;
}

TEST(rtc_time_in_bcd)
{
	struct rtc r;

	rtc_init(&r, fixed);
	CHECK_EQ(rd(&r, 0x00), 0x45);
	CHECK_EQ(rd(&r, 0x02), 0x10);
	CHECK_EQ(rd(&r, 0x04), 0x12);
	CHECK_EQ(rd(&r, 0x07), 0x23);
	CHECK_EQ(rd(&r, 0x08), 0x11);
	CHECK_EQ(rd(&r, 0x09), 0x26);
	CHECK_EQ(rd(&r, 0x32), 0x20);
	CHECK_EQ(rd(&r, 0x06), 0x02);	/* Monday = 2 */
}

TEST(rtc_never_busy_and_cmos_bytes)
{
	struct rtc r;
	uint8_t v;

	rtc_init(&r, fixed);
	CHECK_EQ(rd(&r, 0x0a) & 0x80, 0);	/* no update in progress */
	CHECK_EQ(rd(&r, 0x0d), 0x80);
	v = 0x8f;	/* NMI-mask bit set on the index */
	rtc_io(&r, 0, &v, 1, true);
	v = 0x5a;
	rtc_io(&r, 1, &v, 1, true);
	CHECK_EQ(rd(&r, 0x0f), 0x5a);
	v = 0x00;	/* the clock itself is not writable */
	rtc_io(&r, 0, &v, 1, true);
	rtc_io(&r, 1, &v, 1, true);
	CHECK_EQ(rd(&r, 0x00), 0x45);
}
