/* deadlock.h: the parts of lab 07 (deadlock), one file each: main, flags
 * and the verdict (deadlock.c), the blocking steps every party announces
 * on the board (steps.c), the documents' producer/consumer (prodcons.c),
 * join-before-drain (join_drain.c) and lock order (lock_order.c). */
#ifndef LAB_DEADLOCK_H
#define LAB_DEADLOCK_H

#include "board.h"
#include "proc.h"
#include "queue.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum { MAX_PRODUCERS = 16, MAX_CONSUMERS = 16, MAX_ITEMS = 1000,
       MAX_WORKERS = 8, MAX_ROUNDS = 1000, START_BALANCE = 100 };

enum scenario { PRODCONS, JOIN_BEFORE_DRAIN, LOCK_ORDER };
enum fix { FIX_NONE, FIX_SENTINEL, FIX_CLOSE, FIX_TIMEOUT, FIX_DRAIN,
           FIX_ORDER };
/* Indexed by the enums above, NULL-terminated (the flags' choices). */
extern const char *const scenario_names[];
extern const char *const fix_names[];

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

/* The run, fixed before any fork: each child reads its own copy
 * (defined in deadlock.c). */
struct run {
    enum scenario scenario;
    enum fix fix;
    int producers, consumers, items, capacity, workers, rounds;
    int markers; /* --fix sentinel: end markers main puts (one per consumer) */
    double put_pause, get_pause, give_up;
    bool trace, narrate;
    struct shared *shared;
    struct queue *queue;
    struct board *board;
    int queue_index; /* on the board */
    int main_party, first_producer, first_consumer, first_worker;
};
extern struct run run;

/* ---- steps.c: narration, --trace, and the blocking steps ----------------- */

/* One narrated line (nothing with --csv). */
void say(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* --trace: party `me` is `when` ("before:", "after:", ...) a step. */
void trace(int me, const char *when, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
/* A party's name and pid, as the board knows it (one static buffer). */
const char *name_of(int party);
/* How many items the queue holds now. */
size_t queued(void);

/* queue_put / queue_get (timeout < 0: block), announced on the board. */
enum queue_status put_item(int me, const struct item *item, double timeout);
enum queue_status get_item(int me, struct item *item, double timeout);
/* main (party `me`) joins `child`, party `party`, with no bound of its own:
 * the watchdog's. */
void join_party(int me, int party, struct proc *child);
/* Forks `body`, which gets the number `index` (0, 1, ...) as its argument,
 * as board party `party`. */
void start(struct proc *child, int party, const char *name, proc_main_fn body,
           int index);

/* ---- prodcons.c: the queue, the documents' producer and consumer --------- */

/* The queue and its parties on the board (both queue scenarios). */
void queue_set_up(void);
extern const struct item end_marker;
/* Puts --items items (and, in join-before-drain, an end marker). */
int producer(void *arg);
/* An item got: count it (exactly once, or the check at the end fails). */
void consumed(const char *who, const struct item *item);
void run_prodcons(void);

/* ---- join_drain.c -------------------------------------------------------- */

void run_join_before_drain(void);

/* ---- lock_order.c -------------------------------------------------------- */

/* The accounts, their locks, and the workers on the board. */
void lock_order_set_up(void);
const char *account_name(int account);
void run_lock_order(void);

#endif
