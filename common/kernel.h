/* kernel.h: the documents' calc() -- add 1 to a sum, N times -- written
 * once for every lab that counts (count, pool, sched, server, cluster).
 *
 * Every addition must really happen, or there is nothing to measure: left
 * alone, -O2 sees that the loop only adds 1 `iterations` times and replaces
 * it with one addition.  The empty asm statement (kernel.c) claims to read and
 * modify `sum` ("+r": in a register), so the compiler must keep every
 * addition, in order.  It emits no instruction: the loop stays one add, one
 * increment and one compare-and-branch per iteration, the same work on
 * every machine, which is what makes the labs' times comparable.
 */
#ifndef COMMON_KERNEL_H
#define COMMON_KERNEL_H

#include <stdint.h>

/* How many additions one call of a GIL-aware loop does between polls of
 * the eval breaker (gil_checkpoint).  4096 additions take about a
 * microsecond, so a drop request is answered almost at once, and the poll
 * (one load, usually "no") costs nothing measurable. */
enum { KERNEL_CHUNK = 4096 };

/* Return start + iterations, computed one addition at a time.  One copy
 * of the loop, in kernel.c, for every caller: inlined, the loop would land
 * at a different address and alignment in each caller, and a loop's
 * alignment can change its speed on some CPUs; with one copy every lab
 * times the same instructions at the same place.  A call per chunk of
 * KERNEL_CHUNK additions costs nothing measurable. */
uint64_t kernel_count(uint64_t start, uint64_t iterations);

/* How many kernel_count() iterations this machine runs per microsecond,
 * measured now (about 0.1 s): the fastest of six runs of >= 20 ms each. */
double kernel_iterations_per_us(void);

#endif
