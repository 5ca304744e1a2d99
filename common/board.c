/* board.c: the shared board of who waits on what (see board.h). */
#define _GNU_SOURCE
#include "board.h"

#include "checked.h"
#include "proc.h"
#include "timing.h"

#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

/* Every field is an atomic with the default (sequentially consistent)
 * ordering, so the sequence count brackets the field accesses in one total
 * order: a reader that sees any field of an update in progress also sees
 * the count changed, and retries.  (Fences would let relaxed fields do, but
 * ThreadSanitizer does not support them; updates are rare, so the stronger
 * ordering costs nothing that matters.) */
struct record {
    atomic_uint sequence; /* odd while the record is being written */
    char name[16];        /* written before fork(), read-only after */
    atomic_uint puts, gets; /* roles: bit q for queue q (before fork) */
    atomic_int pid, tid, state, object, exitcode;
    atomic_uint held;     /* bit l: holds lock l */
    atomic_uint_fast64_t since; /* clock_nanoseconds() of the last change */
};

struct queue_entry {
    char name[16];
    struct queue *queue; /* made before fork: one address in every process */
    int capacity;
    atomic_bool closed;  /* board_closed(): set by whichever party closed it */
};

struct board {
    atomic_uint_fast64_t progress;
    int parties, queues, locks; /* fixed before fork() */
    struct record party[BOARD_PARTIES];
    struct queue_entry queue[BOARD_QUEUES];
    char lock_name[BOARD_LOCKS][16];
};

/* What a reader sees of one record, consistently. */
struct snapshot {
    const char *name;
    unsigned puts, gets, held;
    int pid, tid, state, object, exitcode;
    uint64_t since;
};

#define RELAXED memory_order_relaxed

/* ---- Writing: one writer per record at a time ---------------------------- */

static unsigned write_begin(struct record *r)
{
    /* Two writers can meet: the parent's board_started() right after
     * fork() and the child's own first writes.  So the record is taken with
     * a compare-and-swap from even to odd, and a writer that finds it odd
     * waits a moment for the other to finish its few stores.  Still odd
     * after that: its previous writer died in the middle (killed); the
     * record is ours now, and this write makes it whole again. */
    for (int tries = 0;; tries++) {
        unsigned s = atomic_load(&r->sequence);
        if ((s & 1) == 0) {
            if (atomic_compare_exchange_weak(&r->sequence, &s, s + 1))
                return s + 1;
        } else if (tries >= 1000) {
            return s;
        } else {
            sched_yield();
        }
    }
}

static void write_end(struct record *r, unsigned s)
{
    atomic_store(&r->sequence, s + 1);
}

static struct snapshot snapshot_of(struct board *board, int index)
{
    struct record *r = &board->party[index];
    struct snapshot s;
    /* Bounded: a writer holds the record for a few stores, and one that
     * died mid-write leaves it odd for good; then take what is there. */
    for (int tries = 0;; tries++) {
        unsigned before = atomic_load(&r->sequence);
        s.name = r->name;
        s.puts = atomic_load(&r->puts);
        s.gets = atomic_load(&r->gets);
        s.held = atomic_load(&r->held);
        s.pid = atomic_load(&r->pid);
        s.tid = atomic_load(&r->tid);
        s.state = atomic_load(&r->state);
        s.object = atomic_load(&r->object);
        s.exitcode = atomic_load(&r->exitcode);
        s.since = atomic_load(&r->since);
        unsigned after = atomic_load(&r->sequence);
        if ((before == after && (before & 1) == 0) || tries == 1000)
            return s;
    }
}

struct board *board_create(void)
{
    struct board *board = CHECK_PTR(mmap(NULL, sizeof *board,
                                         PROT_READ | PROT_WRITE,
                                         MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                                    MAP_FAILED);
    /* A fresh anonymous mapping is zero: every party BOARD_UNUSED. */
    return board;
}

void board_destroy(struct board *board)
{
    CHECK(munmap(board, sizeof *board));
}

int board_add_party(struct board *board, const char *name)
{
    if (board->parties == BOARD_PARTIES)
        die_at(__FILE__, __LINE__, "board_add_party: board full", ENOSPC);
    int index = board->parties++;
    struct record *r = &board->party[index];
    snprintf(r->name, sizeof r->name, "%s", name);
    atomic_store(&r->state, BOARD_STARTING);
    atomic_store(&r->object, -1);
    atomic_store(&r->since, clock_nanoseconds());
    return index;
}

int board_add_queue(struct board *board, const char *name, struct queue *queue,
                    int capacity)
{
    if (board->queues == BOARD_QUEUES)
        die_at(__FILE__, __LINE__, "board_add_queue: board full", ENOSPC);
    struct queue_entry *q = &board->queue[board->queues];
    snprintf(q->name, sizeof q->name, "%s", name);
    q->queue = queue;
    q->capacity = capacity;
    return board->queues++;
}

int board_add_lock(struct board *board, const char *name)
{
    if (board->locks == BOARD_LOCKS)
        die_at(__FILE__, __LINE__, "board_add_lock: board full", ENOSPC);
    snprintf(board->lock_name[board->locks], sizeof board->lock_name[0], "%s",
             name);
    return board->locks++;
}

void board_set_role(struct board *board, int party, int queue, bool puts,
                    bool gets)
{
    struct record *r = &board->party[party];
    if (puts)
        atomic_fetch_or(&r->puts, 1u << queue);
    if (gets)
        atomic_fetch_or(&r->gets, 1u << queue);
}

void board_started(struct board *board, int party, pid_t pid, pid_t tid)
{
    struct record *r = &board->party[party];
    unsigned s = write_begin(r);
    atomic_store(&r->pid, (int)pid);
    atomic_store(&r->tid, (int)tid);
    /* The parent and the child may both call this, in either order: only
     * the first moves STARTING to RUNNING, and neither may overwrite a
     * state the child has reached since (a plain load-then-store could put
     * "running" over "blocked in get()", and hide a deadlock). */
    int starting = BOARD_STARTING;
    if (atomic_compare_exchange_strong(&r->state, &starting, BOARD_RUNNING))
        atomic_store(&r->since, clock_nanoseconds());
    write_end(r, s);
}

void board_set(struct board *board, int party, enum board_state state,
               int object)
{
    struct record *r = &board->party[party];
    unsigned s = write_begin(r);
    atomic_store(&r->state, (int)state);
    atomic_store(&r->object, object);
    atomic_store(&r->since, clock_nanoseconds());
    write_end(r, s);
}

void board_hold(struct board *board, int party, int lock, bool held)
{
    struct record *r = &board->party[party];
    unsigned s = write_begin(r);
    unsigned mask = atomic_load(&r->held);
    mask = held ? mask | 1u << lock : mask & ~(1u << lock);
    atomic_store(&r->held, mask);
    write_end(r, s);
}

void board_exited(struct board *board, int party, int exitcode)
{
    struct record *r = &board->party[party];
    unsigned s = write_begin(r);
    atomic_store(&r->state, BOARD_EXITED);
    atomic_store(&r->object, -1);
    atomic_store(&r->exitcode, exitcode);
    atomic_store(&r->held, 0); /* the dead hold nothing we track */
    atomic_store(&r->since, clock_nanoseconds());
    write_end(r, s);
}

void board_closed(struct board *board, int queue)
{
    atomic_store(&board->queue[queue].closed, true);
}

void board_progress(struct board *board)
{
    atomic_fetch_add_explicit(&board->progress, 1, RELAXED);
}

uint64_t board_progress_count(struct board *board)
{
    return atomic_load_explicit(&board->progress, RELAXED);
}

/* ---- Reading: the wait-for graph ----------------------------------------- */

static bool is_live(const struct snapshot *s)
{
    return s->state != BOARD_UNUSED && s->state != BOARD_EXITED;
}

static bool is_blocked(const struct snapshot *s)
{
    return s->state == BOARD_BLOCKED_GET || s->state == BOARD_BLOCKED_PUT ||
           s->state == BOARD_BLOCKED_JOIN || s->state == BOARD_BLOCKED_LOCK;
}

static int read_all(struct board *board, struct snapshot *all)
{
    int count = board->parties;
    for (int i = 0; i < count; i++)
        all[i] = snapshot_of(board, i);
    return count;
}

/* Blocked, and what it waits for is not there: a getter whose queue is
 * empty (and open), a putter whose queue is full (and open), a joiner whose
 * child has not finished, a locker.  A party that was woken but is not yet
 * back on a CPU still says "blocked" on the board; on a loaded machine that
 * can last long enough to look like a stall, and this is what tells the two
 * apart.  (A lock just released is taken within microseconds, and one whose
 * holder died is never released.) */
static bool is_stuck(struct board *board, const struct snapshot *s,
                     const struct snapshot *all, int count)
{
    if (!is_blocked(s))
        return false;
    int object = s->object;
    switch (s->state) {
    case BOARD_BLOCKED_JOIN:
        /* A child that finished is about to be reaped: the join returns. */
        return object < 0 || object >= count ||
               (all[object].state != BOARD_FINISHED &&
                all[object].state != BOARD_EXITED);
    case BOARD_BLOCKED_GET:
    case BOARD_BLOCKED_PUT: {
        if (object < 0 || object >= board->queues)
            return true; /* no queue to look at: take the board's word */
        const struct queue_entry *q = &board->queue[object];
        if (atomic_load(&q->closed))
            return false; /* its call returns CLOSED, or drains what is left */
        if (q->queue == NULL)
            return true;
        size_t length = queue_length(q->queue);
        return s->state == BOARD_BLOCKED_GET ? length == 0
                                             : length >= (size_t)q->capacity;
    }
    default:
        return true;
    }
}

bool board_all_blocked(struct board *board)
{
    struct snapshot all[BOARD_PARTIES];
    int count = read_all(board, all), live = 0;
    for (int i = 0; i < count; i++) {
        /* A party that finished can do nothing more, for anyone: it counts
         * neither as progress nor as blocked.  (Only a join on it can still
         * return, and is_stuck() sees that.)  Counting it as "not blocked"
         * let a consumer that had given up hide a producer stuck on the
         * full queue and a main stuck joining that producer. */
        if (!is_live(&all[i]) || all[i].state == BOARD_FINISHED)
            continue;
        if (!is_stuck(board, &all[i], all, count))
            return false;
        live++;
    }
    return live > 0;
}

struct watchdog_progress board_watch(void *arg)
{
    struct board *board = arg;
    /* The count first: progress made while the states are read shows as a
     * changed count at the next look, never as a false "all blocked". */
    uint64_t count = board_progress_count(board);
    return (struct watchdog_progress){.count = count,
                                      .all_blocked = board_all_blocked(board)};
}

/* Who could end party i's wait: a bit per party.  Empty for a party that
 * is not blocked, or that waits for something no live party can do. */
static uint64_t wakers(const struct snapshot *all, int count, int i)
{
    const struct snapshot *s = &all[i];
    uint64_t set = 0;
    for (int j = 0; j < count; j++) {
        const struct snapshot *other = &all[j];
        if (!is_live(other))
            continue;
        /* A finished party ends a join on it, and nothing else. */
        if (other->state == BOARD_FINISHED && s->state != BOARD_BLOCKED_JOIN)
            continue;
        bool can = false;
        switch (s->state) {
        case BOARD_BLOCKED_JOIN:
            can = j == s->object;
            break;
        case BOARD_BLOCKED_LOCK:
            can = s->object >= 0 && (other->held >> s->object & 1u);
            break;
        case BOARD_BLOCKED_GET:
            can = j != i && s->object >= 0 && (other->puts >> s->object & 1u);
            break;
        case BOARD_BLOCKED_PUT:
            can = j != i && s->object >= 0 && (other->gets >> s->object & 1u);
            break;
        default:
            break;
        }
        if (can)
            set |= UINT64_C(1) << j;
    }
    return set;
}

/* Depth-first search over blocked parties; colour 1 on the path, 2 done. */
static int search(const struct snapshot *all, int count, int i, int *colour,
                  int *path, int depth, int *cycle, int capacity)
{
    colour[i] = 1;
    path[depth] = i;
    uint64_t next = wakers(all, count, i);
    for (int j = 0; j < count; j++) {
        if (!(next >> j & 1u) || !is_blocked(&all[j]))
            continue;
        if (colour[j] == 1) { /* back on the path: cycle is path[k..depth] */
            int k = depth;
            while (path[k] != j)
                k--;
            int length = depth - k + 1;
            for (int m = 0; m < length && m < capacity; m++)
                cycle[m] = path[k + m];
            return length;
        }
        if (colour[j] == 0) {
            int length = search(all, count, j, colour, path, depth + 1, cycle,
                                capacity);
            if (length > 0)
                return length;
        }
    }
    colour[i] = 2;
    return 0;
}

static int find_cycle(const struct snapshot *all, int count, int *cycle,
                      int capacity)
{
    int colour[BOARD_PARTIES] = {0}, path[BOARD_PARTIES];
    for (int i = 0; i < count; i++) {
        if (colour[i] != 0 || !is_blocked(&all[i]))
            continue;
        int length = search(all, count, i, colour, path, 0, cycle, capacity);
        if (length > 0)
            return length;
    }
    return 0;
}

int board_find_cycle(struct board *board, int *cycle, int capacity)
{
    struct snapshot all[BOARD_PARTIES];
    int count = read_all(board, all);
    return find_cycle(all, count, cycle, capacity);
}

/* ---- Words --------------------------------------------------------------- */

/* snprintf's return is the length it *wanted*: add it to an offset
 * unchecked, and the next call gets a negative size turned into a huge
 * size_t.  So text is appended here, and the offset never passes the end
 * (long lock or party names are cut, never written past the buffer). */
static void append(char *buffer, size_t size, size_t *used, const char *format,
                   ...) __attribute__((format(printf, 4, 5)));
static void append(char *buffer, size_t size, size_t *used, const char *format,
                   ...)
{
    if (*used >= size)
        return;
    va_list arguments;
    va_start(arguments, format);
    int wanted = vsnprintf(buffer + *used, size - *used, format, arguments);
    va_end(arguments);
    if (wanted > 0)
        *used = *used + (size_t)wanted < size ? *used + (size_t)wanted : size - 1;
}

static const char *lock_list(struct board *board, unsigned mask, char *buffer,
                             int size)
{
    size_t used = 0;
    buffer[0] = '\0';
    for (int l = 0; l < board->locks; l++)
        if (mask >> l & 1u)
            append(buffer, (size_t)size, &used, "%s%s", used ? ", " : "",
                   board->lock_name[l]);
    if (used == 0)
        snprintf(buffer, (size_t)size, "nothing");
    return buffer;
}

static const char *queue_name(struct board *board, int q)
{
    return q >= 0 && q < board->queues ? board->queue[q].name : "?";
}

static const char *lock_name(struct board *board, int l)
{
    return l >= 0 && l < board->locks ? board->lock_name[l] : "?";
}

static const char *party_name(struct board *board, int p)
{
    return p >= 0 && p < board->parties ? board->party[p].name : "?";
}

static void describe(struct board *board, const struct snapshot *s,
                     char *buffer, int size)
{
    double for_seconds = (double)(clock_nanoseconds() - s->since) / 1e9;
    char held[128], how[64];
    size_t used = 0;
    buffer[0] = '\0';
    if (s->held != 0 && s->state != BOARD_EXITED)
        append(buffer, (size_t)size, &used, "holds %s, ",
               lock_list(board, s->held, held, sizeof held));
    char *rest = buffer + used;
    size_t left = (size_t)size - used;
    switch (s->state) {
    case BOARD_UNUSED:
        snprintf(rest, left, "unused");
        break;
    case BOARD_STARTING:
        snprintf(rest, left, "starting");
        break;
    case BOARD_RUNNING:
        snprintf(rest, left, "running");
        break;
    case BOARD_WAITING:
        if (s->object >= 0)
            snprintf(rest, left, "waiting on '%s' with a timeout (it ends "
                                 "on its own)", queue_name(board, s->object));
        else
            snprintf(rest, left, "waiting with a timeout (it ends on its own)");
        break;
    case BOARD_BLOCKED_GET:
    case BOARD_BLOCKED_PUT: {
        bool get = s->state == BOARD_BLOCKED_GET;
        int q = s->object;
        long length = -1;
        int capacity = 0;
        if (q >= 0 && q < board->queues) {
            length = (long)queue_length(board->queue[q].queue);
            capacity = board->queue[q].capacity;
        }
        if (get && length == 0)
            snprintf(rest, left, "blocked in get() on an empty queue '%s' "
                                 "for %.1f s",
                     queue_name(board, q), for_seconds);
        else if (!get && length >= capacity)
            snprintf(rest, left, "blocked in put() on a full queue '%s' (%ld "
                                 "of %d) for %.1f s", queue_name(board, q),
                     length, capacity, for_seconds);
        else
            snprintf(rest, left, "blocked in %s() on queue '%s' (%ld of %d) "
                                 "for %.1f s", get ? "get" : "put",
                     queue_name(board, q), length, capacity, for_seconds);
        break;
    }
    case BOARD_BLOCKED_JOIN:
        snprintf(rest, left, "blocked in join(%s) for %.1f s",
                 party_name(board, s->object), for_seconds);
        break;
    case BOARD_BLOCKED_LOCK:
        snprintf(rest, left, "blocked in lock(%s) for %.1f s",
                 lock_name(board, s->object), for_seconds);
        break;
    case BOARD_FINISHED:
        snprintf(rest, left, "finished, not yet reaped");
        break;
    case BOARD_EXITED:
        snprintf(rest, left, "%s",
                 proc_describe_exitcode(s->exitcode, how, sizeof how));
        break;
    default:
        snprintf(rest, left, "in an unknown state %d", s->state);
    }
}

const char *board_describe(struct board *board, int party, char *buffer,
                           int size)
{
    struct snapshot s = snapshot_of(board, party);
    describe(board, &s, buffer, size);
    return buffer;
}

const char *board_holdings(struct board *board, int party, char *buffer,
                           int size)
{
    struct snapshot s = snapshot_of(board, party);
    return lock_list(board, s.held, buffer, size);
}

const char *board_who(struct board *board, int party, char *buffer, int size)
{
    struct snapshot s = snapshot_of(board, party);
    snprintf(buffer, (size_t)size, "%s (pid %d)", s.name, s.pid);
    return buffer;
}

/* One step of a cycle: why party i waits for party j. */
static int step_text(struct board *board, const struct snapshot *all, int i,
                     int j, char *buffer, size_t size)
{
    const struct snapshot *s = &all[i];
    char held[128];
    switch (s->state) {
    case BOARD_BLOCKED_LOCK:
        if (s->held != 0)
            return snprintf(buffer, size, "%s holds %s and waits for %s, held "
                                          "by %s", s->name,
                            lock_list(board, s->held, held, sizeof held),
                            lock_name(board, s->object), all[j].name);
        return snprintf(buffer, size, "%s waits for %s, held by %s", s->name,
                        lock_name(board, s->object), all[j].name);
    case BOARD_BLOCKED_JOIN:
        return snprintf(buffer, size, "%s waits for %s to end", s->name,
                        all[j].name);
    case BOARD_BLOCKED_PUT:
        return snprintf(buffer, size, "%s waits for room in '%s', which only "
                                      "a get() by %s could make", s->name,
                        queue_name(board, s->object), all[j].name);
    case BOARD_BLOCKED_GET:
        return snprintf(buffer, size, "%s waits for an item on '%s', which "
                                      "only a put() by %s could bring", s->name,
                        queue_name(board, s->object), all[j].name);
    default:
        return snprintf(buffer, size, "%s waits for %s", s->name, all[j].name);
    }
}

/* A wait that no live party can end. */
static void dead_end(struct board *board, const struct snapshot *all,
                     int count, int i, FILE *out, const char *prefix)
{
    const struct snapshot *s = &all[i];
    char enders[512], how[64];
    size_t used = 0;
    enders[0] = '\0';
    if ((s->state == BOARD_BLOCKED_GET || s->state == BOARD_BLOCKED_PUT) &&
        s->object >= 0) {
        bool get = s->state == BOARD_BLOCKED_GET;
        for (int j = 0; j < count; j++) {
            unsigned role = get ? all[j].puts : all[j].gets;
            if (j == i || !(role >> s->object & 1u))
                continue;
            append(enders, sizeof enders, &used, "%s%s %s", used ? "; " : " (",
                   all[j].name,
                   all[j].state == BOARD_EXITED
                       ? proc_describe_exitcode(all[j].exitcode, how, sizeof how)
                       : "has ended");
        }
        if (used > 0)
            append(enders, sizeof enders, &used, ")");
    }
    switch (s->state) {
    case BOARD_BLOCKED_GET:
        fprintf(out, "%s%s (pid %d) waits for an item on '%s', but nothing can "
                     "ever arrive: %s%s.\n", prefix, s->name, s->pid,
                queue_name(board, s->object),
                used ? "every party that puts on it has ended"
                     : "no other party puts on it", enders);
        break;
    case BOARD_BLOCKED_PUT:
        fprintf(out, "%s%s (pid %d) waits for room in '%s', but nothing can "
                     "ever make room: %s%s.\n", prefix, s->name, s->pid,
                queue_name(board, s->object),
                used ? "every party that gets from it has ended"
                     : "no other party gets from it", enders);
        break;
    case BOARD_BLOCKED_LOCK:
        fprintf(out, "%s%s (pid %d) waits for lock %s, but no live party holds "
                     "it: its holder died holding it, or never unlocked it.\n",
                prefix, s->name, s->pid, lock_name(board, s->object));
        break;
    default:
        fprintf(out, "%s%s (pid %d) waits for %s, which has ended.\n", prefix,
                s->name, s->pid, party_name(board, s->object));
    }
}

void board_explain(struct board *board, FILE *out, const char *prefix)
{
    struct snapshot all[BOARD_PARTIES];
    int count = read_all(board, all);
    char line[512];
    fprintf(out, "%swho waits on what:\n", prefix);
    for (int i = 0; i < count; i++) {
        describe(board, &all[i], line, sizeof line);
        fprintf(out, "%s  %-11s (pid %d, tid %d) %s\n", prefix, all[i].name,
                all[i].pid, all[i].tid, line);
    }

    int running = 0;
    for (int i = 0; i < count; i++) {
        if (is_live(&all[i]) && all[i].state != BOARD_FINISHED &&
            !is_stuck(board, &all[i], all, count)) {
            describe(board, &all[i], line, sizeof line);
            fprintf(out, "%snot a deadlock (yet): %s (pid %d) is not "
                         "blocked: %s%s.\n",
                    prefix, all[i].name, all[i].pid, line,
                    is_blocked(&all[i]) ? ", but what it waits for is there: "
                                          "it is about to go on"
                                        : "");
            running++;
        }
    }
    if (running > 0)
        return;

    int cycle[BOARD_PARTIES];
    int length = find_cycle(all, count, cycle, BOARD_PARTIES);
    bool explained[BOARD_PARTIES] = {false};
    if (length > 0) {
        fprintf(out, "%sa cycle: ", prefix);
        for (int k = 0; k < length; k++) {
            step_text(board, all, cycle[k], cycle[(k + 1) % length], line,
                      sizeof line);
            fprintf(out, "%s%s", k ? "; " : "", line);
            explained[cycle[k]] = true;
        }
        fprintf(out, ": %s.\n", length == 1   ? "it can never move"
                                 : length == 2 ? "neither can move"
                                               : "none of them can move");
    }
    for (int i = 0; i < count; i++) {
        if (is_blocked(&all[i]) && wakers(all, count, i) == 0) {
            dead_end(board, all, count, i, out, prefix);
            explained[i] = true;
        }
    }
    for (int i = 0; i < count; i++) {
        if (!is_blocked(&all[i]) || explained[i])
            continue;
        uint64_t next = wakers(all, count, i);
        size_t used = 0;
        line[0] = '\0';
        for (int j = 0; j < count; j++)
            if (next >> j & 1u)
                append(line, sizeof line, &used, "%s%s", used ? ", " : "",
                       all[j].name);
        fprintf(out, "%s%s (pid %d) waits for %s, which can never move "
                     "either.\n", prefix, all[i].name, all[i].pid, line);
    }
    fprintf(out, "%severy party is blocked and nothing can ever move again: "
                 "a deadlock.\n", prefix);
}
