/* proc.c: fork-based processes and the registry that makes "leave nothing
 * behind" possible. */
#define _GNU_SOURCE
#include "proc.h"

#include "checked.h"
#include "log.h"
#include "timing.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio_ext.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The registry: pids started and not yet reaped.  A fixed array keeps it
 * usable from the watchdog thread without allocation; 4096 live children is
 * far beyond what any lab starts. */
enum { REGISTRY_CAPACITY = 4096 };
/* One entry: the pid, whether it is a daemon (the exit hook terminates
 * daemons and waits for the others), and its struct proc
 * (proc_active_children() writes the exit code of a child it reaps there). */
struct registry_entry {
    pid_t pid;
    bool daemon;
    struct proc *process;
};
/* One page-aligned block: the mutex, the count and the first entries share
 * a page.  The parent writes them right after fork(), when every page is
 * shared copy-on-write with the child, and each page written then costs a
 * page fault: one page, one fault (three parallel arrays cost four).
 * The mutex is error-checking, so that a thread that already holds it
 * (die_at() called while reaping) gets EDEADLK instead of deadlocking. */
static struct {
    pthread_mutex_t mutex;
    int count;
    struct registry_entry entry[REGISTRY_CAPACITY];
} _Alignas(4096) registry = {.mutex = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP};

/* Put entry `from` in slot `to` (removal swaps the last entry in). */
static void registry_move_locked(int to, int from)
{
    registry.entry[to] = registry.entry[from];
}

static void registry_add_locked(pid_t pid, struct proc *process, bool daemon)
{
    registry.entry[registry.count++] =
        (struct registry_entry){.pid = pid, .daemon = daemon, .process = process};
}

static void registry_remove_locked(pid_t pid)
{
    for (int i = 0; i < registry.count; i++) {
        if (registry.entry[i].pid == pid) {
            registry_move_locked(i, --registry.count);
            return;
        }
    }
}

static int exitcode_from_status(int status)
{
    if (WIFSIGNALED(status))
        return -WTERMSIG(status);
    return WEXITSTATUS(status);
}

/* The registry belongs to the process that filled it.  A child inherits a
 * copy listing its siblings (and a mutex possibly locked by a parent thread
 * that does not exist here): it must never use that copy.  Rather than reset
 * it in every child -- each page a child writes costs a copy-on-write fault,
 * about 13 us on a small VM, paid before the child's work starts -- a child
 * resets it only when it first uses it itself. */
/* Atomic: the watchdog thread reads it while the main thread may be setting
 * it on its first proc_start(). */
static _Atomic pid_t registry_owner;

/* Does this thread hold the registry?  (die_at() may run while it does.) */
static _Thread_local bool holding_registry;

static void registry_lock(void)
{
    pid_t self = getpid();
    if (registry_owner != self) {
        if (registry_owner != 0) { /* an inherited copy: start afresh */
            pthread_mutexattr_t attributes;
            pthread_mutexattr_init(&attributes);
            pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_ERRORCHECK);
            pthread_mutex_init(&registry.mutex, &attributes);
            pthread_mutexattr_destroy(&attributes);
            registry.count = 0;
            holding_registry = false; /* the parent's thread held it */
        }
        registry_owner = self;
    }
    CHECK_PT(pthread_mutex_lock(&registry.mutex));
    holding_registry = true;
}

static void registry_unlock(void)
{
    holding_registry = false;
    CHECK_PT(pthread_mutex_unlock(&registry.mutex));
}

static void exit_hook(void) { proc_exit_children(); }

/* fflush() with nothing to write still takes the stream's lock, a write to
 * the FILE: right after fork() that page is shared copy-on-write, so the
 * write costs a page fault (two streams, two faults, in the child at its
 * exit and in the parent at its next start).  That was a third of what
 * proc_start added to a raw fork (perf: _IO_file_sync).  __fpending() only
 * reads the buffer's pointers; a stream another thread is writing this
 * very moment may be missed, as fflush() itself could miss it an instant
 * later. */
static void flush_pending(void)
{
    if (__fpending(stdout) > 0)
        fflush(stdout);
    if (__fpending(stderr) > 0)
        fflush(stderr);
}

/* Once per process tree (a child inherits both the atexit entry and the
 * done state): the exit hook, and the authkey every child inherits. */
static pthread_once_t first_start_once = PTHREAD_ONCE_INIT;
static void install_exit_hook(void)
{
    atexit(exit_hook);
    proc_authkey();
}
static void first_start_setup(void)
{
    CHECK_PT(pthread_once(&first_start_once, install_exit_hook));
}

/* Set in a daemon child before its main runs (proc_start_daemon). */
static bool self_is_daemon;

static void refuse_in_daemon(void)
{
    if (!self_is_daemon)
        return;
    fprintf(stderr, "%s: proc_start: %s\n", log_name(), PROC_DAEMON_REFUSAL);
    fflush(stdout);
    fflush(stderr);
    _exit(EXIT_WRONG);
}

static void child_setup(const char *name, pid_t parent)
{
    /* If the parent dies, even by SIGKILL, the kernel kills us too.  The
     * getppid() check closes the race where it died before prctl(). */
    CHECK(prctl(PR_SET_PDEATHSIG, SIGKILL));
    if (getppid() != parent)
        _exit(EXIT_SYSTEM);
    log_set_name(name);

    /* The parent's watchdog blocked SIGINT/SIGTERM/SIGHUP in every thread to
     * receive them synchronously, and the parent may have ignored or caught
     * them.  Give the child the default behaviour back, so that terminate()
     * (SIGTERM) ends it, except SIGINT: the terminal sends Ctrl+C to the
     * whole process group, and the parent alone decides what happens then
     * (it kills us). */
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    CHECK_PT(pthread_sigmask(SIG_SETMASK, &mask, NULL));
}

/* The kept descriptors, sorted, duplicates dropped.  Runs in the parent,
 * so a bad list stops the program where it was written. */
static int sort_kept(const int *keep, int keep_count, int *sorted)
{
    if (keep_count < 0 || keep_count > PROC_KEEP_MAX)
        die_at(__FILE__, __LINE__, "proc_start_keeping: too many descriptors",
               EINVAL);
    int count = 0;
    for (int i = 0; i < keep_count; i++) {
        int fd = keep[i];
        if (fd < 0)
            continue;
        if (fcntl(fd, F_GETFD) == -1)
            die_at(__FILE__, __LINE__, "proc_start_keeping: fcntl(F_GETFD)",
                   errno);
        int at = count;
        while (at > 0 && sorted[at - 1] > fd)
            at--;
        if (at > 0 && sorted[at - 1] == fd)
            continue;
        memmove(&sorted[at + 1], &sorted[at], (size_t)(count - at) * sizeof *sorted);
        sorted[at] = fd;
        count++;
    }
    return count;
}

/* Close [low, high].  close_range() is one system call however many
 * descriptors there are (Linux >= 5.9); without it, one close() each, up
 * to the descriptor limit. */
static void close_between(unsigned low, unsigned high)
{
    if (low > high)
        return;
    if (syscall(SYS_close_range, low, high, 0) == 0)
        return;
    long limit = sysconf(_SC_OPEN_MAX);
    if (limit < 0 || limit > 65536)
        limit = 65536;
    for (long fd = low; fd <= (long)high && fd < limit; fd++)
        close((int)fd);
}

/* In the child, before anything else: only 0, 1, 2 and the kept ones. */
static void close_unkept(const int *sorted, int count)
{
    unsigned next = 3;
    for (int i = 0; i < count; i++) {
        if (sorted[i] < 3)
            continue;
        close_between(next, (unsigned)sorted[i] - 1);
        next = (unsigned)sorted[i] + 1;
    }
    close_between(next, ~0u);
}

void proc_start(struct proc *process, const char *name, proc_main_fn main,
                void *arg)
{
    proc_start_keeping(process, name, main, arg, NULL, 0);
}

void proc_start_keeping(struct proc *process, const char *name,
                        proc_main_fn main, void *arg, const int *keep,
                        int keep_count)
{
    refuse_in_daemon();
    int kept[PROC_KEEP_MAX];
    int kept_count = sort_kept(keep, keep_count, kept);
    memset(process, 0, sizeof *process);
    snprintf(process->name, sizeof process->name, "%s", name);
    first_start_setup();

    /* Anything still buffered would be printed once by each process. */
    flush_pending();

    pid_t parent = getpid();
    /* Block SIGTERM and SIGHUP across fork().  The child inherits the
     * parent's handlers until child_setup() resets them; a terminate() that
     * arrived in between would hit an inherited SIG_IGN and be discarded.
     * A blocked signal is kept pending instead, and delivered when the child
     * unblocks it, with the default action in place. */
    sigset_t lifecycle, saved_mask;
    sigemptyset(&lifecycle);
    sigaddset(&lifecycle, SIGTERM);
    sigaddset(&lifecycle, SIGHUP);
    CHECK_PT(pthread_sigmask(SIG_BLOCK, &lifecycle, &saved_mask));
    /* Hold the registry across fork() so the watchdog never sees a child
     * that exists but is not yet recorded. */
    registry_lock();
    pid_t pid = fork();
    if (pid == 0) {
        close_unkept(kept, kept_count);
        child_setup(process->name, parent);
        int status = main(arg);
        proc_exit_children(); /* Python's exit hook, for our own children */
        flush_pending();
        _exit(status & 0xff);
    }
    if (pid == -1) {
        int saved = errno;
        registry_unlock();
        die_at(__FILE__, __LINE__, "fork()", saved);
    }
    if (registry.count == REGISTRY_CAPACITY) {
        registry_unlock();
        die_at(__FILE__, __LINE__, "proc_start: registry full", EAGAIN);
    }
    registry_add_locked(pid, process, false);
    registry_unlock();
    CHECK_PT(pthread_sigmask(SIG_SETMASK, &saved_mask, NULL));
    process->pid = pid;
}

/* waitpid/waitid said ECHILD: our child is gone.  The only legitimate way
 * is that the watchdog (or Ctrl+C) is tearing the run down and reaped it; it
 * holds the registry until the process exits, so blocking on the registry
 * parks this thread quietly instead of reporting a false error.  If nobody is
 * tearing down, the lock is free and the failure is real. */
static _Noreturn void lost_child(const char *file, int line, const char *what)
{
    registry_lock();
    registry_unlock();
    die_at(file, line, what, ECHILD);
}

/* Reap a child known to have ended.  The order matters: a child that has
 * ended but is not reaped is a zombie and keeps its pid, so we first take it
 * out of the registry (the watchdog may still signal it harmlessly until
 * then) and only then let the pid go. */
static void reap(struct proc *process)
{
    int status = 0;
    registry_lock();
    registry_remove_locked(process->pid);
    pid_t got;
    do
        got = waitpid(process->pid, &status, 0);
    while (got == -1 && errno == EINTR);
    int saved = errno;
    registry_unlock();
    if (got == -1 && saved == ECHILD)
        lost_child(__FILE__, __LINE__, "waitpid()");
    if (got == -1)
        die_at(__FILE__, __LINE__, "waitpid()", saved);
    process->exitcode = exitcode_from_status(status);
    process->joined = true;
}

/* Has the child ended?  waitid(WNOWAIT) looks without reaping. */
static bool has_ended(pid_t pid, bool block)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int flags = WEXITED | WNOWAIT | (block ? 0 : WNOHANG);
    int rc;
    do
        rc = waitid(P_PID, (id_t)pid, &info, flags);
    while (rc == -1 && errno == EINTR);
    if (rc == -1 && errno == ECHILD)
        lost_child(__FILE__, __LINE__, "waitid()");
    if (rc == -1)
        die_at(__FILE__, __LINE__, "waitid()", errno);
    return info.si_pid == pid;
}

bool proc_join(struct proc *process, double timeout_seconds)
{
    if (process->joined)
        return true;
    if (timeout_seconds < 0) {
        has_ended(process->pid, true);
        reap(process);
        return true;
    }
    /* A pidfd becomes readable when the child ends: poll() gives us a timed
     * wait without a busy loop (Linux >= 5.3). */
    int pidfd = (int)syscall(SYS_pidfd_open, process->pid, 0);
    if (pidfd == -1 && errno == ESRCH) /* reaped already: by the watchdog */
        lost_child(__FILE__, __LINE__, "pidfd_open()");
    if (pidfd == -1)
        die_at(__FILE__, __LINE__, "pidfd_open()", errno);
    struct pollfd ready = {.fd = pidfd, .events = POLLIN};
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int rc;
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double elapsed = (double)(now.tv_sec - start.tv_sec) +
                         (double)(now.tv_nsec - start.tv_nsec) / 1e9;
        double left = timeout_seconds - elapsed;
        if (left < 0)
            left = 0;
        rc = poll(&ready, 1, (int)(left * 1000.0 + 0.999));
        if (rc == -1 && errno == EINTR)
            continue;
        break;
    }
    int saved = errno;
    close(pidfd);
    if (rc == -1)
        die_at(__FILE__, __LINE__, "poll(pidfd)", saved);
    if (rc == 0 && !has_ended(process->pid, false))
        return false;
    reap(process);
    return true;
}

bool proc_is_alive(struct proc *process)
{
    if (process->joined || process->pid == 0)
        return false;
    return !has_ended(process->pid, false);
}

void proc_signal(struct proc *process, int signal_number)
{
    if (process->joined || process->pid == 0)
        return;
    /* Only while the pid is in the registry: then it is ours, alive or a
     * zombie, and cannot have been reused.  If the watchdog reaped it in a
     * teardown, the pid may already name another process: leave it be. */
    registry_lock();
    bool ours = false;
    for (int i = 0; i < registry.count && !ours; i++)
        ours = registry.entry[i].pid == process->pid;
    int rc = ours ? kill(process->pid, signal_number) : 0;
    int saved = errno;
    registry_unlock();
    if (rc == -1)
        die_at(__FILE__, __LINE__, "kill()", saved);
}

int proc_active_count(void)
{
    registry_lock();
    int count = registry.count;
    registry_unlock();
    return count;
}

int proc_list_active(pid_t *pids, int capacity)
{
    registry_lock();
    int count = registry.count;
    for (int i = 0; i < count && i < capacity; i++)
        pids[i] = registry.entry[i].pid;
    registry_unlock();
    return count;
}

/* The children this process has that the registry does not list: orphans
 * of our children, re-parented here because this process is a subreaper
 * (watchdog_start sets it).  SIGKILL each one still running; returns how
 * many it found. */
static int kill_adopted(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)getpid());
    DIR *tasks = opendir(path);
    if (tasks == NULL)
        return 0; /* no descriptor to spare: waitpid() below still reaps */
    int found = 0;
    struct dirent *task;
    while ((task = readdir(tasks)) != NULL) {
        if (task->d_name[0] == '.')
            continue;
        char children[320];
        snprintf(children, sizeof children, "/proc/%d/task/%s/children",
                 (int)getpid(), task->d_name);
        FILE *list = fopen(children, "r");
        if (list == NULL)
            continue;
        int pid;
        while (fscanf(list, "%d", &pid) == 1) {
            kill(pid, SIGKILL);
            found++;
        }
        fclose(list);
    }
    closedir(tasks);
    return found;
}

/* After the registered children: a child's own children die with it
 * (PR_SET_PDEATHSIG), a moment later, and as orphans they come to us.
 * Reap them all before we exit, so nothing is left for our parent, and
 * kill any that did not die alone.  Until ECHILD, or the deadline. */
static void reap_adopted(uint64_t deadline)
{
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 1000000};
    for (int look = 0;; look++) {
        pid_t got;
        while ((got = waitpid(-1, NULL, WNOHANG)) > 0)
            ;
        if (got == -1 && errno == ECHILD)
            return; /* no child at all */
        if (clock_nanoseconds() > deadline)
            return;
        if (look % 10 == 9) /* still there after 10 ms: not dying alone */
            kill_adopted();
        nanosleep(&pause, NULL);
    }
}

int proc_kill_all_and_reap(double grace_seconds)
{
    if (registry_owner != getpid())
        return 0; /* a child with no children of its own */
    /* A bounded lock: another thread holds the registry only for moments
     * (reaping a child that has already ended).  If this thread holds it
     * itself (die_at() while reaping), go on.  If it cannot be had within a
     * second, the children still die with us through PR_SET_PDEATHSIG.
     * (A trylock loop on the monotonic clock, not pthread_mutex_clocklock:
     * ThreadSanitizer does not know that call, and would report the
     * registry as unprotected.) */
    if (!holding_registry) {
        struct timespec pause = {.tv_sec = 0, .tv_nsec = 1000000};
        uint64_t deadline = clock_nanoseconds() + 1000000000u;
        while (pthread_mutex_trylock(&registry.mutex) != 0) {
            if (clock_nanoseconds() > deadline)
                return 0;
            nanosleep(&pause, NULL);
        }
        holding_registry = true;
    }
    int killed = registry.count;
    for (int i = 0; i < registry.count; i++)
        kill(registry.entry[i].pid, SIGKILL);
    /* SIGKILL cannot be caught, so each child ends within moments; reap
     * them all, polling so that even a child stuck in the kernel cannot
     * hold us past the grace period. */
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 1000000};
    for (double waited = 0; registry.count > 0 && waited <= grace_seconds;
         waited += 0.001) {
        for (int i = 0; i < registry.count;) {
            pid_t got = waitpid(registry.entry[i].pid, NULL, WNOHANG);
            if (got == registry.entry[i].pid || (got == -1 && errno == ECHILD))
                registry_move_locked(i, --registry.count);
            else
                i++;
        }
        if (registry.count > 0)
            nanosleep(&pause, NULL);
    }
    reap_adopted(clock_nanoseconds() +
                 (uint64_t)(grace_seconds > 0 ? grace_seconds * 1e9 : 0));
    /* Keep the registry locked: the process is about to exit, and no other
     * thread may reap or start a child in between. */
    return killed;
}

int proc_cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        return CPU_COUNT(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}

const char *proc_describe_exitcode(int exitcode, char *buffer, int size)
{
    if (exitcode < 0)
        snprintf(buffer, (size_t)size, "killed by signal %d (%s)", -exitcode,
                 strsignal(-exitcode));
    else
        snprintf(buffer, (size_t)size, "exited with status %d", exitcode);
    return buffer;
}

/* ---- Daemons and the exit hook ---------------------------------------------- */

struct daemon_start {
    proc_main_fn main;
    void *arg;
};

/* Runs in the daemon child: mark it, then the real body.  `start` lives in
 * proc_start_daemon's frame, which the child's copy of the stack still
 * holds while proc_start (called from there) runs this. */
static int daemon_main(void *arg)
{
    const struct daemon_start *start = arg;
    self_is_daemon = true;
    return start->main(start->arg);
}

void proc_start_daemon(struct proc *process, const char *name,
                       proc_main_fn main, void *arg)
{
    proc_start_daemon_keeping(process, name, main, arg, NULL, 0);
}

void proc_start_daemon_keeping(struct proc *process, const char *name,
                               proc_main_fn main, void *arg, const int *keep,
                               int keep_count)
{
    struct daemon_start start = {.main = main, .arg = arg};
    proc_start_keeping(process, name, daemon_main, &start, keep, keep_count);
    registry_lock();
    for (int i = 0; i < registry.count; i++)
        if (registry.entry[i].pid == process->pid)
            registry.entry[i].daemon = true;
    registry_unlock();
}

bool proc_is_daemon(void) { return self_is_daemon; }

static _Atomic(proc_exit_observer_fn) exit_observer;

void proc_set_exit_observer(proc_exit_observer_fn observer)
{
    exit_observer = observer;
}

int proc_exit_children(void)
{
    /* Not ours (a child that never started one), or a teardown holds the
     * registry on this very thread (it has killed everything already). */
    if (registry_owner != getpid() || holding_registry)
        return 0;
    /* A snapshot: the list is ours alone now (the program is exiting), but
     * reaping below edits the registry. */
    static pid_t pids[REGISTRY_CAPACITY];
    static bool daemons[REGISTRY_CAPACITY];
    registry_lock();
    int count = registry.count;
    for (int i = 0; i < count; i++) {
        pids[i] = registry.entry[i].pid;
        daemons[i] = registry.entry[i].daemon;
        if (daemons[i]) /* Python: p.terminate() for each daemon child */
            kill(pids[i], SIGTERM);
    }
    registry_unlock();
    /* Then join every child (Python: p.join() for each other child). */
    for (int i = 0; i < count; i++) {
        struct proc child = {.pid = pids[i]};
        has_ended(child.pid, true);
        reap(&child);
        proc_exit_observer_fn observer = exit_observer;
        if (observer != NULL)
            observer(child.pid, daemons[i], child.exitcode);
    }
    return count;
}

/* ---- active_children(), adoption, cpu_count, authkey ------------------------ */

int proc_active_children(struct proc **running, int capacity)
{
    registry_lock();
    for (int i = 0; i < registry.count;) {
        int status = 0;
        pid_t got = waitpid(registry.entry[i].pid, &status, WNOHANG);
        if (got == registry.entry[i].pid) { /* ended: reap it, as Python's poll() */
            struct proc *process = registry.entry[i].process;
            if (process != NULL) {
                process->exitcode = exitcode_from_status(status);
                process->joined = true;
            }
            registry_move_locked(i, --registry.count);
            continue;
        }
        if (got == -1 && errno != EINTR) {
            int saved = errno;
            registry_unlock();
            die_at(__FILE__, __LINE__, "waitpid(WNOHANG)", saved);
        }
        i++;
    }
    int count = registry.count;
    for (int i = 0; i < count && i < capacity; i++)
        running[i] = registry.entry[i].process;
    registry_unlock();
    return count;
}

void proc_adopt(struct proc *process, pid_t pid, const char *name)
{
    memset(process, 0, sizeof *process);
    snprintf(process->name, sizeof process->name, "%s", name);
    process->pid = pid;
    registry_lock();
    if (registry.count == REGISTRY_CAPACITY) {
        registry_unlock();
        die_at(__FILE__, __LINE__, "proc_adopt: registry full", EAGAIN);
    }
    registry_add_locked(pid, process, false);
    registry_unlock();
}

int proc_cpu_count_online(void)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}

static unsigned char authkey[PROC_AUTHKEY_BYTES];
static pthread_once_t authkey_once = PTHREAD_ONCE_INIT;

static void make_authkey(void)
{
    size_t filled = 0;
    while (filled < sizeof authkey) {
        ssize_t got = getrandom(authkey + filled, sizeof authkey - filled, 0);
        if (got == -1 && errno == EINTR)
            continue;
        if (got == -1)
            die_at(__FILE__, __LINE__, "getrandom()", errno);
        filled += (size_t)got;
    }
}

const unsigned char *proc_authkey(void)
{
    CHECK_PT(pthread_once(&authkey_once, make_authkey));
    return authkey;
}
