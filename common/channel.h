/* channel.h: a duplex message channel between two processes (or threads)
 * that carries structured values: Python's multiprocessing.Pipe() in C.
 *
 *     Python                             C
 *     a, b = Pipe()                      channel_pair(&a, &b);
 *     a.send([42, None, 'hello'])        channel_send(&a, &message);
 *     b.recv()                           channel_recv(&b, &message, -1);
 *     b.poll(0.5) and b.recv()           channel_recv(&b, &message, 0.5);
 *     a.send_bytes(data)                 channel_send_bytes(&a, data, size);
 *     b.recv_bytes()                     channel_recv_bytes(&b, buf, cap,
 *                                                           &size, -1);
 *
 * A value is None, a 64-bit integer, a float (a C double, as Python's float
 * is), a byte string, or a list of values
 * (nested to any depth up to VALUE_DEPTH_MAX).  The sender encodes it into
 * bytes, the receiver decodes a fresh copy: the two processes share nothing
 * but the bytes in the pipe, which is the whole difference between message
 * passing and shared memory.
 *
 * What can go wrong is a return value (enum channel_status), never a crash:
 *   CHANNEL_TIMEOUT      nothing complete arrived in time; nothing is lost,
 *                        a later call gets the message
 *   CHANNEL_CLOSED       the peer is gone: it closed its end or exited (even
 *                        by SIGKILL).  Sending to it does NOT kill us with
 *                        SIGPIPE (see channel_pair)
 *   CHANNEL_BAD_MESSAGE  the bytes that arrived are not a valid frame; every
 *                        length read from the pipe is checked before it is
 *                        trusted, so a hostile or buggy peer cannot make us
 *                        allocate gigabytes or read past a buffer
 *   CHANNEL_TOO_LARGE    over CHANNEL_MESSAGE_MAX (send), or larger than the
 *                        caller's buffer (channel_recv_bytes)
 * Unexpected system-call failures (EBADF: a closed channel used) stop the
 * program with file:line (checked.h).
 *
 * Wire format (both ends are on one machine: native byte order):
 *     frame   = length:u32  kind:u32  payload[length]
 *     kind    = CHANNEL_FRAME_VALUE (payload is one encoded value)
 *             | CHANNEL_FRAME_BYTES (payload is raw bytes)
 *     value   = 'N'                          None
 *             | 'I' int64                    an integer
 *             | 'F' double                   a float (IEEE 754, 8 bytes)
 *             | 'S' length:u32 bytes         a string
 *             | 'L' count:u32 value*count    a list
 */
#ifndef COMMON_CHANNEL_H
#define COMMON_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peerwait.h" /* struct peerwait, a member of struct channel */

/* ---- Values -------------------------------------------------------------- */

enum value_kind { VALUE_NONE, VALUE_INT, VALUE_STRING, VALUE_LIST, VALUE_FLOAT };

/* A value owns what it points to: strings and list items are on the heap,
 * freed by value_free().  Copying the struct copies the pointers, not the
 * data: exactly one copy must be freed. */
struct value {
    enum value_kind kind;
    union {
        int64_t integer;
        double real; /* VALUE_FLOAT */
        struct {
            char *bytes; /* length bytes, then a '\0' not counted in length
                            (so text prints with printf; bytes may hold '\0') */
            size_t length;
        } string;
        struct {
            struct value *items;
            size_t count;
        } list;
    };
};

/* Lists nest at most this deep.  Deeper values cannot be sent, and a frame
 * that claims deeper nesting is a bad message: the decoder recurses once per
 * level, and a hostile frame must not be able to overflow its stack. */
enum { VALUE_DEPTH_MAX = 100 };

struct value value_none(void);
struct value value_int(int64_t integer);
struct value value_float(double real);
/* A copy of the NUL-terminated `text`. */
struct value value_string(const char *text);
/* A copy of `length` bytes at `data`, which may contain '\0'. */
struct value value_bytes(const void *data, size_t length);
/* A list of `count` values given as the following arguments, which it takes
 * ownership of:  value_list(3, value_int(42), value_none(),
 * value_string("hello")).  Free only the list. */
struct value value_list(size_t count, ...);
/* Append `item` (taking ownership of it) to `list`, a VALUE_LIST (one
 * realloc per item; works on a list built by hand too). */
void value_list_append(struct value *list, struct value item);

/* Free what `value` owns, recursively, and leave it a None.  Freeing a None
 * or an integer does nothing, so freeing twice is harmless. */
void value_free(struct value *value);

/* Same kind and same contents, recursively (strings byte for byte; floats
 * by ==, so a NaN equals nothing, as in Python; an int never equals a
 * float here, even 1 and 1.0). */
bool value_equal(const struct value *a, const struct value *b);

/* The value as Python's repr() prints it: [42, None, 'hello', 0.25].
 * Floats as Python's repr: the shortest digits that read back as the same
 * double (0.1, not 0.1000000000000000055), 1.0 with its ".0", exponent
 * notation from 1e+16 up and below 0.0001 (1e-05), inf, -inf, nan.  Strings are
 * quoted as Python quotes a str (single quotes unless the text contains
 * one and no double quote; \n \r \t \\ and other control bytes escaped;
 * bytes >= 0x80 copied, so UTF-8 text prints as text).  Always
 * NUL-terminated; a text longer than size - 1 is cut and ends in "...".
 * Returns `buffer`. */
const char *value_format(const struct value *value, char *buffer, size_t size);

/* The encoding of the wire format above, for other carriers of values (a
 * queue): writes the encoding into `buffer` if it fits in `size` bytes and
 * returns its length either way (as snprintf does).  Returns 0 (an encoding
 * is never empty) if `value` cannot be encoded: it nests deeper than
 * VALUE_DEPTH_MAX, or holds a string or list longer than UINT32_MAX. */
size_t value_encode(const struct value *value, void *buffer, size_t size);
/* Decode exactly `size` bytes into *out.  Returns false, with *out a None
 * and nothing allocated, if they are not exactly one well-formed value. */
bool value_decode(const void *data, size_t size, struct value *out);

/* ---- The channel --------------------------------------------------------- */

enum channel_status {
    CHANNEL_OK,
    CHANNEL_TIMEOUT,
    CHANNEL_CLOSED,      /* peer gone */
    CHANNEL_BAD_MESSAGE, /* not a valid frame: the stream cannot be trusted */
    CHANNEL_TOO_LARGE,   /* over CHANNEL_MESSAGE_MAX, or the caller's buffer */
};

/* The largest payload one message may carry.  Every length from the wire is
 * checked against it before anything is allocated; 64 MiB is far above what
 * any lab sends, and low enough that a lying length costs nothing. */
#define CHANNEL_MESSAGE_MAX ((size_t)64 << 20)

/* Frame kinds (the wire format above).  Arbitrary, distinctive numbers: a
 * stream that lost its framing is caught at the next header. */
#define CHANNEL_FRAME_VALUE UINT32_C(0x4C415643) /* "CVAL" in memory */
#define CHANNEL_FRAME_BYTES UINT32_C(0x54594243) /* "CBYT" in memory */

struct channel_frame_header {
    uint32_t length; /* payload bytes after the header */
    uint32_t kind;   /* CHANNEL_FRAME_VALUE or CHANNEL_FRAME_BYTES */
};

/* One end of a channel.  It owns two pipe ends (read_fd: what the peer
 * sent; write_fd: to the peer) and a receive buffer, so that a read() can
 * bring in many small messages at once.  Use an end from one thread at a
 * time; one thread may send while another receives on the same end (the two
 * directions share nothing). */
struct channel {
    int read_fd, write_fd;
    unsigned char *buffer; /* bytes received and not yet returned: */
    size_t start, end;     /*   buffer[start, end) */
    size_t capacity;
    bool broken; /* a bad message was seen: every recv says so */
    struct peerwait wait; /* waiting without sleeping (see below) */
};

/* Make a connected pair: what is sent on `a` is received on `b`, and the
 * other way.  To use it between processes, call it before fork, then each
 * process closes the end it does not use (channel_close): a process that
 * keeps both would keep its peer from ever seeing CHANNEL_CLOSED.
 *
 * Side effect, as CPython (and Rust) do at start-up: if SIGPIPE is at its
 * default action, it becomes ignored in this process (and in children forked
 * after).  A write to a pipe whose reader is gone then fails with EPIPE,
 * reported as CHANNEL_CLOSED, instead of killing the writer.  A program's
 * own SIGPIPE handler is kept (it runs, and the send still returns
 * CHANNEL_CLOSED).  The same holds for every other pipe of the process: a
 * program whose stdout is piped into `head` no longer dies when head exits
 * (its writes fail with EPIPE); and programs exec()ed later inherit the
 * ignored SIGPIPE, as they would from Python.  Never fails: running out of
 * file descriptors stops the program (checked.h). */
void channel_pair(struct channel *a, struct channel *b);

/* Close this end and free its buffer.  The peer's recv then returns
 * CHANNEL_CLOSED once it has read what was already sent.  Closing twice is
 * harmless. */
void channel_close(struct channel *channel);

/* Waiting without sleeping.  A receive that finds nothing to read may spin
 * for a few microseconds first -- but only while the peer is running (not
 * itself asleep waiting to receive), so that its reply is seen as soon as
 * it is written, without the sleep and wake-up a blocking read() costs
 * (tens of microseconds on a VM: most of a pipe round trip).  The spin
 * stops at once when the peer goes to sleep, shortens each time it is in
 * vain (a busy machine, the peer preempted), and never happens when this
 * process may run on one CPU only (common/peerwait.h: how).
 * channel_spin_stats() says how often it paid off. */
struct channel_spin_stats {
    uint64_t spins_won;   /* a frame arrived while spinning */
    uint64_t spins_lost;  /* the spin ran out of budget: then slept */
    uint64_t peer_asleep; /* no spin: the peer was itself waiting */
};
struct channel_spin_stats channel_spin_stats(void); /* this process's, so far */

/* Send one value.  Blocks while the pipe is full (the peer is not reading;
 * about 256 KiB fit), as Python's send() does.  A small message (up to 4 KiB
 * encoded) is one write(), and atomic: never interleaved with another
 * writer's.  Returns CHANNEL_OK; CHANNEL_CLOSED if the peer is gone (also
 * when it goes away while we are blocked); CHANNEL_TOO_LARGE if the
 * encoding is over CHANNEL_MESSAGE_MAX; CHANNEL_BAD_MESSAGE if the value
 * nests deeper than VALUE_DEPTH_MAX.  Nothing is sent in the last two
 * cases. */
enum channel_status channel_send(struct channel *channel,
                                 const struct value *value);

/* Receive one value into *out (which the caller then owns and frees with
 * value_free).  timeout: < 0 waits without a bound of its own, 0 only looks
 * at what has already arrived, > 0 waits at most that many seconds for the
 * whole message.  Signals that interrupt the wait (EINTR) are absorbed.
 * Returns CHANNEL_OK; CHANNEL_TIMEOUT (any part already received is kept
 * for the next call); CHANNEL_CLOSED once the peer is gone and everything
 * it sent has been received; CHANNEL_BAD_MESSAGE for an invalid frame or a
 * raw-bytes message (after which the channel stays broken: close it).
 * On any status but CHANNEL_OK, *out is a None. */
enum channel_status channel_recv(struct channel *channel, struct value *out,
                                 double timeout);

/* Raw byte messages, without value encoding (the bandwidth benchmark; a
 * message boundary is kept, as Python's send_bytes does).  A frame header
 * and the data go out in one writev().  Returns as channel_send;
 * CHANNEL_TOO_LARGE if size > CHANNEL_MESSAGE_MAX. */
enum channel_status channel_send_bytes(struct channel *channel,
                                       const void *data, size_t size);

/* Receive one raw message into data[0, capacity), its length into *size.
 * Large messages are read straight into `data`, without a copy through the
 * receive buffer.  Returns as channel_recv; CHANNEL_BAD_MESSAGE if the
 * message is a value; CHANNEL_TOO_LARGE if it is longer than `capacity`:
 * *size then says how long it is, and it stays queued, so the caller can
 * call again with a buffer that large. */
enum channel_status channel_recv_bytes(struct channel *channel, void *data,
                                       size_t capacity, size_t *size,
                                       double timeout);

/* "ok", "timeout", "closed", "bad message", "too large". */
const char *channel_status_name(enum channel_status status);

#endif
