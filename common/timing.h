/* timing.h: a monotonic clock and the statistics of repeated measurements.
 *
 * Wall-clock time (CLOCK_REALTIME) can jump when NTP adjusts it; every
 * duration in this suite comes from CLOCK_MONOTONIC instead.  One run of
 * anything is an anecdote: labs repeat a measurement after warm-up runs and
 * report the spread (min, median, max), not a single figure.
 */
#ifndef COMMON_TIMING_H
#define COMMON_TIMING_H

#include <stdint.h>

/* Seconds on the monotonic clock (an arbitrary origin: use differences). */
double clock_seconds(void);
uint64_t clock_nanoseconds(void);

/* Sleep for `seconds`, resuming after signal interruptions. */
void clock_sleep(double seconds);

/* A duration for people: 3 significant digits in s, ms or us ("30.1 ms",
 * "1.52 s", "412 us").  Returns `buffer`. */
const char *duration_text(double seconds, char *buffer, int size);

/* A rate for people, to put before a unit: "2.35 M", "41.2 k", "950"
 * (per second, of whatever the caller counts).  Returns `buffer`. */
const char *rate_text(double per_second, char *buffer, int size);

struct stats {
    int count;
    double min, median, mean, stddev, max; /* stddev: sample (n - 1) */
};

/* Summarise `count` samples (count >= 1).  The input is not modified. */
struct stats stats_of(const double *samples, int count);

#endif
