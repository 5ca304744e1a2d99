/* futex.c: futex sleeping and waking, monotonic deadlines.
 *
 * FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so a
 * spurious wake-up or EINTR just waits again until the same deadline. */
#define _GNU_SOURCE /* syscall(), SYS_futex */
#include "futex.h"

#include "checked.h"
#include "timing.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

uint64_t deadline_after(double timeout)
{
    if (!(timeout >= 0)) /* negative, or NaN: block */
        return UINT64_MAX;
    double nanoseconds = timeout * 1e9;
    if (nanoseconds >= 1e18) /* 30 years: no deadline in practice */
        return UINT64_MAX;
    return clock_nanoseconds() + (uint64_t)nanoseconds;
}

bool deadline_passed(uint64_t deadline)
{
    return deadline != UINT64_MAX && clock_nanoseconds() >= deadline;
}

void futex_wait_until(_Atomic uint32_t *word, uint32_t expected,
                      uint64_t deadline, bool shared)
{
    struct timespec until, *until_pointer = NULL;
    if (deadline != UINT64_MAX) {
        until.tv_sec = (time_t)(deadline / 1000000000u);
        until.tv_nsec = (long)(deadline % 1000000000u);
        until_pointer = &until;
    }
    /* A private futex is cheaper (no shared-key lookup); only words in
     * memory shared with other processes need the shared kind. */
    int operation = FUTEX_WAIT_BITSET | (shared ? 0 : FUTEX_PRIVATE_FLAG);
    long rc = syscall(SYS_futex, (void *)word, operation, expected,
                      until_pointer, NULL, FUTEX_BITSET_MATCH_ANY);
    if (rc == -1 && errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT)
        die_at(__FILE__, __LINE__, "futex(FUTEX_WAIT_BITSET)", errno);
}

void futex_wake(_Atomic uint32_t *word, int how_many, bool shared)
{
    int operation = FUTEX_WAKE | (shared ? 0 : FUTEX_PRIVATE_FLAG);
    if (syscall(SYS_futex, (void *)word, operation, how_many, NULL, NULL, 0) ==
        -1)
        die_at(__FILE__, __LINE__, "futex(FUTEX_WAKE)", errno);
}
