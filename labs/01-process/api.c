/* api.c: the Process API of the documents (E2), each part on a real child:
 * the clock two ways, three workers, every attribute, terminate and kill,
 * and the tour (--experiment api) through these and lifecycle.c's.
 *
 * Every line a child prints starts with its pid in brackets; every line the
 * lab prints about a child is what Python would print for the same call
 * (p.exitcode None, p.is_alive() True, ...), computed from the child.
 * Where a child and the parent must print in a fixed order, a pipe hands
 * the turn over: the order of the transcript is then the order of events,
 * not luck.
 */
#define _GNU_SOURCE
#include "process.h"

#include "checked.h"
#include "timing.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* ---- Small tools ---------------------------------------------------------- */

void *shared_area(size_t size)
{
    return CHECK_PTR(mmap(NULL, size, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                     MAP_FAILED);
}

/* A turn handed over a pipe: one byte.  Waiting is bounded (10 s); a peer
 * that never answers is a broken lab, reported as such. */
void hand_over(int fd) { CHECK(write(fd, "t", 1)); }

bool await_turn(int fd)
{
    struct pollfd ready = {.fd = fd, .events = POLLIN};
    int rc;
    do
        rc = poll(&ready, 1, 10000);
    while (rc == -1 && errno == EINTR);
    char byte;
    return rc == 1 && read(fd, &byte, 1) == 1;
}

void turns_open(struct turns *t)
{
    CHECK(pipe(t->to_child));
    CHECK(pipe(t->to_parent));
}

/* The child's ends: it reads to_child and writes to_parent. */
void keep_turns(struct process_object *p, const struct turns *t)
{
    p->keep[0] = t->to_child[0];
    p->keep[1] = t->to_parent[1];
    p->keep_count = 2;
}

void turns_close(struct turns *t)
{
    for (int i = 0; i < 2; i++) {
        close(t->to_child[i]);
        close(t->to_parent[i]);
    }
}

/* Wall-clock time for people, like time.ctime() but with milliseconds (the
 * sleeps are scaled) and only digits (so transcripts compare by shape). */
const char *time_of_day(char *text, size_t size)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm local;
    localtime_r(&now.tv_sec, &local);
    snprintf(text, size, "%02d:%02d:%02d.%03ld", local.tm_hour, local.tm_min,
             local.tm_sec, now.tv_nsec / 1000000);
    return text;
}

const char *python_bool(bool value) { return value ? "True" : "False"; }

/* ---- clock: from a target, and by "subclassing" ---------------------------- */

/* Method 1 (the documents': def clock(x, y): for i in range(x): print the
 * time; sleep(y)), the target of a plain Process. */
struct clock_args {
    int times;
    double interval;
};

static int clock_target(void *arg)
{
    const struct clock_args *a = arg;
    char now[32];
    for (int i = 0; i < a->times; i++) {
        say("  [%d] The time is %s", (int)getpid(),
            time_of_day(now, sizeof now));
        pause_for(a->interval);
    }
    return 0;
}

/* Method 2: class ClockProcess(Process) with its own run().  The "base
 * class" comes first in the struct, so a pointer to it is a pointer to the
 * whole object. */
struct clock_process {
    struct process_object base;
    int times;
    double interval;
};

static int clock_process_run(struct process_object *self)
{
    const struct clock_process *clock = (const struct clock_process *)self;
    char now[32];
    for (int i = 0; i < clock->times; i++) {
        say("  [%d] %d==%s", (int)getpid(), (int)getpid(),
            time_of_day(now, sizeof now));
        pause_for(clock->interval);
    }
    return 0;
}

static void clock_process_init(struct clock_process *clock, int times,
                               double interval)
{
    /* Process.__init__(self), then def run(self) */
    process_object_init_as(&clock->base, "ClockProcess", NULL, NULL, NULL);
    clock->base.run = clock_process_run;
    clock->times = times;
    clock->interval = interval;
}

int run_clock(void)
{
    say("clock: method 1, p = Process(target=clock, args=(5, %g s)); "
        "p.start(); p.join()", scaled(1));
    struct clock_args args = {.times = 5, .interval = 1};
    struct process_object p;
    process_object_init(&p, clock_target, &args, NULL);
    process_object_start(&p);
    proc_join(&p.proc, -1);

    say("clock: method 2, class ClockProcess(Process) with run() replaced; "
        "p and p1 started together");
    struct clock_process first, second;
    clock_process_init(&first, 5, 1);
    clock_process_init(&second, 5, 1);
    process_object_start(&first.base);
    process_object_start(&second.base);
    proc_join(&first.base.proc, -1);
    proc_join(&second.base.proc, -1);
    char repr[160], repr1[160];
    say("  print(p), print(p1): %s, %s",
        process_object_repr(&first.base, repr, sizeof repr),
        process_object_repr(&second.base, repr1, sizeof repr1));
    bool clean = p.proc.exitcode == 0 && first.base.proc.exitcode == 0 &&
                 second.base.proc.exitcode == 0;
    say("clock: the same work either way: start() calls run(), whose default "
        "calls the target; exitcodes %d, %d, %d", p.proc.exitcode,
        first.base.proc.exitcode, second.base.proc.exitcode);
    return clean ? EXIT_OK : EXIT_WRONG;
}

/* ---- workers: the parent prints END first ---------------------------------- */

struct worker_times {
    _Atomic uint64_t ended_ns[3];
};

struct worker_args {
    int number;
    double seconds;
    struct worker_times *times;
};

static int worker(void *arg)
{
    const struct worker_args *w = arg;
    say("worker_%d", w->number);
    pause_for(w->seconds);
    say("end worker_%d", w->number);
    atomic_store(&w->times->ended_ns[w->number - 1], clock_nanoseconds());
    return 0;
}

int run_workers(void)
{
    say("workers: three processes sleeping 2, 3 and 4 s (x %g); the "
        "documents' main ends at once", settings.pause_scale);
    struct worker_times *times = shared_area(sizeof *times);
    struct worker_args args[3];
    struct process_object workers[3];
    uint64_t started = clock_nanoseconds();
    for (int i = 0; i < 3; i++) {
        args[i] = (struct worker_args){.number = i + 1, .seconds = 2 + i,
                                       .times = times};
        process_object_init(&workers[i], worker, &args[i], NULL);
        process_object_start(&workers[i]);
    }
    say("The number of CPU is:%d", proc_cpu_count_online());
    struct proc *running[8];
    int count = proc_active_children(running, 8);
    for (int i = 0; i < count && i < 8; i++)
        say("child   p.name:%s\tp.id%d", running[i]->name, (int)running[i]->pid);
    say("END!!!!!!!!!!!!!!!!!");
    uint64_t end_printed = clock_nanoseconds();
    /* The documents' program stops here; Python's exit hook then waits for
     * the three (they are not daemons: --experiment daemon). */
    for (int i = 0; i < 3; i++)
        proc_join(&workers[i].proc, -1);
    uint64_t joined = clock_nanoseconds();
    uint64_t first_end = UINT64_MAX, last_end = 0;
    bool all_zero = true;
    for (int i = 0; i < 3; i++) {
        uint64_t t = atomic_load(&times->ended_ns[i]);
        first_end = t < first_end ? t : first_end;
        last_end = t > last_end ? t : last_end;
        all_zero &= workers[i].proc.exitcode == 0;
    }
    char a[32], b[32], c[32];
    /* END before the first end is what a parent that keeps running shows;
     * only a parent kept off the CPU for the workers' whole sleep (a busy
     * machine, a tiny --pause-scale) would miss it, and then it says so. */
    say("workers: END was printed %s after the starts, %s the first worker "
        "ended (%s)%s",
        duration_text((double)(end_printed - started) / 1e9, a, sizeof a),
        end_printed < first_end ? "before" : "after",
        duration_text((double)(first_end - started) / 1e9, b, sizeof b),
        end_printed < first_end ? ""
                                : ": this process was not running that long");
    /* This one cannot fail: a join returns only after its child ended. */
    bool waited = joined >= last_end;
    say("workers: the joins returned at %s, %s the last worker ended (%s): "
        "start() does not wait for the child; join() does",
        duration_text((double)(joined - started) / 1e9, c, sizeof c),
        waited ? "after" : "BEFORE",
        duration_text((double)(last_end - started) / 1e9, a, sizeof a));
    CHECK(munmap(times, sizeof *times));
    return all_zero && waited ? EXIT_OK : EXIT_WRONG;
}

/* ---- attributes: name, pid, ppid, is_alive, exitcode, join(timeout) -------- */

static struct turns attribute_turns;

static int run_until_told(void *arg)
{
    (void)arg;
    if (!await_turn(attribute_turns.to_child[0]))
        return 1;
    pid_t parent = getppid();
    say("  in the child: os.getpid() %d, os.getppid() %d "
        "(parent_process().pid)", (int)getpid(), (int)parent);
    hand_over(attribute_turns.to_parent[1]);
    return await_turn(attribute_turns.to_child[0]) ? 0 : 1;
}

int run_attributes(void)
{
    turns_open(&attribute_turns);
    char code[16];
    say("attributes: p = Process(target=run_until_told), a child that runs "
        "until the parent says stop");
    struct process_object p;
    process_object_init(&p, run_until_told, NULL, NULL);
    keep_turns(&p, &attribute_turns);
    char pid_text[16] = "None"; /* no pid before start() */
    if (p.proc.pid != 0)
        snprintf(pid_text, sizeof pid_text, "%d", (int)p.proc.pid);
    char repr[160];
    say("  before start: p.name '%s', p.pid %s, p.is_alive() %s, "
        "p.exitcode %s", p.name, pid_text, python_bool(proc_is_alive(&p.proc)),
        process_object_exitcode(&p, code, sizeof code));
    say("    print(p): %s", process_object_repr(&p, repr, sizeof repr));
    process_object_start(&p);
    say("  after start:  p.pid %d, p.is_alive() %s, p.exitcode %s "
        "(the lab's own pid is %d)", (int)p.proc.pid,
        python_bool(proc_is_alive(&p.proc)),
        process_object_exitcode(&p, code, sizeof code), (int)getpid());
    say("    print(p): %s", process_object_repr(&p, repr, sizeof repr));
    hand_over(attribute_turns.to_child[1]);
    bool answered = await_turn(attribute_turns.to_parent[0]);

    double timeout = scaled(0.1);
    double t0 = clock_seconds();
    bool joined = proc_join(&p.proc, timeout);
    double waited = clock_seconds() - t0;
    char took[32];
    say("  p.join(timeout=%g) returned %s after %s: %s", timeout,
        python_bool(joined), duration_text(waited, took, sizeof took),
        joined ? "the child had ended" : "the timeout expired");
    say("    (CPython's join() returns None either way: check p.exitcode "
        "or p.is_alive() after it)");
    bool alive_after = proc_is_alive(&p.proc);
    say("  p.is_alive() %s, p.exitcode %s", python_bool(alive_after),
        process_object_exitcode(&p, code, sizeof code));

    hand_over(attribute_turns.to_child[1]);
    t0 = clock_seconds();
    bool joined_now = proc_join(&p.proc, 10.0);
    say("  told to stop: p.join(timeout=10) returned %s after %s; "
        "p.exitcode %s, p.is_alive() %s", python_bool(joined_now),
        duration_text(clock_seconds() - t0, took, sizeof took),
        process_object_exitcode(&p, code, sizeof code),
        python_bool(proc_is_alive(&p.proc)));
    say("    print(p): %s", process_object_repr(&p, repr, sizeof repr));
    turns_close(&attribute_turns);
    return answered && !joined && alive_after && joined_now &&
                   p.proc.exitcode == 0
               ? EXIT_OK
               : EXIT_WRONG;
}

/* ---- terminate and kill --------------------------------------------------- */

static struct turns terminate_turns;

static int run_for_ever(void *arg)
{
    bool ignore_sigterm = arg != NULL;
    if (ignore_sigterm)
        signal(SIGTERM, SIG_IGN);
    hand_over(terminate_turns.to_parent[1]); /* ready: the disposition is set */
    for (;;)
        pause();
    return 0;
}

static int terminate_one(const char *how, bool ignore_sigterm)
{
    char code[16], text[64];
    struct process_object p;
    process_object_init(&p, run_for_ever, ignore_sigterm ? (void *)1 : NULL,
                        NULL);
    keep_turns(&p, &terminate_turns);
    process_object_start(&p);
    if (!await_turn(terminate_turns.to_parent[0]))
        return EXIT_WRONG;
    int expected = -SIGTERM;
    if (strcmp(how, "terminate") == 0) {
        proc_signal(&p.proc, SIGTERM); /* p.terminate() */
        if (ignore_sigterm) {
            bool ended = proc_join(&p.proc, scaled(0.2));
            say("  %s ignores SIGTERM: p.terminate(); p.join(timeout=%g) -> "
                "%s, p.is_alive() %s", p.name, scaled(0.2),
                ended ? "ended" : "still running",
                python_bool(proc_is_alive(&p.proc)));
            if (ended)
                return EXIT_WRONG;
            proc_signal(&p.proc, SIGKILL); /* p.kill(): cannot be ignored */
            expected = -SIGKILL;
            how = "kill";
        }
    } else {
        proc_signal(&p.proc, SIGKILL); /* p.kill() */
        expected = -SIGKILL;
    }
    proc_join(&p.proc, -1);
    say("  p.%s() (%s) -> p.exitcode %s: %s; p.is_alive() %s", how,
        expected == -SIGKILL ? "SIGKILL" : "SIGTERM",
        process_object_exitcode(&p, code, sizeof code),
        proc_describe_exitcode(p.proc.exitcode, text, sizeof text),
        python_bool(proc_is_alive(&p.proc)));
    char repr[160];
    say("    print(p): %s", process_object_repr(&p, repr, sizeof repr));
    return p.proc.exitcode == expected ? EXIT_OK : EXIT_WRONG;
}

int run_terminate(void)
{
    turns_open(&terminate_turns);
    say("terminate: children that would run for ever, ended from outside");
    int status = terminate_one("terminate", false);
    if (status == EXIT_OK)
        status = terminate_one("kill", false);
    if (status == EXIT_OK)
        status = terminate_one("terminate", true);
    say("terminate: no exit handler or finally clause runs in the child: "
        "what it held stays held (--experiment leftovers)");
    turns_close(&terminate_turns);
    return status;
}

/* ---- api: the tour ------------------------------------------------------- */

int run_api(void)
{
    int (*const tour[])(void) = {run_clock,     run_workers,
                                 run_attributes, run_terminate,
                                 run_active_children, run_cpu_count,
                                 run_daemon,    run_authkey};
    int status = EXIT_OK;
    for (size_t i = 0; i < sizeof tour / sizeof tour[0]; i++) {
        int one = tour[i]();
        if (one != EXIT_OK)
            status = one;
        if (i + 1 < sizeof tour / sizeof tour[0])
            say("%s", "");
    }
    return status;
}
