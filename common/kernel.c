/* kernel.c: the counting kernel, and its speed on this machine. */
#include "kernel.h"

#include "checked.h"
#include "timing.h"

/* The function starts on a cache line, so its loop sits at the same place
 * relative to the CPU's fetch blocks in every build that has this code. */
__attribute__((aligned(64))) uint64_t kernel_count(uint64_t start,
                                                   uint64_t iterations)
{
    uint64_t sum = start;
    for (uint64_t i = 0; i < iterations; i++) {
        sum += 1;
        __asm__ volatile("" : "+r"(sum)); /* keep every addition (kernel.h) */
    }
    return sum;
}

/* One timed run; a wrong sum means the kernel is broken, not slow. */
static double timed_count(uint64_t iterations)
{
    double start = clock_seconds();
    uint64_t got = kernel_count(7, iterations);
    double took = clock_seconds() - start;
    if (got != 7 + iterations)
        die_at(__FILE__, __LINE__, "kernel_count: wrong sum", 0);
    return took;
}

double kernel_iterations_per_us(void)
{
    /* Grow the count until one run takes >= 20 ms (long next to the clock's
     * resolution and a scheduler tick), then keep the fastest of six runs
     * at that size: the machine's speed when nothing interrupts it.  On a
     * shared machine a core's speed varies from one moment to the next, so
     * callers report what they measured too. */
    uint64_t iterations = 1 << 16;
    double best;
    while ((best = timed_count(iterations)) < 0.02)
        iterations *= 2;
    for (int i = 0; i < 5; i++) {
        double took = timed_count(iterations);
        if (took < best)
            best = took;
    }
    return (double)iterations / (best * 1e6);
}
