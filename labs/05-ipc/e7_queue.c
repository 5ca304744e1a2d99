/* e7_queue.c: E7 -- every queue call, on an empty and on a full queue,
 * across two processes, with what it returned and how long it took.
 *
 * The documents list Queue's API: put() and get() block, put_nowait() and
 * get_nowait() raise Full and Empty, and a timeout bounds the wait.  Here a
 * parent and a child process share two small queues (common/queue.h) and
 * play a script, one scene at a time.  In each scene one process makes a
 * call and, in some, the other makes a second call a little later: a put
 * that ends a blocked get, a get that frees a slot for a blocked put, a
 * close that wakes a waiter.
 *
 * Both processes run the same table of scenes (below), in lockstep: a
 * barrier over two pipes starts a scene in both at once and ends it.  Each
 * call is timed with CLOCK_MONOTONIC, which is one clock for the whole
 * machine, so the child's timestamps and the parent's can be compared.
 * After each scene the parent prints the timeline and checks every claim it
 * prints: the status, the item, a timeout that did not come early, and a
 * blocked call that returned only after the other process acted.  Durations
 * are printed as measured and never asserted (a busy machine stretches
 * them); anything else that differs is exit 1.
 */
#define _GNU_SOURCE
#include "ipc.h"

#include "checked.h"
#include "proc.h"
#include "queue.h"
#include "timing.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- The script ---------------------------------------------------------- */

enum actor { NOBODY, PARENT, CHILD };
enum call { CALL_PUT, CALL_GET, CALL_CLOSE };

struct action {
    enum actor who;
    enum call call;
    double timeout;  /* QUEUE_BLOCK, QUEUE_NOWAIT, or seconds */
    uint64_t item;   /* put: the item; get: the item it must return */
    double delay;    /* seconds after the scene starts */
    enum queue_status expect;
};

struct scene {
    const char *title;
    int queue; /* 0: `q`, capacity 2; 1: `w`, capacity 1 */
    struct action first, second; /* second.who == NOBODY: a call alone */
};

enum { CAPACITY_Q = 2, CAPACITY_W = 1 };

#define PUT(WHO, ITEM, TIMEOUT, EXPECT, DELAY)                                 \
    {WHO, CALL_PUT, TIMEOUT, ITEM, DELAY, QUEUE_##EXPECT}
#define GET(WHO, ITEM, TIMEOUT, EXPECT, DELAY)                                 \
    {WHO, CALL_GET, TIMEOUT, ITEM, DELAY, QUEUE_##EXPECT}
#define CLOSE(WHO, DELAY) {WHO, CALL_CLOSE, 0, 0, DELAY, QUEUE_OK}
#define ALONE {NOBODY, CALL_PUT, 0, 0, 0, QUEUE_OK}

static const struct scene scenes[] = {
    /* An empty queue. */
    {"get_nowait() on an empty queue: EMPTY (Python raises queue.Empty)", 0,
     GET(CHILD, 0, QUEUE_NOWAIT, EMPTY, 0), ALONE},
    {"get with a timeout on an empty queue: TIMEOUT (Python: Empty after the "
     "timeout)", 0,
     GET(CHILD, 0, 0.1, TIMEOUT, 0), ALONE},
    {"get() blocks on an empty queue until another process puts", 0,
     GET(CHILD, 1, QUEUE_BLOCK, OK, 0), PUT(PARENT, 1, QUEUE_BLOCK, OK, 0.2)},
    {"get with a timeout, and an item arrives in time: OK", 0,
     GET(CHILD, 2, 2.0, OK, 0), PUT(PARENT, 2, QUEUE_BLOCK, OK, 0.05)},
    /* A full queue. */
    {"put_nowait() fills the queue", 0,
     PUT(PARENT, 10, QUEUE_NOWAIT, OK, 0), ALONE},
    {"put_nowait() again", 0, PUT(PARENT, 11, QUEUE_NOWAIT, OK, 0), ALONE},
    {"put_nowait() on a full queue: FULL (Python raises queue.Full)", 0,
     PUT(PARENT, 12, QUEUE_NOWAIT, FULL, 0), ALONE},
    {"put with a timeout on a full queue: TIMEOUT (Python: Full after the "
     "timeout)", 0,
     PUT(PARENT, 12, 0.1, TIMEOUT, 0), ALONE},
    {"put() blocks on a full queue until another process gets", 0,
     PUT(PARENT, 12, QUEUE_BLOCK, OK, 0), GET(CHILD, 10, QUEUE_BLOCK, OK, 0.2)},
    {"the items come out in the order they went in (FIFO)", 0,
     GET(CHILD, 11, QUEUE_NOWAIT, OK, 0), ALONE},
    {"and the one that waited for its slot is last", 0,
     GET(CHILD, 12, QUEUE_NOWAIT, OK, 0), ALONE},
    /* Closing. */
    {"close() wakes a get() blocked on an empty queue: CLOSED", 0,
     GET(CHILD, 0, QUEUE_BLOCK, CLOSED, 0), CLOSE(PARENT, 0.1)},
    {"put on a closed queue: CLOSED", 0,
     PUT(PARENT, 20, QUEUE_NOWAIT, CLOSED, 0), ALONE},
    {"a second queue, capacity 1: put_nowait() fills it", 1,
     PUT(PARENT, 30, QUEUE_NOWAIT, OK, 0), ALONE},
    {"close() wakes a put() blocked on a full queue: CLOSED", 1,
     PUT(CHILD, 31, QUEUE_BLOCK, CLOSED, 0), CLOSE(PARENT, 0.1)},
    {"items put before close() are still delivered", 1,
     GET(CHILD, 30, QUEUE_NOWAIT, OK, 0), ALONE},
    {"get on a closed, drained queue: CLOSED", 1,
     GET(CHILD, 0, QUEUE_NOWAIT, CLOSED, 0), ALONE},
};

enum { SCENES = sizeof scenes / sizeof scenes[0] };

/* ---- What each call did, in shared memory -------------------------------- */

struct record {
    int pid;
    uint64_t start, end; /* clock_nanoseconds() around the call */
    enum queue_status status;
    uint64_t item;       /* get: what it returned */
    size_t size;
};

struct stage {
    struct queue *queues[2];
    struct record first[SCENES], second[SCENES];
    int to_child[2], to_parent[2]; /* the barrier's pipes */
};

/* Both processes reach this point before either goes on.  A pipe, not a
 * shared barrier: if the other process has died, read() sees end-of-file
 * instead of waiting forever. */
static bool barrier(int write_fd, int read_fd)
{
    char token = 0;
    if (write(write_fd, &token, 1) != 1)
        return false;
    ssize_t got;
    do
        got = read(read_fd, &token, 1);
    while (got == -1 && errno == EINTR);
    return got == 1;
}

static void perform(const struct action *action,
                    struct queue *queue, struct record *record)
{
    if (action->delay > 0)
        clock_sleep(action->delay);
    record->pid = (int)getpid();
    record->start = clock_nanoseconds();
    switch (action->call) {
    case CALL_PUT:
        record->status =
            queue_put(queue, &action->item, sizeof action->item, action->timeout);
        break;
    case CALL_GET:
        record->item = 0;
        /* EXERCISE 2: get one item into record->item (its size into
         * record->size) and its status into record->status, waiting as the
         * scene says: action->timeout is already in the queue's units
         * (common/queue.h: QUEUE_BLOCK, QUEUE_NOWAIT, or seconds).  Without
         * it every get is a poll that never waits: E7.2 answers EMPTY at once.
         * instead: record->status = queue_get(queue, &record->item, sizeof record->item, &record->size, QUEUE_NOWAIT); */
        record->status = queue_get(queue, &record->item, sizeof record->item,
                                   &record->size, action->timeout);
        break;
    case CALL_CLOSE:
        queue_close(queue);
        record->status = QUEUE_OK;
        break;
    }
    record->end = clock_nanoseconds();
}

/* One scene, my part of it: between two barriers, so that both processes
 * start it together and neither goes on before the other is done.  Returns
 * false if the other process is gone. */
static bool play(struct stage *stage, int s, enum actor me, int write_fd,
                 int read_fd)
{
    const struct scene *scene = &scenes[s];
    if (!barrier(write_fd, read_fd))
        return false;
    struct queue *queue = stage->queues[scene->queue];
    if (scene->first.who == me)
        perform(&scene->first, queue, &stage->first[s]);
    if (scene->second.who == me)
        perform(&scene->second, queue, &stage->second[s]);
    return barrier(write_fd, read_fd);
}

static int child_main(void *arg)
{
    struct stage *stage = arg;
    close(stage->to_child[1]);
    close(stage->to_parent[0]);
    for (int s = 0; s < SCENES; s++)
        if (!play(stage, s, CHILD, stage->to_parent[1], stage->to_child[0]))
            return 1;
    return 0;
}

/* ---- Narration and checks ------------------------------------------------ */

static const char *call_text(const struct action *action, char *text,
                             size_t size)
{
    const char *name = action->call == CALL_PUT ? "put"
                       : action->call == CALL_GET ? "get" : "close";
    char item[32] = "";
    if (action->call == CALL_PUT)
        snprintf(item, sizeof item, "%" PRIu64, action->item);
    if (action->call == CALL_CLOSE)
        snprintf(text, size, "close()");
    else if (action->timeout == QUEUE_NOWAIT)
        snprintf(text, size, "%s_nowait(%s)", name, item);
    else if (action->timeout < 0)
        snprintf(text, size, "%s(%s)", name, item);
    else
        snprintf(text, size, "%s(%s%stimeout=%g)", name, item, *item ? ", " : "",
                 action->timeout);
    return text;
}

static const char *who_text(enum actor who, const struct record *record,
                            char *text, size_t size)
{
    snprintf(text, size, "%-6s (pid %d)", who == PARENT ? "parent" : "child",
             record->pid);
    return text;
}

static double since(uint64_t origin, uint64_t t)
{
    return ((double)t - (double)origin) / 1e9;
}

/* One line of a timeline: when, who, what, and what came back. */
static void line(uint64_t origin, uint64_t at, const char *who,
                 const char *what, const char *result)
{
    char when[32];
    snprintf(when, sizeof when, "+%.1f ms", since(origin, at) * 1e3);
    printf("  %10s  %-16s %-24s %s\n", when, who, what, result);
}

static const char *state_text(struct queue *queue, size_t capacity,
                              bool closed, char *text, size_t size)
{
    size_t length = queue_length(queue);
    snprintf(text, size, "%s%s (%zu of %zu)", closed ? "closed, " : "",
             length == 0 ? "empty" : length == capacity ? "full" : "not full",
             length, capacity);
    return text;
}

/* The result of a call, and whether it is the one the script expects.
 * Every claim the line makes is checked here. */
static bool judge(const struct action *action, const struct record *record,
                  const char *other, const struct action *other_action,
                  const struct record *other_record, char *text, size_t size)
{
    char took[32];
    double seconds = since(record->start, record->end);
    duration_text(seconds, took, sizeof took);
    bool right = record->status == action->expect;
    int used = snprintf(text, size, "-> %s", queue_status_name(record->status));
    if (action->call == CALL_GET && record->status == QUEUE_OK) {
        used += snprintf(text + used, size - (size_t)used, ", item %" PRIu64 ",",
                         record->item);
        right &= record->item == action->item && record->size == sizeof(uint64_t);
    }
    used += snprintf(text + used, size - (size_t)used, " after %s", took);
    if (record->status == QUEUE_TIMEOUT) {
        /* The deadline is taken inside the call, after record->start: the
         * call cannot have come back before the timeout had passed. */
        right &= seconds >= action->timeout;
        used += snprintf(text + used, size - (size_t)used,
                         " (the timeout was %g s)", action->timeout);
    }
    if (other_action != NULL && action->timeout != QUEUE_NOWAIT) {
        /* It waited for the other process: it must not have returned
         * before that process even began its call. */
        char call[48];
        right &= record->end >= other_record->start;
        snprintf(text + used, size - (size_t)used,
                 ": blocked until the %s's %s", other,
                 call_text(other_action, call, sizeof call));
    }
    if (!right)
        printf("  WRONG: expected %s%s\n", queue_status_name(action->expect),
               action->call == CALL_GET && action->expect == QUEUE_OK
                   ? " and the item shown in the call"
                   : "");
    return right;
}

static bool narrate(struct stage *stage, int s, const char *state)
{
    const struct scene *scene = &scenes[s];
    const struct action *first = &scene->first, *second = &scene->second;
    const struct record *r1 = &stage->first[s], *r2 = &stage->second[s];
    bool two = second->who != NOBODY;
    char who1[32], who2[32], call1[48], call2[48], result[200];
    who_text(first->who, r1, who1, sizeof who1);
    call_text(first, call1, sizeof call1);
    printf("E7.%d  %s\n", s + 1, scene->title);
    printf("  queue %s before: %s\n", scene->queue == 0 ? "q" : "w", state);
    bool right;
    if (!two) {
        right = judge(first, r1, NULL, NULL, NULL, result, sizeof result);
        line(r1->start, r1->start, who1, call1, result);
        return right;
    }
    who_text(second->who, r2, who2, sizeof who2);
    call_text(second, call2, sizeof call2);
    /* The first call starts, the second comes later, the first returns. */
    line(r1->start, r1->start, who1, call1, "... waits");
    char second_result[96], took[32];
    snprintf(second_result, sizeof second_result, "-> %s after %s",
             second->call == CALL_CLOSE ? "done" /* close() returns nothing */
                                        : queue_status_name(r2->status),
             duration_text(since(r2->start, r2->end), took, sizeof took));
    bool second_right = r2->status == second->expect &&
                        (second->call != CALL_GET ||
                         (r2->item == second->item && r2->size == sizeof(uint64_t)));
    if (second->call == CALL_GET && r2->status == QUEUE_OK)
        snprintf(second_result + strlen(second_result),
                 sizeof second_result - strlen(second_result),
                 ", took item %" PRIu64, r2->item);
    line(r1->start, r2->start, who2, call2, second_result);
    if (!second_right)
        printf("  WRONG: the %s's call should return %s\n",
               second->who == PARENT ? "parent" : "child",
               queue_status_name(second->expect));
    right = judge(first, r1, second->who == PARENT ? "parent" : "child", second,
                  r2, result, sizeof result);
    char returns[64];
    snprintf(returns, sizeof returns, "%s returns", call1);
    line(r1->start, r1->end, who1, returns, result);
    return right && second_right;
}

/* ---- The experiment ------------------------------------------------------ */

int e7_queue_calls(void)
{
    struct stage *stage = CHECK_PTR(mmap(NULL, sizeof *stage,
                                         PROT_READ | PROT_WRITE,
                                         MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                                    MAP_FAILED);
    stage->queues[0] = queue_create(CAPACITY_Q, sizeof(uint64_t));
    stage->queues[1] = queue_create(CAPACITY_W, sizeof(uint64_t));
    CHECK(pipe(stage->to_child));
    CHECK(pipe(stage->to_parent));

    int second_queue_from = 0;
    while (scenes[second_queue_from].queue == 0)
        second_queue_from++;
    printf("E7: the queue's calls across two processes.  Two queues in shared "
           "memory, created\nbefore fork(): q (capacity %d) and, from E7.%d "
           "on, w (capacity %d); items are\n64-bit numbers.  Times are "
           "since the scene began; every status, item and\n\"blocked "
           "until\" below is checked by the program (exit 1 if the queue "
           "behaves\notherwise).\n\n",
           CAPACITY_Q, second_queue_from + 1, CAPACITY_W);
    ipc_set_phase("E7: the queue scenes");
    struct proc child;
    proc_start_keeping(&child, "ipc-e7-child", child_main, stage,
                       PROC_FDS(stage->to_child[0], stage->to_child[1],
                                stage->to_parent[0], stage->to_parent[1]));
    close(stage->to_child[0]);
    close(stage->to_parent[1]);
    printf("parent pid %d, child pid %d\n\n", (int)getpid(), (int)child.pid);

    bool all_right = true, closed[2] = {false, false};
    for (int s = 0; s < SCENES; s++) {
        const struct scene *scene = &scenes[s];
        size_t capacity = scene->queue == 0 ? CAPACITY_Q : CAPACITY_W;
        char state[48];
        state_text(stage->queues[scene->queue], capacity, closed[scene->queue],
                   state, sizeof state);
        if (!play(stage, s, PARENT, stage->to_child[1], stage->to_parent[0]))
            break; /* the child is gone: said below */
        all_right &= narrate(stage, s, state);
        closed[scene->queue] |= scene->first.call == CALL_CLOSE ||
                                scene->second.call == CALL_CLOSE;
        printf("\n");
    }
    close(stage->to_child[1]);
    close(stage->to_parent[0]);
    proc_join(&child, -1);
    bool child_ok = child.exitcode == 0;
    if (!child_ok) {
        char how[64];
        printf("WRONG: the child %s before the script ended\n",
               proc_describe_exitcode(child.exitcode, how, sizeof how));
    }
    queue_destroy(stage->queues[0]);
    queue_destroy(stage->queues[1]);
    munmap(stage, sizeof *stage);
    if (!all_right || !child_ok) {
        fprintf(stderr, "ipc: E7: WRONG: the queue did not behave as the "
                        "script says (see above)\n");
        return EXIT_WRONG;
    }
    printf("E7: all %d scenes behaved as described: blocking calls waited for "
           "the other\nprocess, nowait calls answered FULL or EMPTY, "
           "timeouts came no sooner than\nasked, and close() woke every "
           "waiter and still delivered what was queued.\n",
           SCENES);
    return EXIT_OK;
}
