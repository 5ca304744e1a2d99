/* e8_channel.c: E8 -- the documents' message [42, None, 'hello'] over one
 * duplex channel, child -> parent, then parent -> child.
 *
 * Python's Pipe() returns two connected ends; the documents' child sends
 * [42, None, 'hello'] and the parent receives it.  Here (common/channel.h)
 * the sender encodes the value into bytes -- a list of three items: an
 * integer, None, a string -- and writes one frame into a pipe; the receiver
 * reads the frame and decodes a fresh copy.  The two processes share no
 * memory at all: only the bytes printed below cross between them.  Then the
 * parent sends the same value back over the same channel (it is duplex: one
 * pipe each way), and the child checks it.  Each side prints what arrived as
 * Python's repr() would, and checks it equals what was sent (exit 1 if not).
 */
#define _GNU_SOURCE
#include "ipc.h"

#include "channel.h"
#include "checked.h"
#include "log.h"
#include "proc.h"
#include "timing.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The documents' message, built fresh by each process. */
static struct value the_message(void)
{
    return value_list(3, value_int(42), value_none(), value_string("hello"));
}

struct ends {
    struct channel parent_end, child_end;
};

static int child_main(void *arg)
{
    struct ends *ends = arg;
    channel_close(&ends->parent_end); /* keep only my end (see channel.h) */
    struct channel *mine = &ends->child_end;
    log_set_name("child");

    struct value message = the_message();
    enum channel_status status = channel_send(mine, &message);
    if (status != CHANNEL_OK) {
        fprintf(stderr, "ipc: E8: child: send: %s\n", channel_status_name(status));
        return EXIT_WRONG;
    }

    struct value back;
    status = channel_recv(mine, &back, 10.0);
    char repr[128];
    bool equal = status == CHANNEL_OK && value_equal(&back, &message);
    if (status == CHANNEL_OK)
        printf("  child  (pid %d) received %s from the parent: %s\n",
               (int)getpid(), value_format(&back, repr, sizeof repr),
               equal ? "equal to what it sent" : "DIFFERENT from what it sent");
    else
        printf("  child  (pid %d) received nothing: %s\n", (int)getpid(),
               channel_status_name(status));
    fflush(stdout);
    value_free(&back);
    value_free(&message);
    channel_close(mine);
    return equal ? EXIT_OK : EXIT_WRONG;
}

/* The bytes of one frame, as the pipe carries them. */
static void print_wire(const struct value *value)
{
    unsigned char payload[64];
    size_t length = value_encode(value, payload, sizeof payload);
    printf("  on the wire: an 8-byte header (length %zu, kind \"CVAL\") and "
           "%zu bytes of payload:\n   ", length, length);
    for (size_t i = 0; i < length && i < sizeof payload; i++)
        printf(" %02x", payload[i]);
    printf("\n  read as: 'L' count=3 | 'I' 42 (8 bytes, this machine's byte order) | 'N' "
           "| 'S' length=5 \"hello\"\n");
}

int e8_channel_message(void)
{
    ipc_set_phase("E8: the message over the channel");
    struct value message = the_message();
    char repr[128];
    printf("E8: a duplex channel between two processes (Python's Pipe()), "
           "and the documents'\nmessage %s, sent child -> parent, then "
           "parent -> child.\n\n",
           value_format(&message, repr, sizeof repr));
    print_wire(&message);
    printf("\n");

    static struct ends ends;
    channel_pair(&ends.parent_end, &ends.child_end);
    struct proc child;
    proc_start_keeping(&child, "ipc-e8-child", child_main, &ends,
                       PROC_FDS(ends.child_end.read_fd,
                                ends.child_end.write_fd,
                                ends.parent_end.read_fd,
                                ends.parent_end.write_fd));
    channel_close(&ends.child_end);
    struct channel *mine = &ends.parent_end;

    double start = clock_seconds();
    struct value received;
    enum channel_status status = channel_recv(mine, &received, 10.0);
    double waited = clock_seconds() - start;
    bool equal = status == CHANNEL_OK && value_equal(&received, &message);
    char took[32];
    if (status == CHANNEL_OK)
        printf("  parent (pid %d) received %s from the child (pid %d) after "
               "%s: %s\n",
               (int)getpid(), value_format(&received, repr, sizeof repr),
               (int)child.pid, duration_text(waited, took, sizeof took),
               equal ? "equal to the documents' message" : "DIFFERENT");
    else
        printf("  parent (pid %d) received nothing: %s\n", (int)getpid(),
               channel_status_name(status));
    fflush(stdout); /* before the child prints its line */

    /* Back the other way, over the same channel: the decoded copy, not the
     * original, so what the child checks made the whole round trip. */
    bool sent = equal && channel_send(mine, &received) == CHANNEL_OK;
    value_free(&received);
    channel_close(mine); /* what was sent stays in the pipe for the child */
    proc_join(&child, -1);
    value_free(&message);

    bool child_ok = child.exitcode == 0;
    if (!child_ok) {
        char how[64];
        printf("  WRONG: the child %s\n",
               proc_describe_exitcode(child.exitcode, how, sizeof how));
    }
    if (!equal || !sent || !child_ok) {
        fprintf(stderr, "ipc: E8: WRONG: the message did not arrive intact "
                        "both ways (see above)\n");
        return EXIT_WRONG;
    }
    printf("\nE8: the message arrived intact both ways.  Each process decoded "
           "its own copy:\nthe list, the None and the string were rebuilt "
           "from the bytes above.\n");
    return EXIT_OK;
}
