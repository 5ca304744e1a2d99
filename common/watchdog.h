/* watchdog.h: no run hangs, and no run leaves a process behind.
 *
 * watchdog_start() starts one thread that waits for whichever comes first:
 *   - the deadline (--timeout): it prints a diagnosis (what the run was doing,
 *     which children are alive), kills and reaps every child, runs the
 *     cleanup steps (cleanup.h: temporary files), exits 3;
 *   - Ctrl+C (SIGINT), SIGTERM or SIGHUP: it kills and reaps every child,
 *     runs the cleanup steps, and exits 128 + the signal number (130 for
 *     Ctrl+C);
 *   - a stall, if watchdog_set_stall() armed one: the run's progress count
 *     has not moved for the stall time while every party of the run is
 *     blocked.  Nothing can then ever move again (a deadlock), so there is
 *     no point waiting for the deadline: it prints a different first line,
 *     the same diagnosis, kills and reaps every child, exits 3;
 *   - watchdog_stop(): the run finished in time; the thread ends quietly.
 *
 * How: those three signals are blocked in every thread and read from a
 * signalfd by the watchdog thread, so the cleanup runs in ordinary thread
 * context, not in a signal handler where almost nothing is allowed.
 * Call watchdog_start() early in main(), before creating any thread, so every
 * thread inherits the blocked mask.  Children started with proc_start() get
 * the default handling back (see proc.h).
 *
 * watchdog_start() also makes the program a subreaper
 * (PR_SET_CHILD_SUBREAPER): when a teardown kills a child, that child's own
 * children come to the program as orphans, and are reaped (or killed)
 * before it exits (proc.h), never left to its parent.
 *
 * SIGPIPE is ignored from watchdog_start() on, in the process and in every
 * child it starts: no lab can die of it.  A write to a pipe (or socket)
 * whose reader is gone fails with EPIPE, and every write path treats that
 * as "the peer is gone", a return value (channel.h's CHANNEL_CLOSED).
 */
#ifndef COMMON_WATCHDOG_H
#define COMMON_WATCHDOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Called on the watchdog thread when the deadline passes, before anything
 * is killed: explain in plain words what was waiting on what.  It must only
 * read state (atomics) and print to `out`. */
typedef void (*watchdog_diagnosis_fn)(void *arg, FILE *out);

void watchdog_start(const char *program_name, double timeout_seconds);
void watchdog_set_diagnosis(watchdog_diagnosis_fn diagnose, void *arg);

/* Stall detection (lab 07).  What the run reports about itself: a count
 * that changes whenever it makes progress (an item put or got, a lock
 * taken, a child joined), and whether every live party (process or
 * thread of the run) is blocked right now in a wait that has no bound of
 * its own. */
struct watchdog_progress {
    uint64_t count;
    bool all_blocked;
};
typedef struct watchdog_progress (*watchdog_progress_fn)(void *arg);

/* Arm the stall detector: every 50 ms the watchdog thread calls
 * progress(arg), and it fires once `seconds` have passed without the count
 * changing AND with every party blocked at every look.  Progress, or one
 * party seen not blocked (running, sleeping, in a wait with a timeout),
 * restarts that clock: a slow run is never taken for a stuck one.  Call
 * after watchdog_start(); progress() runs on the watchdog thread, so it
 * must only read atomics (and must not block).  The --timeout deadline
 * still bounds everything. */
void watchdog_set_stall(double seconds, watchdog_progress_fn progress,
                        void *arg);

/* A lab that runs until it is told to stop (lab 09's server) decides what
 * SIGINT/SIGTERM/SIGHUP mean.  When a signal arrives the watchdog thread
 * calls on_signal(arg, signal_number) first: if it returns true the signal
 * was handled (the server begins to drain) and the watchdog keeps watching,
 * --timeout included; if it returns false (a second Ctrl+C, say) the run is
 * ended as usual: children killed and reaped, exit 128 + N.  The function
 * runs on the watchdog thread: it must only set atomics or write to a
 * descriptor, never block. */
typedef bool (*watchdog_signal_fn)(void *arg, int signal_number);
void watchdog_set_on_signal(watchdog_signal_fn on_signal, void *arg);

/* The run is over: stop the watchdog and wait for its thread to end. */
void watchdog_stop(void);

#endif
