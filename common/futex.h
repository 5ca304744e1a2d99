/* futex.h: sleeping on a 32-bit word until another thread or process
 * changes it (Linux futexes), with deadlines on the monotonic clock.
 *
 * Used by queue.c and the pool (pool_sync.c) instead of process-shared
 * pthread condition variables: a waiter killed inside a glibc condvar
 * corrupts it, while a futex keeps no state of ours in the kernel and a
 * dead sleeper simply leaves its wait list (queue.c tells that story).
 */
#ifndef COMMON_FUTEX_H
#define COMMON_FUTEX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* A deadline `timeout` seconds from now, in CLOCK_MONOTONIC nanoseconds
 * (clock_nanoseconds()); UINT64_MAX (none) for a negative or NaN timeout or
 * one beyond 30 years. */
uint64_t deadline_after(double timeout);
/* Has `deadline` passed?  Never for UINT64_MAX. */
bool deadline_passed(uint64_t deadline);

/* Sleep while *word == expected, until woken or `deadline` (UINT64_MAX:
 * none).  Returns on a wake-up, on a changed word, on a signal (EINTR), at
 * the deadline, or spuriously: the caller re-checks its condition in every
 * case.  `shared`: the word lies in memory shared with other processes (a
 * private futex is cheaper, but only works within one process).  Any
 * other futex failure ends the program (die_at()). */
void futex_wait_until(_Atomic uint32_t *word, uint32_t expected,
                      uint64_t deadline, bool shared);
/* Wake up to `how_many` sleepers on `word` (INT_MAX: all). */
void futex_wake(_Atomic uint32_t *word, int how_many, bool shared);

/* One pause inside a spin loop. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause(); /* lets the sibling hyperthread run; saves power */
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

#endif
