/* steps.c: every blocking step of lab 07 (deadlock), announced on the
 * board before it blocks and narrated before and after it.
 *
 * A deadlock cannot be seen from inside: each blocked party only knows what
 * it waits for.  So before every step that can block -- put(), get(),
 * join(), lock() -- a party writes on the shared board (common/board.h)
 * what it is about to wait for, and after it, that it runs again and that
 * something moved.  The watchdog reads the board when nothing has moved for
 * --stall seconds; --trace prints the same steps as they happen, saying
 * which side of the step it is and what the party holds.
 */
#define _GNU_SOURCE
#include "deadlock.h"

#include <stdarg.h>
#include <stdio.h>

/* ---- Narration and --trace ----------------------------------------------- */

/* One whole line per call, flushed: lines from several processes sharing a
 * pipe never interleave mid-line. */
void say(const char *format, ...)
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
void trace(int me, const char *when, const char *format, ...)
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

const char *name_of(int party)
{
    static char who[64];
    return board_who(run.board, party, who, sizeof who);
}

/* ---- The blocking steps, each announced on the board --------------------- */

size_t queued(void) { return queue_length(run.queue); }

enum queue_status put_item(int me, const struct item *item, double timeout)
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

enum queue_status get_item(int me, struct item *item, double timeout)
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

void join_party(int me, int party, struct proc *child)
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

/* ---- Starting a party ---------------------------------------------------- */

/* What each child gets as its argument: a pointer to its own number, which
 * stays valid (and, after fork, is the child's own copy). */
static int indexes[MAX_PRODUCERS + MAX_CONSUMERS];

void start(struct proc *child, int party, const char *name, proc_main_fn body,
           int index)
{
    indexes[index] = index;
    proc_start(child, name, body, &indexes[index]);
    board_started(run.board, party, child->pid, child->pid);
    say("main started %s (pid %d)", name, (int)child->pid);
}
