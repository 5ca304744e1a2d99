/* process.h: what the files of lab 01 (process) share. */
#ifndef LAB_PROCESS_H
#define LAB_PROCESS_H

#include "flags.h"
#include "proc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The run's settings, from the flags (process.c). */
struct settings {
    double pause_scale;       /* x the documents' sleeps (clock 1 s, ...) */
    bool csv;
    uint64_t repeat, warmup, iterations;
    struct flag_list parent_mib;
    int depth_limit;          /* no-guard */
    int method;               /* start-cost: one method, or -1 for all */
    const char *self;         /* this program's path, for exec (/proc/self/exe) */
    char **argv;              /* as given: no-guard starts itself with it */
};
extern struct settings settings;

/* A pause of the documents' `seconds`, scaled by --pause-scale. */
void pause_for(double seconds);
double scaled(double seconds);

/* printf + fflush: a line leaves this process at once, so lines from
 * parent and children reach a pipe in the order they were printed. */
void say(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* ---- The Python-style Process object (object.c) ---------------------------
 * Python's Process(target=f, args=...) runs f(args) through its run()
 * method; "subclassing" replaces run().  In C: an object whose run
 * operation is a function pointer.  process_object_init() fills in the
 * default run (call the target) and the automatic name "Process-N". */
struct process_object {
    struct proc proc;                            /* the child, once started */
    int (*run)(struct process_object *self);     /* replace it to "subclass" */
    int (*target)(void *args);                   /* what the default run calls */
    void *args;
    char name[16];
    const char *type_name;                       /* "Process", "ClockProcess" */
    pid_t parent;                                /* who created it */
    bool daemon;
    /* Descriptors the child keeps (proc_start_keeping): a child holds only
     * stdin, stdout and stderr otherwise. */
    int keep[4];
    int keep_count;
};
void process_object_init(struct process_object *self, int (*target)(void *),
                         void *args, const char *name);
/* The same for a "subclass": its type name, also in its default name. */
void process_object_init_as(struct process_object *self,
                            const char *type_name, int (*target)(void *),
                            void *args, const char *name);
void process_object_start(struct process_object *self);
/* Python's repr(p): <Process name='Process-1' pid=42 parent=41 started>,
 * with initial / started / stopped exitcode=-SIGTERM, and daemon. */
const char *process_object_repr(struct process_object *self, char *text,
                                int size);
/* The object a struct proc belongs to (it is the object's first member). */
#define PROCESS_OBJECT_OF(child) ((struct process_object *)(void *)(child))
/* Python's exitcode: "None" while running (or not started), else the code. */
const char *process_object_exitcode(struct process_object *self, char *text,
                                    int size);

/* ---- Small tools (api.c) ---------------------------------------------------
 * A turn handed over a pipe: one byte, waited for with a bound (10 s), so
 * that a child and the parent print in a fixed order. */
struct turns {
    int to_child[2], to_parent[2];
};
void turns_open(struct turns *t);
void turns_close(struct turns *t);
/* The child's ends (it reads to_child, writes to_parent) kept across
 * proc_start, which closes every other descriptor in the child. */
void keep_turns(struct process_object *p, const struct turns *t);
void hand_over(int fd);
bool await_turn(int fd);
void *shared_area(size_t size);          /* MAP_SHARED | MAP_ANONYMOUS */
const char *time_of_day(char *text, size_t size);
const char *python_bool(bool value);     /* "True" / "False" */

/* ---- The experiments (one file each) -------------------------------------- */
int run_api(void);           /* api.c: every topic below, in order */
int run_clock(void);
int run_workers(void);
int run_attributes(void);
int run_terminate(void);
int run_active_children(void); /* lifecycle.c: these four */
int run_cpu_count(void);
int run_daemon(void);
int run_authkey(void);
int run_exitcodes(void);     /* exitcodes.c */
struct quiz;
int run_exitcodes_quiz(struct quiz *quiz); /* --quiz / --answer */
int run_leftovers(void);     /* leftovers.c */
int run_start_cost(void);    /* start_cost.c */
/* "all", then the start-cost methods in their order (for --method). */
extern const char *const start_method_names[];
int run_no_guard(void);      /* no_guard.c */
int no_guard_depth(void);    /* this program's depth in the chain */
int run_fork_with_threads(void); /* fork_threads.c */

/* The forkserver (forkserver.c): a small process started before any
 * thread and before the parent grows, that forks children on request. */
struct forkserver;
/* What a forkserver child runs, chosen by number (a pointer would do too:
 * the server is a fork of this program, so addresses agree). */
enum forkserver_job { JOB_EXIT0 = 0, JOB_TAKE_LOCK = 1 };
struct forkserver *forkserver_start(void);
/* Fork a child that runs `job`, wait for it; its exit code, or -N. */
int forkserver_run(struct forkserver *server, enum forkserver_job job);
void forkserver_stop(struct forkserver *server);
pid_t forkserver_pid(const struct forkserver *server);
/* The job JOB_TAKE_LOCK: lock the program's `shared_lock` within a
 * (scaled) bound; 0 when taken, 1 when the bound expired.  fork_threads.c. */
int take_lock_job(void);

/* The child side of `process --child ROLE` (the exec'd program). */
int child_role(int argc, char **argv);

#endif
