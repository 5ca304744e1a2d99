/* deadlock.c: three deadlocks reproduced on purpose, detected, explained
 * and fixed -- the documents' producer/consumer hang first (E6).
 *
 * The experiment.  The documents' producer puts 7 strings on a Queue,
 * pausing 0.2 s after each; the consumer loops `while True: v = q.get()`,
 * pausing 0.1 s after each; the main program joins the consumer.  "The
 * program deadlocks, press Ctrl+C": once the 7 items are gone, the consumer
 * waits in get() for an 8th that nobody will ever put, and main waits for
 * the consumer.
 *
 * Here that hang is never left hanging.  Every party (process) writes on a
 * shared board (common/board.h) what it is about to wait for, and the
 * watchdog (--stall) fires when nothing has moved for S seconds while every
 * party is blocked.  The diagnosis reads the board as a wait-for graph and
 * says who waits on what, then the run ends with exit 3.  Then the fixes.
 *
 *   --scenario prodcons           (default) the documents' program.  Fixes:
 *       --fix sentinel   main puts one end marker per consumer after the
 *                        producers are done;
 *       --fix close      the last producer closes the queue; a consumer
 *                        sees CLOSED once it is drained;
 *       --fix timeout    a consumer gives up after --give-up seconds
 *                        without an item (fragile: see the handout).
 *   --scenario join-before-drain  a child puts more than the queue holds,
 *       and main joins it before reading (the pitfall Python's documentation
 *       warns about).  Fix: --fix drain (read everything, then join).
 *   --scenario lock-order         workers move money between accounts in a
 *       ring, each locking the account it takes from, then the one it gives
 *       to: AB-BA.  Fix: --fix order (always lock the lower account first).
 *
 * Run:    build/bin/deadlock                        (hangs, detected: exit 3)
 *         build/bin/deadlock --fix close
 *         build/bin/deadlock --scenario lock-order --trace
 * Notice: who the diagnosis names, and that each fix ends with every item
 *         consumed exactly once (the lab counts each one).
 */
#define _GNU_SOURCE
#include "board.h"
#include "checked.h"
#include "flags.h"
#include "proc.h"
#include "queue.h"
#include "timing.h"
#include "watchdog.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { MAX_PRODUCERS = 16, MAX_CONSUMERS = 16, MAX_ITEMS = 1000,
       MAX_WORKERS = 8, MAX_ROUNDS = 1000, START_BALANCE = 100 };

enum scenario { PRODCONS, JOIN_BEFORE_DRAIN, LOCK_ORDER };
enum fix { FIX_NONE, FIX_SENTINEL, FIX_CLOSE, FIX_TIMEOUT, FIX_DRAIN,
           FIX_ORDER };
static const char *const scenario_names[] = {"prodcons", "join-before-drain",
                                             "lock-order", NULL};
static const char *const fix_names[] = {"none", "sentinel", "close", "timeout",
                                        "drain", "order", NULL};

/* What travels on the queue.  producer < 0: an end marker. */
struct item {
    int32_t producer, sequence;
    char text[24];
};

/* Shared by every process (one MAP_SHARED mapping, made before fork). */
struct shared {
    /* done[p][k]: how many times item k of producer p was consumed (or
     * transfer k of worker p made).  Exactly once each, or the lab failed. */
    atomic_int done[MAX_PRODUCERS][MAX_ITEMS];
    atomic_int producers_finished; /* --fix close: the last one closes */
    /* lock-order: one lock per account, and the lab's view of them for
     * the reproducible pause point. */
    pthread_mutex_t lock[MAX_WORKERS];
    int64_t account[MAX_WORKERS];
    atomic_int holder[MAX_WORKERS];       /* who holds lock l, -1 nobody */
    atomic_bool wants_first[MAX_WORKERS]; /* worker w asked for its first */
    atomic_bool past_first[MAX_WORKERS];  /* worker w got its first lock */
};
_Static_assert(MAX_WORKERS <= MAX_PRODUCERS && MAX_ROUNDS <= MAX_ITEMS,
               "done[][] also counts the transfers of lock-order");

/* The run, fixed before any fork: each child reads its own copy. */
static struct {
    enum scenario scenario;
    enum fix fix;
    int producers, consumers, items, capacity, workers, rounds;
    double put_pause, get_pause, give_up;
    bool trace, narrate;
    struct shared *shared;
    struct queue *queue;
    struct board *board;
    int queue_index; /* on the board */
    int main_party, first_producer, first_consumer, first_worker;
} run;

/* ---- Narration and --trace ----------------------------------------------- */

/* One whole line per call, flushed: lines from several processes sharing a
 * pipe never interleave mid-line. */
static void say(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *format, ...)
{
    if (!run.narrate)
        return;
    va_list arguments;
    va_start(arguments, format);
    flockfile(stdout);
    fputs("  ", stdout);
    vprintf(format, arguments);
    putchar('\n');
    fflush(stdout);
    funlockfile(stdout);
    va_end(arguments);
}

/* "before"/"after" a blocking step, with what the caller holds (OSTEP's
 * tracing confused students by not saying which side of the step it was). */
static void trace(int me, const char *when, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void trace(int me, const char *when, const char *format, ...)
{
    if (!run.trace)
        return;
    char step[256], who[64], held[128];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(step, sizeof step, format, arguments);
    va_end(arguments);
    say("[trace] %-7s %s %s; holds %s", when,
        board_who(run.board, me, who, sizeof who), step,
        board_holdings(run.board, me, held, sizeof held));
}

static const char *name_of(int party)
{
    static char who[64];
    return board_who(run.board, party, who, sizeof who);
}

/* ---- The blocking steps, each announced on the board --------------------- */

static size_t queued(void) { return queue_length(run.queue); }

static enum queue_status put_item(int me, const struct item *item,
                                  double timeout)
{
    trace(me, "before:", "put('%s') on 'items' (%zu of %d queued)", item->text,
          queued(), run.capacity);
    board_set(run.board, me, timeout < 0 ? BOARD_BLOCKED_PUT : BOARD_WAITING,
              run.queue_index);
    enum queue_status status = queue_put(run.queue, item, sizeof *item,
                                         timeout);
    board_set(run.board, me, BOARD_RUNNING, -1);
    if (status == QUEUE_OK)
        board_progress(run.board);
    trace(me, "after:", "put('%s') returned %s (%zu queued)", item->text,
          queue_status_name(status), queued());
    return status;
}

static enum queue_status get_item(int me, struct item *item, double timeout)
{
    trace(me, "before:", "get() on 'items' (%zu of %d queued)", queued(),
          run.capacity);
    board_set(run.board, me, timeout < 0 ? BOARD_BLOCKED_GET : BOARD_WAITING,
              run.queue_index);
    enum queue_status status = queue_get(run.queue, item, sizeof *item, NULL,
                                         timeout);
    board_set(run.board, me, BOARD_RUNNING, -1);
    if (status == QUEUE_OK)
        board_progress(run.board);
    trace(me, "after:", "get() returned %s%s%s%s (%zu queued)",
          queue_status_name(status), status == QUEUE_OK ? ": '" : "",
          status == QUEUE_OK ? (item->producer < 0 ? "END" : item->text) : "",
          status == QUEUE_OK ? "'" : "", queued());
    return status;
}

static void join_party(int me, int party, struct proc *child)
{
    trace(me, "before:", "join(%s)", name_of(party));
    board_set(run.board, me, BOARD_BLOCKED_JOIN, party);
    proc_join(child, -1); /* no bound of its own: the watchdog's */
    board_exited(run.board, party, child->exitcode);
    board_set(run.board, me, BOARD_RUNNING, -1);
    board_progress(run.board);
    char how[64];
    proc_describe_exitcode(child->exitcode, how, sizeof how);
    trace(me, "after:", "join(%s) returned: it %s", child->name, how);
    say("main joined %s (pid %d): it %s", child->name, (int)child->pid, how);
}

static const char *account_name(int account)
{
    static const char *const names[MAX_WORKERS] = {"A", "B", "C", "D",
                                                   "E", "F", "G", "H"};
    return names[account];
}

static void lock_account(int me, int worker, int account)
{
    trace(me, "before:", "lock(%s)", account_name(account));
    board_set(run.board, me, BOARD_BLOCKED_LOCK, account);
    /* A plain pthread_mutex_lock, no timed variant: the buggy order must
     * really deadlock, and the watchdog is what ends it. */
    CHECK_PT(pthread_mutex_lock(&run.shared->lock[account]));
    atomic_store(&run.shared->holder[account], worker);
    board_hold(run.board, me, account, true);
    board_set(run.board, me, BOARD_RUNNING, -1);
    board_progress(run.board);
    trace(me, "after:", "lock(%s) returned: locked", account_name(account));
}

static void unlock_account(int me, int account)
{
    atomic_store(&run.shared->holder[account], -1);
    board_hold(run.board, me, account, false);
    CHECK_PT(pthread_mutex_unlock(&run.shared->lock[account]));
}

/* ---- prodcons and join-before-drain: the producer ------------------------ */

/* The documents' strings: 'aa', 'bb', ... 'gg' (and on, for --items > 7). */
static struct item make_item(int producer, int sequence)
{
    struct item item = {.producer = producer, .sequence = sequence};
    if (sequence < 26)
        snprintf(item.text, sizeof item.text, "%c%c", 'a' + sequence,
                 'a' + sequence);
    else
        snprintf(item.text, sizeof item.text, "item-%d", sequence);
    return item;
}

static const struct item end_marker = {.producer = -1, .text = "END"};

static int producer(void *arg)
{
    int p = *(const int *)arg, me = run.first_producer + p;
    board_started(run.board, me, getpid(), gettid());
    for (int k = 0; k < run.items; k++) {
        struct item item = make_item(p, k);
        if (put_item(me, &item, QUEUE_BLOCK) != QUEUE_OK)
            return 1; /* nobody closes a queue under a producer */
        say("producer-%d (pid %d) put '%s' (%zu queued)", p, (int)getpid(),
            item.text, queued());
        clock_sleep(run.put_pause);
    }
    if (run.scenario == JOIN_BEFORE_DRAIN) {
        /* Its reader stops at one end marker per producer. */
        if (put_item(me, &end_marker, QUEUE_BLOCK) != QUEUE_OK)
            return 1;
        say("producer-%d (pid %d) put its end marker: done", p, (int)getpid());
    }
    if (run.fix == FIX_CLOSE &&
        atomic_fetch_add(&run.shared->producers_finished, 1) + 1 ==
            run.producers) {
        /* The last producer to finish: nothing more will ever be put. */
        queue_close(run.queue);
        board_closed(run.board, run.queue_index);
        board_progress(run.board);
        say("producer-%d (pid %d) was the last producer: it closed the queue",
            p, (int)getpid());
    }
    board_set(run.board, me, BOARD_FINISHED, -1);
    return 0;
}

/* An item got: count it (exactly once, or the check at the end fails). */
static void consumed(const char *who, const struct item *item)
{
    atomic_fetch_add(&run.shared->done[item->producer][item->sequence], 1);
    say("%s got '%s' from producer-%d", who, item->text, item->producer);
}

/* ---- prodcons: the consumer ---------------------------------------------- */

static int consumer(void *arg)
{
    int c = *(const int *)arg, me = run.first_consumer + c;
    board_started(run.board, me, getpid(), gettid());
    char who[48];
    snprintf(who, sizeof who, "consumer-%d (pid %d)", c, (int)getpid());
    /* The documents' loop: `while True: v = q.get()`.  With --fix none it
     * never ends (BUGGY ON PURPOSE). */
    for (;;) {
        double timeout = run.fix == FIX_TIMEOUT ? run.give_up : QUEUE_BLOCK;
        struct item item;
        enum queue_status status = get_item(me, &item, timeout);
        if (status == QUEUE_OK && item.producer < 0) {
            say("%s got an end marker: no more items, it stops", who);
            break;
        }
        if (status == QUEUE_OK) {
            consumed(who, &item);
            clock_sleep(run.get_pause);
            continue;
        }
        if (status == QUEUE_CLOSED) {
            say("%s: get() says CLOSED: the queue is closed and empty, it "
                "stops", who);
            break;
        }
        if (status == QUEUE_TIMEOUT) {
            say("%s: nothing for %g s: it gives up (the timeout rule)", who,
                run.give_up);
            break;
        }
        return 1;
    }
    board_set(run.board, me, BOARD_FINISHED, -1);
    return 0;
}

/* ---- lock-order: the workers --------------------------------------------- */

/* The pause point that makes the interleaving reproducible (as OSTEP's
 * homework does): after taking its first lock, a worker waits until every
 * other worker has taken its own first lock, or is stuck asking for one
 * that someone else holds.  Then every worker asks for its second lock
 * with the first one held, whatever the scheduler does: with the ring
 * order, every time a deadlock; with the global order, never. */
static int first_lock_of(int worker)
{
    int from = worker, to = (worker + 1) % run.workers;
    if (run.fix == FIX_ORDER && to < from)
        return to;
    return from;
}

static bool has_reached_first(int worker)
{
    struct shared *sh = run.shared;
    if (atomic_load(&sh->past_first[worker]))
        return true;
    int holder = atomic_load(&sh->holder[first_lock_of(worker)]);
    return atomic_load(&sh->wants_first[worker]) && holder >= 0 &&
           holder != worker;
}

static void pause_point(int me, int worker)
{
    trace(me, "pause:", "waits until every worker has reached its first lock");
    for (int v = 0; v < run.workers; v++)
        while (v != worker && !has_reached_first(v))
            clock_sleep(0.001); /* bounded by the watchdog's --timeout */
    trace(me, "pause:", "every worker has reached its first lock: goes on");
}

static int worker(void *arg)
{
    int w = *(const int *)arg, me = run.first_worker + w;
    board_started(run.board, me, getpid(), gettid());
    int from = w, to = (w + 1) % run.workers;
    /* BUGGY ON PURPOSE (--fix none): lock `from`, then `to`.  Worker w
     * holds account w and wants account w+1: around the ring, a cycle.
     * --fix order: lock the lower-named account first, whatever the
     * direction of the transfer; a cycle would need someone to hold a
     * higher lock while wanting a lower one, and nobody ever does. */
    int first = first_lock_of(w), second = first == from ? to : from;
    for (int round = 0; round < run.rounds; round++) {
        if (round == 0)
            atomic_store(&run.shared->wants_first[w], true);
        lock_account(me, w, first);
        if (round == 0) {
            atomic_store(&run.shared->past_first[w], true);
            pause_point(me, w);
        }
        lock_account(me, w, second);
        run.shared->account[from] -= 1; /* both locks held: a safe transfer */
        run.shared->account[to] += 1;
        atomic_fetch_add(&run.shared->done[w][round], 1);
        say("worker-%d (pid %d) holds %s and %s: moved 1 from %s to %s "
            "(round %d)", w, (int)getpid(), account_name(first),
            account_name(second), account_name(from), account_name(to),
            round + 1);
        unlock_account(me, second);
        unlock_account(me, first);
    }
    board_set(run.board, me, BOARD_FINISHED, -1);
    return 0;
}

/* ---- The three programs, as main runs them ------------------------------- */

static int indexes[MAX_PRODUCERS + MAX_CONSUMERS]; /* 0, 1, 2, ... */

static void start(struct proc *child, int party, const char *name,
                  proc_main_fn body, int index)
{
    proc_start(child, name, body, &indexes[index]);
    board_started(run.board, party, child->pid, child->pid);
    say("main started %s (pid %d)", name, (int)child->pid);
}

static void run_prodcons(void)
{
    int me = run.main_party;
    struct proc producers[MAX_PRODUCERS], consumers[MAX_CONSUMERS];
    char name[32];
    for (int c = 0; c < run.consumers; c++) {
        snprintf(name, sizeof name, "consumer-%d", c);
        start(&consumers[c], run.first_consumer + c, name, consumer, c);
    }
    for (int p = 0; p < run.producers; p++) {
        snprintf(name, sizeof name, "producer-%d", p);
        start(&producers[p], run.first_producer + p, name, producer, p);
    }
    for (int p = 0; p < run.producers; p++)
        join_party(me, run.first_producer + p, &producers[p]);
    if (run.fix == FIX_SENTINEL) {
        say("main: every producer has finished; it puts %d end marker%s, one "
            "per consumer", run.consumers, run.consumers == 1 ? "" : "s");
        for (int c = 0; c < run.consumers; c++)
            put_item(me, &end_marker, QUEUE_BLOCK);
    }
    if (run.fix == FIX_NONE)
        say("main joins the consumers, which loop forever on get() "
            "(BUGGY ON PURPOSE)");
    for (int c = 0; c < run.consumers; c++)
        join_party(me, run.first_consumer + c, &consumers[c]);
}

static void run_join_before_drain(void)
{
    int me = run.main_party;
    struct proc producers[MAX_PRODUCERS];
    char name[32];
    for (int p = 0; p < run.producers; p++) {
        snprintf(name, sizeof name, "producer-%d", p);
        start(&producers[p], run.first_producer + p, name, producer, p);
    }
    /* BUGGY ON PURPOSE (--fix none): join first.  A producer that has put
     * more than the queue holds cannot end until someone reads. */
    if (run.fix == FIX_NONE) {
        say("main joins the producers before reading anything (BUGGY ON "
            "PURPOSE)");
        for (int p = 0; p < run.producers; p++)
            join_party(me, run.first_producer + p, &producers[p]);
    }
    say("main reads until it has one end marker per producer");
    char who[48];
    snprintf(who, sizeof who, "main (pid %d)", (int)getpid());
    for (int ends = 0; ends < run.producers;) {
        struct item item;
        if (get_item(me, &item, QUEUE_BLOCK) != QUEUE_OK)
            break;
        if (item.producer < 0)
            ends++;
        else
            consumed(who, &item);
    }
    if (run.fix == FIX_DRAIN) {
        say("main has read everything; now it joins the producers");
        for (int p = 0; p < run.producers; p++)
            join_party(me, run.first_producer + p, &producers[p]);
    }
}

static void init_lock(pthread_mutex_t *mutex)
{
    /* Process-shared: it lives in shared memory.  Deliberately not robust:
     * when the watchdog ends a deadlock it kills the workers one by one,
     * and a robust mutex would hand a dead worker's lock (EOWNERDEAD) to a
     * survivor in that instant, which would then make its transfers after
     * the diagnosis (seen under AddressSanitizer, where the kills are
     * slower).  A holder that dies here leaves its lock taken for good, and
     * the board says so: "no live party holds it". */
    pthread_mutexattr_t attributes;
    CHECK_PT(pthread_mutexattr_init(&attributes));
    CHECK_PT(pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED));
    CHECK_PT(pthread_mutex_init(mutex, &attributes));
    CHECK_PT(pthread_mutexattr_destroy(&attributes));
}

static void run_lock_order(void)
{
    struct proc workers[MAX_WORKERS];
    char name[32];
    for (int w = 0; w < run.workers; w++) {
        snprintf(name, sizeof name, "worker-%d", w);
        start(&workers[w], run.first_worker + w, name, worker, w);
    }
    for (int w = 0; w < run.workers; w++)
        join_party(run.main_party, run.first_worker + w, &workers[w]);
}

/* ---- If the watchdog fires ----------------------------------------------- */

static void diagnose(void *arg, FILE *out)
{
    (void)arg;
    board_explain(run.board, out, "deadlock: ");
    if (run.scenario != LOCK_ORDER) {
        struct queue_waiters w = queue_waiters(run.queue);
        fprintf(out, "deadlock: the queue itself counts %d asleep in get(), "
                     "%d in put(), and holds %zu of %d items.\n",
                w.getters, w.putters, queued(), run.capacity);
    }
    if (run.fix != FIX_NONE)
        return;
    if (run.scenario == PRODCONS)
        fprintf(out, "deadlock: the documents' consumer loops `while True: "
                     "get()`: nothing tells it the items are over.\n"
                     "deadlock: fixes: --fix sentinel, --fix close or --fix "
                     "timeout.\n");
    else if (run.scenario == JOIN_BEFORE_DRAIN)
        fprintf(out, "deadlock: a process that has put items cannot end "
                     "until they are read; main reads only after\n"
                     "deadlock: the join.  Fix: read everything first, then "
                     "join (--fix drain).\n");
    else
        fprintf(out, "deadlock: each worker takes its own account's lock "
                     "first; around the ring every one\n"
                     "deadlock: waits for the next.  Fix: one global lock "
                     "order (--fix order).\n");
}

/* ---- The check: every item exactly once ---------------------------------- */

struct tally {
    int expected, done, lost, duplicated;
    bool balances_kept; /* lock-order: every account back to its start */
};

static struct tally count_up(void)
{
    struct tally t = {.balances_kept = true};
    bool locks = run.scenario == LOCK_ORDER;
    int rows = locks ? run.workers : run.producers;
    int columns = locks ? run.rounds : run.items;
    for (int p = 0; p < rows; p++) {
        for (int k = 0; k < columns; k++) {
            int times = atomic_load(&run.shared->done[p][k]);
            t.expected++;
            t.done += times;
            t.lost += times == 0;
            t.duplicated += times > 1 ? times - 1 : 0;
        }
    }
    for (int a = 0; locks && a < run.workers; a++)
        t.balances_kept &= run.shared->account[a] == START_BALANCE;
    return t;
}

/* Flags that do not belong together: refuse them (exit 2) rather than
 * ignore them. */
static void refuse_contradictions(const struct program *program, int scenario,
                                  int fix, bool trace_steps, bool csv)
{
    static const unsigned fixes_of[] = {
        [PRODCONS] = 1u << FIX_NONE | 1u << FIX_SENTINEL | 1u << FIX_CLOSE |
                     1u << FIX_TIMEOUT,
        [JOIN_BEFORE_DRAIN] = 1u << FIX_NONE | 1u << FIX_DRAIN,
        [LOCK_ORDER] = 1u << FIX_NONE | 1u << FIX_ORDER,
    };
    static const char *const fixes_text[] = {
        [PRODCONS] = "none, sentinel, close or timeout",
        [JOIN_BEFORE_DRAIN] = "none or drain",
        [LOCK_ORDER] = "none or order",
    };
    if (!(fixes_of[scenario] >> fix & 1u))
        flags_usage_error(program, "--fix %s: not a fix for --scenario %s "
                                   "(it takes %s)", fix_names[fix],
                          scenario_names[scenario], fixes_text[scenario]);
    if (flags_given(program, "consumers") && scenario != PRODCONS)
        flags_usage_error(program, "--consumers: only with --scenario "
                                   "prodcons (in join-before-drain main is "
                                   "the reader)");
    static const char *const queue_flags[] = {"producers", "items", "capacity"};
    for (int i = 0; i < 3; i++)
        if (flags_given(program, queue_flags[i]) && scenario == LOCK_ORDER)
            flags_usage_error(program, "--%s: not with --scenario lock-order "
                                       "(it has --workers and --rounds)",
                              queue_flags[i]);
    if ((flags_given(program, "workers") || flags_given(program, "rounds")) &&
        scenario != LOCK_ORDER)
        flags_usage_error(program, "--%s: only with --scenario lock-order",
                          flags_given(program, "workers") ? "workers"
                                                          : "rounds");
    if (flags_given(program, "give-up") && fix != FIX_TIMEOUT)
        flags_usage_error(program, "--give-up: only with --fix timeout");
    if (trace_steps && csv)
        flags_usage_error(program, "--trace: prints narration; --csv prints "
                                   "only the row: choose one");
}

/* Everything shared -- the counts, the locks or the queue, and the board
 * with every party on it -- is made before the first fork(). */
static void set_up(void)
{
    run.shared = CHECK_PTR(mmap(NULL, sizeof *run.shared,
                                PROT_READ | PROT_WRITE,
                                MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                           MAP_FAILED);
    run.board = board_create();
    run.main_party = board_add_party(run.board, "main");
    board_started(run.board, run.main_party, getpid(), gettid());
    char name[32];
    if (run.scenario == LOCK_ORDER) {
        for (int w = 0; w < run.workers; w++) {
            init_lock(&run.shared->lock[w]);
            atomic_store(&run.shared->holder[w], -1);
            run.shared->account[w] = START_BALANCE;
            board_add_lock(run.board, account_name(w));
        }
        for (int w = 0; w < run.workers; w++) {
            snprintf(name, sizeof name, "worker-%d", w);
            int party = board_add_party(run.board, name);
            if (w == 0)
                run.first_worker = party;
        }
    } else {
        run.queue = queue_create((size_t)run.capacity, sizeof(struct item));
        run.queue_index = board_add_queue(run.board, "items", run.queue,
                                          run.capacity);
        for (int p = 0; p < run.producers; p++) {
            snprintf(name, sizeof name, "producer-%d", p);
            int party = board_add_party(run.board, name);
            board_set_role(run.board, party, run.queue_index, true, false);
            if (p == 0)
                run.first_producer = party;
        }
        for (int c = 0; c < run.consumers; c++) {
            snprintf(name, sizeof name, "consumer-%d", c);
            int party = board_add_party(run.board, name);
            board_set_role(run.board, party, run.queue_index, false, true);
            if (c == 0)
                run.first_consumer = party;
        }
        /* main reads in join-before-drain, and puts the end markers of
         * --fix sentinel. */
        board_set_role(run.board, run.main_party, run.queue_index,
                       run.fix == FIX_SENTINEL,
                       run.scenario == JOIN_BEFORE_DRAIN);
    }
}

static void print_header(double stall, bool csv)
{
    if (csv) {
        printf("scenario,fix,producers,consumers,workers,expected,done,lost,"
               "duplicated,seconds\n");
    } else if (run.scenario == LOCK_ORDER) {
        printf("deadlock: lock-order, fix %s: %d workers in a ring, %d "
               "transfer%s each; stall %g s\n", fix_names[run.fix], run.workers,
               run.rounds, run.rounds == 1 ? "" : "s", stall);
    } else if (run.scenario == PRODCONS) {
        printf("deadlock: prodcons, fix %s: %d producer%s x %d items (pause "
               "%g s), %d consumer%s (pause %g s), queue of %d; stall %g s\n",
               fix_names[run.fix], run.producers, run.producers == 1 ? "" : "s",
               run.items, run.put_pause, run.consumers,
               run.consumers == 1 ? "" : "s", run.get_pause, run.capacity,
               stall);
    } else {
        printf("deadlock: join-before-drain, fix %s: %d producer%s x %d items "
               "(pause %g s), queue of %d, main reads %s; stall %g s\n",
               fix_names[run.fix], run.producers, run.producers == 1 ? "" : "s",
               run.items, run.put_pause, run.capacity,
               run.fix == FIX_DRAIN ? "first, then joins" : "after joining",
               stall);
    }
    if (!csv && run.fix == FIX_NONE)
        printf("  BUGGY ON PURPOSE: --fix none; the watchdog will end the "
               "hang if it forms.\n");
    fflush(stdout);
}

/* The check and the verdict: exit 0 only if every item was consumed (every
 * transfer made) exactly once. */
static int report(double seconds, bool csv)
{
    /* Items still in the queue were never consumed: they count as lost. */
    size_t left = 0;
    struct item item;
    while (run.queue != NULL &&
           queue_get(run.queue, &item, sizeof item, NULL, QUEUE_NOWAIT) ==
               QUEUE_OK)
        left += item.producer >= 0;

    struct tally t = count_up();
    bool correct = t.lost == 0 && t.duplicated == 0 && t.balances_kept;
    if (csv) {
        bool locks = run.scenario == LOCK_ORDER;
        printf("%s,%s,%d,%d,%d,%d,%d,%d,%d,%.6f\n",
               scenario_names[run.scenario], fix_names[run.fix],
               locks ? 0 : run.producers, run.consumers,
               locks ? run.workers : 0,
               t.expected, t.done, t.lost, t.duplicated, seconds);
    } else {
        char took[32];
        duration_text(seconds, took, sizeof took);
        const char *what = run.scenario == LOCK_ORDER ? "transfers" : "items";
        printf("deadlock: %s %d of %d %s, %s (%d lost, %d duplicated) in "
               "%s\n", run.scenario == LOCK_ORDER ? "made" : "consumed", t.done,
               t.expected, what,
               correct ? "each exactly once" : "NOT each exactly once", t.lost,
               t.duplicated, took);
        if (run.scenario == LOCK_ORDER) {
            printf("deadlock: balances");
            for (int a = 0; a < run.workers; a++)
                printf(" %s=%" PRId64, account_name(a), run.shared->account[a]);
            printf(" (each started at %d)\n", START_BALANCE);
        }
        if (left > 0)
            printf("deadlock: %zu item%s still in the queue: nobody was left "
                   "to get %s\n", left, left == 1 ? " was" : "s were",
                   left == 1 ? "it" : "them");
        if (run.fix == FIX_NONE && correct)
            printf("deadlock: no deadlock this time: %s\n",
                   run.scenario == JOIN_BEFORE_DRAIN
                       ? "the queue held every item and the end marker, so "
                         "the producers could end before anyone read"
                       : "the hang did not form");
        else if (correct)
            printf("deadlock: --fix %s works\n", fix_names[run.fix]);
    }
    if (run.queue != NULL)
        queue_destroy(run.queue);
    board_destroy(run.board);
    CHECK(munmap(run.shared, sizeof *run.shared));
    if (!correct) {
        fflush(stdout); /* the summary first, then the verdict */
        fprintf(stderr, "deadlock: WRONG: %d of %d %s lost, %d duplicated%s\n",
                t.lost, t.expected,
                run.scenario == LOCK_ORDER ? "transfers" : "items",
                t.duplicated,
                t.balances_kept ? "" : ", and the balances do not add up");
        return EXIT_WRONG;
    }
    return EXIT_OK;
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
    int scenario = PRODCONS, fix = FIX_NONE;
    uint64_t producers = 1, consumers = 1, items = 7, capacity = 4, workers = 2,
             rounds = 3;
    double pause_scale = 1, give_up = 1, stall = 2, timeout = 60;
    bool trace_steps = false, csv = false;
    struct flag flags[] = {
        {.name = "scenario", .type = FLAG_CHOICE, .target = &scenario,
         .choices = scenario_names, .value_name = "S",
         .help = "prodcons (the documents'), join-before-drain or lock-order"},
        {.name = "fix", .type = FLAG_CHOICE, .target = &fix,
         .choices = fix_names, .value_name = "F",
         .help = "none (BUGGY ON PURPOSE), or one of the scenario's fixes "
                 "(above)"},
        {.name = "producers", .type = FLAG_COUNT, .target = &producers,
         .min = 1, .max = MAX_PRODUCERS, .value_name = "P",
         .help = "producer processes (prodcons, join-before-drain)"},
        {.name = "consumers", .type = FLAG_COUNT, .target = &consumers,
         .min = 1, .max = MAX_CONSUMERS, .value_name = "C",
         .help = "consumer processes (prodcons)"},
        {.name = "items", .type = FLAG_COUNT, .target = &items, .min = 1,
         .max = MAX_ITEMS, .value_name = "N",
         .help = "items each producer puts (the documents: 7)"},
        {.name = "capacity", .type = FLAG_COUNT, .target = &capacity, .min = 1,
         .max = 1000, .value_name = "Q",
         .help = "how many items the queue holds"},
        {.name = "workers", .type = FLAG_COUNT, .target = &workers, .min = 2,
         .max = MAX_WORKERS, .value_name = "W",
         .help = "lock-order: workers (and accounts) in the ring"},
        {.name = "rounds", .type = FLAG_COUNT, .target = &rounds, .min = 1,
         .max = MAX_ROUNDS, .value_name = "R",
         .help = "lock-order: transfers each worker makes"},
        {.name = "pause-scale", .type = FLAG_DECIMAL, .target = &pause_scale,
         .low = 0, .high = 100, .value_name = "X",
         .help = "scale the documents' pauses (put 0.2 s, get 0.1 s); 0: none"},
        {.name = "give-up", .type = FLAG_DECIMAL, .target = &give_up,
         .low = 0.001, .high = 3600, .value_name = "S",
         .help = "--fix timeout: a consumer stops after S s without an item"},
        {.name = "stall", .type = FLAG_DECIMAL, .target = &stall, .low = 0.05,
         .high = 3600, .value_name = "S",
         .help = "deadlock detector: no progress for S s, every party blocked"},
        {.name = "trace", .type = FLAG_SWITCH, .target = &trace_steps,
         .help = "print each blocking step before and after it, and what "
                 "is held"},
        flag_timeout(&timeout),
        flag_csv(&csv),
        FLAG_END,
    };
    struct program program = {
        .name = "deadlock",
        .synopsis = "the documents' producer/consumer hang and two more "
                    "deadlocks, detected, explained and fixed (E6)",
        .description =
            "prodcons: P producers put N items each, pausing 0.2 s (x "
            "--pause-scale); C consumers\nloop on get(), pausing 0.1 s; main "
            "joins them all.  With --fix none the consumers\nwait forever "
            "once the items are gone (BUGGY ON PURPOSE, as in the documents).\n"
            "  Fixes: sentinel (main puts one end marker per consumer), close "
            "(the last\n  producer closes the queue), timeout (a consumer "
            "gives up after --give-up s).\n"
            "join-before-drain: producers put N items and an end marker on a "
            "queue of --capacity;\nmain joins them before reading (--fix "
            "none) or reads everything first (--fix drain).\n"
            "lock-order: W workers in a ring; worker w moves 1 from account w "
            "to account w+1,\nlocking both.  --fix none locks its own account "
            "first (a cycle); --fix order\nlocks the lower account first.  A "
            "pause point makes the interleaving the same\nevery run.\n\n"
            "Every party writes what it waits for on a shared board; when "
            "nothing has moved for\n--stall seconds while every party is "
            "blocked, the watchdog explains who waits on\nwhat (to stderr) "
            "and ends the run.\n\n"
            "CSV (--csv): scenario,fix,producers,consumers,workers,expected,"
            "done,lost,duplicated,seconds\n  one row; expected = items (or "
            "transfers) made, done = consumed (or transferred),\n  lost = "
            "never consumed, duplicated = consumed more than once.",
        .exit_notes = "  0: the run ended and every item was consumed (every "
                      "transfer made) exactly once.\n  1: an item was lost or "
                      "duplicated (e.g. --fix timeout with too short a "
                      "--give-up).\n  3: a deadlock was detected (--stall) or "
                      "the run outlived --timeout: every --fix\n  none run "
                      "whose deadlock forms ends so, with the diagnosis on "
                      "stderr.",
        .flags = flags,
    };
    flags_parse_or_exit(&program, argc, argv);

    refuse_contradictions(&program, scenario, fix, trace_steps, csv);

    run.scenario = scenario;
    run.fix = fix;
    run.producers = (int)producers;
    run.consumers = scenario == PRODCONS ? (int)consumers : 0;
    run.items = (int)items;
    run.capacity = (int)capacity;
    run.workers = (int)workers;
    run.rounds = (int)rounds;
    run.put_pause = 0.2 * pause_scale;
    run.get_pause = 0.1 * pause_scale;
    run.give_up = give_up;
    run.trace = trace_steps;
    run.narrate = !csv;
    for (int i = 0; i < MAX_PRODUCERS + MAX_CONSUMERS; i++)
        indexes[i] = i;

    watchdog_start(program.name, timeout);

    set_up();
    watchdog_set_diagnosis(diagnose, NULL);
    watchdog_set_stall(stall, board_watch, run.board);

    print_header(stall, csv);

    double started = clock_seconds();
    if (scenario == PRODCONS)
        run_prodcons();
    else if (scenario == JOIN_BEFORE_DRAIN)
        run_join_before_drain();
    else
        run_lock_order();
    double seconds = clock_seconds() - started;
    watchdog_stop();

    return report(seconds, csv);
}
