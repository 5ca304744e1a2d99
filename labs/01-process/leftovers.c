/* leftovers.c: what terminate() leaves behind (E2) -- a lock held for ever,
 * and orphans.
 *
 * terminate() is SIGTERM, and SIGTERM's default action ends the process at
 * once: no finally clause, no exit handler, no unlock runs.  CPython's
 * documentation warns of both consequences shown here:
 *   1. "if the process ... acquired a lock or semaphore etc. then
 *      terminating it is liable to cause other processes to deadlock".  A
 *      process-shared mutex is a word in shared memory that says "taken";
 *      nobody is left to clear it.  The other process's lock would wait
 *      for ever; a timed lock shows it (it times out).
 *      A *robust* mutex (PTHREAD_MUTEX_ROBUST) is the cure Python does not
 *      offer: the kernel notices that the owner died (the robust list) and
 *      the next locker gets EOWNERDEAD -- the lock, and the duty to make
 *      the data it protects consistent again.
 *   2. "descendant processes of the process will not be terminated -- they
 *      will simply become orphaned".  An orphan is re-parented to the
 *      nearest "subreaper" ancestor, or to init.  This lab makes itself a
 *      subreaper (PR_SET_CHILD_SUBREAPER), so the orphans become its own
 *      children: it sees them, ends them and reaps them.  Nothing left.
 */
#define _GNU_SOURCE
#include "process.h"

#include "checked.h"
#include "timing.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

struct leftovers {
    pthread_mutex_t plain;  /* process-shared, not robust */
    pthread_mutex_t robust; /* process-shared, robust */
    int protected_value;    /* what the robust mutex guards */
    pid_t grandchildren[2];
};
static struct leftovers *shared;
static int ready[2]; /* child -> lab: "I hold it" / "my children exist" */

static void init_mutex(pthread_mutex_t *mutex, bool robust)
{
    pthread_mutexattr_t attributes;
    CHECK_PT(pthread_mutexattr_init(&attributes));
    CHECK_PT(pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED));
    if (robust)
        CHECK_PT(pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST));
    CHECK_PT(pthread_mutex_init(mutex, &attributes));
    CHECK_PT(pthread_mutexattr_destroy(&attributes));
}

static bool wait_ready(void)
{
    struct pollfd fd = {.fd = ready[0], .events = POLLIN};
    char byte;
    return poll(&fd, 1, 10000) == 1 && read(ready[0], &byte, 1) == 1;
}

/* The child: take the lock, say so, and wait to be terminated inside the
 * critical section. */
static int hold_and_wait(void *arg)
{
    bool robust = arg != NULL;
    pthread_mutex_t *mutex = robust ? &shared->robust : &shared->plain;
    CHECK_PT(pthread_mutex_lock(mutex));
    if (robust)
        shared->protected_value = -1; /* half-way through an update */
    CHECK(write(ready[1], "h", 1));
    for (;;)
        pause();
    return 0;
}

static double lock_bound(void)
{
    double bound = scaled(0.5);
    return bound < 0.02 ? 0.02 : bound;
}

static int held_lock(bool robust)
{
    struct proc child;
    proc_start_keeping(&child, robust ? "robust-holder" : "lock-holder",
                       hold_and_wait, robust ? (void *)1 : NULL,
                       PROC_FDS(ready[1]));
    if (!wait_ready())
        return EXIT_WRONG;
    proc_signal(&child, SIGTERM); /* p.terminate(), inside the lock */
    proc_join(&child, -1);
    char text[64];
    say("  child %d took the %s lock and was terminated holding it: "
        "exitcode %d (%s)", (int)child.pid, robust ? "robust" : "plain",
        child.exitcode, proc_describe_exitcode(child.exitcode, text,
                                               sizeof text));
    if (child.exitcode != -SIGTERM)
        return EXIT_WRONG;

    if (!robust) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline); /* timedlock's clock */
        double bound = lock_bound();
        deadline.tv_sec += (time_t)bound;
        deadline.tv_nsec += (long)((bound - (double)(time_t)bound) * 1e9);
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        double t0 = clock_seconds();
        int rc = pthread_mutex_timedlock(&shared->plain, &deadline);
        char took[32];
        say("  the lab: pthread_mutex_timedlock(%g s) -> %s after %s", bound,
            rc == ETIMEDOUT ? "ETIMEDOUT" : rc == 0 ? "0 (taken)" : strerror(rc),
            duration_text(clock_seconds() - t0, took, sizeof took));
        say("    the lock word still says \"taken by %d\", and that process "
            "is gone: an untimed lock would wait for ever (Python: "
            "lock.acquire(timeout=1) -> False)", (int)child.pid);
        return rc == ETIMEDOUT ? EXIT_OK : EXIT_WRONG;
    }
    int rc = pthread_mutex_lock(&shared->robust);
    say("  the lab: pthread_mutex_lock(robust) -> %s: the owner died; the "
        "lock is ours, the data it guards may be half-updated (value %d)",
        rc == EOWNERDEAD ? "EOWNERDEAD" : rc == 0 ? "0" : strerror(rc),
        shared->protected_value);
    if (rc != EOWNERDEAD)
        return EXIT_WRONG;
    shared->protected_value = 0; /* repair what the dead owner left */
    CHECK_PT(pthread_mutex_consistent(&shared->robust));
    CHECK_PT(pthread_mutex_unlock(&shared->robust));
    rc = pthread_mutex_trylock(&shared->robust);
    say("    repaired (value %d), pthread_mutex_consistent(), unlocked; the "
        "next trylock -> %s: recovered", shared->protected_value,
        rc == 0 ? "0 (taken)" : strerror(rc));
    if (rc != 0)
        return EXIT_WRONG;
    CHECK_PT(pthread_mutex_unlock(&shared->robust));
    return EXIT_OK;
}

/* ---- Orphans --------------------------------------------------------------- */

/* A grandchild, forked the way Python forks (no parent-death signal): it
 * waits to be orphaned, then ties its life to its new parent (the lab), so
 * that even if the lab is killed it does not outlive it.  alarm() is the
 * last bound: no path leaves it running for more than a minute. */
static void grandchild(pid_t first_parent)
{
    alarm(60);
    for (int i = 0; i < 10000 && getppid() == first_parent; i++)
        clock_sleep(0.001);
    pid_t adopted_by = getppid();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != adopted_by)
        _exit(1);
    for (;;)
        pause();
}

static int start_grandchildren(void *arg)
{
    (void)arg;
    pid_t self = getpid();
    for (int i = 0; i < 2; i++) {
        fflush(stdout);
        pid_t pid = CHECK(fork());
        if (pid == 0)
            grandchild(self);
        shared->grandchildren[i] = pid;
    }
    CHECK(write(ready[1], "g", 1));
    for (;;)
        pause();
    return 0;
}

/* PPid from /proc/PID/status, or 0 if gone. */
static pid_t parent_of(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return 0;
    pid_t parent = 0;
    while (fgets(line, sizeof line, file) != NULL)
        if (sscanf(line, "PPid: %d", &parent) == 1)
            break;
    fclose(file);
    return parent;
}

static int orphans(void)
{
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1));
    struct proc child;
    proc_start_keeping(&child, "parent-of-two", start_grandchildren, NULL,
                       PROC_FDS(ready[1]));
    if (!wait_ready())
        return EXIT_WRONG;
    pid_t g[2] = {shared->grandchildren[0], shared->grandchildren[1]};
    say("  child %d started grandchildren %d and %d (parent: %d, %d)",
        (int)child.pid, (int)g[0], (int)g[1], (int)parent_of(g[0]),
        (int)parent_of(g[1]));
    proc_signal(&child, SIGTERM);
    proc_join(&child, -1);
    say("  terminated child %d: exitcode %d; its children were not "
        "terminated", (int)child.pid, child.exitcode);
    bool right = child.exitcode == -SIGTERM;
    struct proc adopted[2];
    for (int i = 0; i < 2; i++) {
        pid_t parent = 0;
        for (int t = 0; t < 10000 && (parent = parent_of(g[i])) != getpid(); t++)
            clock_sleep(0.001);
        say("  orphan %d: parent now %d (%s)", (int)g[i], (int)parent,
            parent == getpid() ? "the lab, a subreaper; without one: init "
                                 "or the nearest subreaper"
                               : "NOT the lab");
        right &= parent == getpid();
        proc_adopt(&adopted[i], g[i], "orphan");
    }
    for (int i = 0; i < 2; i++) {
        proc_signal(&adopted[i], SIGTERM);
        proc_join(&adopted[i], -1);
        right &= adopted[i].exitcode == -SIGTERM;
    }
    bool gone = parent_of(g[0]) == 0 && parent_of(g[1]) == 0;
    say("  the lab ended and reaped both (exitcodes %d, %d): /proc/%d and "
        "/proc/%d %s", adopted[0].exitcode, adopted[1].exitcode, (int)g[0],
        (int)g[1], gone ? "gone, nothing left" : "STILL THERE");
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 0));
    return right && gone ? EXIT_OK : EXIT_WRONG;
}

int run_leftovers(void)
{
    shared = CHECK_PTR(mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                       MAP_FAILED);
    init_mutex(&shared->plain, false);
    init_mutex(&shared->robust, true);
    CHECK(pipe(ready));
    say("leftovers: 1. terminate() inside a process-shared lock "
        "(BUGGY ON PURPOSE: the holder is killed mid-section)");
    int status = held_lock(false);
    if (status == EXIT_OK) {
        say("leftovers: 2. the same with a robust mutex");
        status = held_lock(true);
    }
    if (status == EXIT_OK) {
        say("leftovers: 3. terminate() a child that has children");
        status = orphans();
    }
    close(ready[0]);
    close(ready[1]);
    /* The plain mutex is still "locked" by a dead thread: not destroyed
     * (that is undefined), just unmapped with the rest. */
    CHECK(munmap(shared, sizeof *shared));
    return status;
}
