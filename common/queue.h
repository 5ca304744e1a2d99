/* queue.h: a bounded FIFO queue shared by processes (and threads).
 *
 * Python's multiprocessing.Queue in C, minus the pickling and the feeder
 * thread: put() copies a byte string into a ring of fixed-size slots in
 * shared memory, get() copies the oldest one out.  Create the queue before
 * fork(): every child then sees the same queue at the same address.
 *
 *     struct queue *queue = queue_create(64, sizeof(uint64_t));
 *     ... fork producers and consumers ...
 *     queue_put(queue, &value, sizeof value, QUEUE_BLOCK);         (producer)
 *     queue_get(queue, &value, sizeof value, NULL, QUEUE_BLOCK);   (consumer)
 *
 * Every call takes a timeout in seconds, Python's block/timeout pair in one
 * number:
 *     < 0  (QUEUE_BLOCK)   wait as long as it takes; the run's watchdog is
 *                          what bounds a wait that can never end;
 *     0    (QUEUE_NOWAIT)  never wait: a full queue is QUEUE_FULL, an empty
 *                          one QUEUE_EMPTY (Python's put_nowait/get_nowait);
 *     > 0                  wait at most that long (CLOCK_MONOTONIC), then
 *                          QUEUE_TIMEOUT.
 * These, and CLOSED and TOO_BIG, are expected outcomes, returned; only an
 * unexpected system failure stops the program (checked.h).
 *
 * Survival: a process may die at any instant -- killed while it waits, or
 * even while it holds one of the queue's two locks (the putters' or the
 * getters') mid-call.  The next process to take that lock repairs it (see queue.c); the queue stays
 * usable, no item is duplicated, and the only item that can be lost is the
 * one the dead process was itself putting or getting.
 */
#ifndef COMMON_QUEUE_H
#define COMMON_QUEUE_H

#include <stddef.h>
#include <stdint.h>

/* Lives in a MAP_SHARED anonymous mapping: create it before fork(). */
struct queue;

enum queue_status {
    QUEUE_OK,      /* the item was put / got */
    QUEUE_FULL,    /* put with QUEUE_NOWAIT on a full queue */
    QUEUE_EMPTY,   /* get with QUEUE_NOWAIT on an empty queue */
    QUEUE_TIMEOUT, /* the timeout passed and the queue was still full / empty */
    QUEUE_CLOSED,  /* put after close; get after close once it is drained */
    QUEUE_TOO_BIG  /* put: size > item_max; get: the next item does not fit */
};

#define QUEUE_BLOCK (-1.0)
#define QUEUE_NOWAIT 0.0

/* A queue of at most `capacity` items (>= 1) of at most `item_max` bytes
 * each, in a new shared anonymous mapping, its pages allocated now (not on
 * the first puts of a measured loop).  Never fails: capacity 0 is a bug in
 * the caller and stops the program (EINVAL), as does a failed mmap. */
struct queue *queue_create(size_t capacity, size_t item_max);

/* Unmap the queue.  Only its creator calls this, once every process and
 * thread that uses it is done (children simply exit: their copy of the
 * mapping goes with them). */
void queue_destroy(struct queue *queue);

/* Copy `size` bytes from `item` (NULL is fine when size is 0) to the back of
 * the queue.  Returns QUEUE_OK; QUEUE_TOO_BIG at once if size > item_max;
 * QUEUE_CLOSED if the queue is closed, also when it is closed while this
 * call waits; QUEUE_FULL (timeout 0) or QUEUE_TIMEOUT if no slot freed up in
 * time.  The caller keeps ownership of `item`. */
enum queue_status queue_put(struct queue *queue, const void *item, size_t size,
                            double timeout);

/* Copy the item at the front of the queue into `item` (`capacity` bytes)
 * and remove it; its length goes to *size (if size is not NULL).  Returns
 * QUEUE_OK; QUEUE_TOO_BIG if that item is longer than `capacity` (it then
 * stays at the front: retry with a buffer of item_max bytes);
 * QUEUE_CLOSED once the queue is closed *and* empty (items put before
 * close() are still delivered); QUEUE_EMPTY (timeout 0) or QUEUE_TIMEOUT
 * if nothing arrived in time. */
enum queue_status queue_get(struct queue *queue, void *item, size_t capacity,
                            size_t *size, double timeout);

/* Close the queue for good: every later put returns QUEUE_CLOSED; gets
 * drain what is left, then return QUEUE_CLOSED.  Every waiter, in every
 * process, is woken to see it.  Closing twice is harmless. */
void queue_close(struct queue *queue);

/* Items in the queue now.  Read without a lock: exact when nobody is
 * putting or getting, and otherwise a value the queue held a moment ago. */
size_t queue_length(struct queue *queue);

/* "OK", "FULL", "EMPTY", "TIMEOUT", "CLOSED", "TOO_BIG" (the enumerators'
 * names without QUEUE_), or "UNKNOWN". */
const char *queue_status_name(enum queue_status status);

/* For deadlock diagnosis (lab 07): how many processes and threads are
 * asleep right now in put() (on a full queue) and in get() (on an empty
 * one).  A waiter spins for a few microseconds before it sleeps, and is
 * counted once it sleeps.  A waiter that was killed while asleep is not
 * counted: the kernel releases the slot it held (robust mutex, see
 * queue.c), and this call notices.  Never blocks and never takes the
 * queue's locks, so a diagnosis can call it whatever state the queue is in. */
struct queue_waiters {
    int putters, getters;
};
struct queue_waiters queue_waiters(struct queue *queue);

/* How many times a process or thread died holding one of the queue's locks
 * and the next one to take it repaired it (pthread_mutex_consistent).  0 in a run
 * where nobody died mid-call. */
uint64_t queue_owner_deaths(struct queue *queue);

#endif
