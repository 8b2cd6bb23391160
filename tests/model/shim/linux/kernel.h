#ifndef MODEL_LINUX_KERNEL_H
#define MODEL_LINUX_KERNEL_H
#include <errno.h>
#include <stdio.h>
#include <linux/limits.h>
#include <linux/types.h>
#define min(a, b)	((a) < (b) ? (a) : (b))
#define min_t(t, a, b)	((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define pr_err(fmt, ...)	fprintf(stderr, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_warn(fmt, ...)	fprintf(stderr, pr_fmt(fmt), ##__VA_ARGS__)
/* The model opens the ring thousands of times: say nothing. */
#define pr_info(fmt, ...)	do { if (0) printf(pr_fmt(fmt), ##__VA_ARGS__); } while (0)
#endif
