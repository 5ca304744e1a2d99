/* watchdog.c: one thread that ends stuck or interrupted runs cleanly. */
#define _GNU_SOURCE
#include "watchdog.h"

#include "checked.h"
#include "output.h"
#include "cleanup.h"
#include "proc.h"
#include "timing.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

static struct {
    const char *program;
    double timeout;
    double started;
    int signal_fd;
    int stop_fd;
    int kick_fd;  /* watchdog_set_stall(): look at the new settings now */
    pthread_t thread;
    bool running;
    sem_t started_signal; /* posted once the thread is in its loop */
    _Atomic(watchdog_diagnosis_fn) diagnose;
    _Atomic(void *) diagnose_arg;
    _Atomic(watchdog_progress_fn) progress; /* NULL: no stall detection */
    _Atomic(void *) progress_arg;
    _Atomic double stall;
    _Atomic(watchdog_signal_fn) on_signal; /* NULL: every signal ends the run */
    _Atomic(void *) on_signal_arg;
} watchdog;

/* How often the stall detector looks: detection comes at most this late,
 * and 20 looks a second cost nothing measurable. */
static const double STALL_LOOK_SECONDS = 0.05;

static void flush_stdout_if_free(void)
{
    /* Narration printed so far is worth keeping, but never wait for a
     * thread that might be stuck while holding stdout. */
    if (ftrylockfile(stdout) == 0) {
        fflush(stdout);
        funlockfile(stdout);
    }
}

static void list_children(FILE *out)
{
    pid_t pids[64];
    int count = proc_list_active(pids, 64);
    if (count == 0)
        return;
    fprintf(out, "%s: watchdog: stopping %d child process%s (pid", watchdog.program,
            count, count == 1 ? "" : "es");
    for (int i = 0; i < count && i < 64; i++)
        fprintf(out, "%s %d", i ? "," : "", (int)pids[i]);
    fprintf(out, "%s) with SIGKILL\n", count > 64 ? ", ..." : "");
}

/* The end of a run the watchdog stopped: the headline (why), the lab's
 * diagnosis (who waits on what), then kill, reap, clean up, exit 3. */
static _Noreturn void stop_run(const char *headline)
{
    flush_stdout_if_free();
    fputs(headline, stderr);
    watchdog_diagnosis_fn diagnose = atomic_load(&watchdog.diagnose);
    if (diagnose != NULL)
        diagnose(atomic_load(&watchdog.diagnose_arg), stderr);
    list_children(stderr);
    proc_kill_all_and_reap(2.0);
    cleanup_run();
    fprintf(stderr, "%s: watchdog: stopped; nothing left running (exit %d)\n",
            watchdog.program, EXIT_WATCHDOG);
    exit_at_once(EXIT_WATCHDOG);
}

static _Noreturn void on_deadline(void)
{
    char headline[256];
    snprintf(headline, sizeof headline,
             "%s: watchdog: the run did not finish within %g s (--timeout)\n",
             watchdog.program, watchdog.timeout);
    stop_run(headline);
}

static _Noreturn void on_stall(double quiet_seconds)
{
    char headline[256];
    snprintf(headline, sizeof headline,
             "%s: watchdog: no progress for %.1f s while every party is "
             "blocked: a deadlock (--stall %g)\n",
             watchdog.program, quiet_seconds, atomic_load(&watchdog.stall));
    stop_run(headline);
}

static _Noreturn void on_signal(int signal_number)
{
    flush_stdout_if_free();
    fprintf(stderr, "%s: interrupted by %s\n", watchdog.program,
            sigabbrev_np(signal_number) ? sigabbrev_np(signal_number) : "a signal");
    list_children(stderr);
    proc_kill_all_and_reap(2.0);
    cleanup_run();
    exit_at_once(128 + signal_number);
}

/* One look of the stall detector.  *quiet_since: when the run was last
 * seen making progress or with a party not blocked. */
static void look_for_stall(uint64_t *last_count, double *quiet_since)
{
    watchdog_progress_fn progress = atomic_load(&watchdog.progress);
    if (progress == NULL)
        return;
    struct watchdog_progress now = progress(atomic_load(&watchdog.progress_arg));
    double time = clock_seconds();
    if (now.count != *last_count || !now.all_blocked || *quiet_since == 0) {
        *last_count = now.count;
        *quiet_since = time;
        return;
    }
    if (time - *quiet_since >= atomic_load(&watchdog.stall))
        on_stall(time - *quiet_since);
}

static void *watch(void *unused)
{
    (void)unused;
    struct pollfd waits[3] = {{.fd = watchdog.signal_fd, .events = POLLIN},
                              {.fd = watchdog.stop_fd, .events = POLLIN},
                              {.fd = watchdog.kick_fd, .events = POLLIN}};
    uint64_t last_count = 0;
    double quiet_since = 0; /* 0: not looked yet */
    sem_post(&watchdog.started_signal);
    for (;;) {
        double left = watchdog.started + watchdog.timeout - clock_seconds();
        if (left <= 0)
            on_deadline();
        look_for_stall(&last_count, &quiet_since);
        double wait = left;
        if (atomic_load(&watchdog.progress) != NULL && wait > STALL_LOOK_SECONDS)
            wait = STALL_LOOK_SECONDS;
        int rc = poll(waits, 3, (int)(wait * 1000.0) + 1);
        if (rc == -1 && errno == EINTR)
            continue;
        if (rc == -1)
            die_at(__FILE__, __LINE__, "poll(watchdog)", errno);
        if (waits[1].revents & POLLIN)
            return NULL; /* watchdog_stop(): the run finished */
        if (waits[2].revents & POLLIN) {
            uint64_t kicks;
            if (read(watchdog.kick_fd, &kicks, sizeof kicks) != sizeof kicks)
                die_at(__FILE__, __LINE__, "read(watchdog kick)", errno);
            quiet_since = 0; /* new settings: start the stall clock afresh */
        }
        if (waits[0].revents & POLLIN) {
            struct signalfd_siginfo info;
            if (read(watchdog.signal_fd, &info, sizeof info) == sizeof info) {
                watchdog_signal_fn handler = atomic_load(&watchdog.on_signal);
                if (handler == NULL ||
                    !handler(atomic_load(&watchdog.on_signal_arg),
                             (int)info.ssi_signo))
                    on_signal((int)info.ssi_signo);
            }
        }
    }
}

void watchdog_start(const char *program_name, double timeout_seconds)
{
    watchdog.program = program_name;
    watchdog.timeout = timeout_seconds;
    watchdog.started = clock_seconds();

    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    /* Blocked here, in the calling (main) thread, before the watchdog thread
     * exists: every thread created later inherits the mask, so these
     * signals can only be seen through the signalfd. */
    CHECK_PT(pthread_sigmask(SIG_BLOCK, &signals, NULL));
    /* SIGPIPE ignored, in this process and (inherited) in every child: a
     * write to a pipe whose reader is gone then fails with EPIPE, a return
     * value the writer handles, instead of killing the program with status
     * 141 before its children are reaped.  (The classic case: the watchdog
     * kills a child on Ctrl+C while the main thread writes to it.) */
    output_ignore_sigpipe();
    /* A subreaper: orphans of our children (their own children, when a
     * teardown kills them) come to us, to be reaped before we exit
     * (proc_kill_all_and_reap), not to our parent. */
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1));
    watchdog.signal_fd = CHECK(signalfd(-1, &signals, SFD_CLOEXEC));
    watchdog.stop_fd = CHECK(eventfd(0, EFD_CLOEXEC));
    watchdog.kick_fd = CHECK(eventfd(0, EFD_CLOEXEC));
    CHECK(sem_init(&watchdog.started_signal, 0, 0));
    CHECK_PT(pthread_create(&watchdog.thread, NULL, watch, NULL));
    /* Return only once the thread has started.  A thread that is still
     * starting may hold locks inside the C library or a sanitizer runtime;
     * a fork() in that moment gives the child a copy of the lock, held by a
     * thread the child does not have, and the child hangs on its first use.
     * (Seen under AddressSanitizer: children blocked forever in prctl()'s
     * interceptor, on the thread registry lock.)  The bound is only a
     * safeguard: a thread starts in microseconds. */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline); /* sem_timedwait's clock */
    deadline.tv_sec += 10;
    while (sem_timedwait(&watchdog.started_signal, &deadline) == -1)
        if (errno != EINTR)
            die_at(__FILE__, __LINE__, "sem_timedwait(watchdog started)", errno);
    watchdog.running = true;
}

void watchdog_set_diagnosis(watchdog_diagnosis_fn diagnose, void *arg)
{
    atomic_store(&watchdog.diagnose_arg, arg);
    atomic_store(&watchdog.diagnose, diagnose);
}

void watchdog_set_stall(double seconds, watchdog_progress_fn progress,
                        void *arg)
{
    atomic_store(&watchdog.stall, seconds);
    atomic_store(&watchdog.progress_arg, arg);
    atomic_store(&watchdog.progress, progress);
    if (watchdog.running) {
        uint64_t one = 1; /* wake the thread from a long poll */
        CHECK(write(watchdog.kick_fd, &one, sizeof one));
    }
}

void watchdog_set_on_signal(watchdog_signal_fn on_signal, void *arg)
{
    atomic_store(&watchdog.on_signal_arg, arg);
    atomic_store(&watchdog.on_signal, on_signal);
}

void watchdog_stop(void)
{
    if (!watchdog.running)
        return;
    uint64_t one = 1;
    CHECK(write(watchdog.stop_fd, &one, sizeof one));
    CHECK_PT(pthread_join(watchdog.thread, NULL));
    close(watchdog.stop_fd);
    close(watchdog.kick_fd);
    close(watchdog.signal_fd);
    sem_destroy(&watchdog.started_signal);
    watchdog.running = false;
}
