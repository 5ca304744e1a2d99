/* fork_threads.c: fork() in a program with threads copies a lock another
 * thread holds -- why CPython 3.14 made forkserver the default start
 * method on Linux (gh-84559) (E18).
 *
 * fork() copies the whole memory, locks included, but only the thread that
 * called it.  A mutex that another thread held at that instant is copied
 * "held" -- by a thread that does not exist in the child, and never will
 * unlock it.  The child's first lock of it waits for ever.  In CPython the
 * same happens with locks inside the interpreter, in libraries, in logging
 * handlers: a child forked while a thread held one deadlocks.
 *
 * Here: a thread takes `shared_lock` and keeps it; the main thread forks a
 * child (BUGGY ON PURPOSE: fork while another thread holds a lock) that
 * takes the same lock with a timed lock, which times out.  Then the same
 * job from a forkserver: the server was started before the thread existed,
 * its copy of the lock is free, and the job succeeds.
 */
#define _GNU_SOURCE
#include "process.h"

#include "checked.h"
#include "timing.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool lock_held, may_release;

static double lock_bound(void)
{
    double bound = scaled(0.5);
    return bound < 0.02 ? 0.02 : bound;
}

int take_lock_job(void)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    double bound = lock_bound();
    long nanoseconds = (long)(bound * 1e9);
    deadline.tv_sec += nanoseconds / 1000000000L;
    deadline.tv_nsec += nanoseconds % 1000000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    int rc = pthread_mutex_timedlock(&shared_lock, &deadline);
    if (rc == 0) {
        pthread_mutex_unlock(&shared_lock);
        return 0;
    }
    return rc == ETIMEDOUT ? 1 : 2;
}

static void *hold_the_lock(void *arg)
{
    (void)arg;
    CHECK_PT(pthread_mutex_lock(&shared_lock));
    atomic_store(&lock_held, true);
    while (!atomic_load(&may_release))
        clock_sleep(0.001);
    CHECK_PT(pthread_mutex_unlock(&shared_lock));
    return NULL;
}

static int child_take_lock(void *arg)
{
    (void)arg;
    return take_lock_job();
}

static const char *verdict(int code)
{
    return code == 0 ? "took the lock" : code == 1 ? "timed out: never got it"
                                                   : "failed";
}

int run_fork_with_threads(void)
{
    /* First, while no thread of ours holds anything. */
    struct forkserver *server = forkserver_start();
    say("fork-with-threads: a forkserver started first (pid %d), before any "
        "worker thread", (int)forkserver_pid(server));
    pthread_t holder;
    CHECK_PT(pthread_create(&holder, NULL, hold_the_lock, NULL));
    while (!atomic_load(&lock_held))
        clock_sleep(0.001);
    say("  a thread of the lab holds shared_lock (and keeps it)");

    /* BUGGY ON PURPOSE: fork() while another thread holds shared_lock. */
    struct proc child;
    proc_start(&child, "forked-child", child_take_lock, NULL);
    proc_join(&child, -1);
    say("  fork() now, child %d: pthread_mutex_timedlock(%g s) -> exitcode "
        "%d, %s", (int)child.pid, lock_bound(), child.exitcode,
        verdict(child.exitcode));
    say("    the child's copy of shared_lock says \"held\" by a thread that "
        "was not copied: nobody will ever unlock it");

    int from_server = forkserver_run(server, JOB_TAKE_LOCK);
    say("  the same job from the forkserver -> exitcode %d, %s",
        from_server, verdict(from_server));
    say("    the server was forked before the thread took the lock: its copy "
        "(and its children's) is free");

    atomic_store(&may_release, true);
    CHECK_PT(pthread_join(holder, NULL));
    forkserver_stop(server);
    say("fork-with-threads: this is why CPython 3.14 starts processes from a "
        "forkserver by default on Linux (gh-84559)");
    return child.exitcode == 1 && from_server == 0 ? EXIT_OK : EXIT_WRONG;
}
