/* timing.c: monotonic time and summary statistics. */
#include "timing.h"

#include "checked.h"

#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t clock_nanoseconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

double clock_seconds(void) { return (double)clock_nanoseconds() / 1e9; }

void clock_sleep(double seconds)
{
    if (seconds <= 0)
        return;
    /* An absolute deadline, so interruptions do not stretch the sleep. */
    uint64_t deadline = clock_nanoseconds() + (uint64_t)(seconds * 1e9);
    struct timespec until = {.tv_sec = (time_t)(deadline / 1000000000u),
                             .tv_nsec = (long)(deadline % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) ==
           EINTR)
        ;
}

const char *duration_text(double seconds, char *buffer, int size)
{
    double magnitude = fabs(seconds);
    const char *unit = "s";
    double value = seconds;
    if (magnitude < 1e-3)
        value = seconds * 1e6, unit = "us";
    else if (magnitude < 1)
        value = seconds * 1e3, unit = "ms";
    double shown = fabs(value);
    int decimals = shown >= 100 ? 0 : shown >= 10 ? 1 : 2;
    snprintf(buffer, (size_t)size, "%.*f %s", decimals, value, unit);
    return buffer;
}

const char *rate_text(double per_second, char *buffer, int size)
{
    if (per_second >= 1e6)
        snprintf(buffer, (size_t)size, "%.2f M", per_second / 1e6);
    else if (per_second >= 1e3)
        snprintf(buffer, (size_t)size, "%.1f k", per_second / 1e3);
    else
        snprintf(buffer, (size_t)size, "%.0f", per_second);
    return buffer;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct stats stats_of(const double *samples, int count)
{
    struct stats result = {.count = count};
    if (count <= 0)
        return result;
    double *sorted = xcalloc((size_t)count, sizeof *sorted);
    memcpy(sorted, samples, (size_t)count * sizeof *sorted);
    qsort(sorted, (size_t)count, sizeof *sorted, compare_doubles);

    result.min = sorted[0];
    result.max = sorted[count - 1];
    result.median = count % 2 ? sorted[count / 2]
                              : (sorted[count / 2 - 1] + sorted[count / 2]) / 2;
    double sum = 0;
    for (int i = 0; i < count; i++)
        sum += sorted[i];
    result.mean = sum / count;
    double squares = 0;
    for (int i = 0; i < count; i++)
        squares += (sorted[i] - result.mean) * (sorted[i] - result.mean);
    result.stddev = count > 1 ? sqrt(squares / (count - 1)) : 0;
    free(sorted);
    return result;
}
