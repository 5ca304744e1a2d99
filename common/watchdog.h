/* watchdog.h: no run hangs, and no run leaves a process behind.
 *
 * watchdog_start() starts one thread that waits for whichever comes first:
 *   - the deadline (--timeout): it prints a diagnosis (what the run was doing,
 *     which children are alive), kills and reaps every child, runs the
 *     cleanup steps (cleanup.h: temporary files), exits 3;
 *   - Ctrl+C (SIGINT), SIGTERM or SIGHUP: it kills and reaps every child,
 *     runs the cleanup steps, and exits 128 + the signal number (130 for
 *     Ctrl+C);
 *   - watchdog_stop(): the run finished in time; the thread ends quietly.
 *
 * How: those three signals are blocked in every thread and read from a
 * signalfd by the watchdog thread, so the cleanup runs in ordinary thread
 * context, not in a signal handler where almost nothing is allowed.
 * Call watchdog_start() early in main(), before creating any thread, so every
 * thread inherits the blocked mask.  Children started with proc_start() get
 * the default handling back (see proc.h).
 */
#ifndef COMMON_WATCHDOG_H
#define COMMON_WATCHDOG_H

#include <stdio.h>

/* Called on the watchdog thread when the deadline passes, before anything
 * is killed: explain in plain words what was waiting on what.  It must only
 * read state (atomics) and print to `out`. */
typedef void (*watchdog_diagnosis_fn)(void *arg, FILE *out);

void watchdog_start(const char *program_name, double timeout_seconds);
void watchdog_set_diagnosis(watchdog_diagnosis_fn diagnose, void *arg);

/* The run is over: stop the watchdog and wait for its thread to end. */
void watchdog_stop(void);

#endif
