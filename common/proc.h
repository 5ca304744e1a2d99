/* proc.h: a Process-like API over fork(), and the registry of live children.
 *
 * Python's multiprocessing.Process in C: start a function in a child process,
 * join it (optionally with a timeout), read its exit code.  The exit code
 * follows Python's convention: >= 0 is the child's exit status, -N means the
 * child was killed by signal N (so SIGKILL shows as -9).
 *
 * Every child started here is recorded in a process-wide registry until it is
 * reaped.  That registry is what lets the watchdog, Ctrl+C and die_at() kill
 * and reap every child on every path: nothing is left behind.  Each child also
 * asks the kernel to SIGKILL it if the parent dies (PR_SET_PDEATHSIG), which
 * covers the one path no code of ours runs on: the parent being SIGKILLed.
 *
 * Signals in the child: SIGINT stays blocked (Ctrl+C is handled once, by the
 * parent's watchdog, which kills the whole family); SIGTERM and SIGHUP are
 * unblocked and back to their default action, so terminate() works even if
 * the parent ignored or caught them.  Other inherited dispositions are kept,
 * as fork() keeps them.
 *
 * One caveat of PR_SET_PDEATHSIG: it fires when the *thread* that forked the
 * child ends, not the process.  Start children from a thread that outlives
 * them (every lab starts them from its main thread).
 *
 * A caveat of fork() itself in a threaded program: the child gets a copy of
 * every lock as it was at that instant, and only the forking thread.  A lock
 * another thread held is held forever in the child.  glibc re-initialises
 * its own (malloc, stdio) around fork(); the sanitizer runtimes of gcc 12 do
 * not, and a thread that is starting or ending holds their thread-registry
 * lock.  So: do not fork while another thread is being created or joined
 * (watchdog_start() returns only once its thread runs, for this reason).
 */
#ifndef COMMON_PROC_H
#define COMMON_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* The child's body.  Its return value becomes the child's exit status. */
typedef int (*proc_main_fn)(void *arg);

struct proc {
    pid_t pid;        /* 0 before start */
    char name[16];    /* also the child's kernel comm name (ps, top) */
    bool joined;      /* reaped: exitcode is valid */
    int exitcode;     /* >= 0 exit status, -N killed by signal N */
};

/* Start main(arg) in a new child process named `name` (truncated to 15
 * characters).  stdout and stderr are flushed first, so buffered text is not
 * printed twice.  Never fails: a failed fork() stops the program (checked.h).
 *
 * Descriptors: the child holds stdin, stdout and stderr, and nothing else.
 * fork() copies every descriptor the parent holds at that instant -- another
 * child's pipe end, a pidfd, the watchdog's eventfds -- and close-on-exec
 * does not help, because these children never exec.  A copied write end is
 * the classic hang: its reader never sees end of file while the unrelated
 * child lives (a pool worker replaced during a ping-pong held the pong
 * pipe).  So the child closes everything above 2 first thing, before
 * main() runs, whoever started it and whenever.  A child that needs a
 * descriptor says so with proc_start_keeping(). */
void proc_start(struct proc *process, const char *name, proc_main_fn main,
                void *arg);

/* proc_start(), the child keeping `keep[0..keep_count)` as well (at most
 * PROC_KEEP_MAX; negative entries are skipped, so a closed end (-1) can be
 * passed as it is).  Each must be open in the parent: a stale number stops
 * the program (EBADF), it is never silently lost.  PROC_FDS() spells the
 * list in place:
 *     proc_start_keeping(&child, "pong", pong_main, &p,
 *                        PROC_FDS(there[0], back[1]));              */
enum { PROC_KEEP_MAX = 16 };
void proc_start_keeping(struct proc *process, const char *name,
                        proc_main_fn main, void *arg, const int *keep,
                        int keep_count);
#define PROC_FDS(...)                                                          \
    (const int[]){__VA_ARGS__},                                                \
        (int)(sizeof((const int[]){__VA_ARGS__}) / sizeof(int))

/* Wait for the child to end, at most timeout_seconds (< 0: no bound of its
 * own; the run's watchdog still bounds it).  Returns true when the child was
 * reaped (process->exitcode is set), false when the timeout expired first. */
bool proc_join(struct proc *process, double timeout_seconds);

/* True while the child has not ended.  Never blocks. */
bool proc_is_alive(struct proc *process);

/* Send a signal (SIGTERM is Python's terminate(), SIGKILL its kill()).  A
 * child that has already ended but is not yet joined is a zombie: its pid
 * cannot be reused, so signalling it is harmless. */
void proc_signal(struct proc *process, int signal_number);

/* How many started children have not been joined yet. */
int proc_active_count(void);

/* SIGKILL every registered child and reap them, waiting at most
 * grace_seconds in all.  Used by the watchdog, Ctrl+C and die_at().
 * Then the grandchildren: a child's own children die with it
 * (PR_SET_PDEATHSIG) a moment later, and since watchdog_start() makes the
 * program a subreaper, they come to it as orphans: it reaps them too (and
 * SIGKILLs any that would outlive it), so nothing is left for its parent.
 * Returns how many registered children were killed.  Safe to call from any
 * thread; after it returns the caller is expected to exit. */
int proc_kill_all_and_reap(double grace_seconds);

/* Write the registered pids into `pids` (at most `capacity`), for
 * diagnostics.  Returns how many there are. */
int proc_list_active(pid_t *pids, int capacity);

/* CPUs this process may run on (its affinity mask, like Python's
 * os.process_cpu_count()), which is what a pool should size itself to. */
int proc_cpu_count(void);

/* Describe an exit code for a person: "exited with status 0",
 * "killed by signal 9 (Killed)". */
const char *proc_describe_exitcode(int exitcode, char *buffer, int size);

/* ---- Python's lifecycle rules: daemon children, the exit hook ----------------
 *
 * CPython's multiprocessing keeps two promises at exit, through an atexit
 * hook (multiprocessing.util._exit_function): every *daemon* child still
 * running is terminated (SIGTERM), and every other child is joined -- the
 * program waits for it.  The same hook runs at the end of every child
 * process, for that child's own children.  Here the same: the first
 * proc_start() in a process installs the hook (atexit), and a child started
 * here runs it when its main returns, before _exit().  It runs only on a
 * normal exit: die_at(), the watchdog and Ctrl+C kill every child instead
 * (proc_kill_all_and_reap).  A non-daemon child that never ends makes the
 * exit wait for it, exactly as in Python; the watchdog, if still running,
 * bounds that wait.
 *
 * A daemon may not start children ("daemonic processes are not allowed to
 * have children"): when it is terminated at its parent's exit, its own
 * children would be orphaned. */

/* proc_start() for a daemon child (Python's daemon=True); and the same
 * keeping descriptors, as proc_start_keeping(). */
void proc_start_daemon(struct proc *process, const char *name,
                       proc_main_fn main, void *arg);
void proc_start_daemon_keeping(struct proc *process, const char *name,
                               proc_main_fn main, void *arg, const int *keep,
                               int keep_count);

/* True in a process started by proc_start_daemon(). */
bool proc_is_daemon(void);

/* Start refused in a daemon: proc_start() in a daemon prints this and ends
 * the daemon with status 1, as Python's AssertionError would. */
#define PROC_DAEMON_REFUSAL "daemonic processes are not allowed to have children"

/* Called by the exit hook for each child it ends or waits for, after the
 * child is reaped: lets a program (or a test) see what the hook did.
 * Runs in the process that exits, at exit. */
typedef void (*proc_exit_observer_fn)(pid_t pid, bool daemon, int exitcode);
void proc_set_exit_observer(proc_exit_observer_fn observer);

/* What the exit hook does, callable directly: SIGTERM every daemon child,
 * then join every child (daemons too, once they end).  Returns how many
 * children it reaped. */
int proc_exit_children(void);

/* ---- active_children(), adoption, cpu_count, authkey ---------------------- */

/* Python's active_children(): reap every child that has ended (writing its
 * exit code into its struct proc, which must still be valid: the one given
 * to proc_start, not yet joined), then list the ones still running, at most
 * `capacity`.  Returns how many are running.  Looking reaps, as in Python:
 * a zombie disappears when you call this. */
int proc_active_children(struct proc **running, int capacity);

/* Register `pid`, an orphan that the kernel re-parented to this process
 * (a subreaper, PR_SET_CHILD_SUBREAPER), as one of our children: from then
 * on it is joined, signalled and killed on every path like any other. */
void proc_adopt(struct proc *process, pid_t pid, const char *name);

/* CPUs the machine has online (Python's os.cpu_count()); proc_cpu_count()
 * above is the process's affinity (os.process_cpu_count()). */
int proc_cpu_count_online(void);

/* Python's authkey: 32 random bytes made once in the first process that
 * asks (or starts a child), inherited by every child through fork().  A
 * program that is exec'd makes its own: it must be handed the key to share
 * it (CPython's spawn sends it to the child in the preparation data).
 * Used by the manager's handshake (lab share). */
enum { PROC_AUTHKEY_BYTES = 32 };
const unsigned char *proc_authkey(void);

#endif
