/* manager.c: the manager's server process and its proxies (see manager.h).
 *
 * Three parts, read in this order:
 *   1. links: one frame at a time over a stream socket, in the channel's
 *      wire format (a header, then one encoded value), every length checked
 *      before it is trusted;
 *   2. the server: a process that listens, accepts, and runs one thread
 *      per connection; each thread reads a request, applies it to the
 *      object table under one lock, and writes the reply;
 *   3. the proxies: one connection per (process, thread), opened on the
 *      first call and kept; each call is one request and one reply.
 * Between 1 and 2: the key check of TCP connections (HMAC challenges both
 * ways).  Both sides wait for a frame as the channel does (peerwait.h):
 * spinning first while the other side works, then asleep.
 */
#define _GNU_SOURCE
#include "manager.h"

#include "checked.h"
#include "output.h"
#include "cleanup.h"
#include "peerwait.h"
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct manager {
    struct proc server;
    char *directory; /* in `directories`: cleanup.h keeps the pointer */
    char address[sizeof(((struct sockaddr_un *)0)->sun_path)];
    bool connect_per_call;
    /* TCP (manager_start_tcp, manager_connect): the address served on or
     * connected to, "127.0.0.1:PORT", and the shared key.  `remote`: this
     * handle reaches its manager over TCP only (manager_connect). */
    char tcp[64];
    unsigned char key[MANAGER_KEY_MAX];
    size_t key_size;
    bool remote;
    uint64_t serial; /* tells this manager from an earlier one at the same
                        address in a thread's connection cache */
};

enum {
    HEADER_SIZE = sizeof(struct channel_frame_header),
    SMALL_FRAME = 4096,  /* encoded on the stack below this */
    LINK_BUFFER = 16384, /* first receive buffer: a request is one read() */
    CONNECTIONS_MAX = 256,
};

/* ---- 1. Links: frames over a stream socket ------------------------------- */

/* Waiting for a reply without sleeping (peerwait.h): the client makes a
 * page, sends its descriptor with its first request (SCM_RIGHTS), and the
 * server thread maps it.  Then each side spins before a receive only while
 * the other works, as the channel does.  A peer that sends no page (a raw
 * connection) simply gets no spinning. */
struct link {
    int fd;               /* the connection (a socket) */
    int read_fd, write_fd; /* where frames go: fd, or the two pipes below */
    int next_read_fd;     /* server: read_fd once the first frame is in */
    unsigned char *buffer; /* received, not yet returned: [start, end) */
    size_t start, end, capacity;
    struct peerwait wait;
    /* Client: what the first frame carries (SCM_RIGHTS), or none: the
     * peerwait page, the read end of a request pipe and the write end of
     * a reply pipe.  From the first reply on, frames go through the two
     * pipes: a pipe write and read cost less than a socket's (the kernel
     * allocates no socket buffer per message).  Measured on the 2-core VM,
     * one client, the same hour: 5.7 us a call at the median through the
     * pipes, 9.9 us through the socket.  The socket stays open, unused. */
    int attach[3], attached;
    bool take_fd; /* server: the first read may carry the client's fds */
};

enum link_status { LINK_OK, LINK_CLOSED, LINK_BAD, LINK_TOO_LARGE };

static void link_open(struct link *link, int fd)
{
    link->fd = link->read_fd = link->write_fd = fd;
    link->next_read_fd = -1;
    link->attached = 0;
    link->buffer = xcalloc(1, LINK_BUFFER);
    link->capacity = LINK_BUFFER;
    link->start = link->end = 0;
    link->wait = (struct peerwait){.page = NULL};
    link->take_fd = false;
}

static void link_close(struct link *link)
{
    if (link->read_fd >= 0 && link->read_fd != link->fd)
        close(link->read_fd);
    if (link->write_fd >= 0 && link->write_fd != link->fd)
        close(link->write_fd);
    if (link->next_read_fd >= 0)
        close(link->next_read_fd);
    if (link->fd >= 0)
        close(link->fd);
    for (int i = 0; i < link->attached; i++)
        close(link->attach[i]);
    free(link->buffer);
    peerwait_close(&link->wait);
    *link = (struct link){.fd = -1, .read_fd = -1, .write_fd = -1,
                          .next_read_fd = -1};
}

/* One value, header and payload in one send(): the peer wakes once.
 * MSG_NOSIGNAL: a peer that is gone is LINK_CLOSED (EPIPE), not SIGPIPE. */
static enum link_status link_send(struct link *link, const struct value *value)
{
    unsigned char small[SMALL_FRAME];
    size_t length = value_encode(value, small + HEADER_SIZE,
                                 sizeof small - HEADER_SIZE);
    if (length == 0 || length > MANAGER_FRAME_MAX)
        return LINK_TOO_LARGE;
    unsigned char *frame = small;
    if (HEADER_SIZE + length > sizeof small) {
        frame = xcalloc(1, HEADER_SIZE + length);
        value_encode(value, frame + HEADER_SIZE, length);
    }
    struct channel_frame_header header = {.length = (uint32_t)length,
                                          .kind = CHANNEL_FRAME_VALUE};
    memcpy(frame, &header, HEADER_SIZE);
    enum link_status status = LINK_OK;
    size_t done = 0, total = HEADER_SIZE + length;
    while (done < total) {
        ssize_t sent;
        if (link->attached > 0) { /* the first frame carries the fds */
            union {
                struct cmsghdr header;
                char space[CMSG_SPACE(3 * sizeof(int))];
            } control = {0};
            struct iovec vector = {.iov_base = frame + done,
                                   .iov_len = total - done};
            struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1,
                                     .msg_control = control.space,
                                     .msg_controllen = sizeof control.space};
            struct cmsghdr *cmsg = CMSG_FIRSTHDR(&message);
            cmsg->cmsg_level = SOL_SOCKET;
            cmsg->cmsg_type = SCM_RIGHTS;
            size_t size = (size_t)link->attached * sizeof(int);
            cmsg->cmsg_len = CMSG_LEN(size);
            message.msg_controllen = CMSG_SPACE(size);
            memcpy(CMSG_DATA(cmsg), link->attach, size);
            sent = sendmsg(link->fd, &message, MSG_NOSIGNAL);
            if (sent >= 0) {
                for (int i = 0; i < link->attached; i++)
                    close(link->attach[i]); /* the server has them now */
                link->attached = 0;
            }
        } else if (link->write_fd != link->fd) {
            sent = write(link->write_fd, frame + done, total - done);
        } else {
            sent = send(link->fd, frame + done, total - done, MSG_NOSIGNAL);
        }
        if (sent == -1 && errno == EINTR)
            continue;
        if (sent == -1 && (errno == EPIPE || errno == ECONNRESET)) {
            status = LINK_CLOSED;
            break;
        }
        if (sent == -1)
            die_at(__FILE__, __LINE__, "send", errno);
        done += (size_t)sent;
    }
    if (frame != small)
        free(frame);
    if (status == LINK_OK)
        peerwait_sent(&link->wait);
    return status;
}

/* recv(), or for the server's first read recvmsg(), which also takes the
 * client's peerwait page if it sent one. */
static ssize_t link_read(struct link *link, void *data, size_t size)
{
    if (link->read_fd != link->fd)
        return read(link->read_fd, data, size);
    if (!link->take_fd)
        return recv(link->fd, data, size, 0);
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(3 * sizeof(int))];
    } control;
    struct iovec vector = {.iov_base = data, .iov_len = size};
    struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1,
                             .msg_control = control.space,
                             .msg_controllen = sizeof control.space};
    ssize_t got = recvmsg(link->fd, &message, MSG_CMSG_CLOEXEC);
    if (got <= 0)
        return got;
    link->take_fd = false;
    for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&message); cmsg != NULL;
         cmsg = CMSG_NXTHDR(&message, cmsg))
        if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
            int fds[3] = {-1, -1, -1};
            size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            memcpy(fds, CMSG_DATA(cmsg), (count < 3 ? count : 3) * sizeof(int));
            if (count >= 1 && link->wait.page == NULL)
                peerwait_open(&link->wait, fds[0], 1);
            if (count >= 1)
                close(fds[0]);
            if (count == 3 && link->next_read_fd < 0) {
                /* The pipes: replies from now, requests after this one. */
                link->next_read_fd = fds[1];
                link->write_fd = fds[2];
            } else {
                for (size_t i = 1; i < count && i < 3; i++)
                    close(fds[i]);
            }
        }
    return got;
}

/* Read more bytes; false when the peer is gone (end of file, reset). */
static bool link_fill(struct link *link, size_t wanted)
{
    if (link->capacity - link->start < wanted) {
        memmove(link->buffer, link->buffer + link->start,
                link->end - link->start);
        link->end -= link->start;
        link->start = 0;
        if (link->capacity < wanted) {
            link->buffer = realloc(link->buffer, wanted);
            if (link->buffer == NULL)
                die_at(__FILE__, __LINE__, "realloc", errno);
            link->capacity = wanted;
        }
    }
    for (;;) {
        ssize_t got = link_read(link, link->buffer + link->end,
                                link->capacity - link->end);
        if (got > 0) {
            link->end += (size_t)got;
            return true;
        }
        if (got == 0 || errno == ECONNRESET)
            return false;
        if (errno != EINTR)
            die_at(__FILE__, __LINE__, "recv", errno);
    }
}

/* The next value.  LINK_BAD: not a value frame, or not a valid value;
 * LINK_TOO_LARGE: a length over MANAGER_FRAME_MAX (nothing allocated for
 * it); LINK_CLOSED: the peer went away, even in the middle of a frame. */
static enum link_status link_receive(struct link *link, struct value *out);

static enum link_status link_recv(struct link *link, struct value *out)
{
    if (link->end == link->start)
        peerwait_before_receive(&link->wait, -1);
    enum link_status status = link_receive(link, out);
    peerwait_after_receive(&link->wait, status == LINK_OK);
    return status;
}

static enum link_status link_receive(struct link *link, struct value *out)
{
    *out = value_none();
    while (link->end - link->start < HEADER_SIZE)
        if (!link_fill(link, HEADER_SIZE))
            return LINK_CLOSED;
    struct channel_frame_header header;
    memcpy(&header, link->buffer + link->start, HEADER_SIZE);
    if (header.kind != CHANNEL_FRAME_VALUE)
        return LINK_BAD;
    if (header.length > MANAGER_FRAME_MAX)
        return LINK_TOO_LARGE;
    size_t frame = HEADER_SIZE + header.length;
    while (link->end - link->start < frame)
        if (!link_fill(link, frame))
            return LINK_CLOSED;
    bool valid = value_decode(link->buffer + link->start + HEADER_SIZE,
                              header.length, out);
    link->start += frame;
    if (link->start == link->end)
        link->start = link->end = 0;
    if (link->next_read_fd >= 0 && link->start == link->end) {
        /* The first frame is in: the next ones come through the pipe. */
        link->read_fd = link->next_read_fd;
        link->next_read_fd = -1;
    }
    return valid ? LINK_OK : LINK_BAD;
}

/* ---- The key, proven both ways (TCP) --------------------------------------
 *
 * CPython's scheme (multiprocessing.connection): the server sends a random
 * challenge, the client answers with HMAC(key, challenge), the server says
 * welcome or failure; then the same the other way round, so each side
 * knows the other holds the key, and the key itself never crosses the
 * wire.  HMAC-SHA256 from OpenSSL's libcrypto; the digests are compared in
 * constant time (CRYPTO_memcmp), so timing does not tell how much of a
 * forged answer was right. */
#define CHALLENGE_PREFIX "#CHALLENGE#"
enum { CHALLENGE_RANDOM = 32, DIGEST_SIZE = 32 };

static void digest_of(const unsigned char *key, size_t key_size,
                      const void *message, size_t size,
                      unsigned char digest[DIGEST_SIZE])
{
    unsigned int length = DIGEST_SIZE;
    if (HMAC(EVP_sha256(), key, (int)key_size, message, size, digest,
             &length) == NULL ||
        length != DIGEST_SIZE)
        die_at(__FILE__, __LINE__, "HMAC-SHA256", EINVAL);
}

/* Send a challenge; true if the answer proves the key.  *why on failure.
 * The server passes `peer` (who connected): a wrong answer is logged
 * before the verdict is sent, so the line is out before the client can
 * react (and, say, shut the manager down). */
static bool deliver_challenge(struct link *link, const unsigned char *key,
                              size_t key_size, const char **why,
                              const char *peer)
{
    unsigned char challenge[sizeof CHALLENGE_PREFIX - 1 + CHALLENGE_RANDOM];
    memcpy(challenge, CHALLENGE_PREFIX, sizeof CHALLENGE_PREFIX - 1);
    unsigned char *random = challenge + sizeof CHALLENGE_PREFIX - 1;
    for (size_t got = 0; got < CHALLENGE_RANDOM;) {
        ssize_t n = getrandom(random + got, CHALLENGE_RANDOM - got, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            die_at(__FILE__, __LINE__, "getrandom", errno);
        got += (size_t)n;
    }
    struct value message = value_bytes(challenge, sizeof challenge), answer;
    bool sent = link_send(link, &message) == LINK_OK;
    value_free(&message);
    *why = "the connection closed during the key check";
    if (!sent || link_recv(link, &answer) != LINK_OK) {
        if (peer != NULL)
            fprintf(stderr, "manager: TCP connection from %s: %s\n", peer,
                    *why);
        return false;
    }
    unsigned char expected[DIGEST_SIZE];
    digest_of(key, key_size, challenge, sizeof challenge, expected);
    bool right = answer.kind == VALUE_STRING &&
                 answer.string.length == DIGEST_SIZE &&
                 CRYPTO_memcmp(answer.string.bytes, expected, DIGEST_SIZE) == 0;
    value_free(&answer);
    *why = "its answer to our challenge was wrong: it does not hold our key";
    if (!right && peer != NULL)
        fprintf(stderr,
                "manager: TCP connection from %s refused: %s; the server "
                "goes on\n",
                peer, *why);
    struct value verdict = value_string(right ? "#WELCOME#" : "#FAILURE#");
    link_send(link, &verdict);
    value_free(&verdict);
    return right;
}

/* Answer a challenge; true if the other side welcomed the answer. */
static bool answer_challenge(struct link *link, const unsigned char *key,
                             size_t key_size, const char **why)
{
    struct value challenge, verdict;
    *why = "the connection closed during the key check";
    if (link_recv(link, &challenge) != LINK_OK)
        return false;
    size_t prefix = sizeof CHALLENGE_PREFIX - 1;
    if (challenge.kind != VALUE_STRING ||
        challenge.string.length != prefix + CHALLENGE_RANDOM ||
        memcmp(challenge.string.bytes, CHALLENGE_PREFIX, prefix) != 0) {
        value_free(&challenge);
        *why = "it sent no valid challenge";
        return false;
    }
    unsigned char digest[DIGEST_SIZE];
    digest_of(key, key_size, challenge.string.bytes, challenge.string.length,
              digest);
    value_free(&challenge);
    struct value answer = value_bytes(digest, DIGEST_SIZE);
    bool sent = link_send(link, &answer) == LINK_OK;
    value_free(&answer);
    if (!sent || link_recv(link, &verdict) != LINK_OK)
        return false;
    bool welcome = verdict.kind == VALUE_STRING &&
                   strcmp(verdict.string.bytes, "#WELCOME#") == 0;
    value_free(&verdict);
    *why = "it refused our answer to its challenge: a different key";
    return welcome;
}

/* ---- 2. The server -------------------------------------------------------- */

/* One object: a dict (keys[i] -> values[i], in insertion order) or a list
 * (values[]). */
struct object {
    enum manager_kind kind;
    struct value *keys, *values;
    size_t count, capacity;
};

static struct {
    pthread_mutex_t lock; /* every request is applied holding it */
    struct object *objects; /* id i at objects[i - 1] */
    size_t count, capacity;
    const char *socket_path;
    atomic_int connections;
    unsigned char key[MANAGER_KEY_MAX]; /* TCP connections must prove it */
    size_t key_size;
} server = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Python's ==, for dict keys: 1 and 1.0 are one key. */
static bool key_equal(const struct value *a, const struct value *b)
{
    if (a->kind == VALUE_INT && b->kind == VALUE_FLOAT)
        return (double)a->integer == b->real;
    if (a->kind == VALUE_FLOAT && b->kind == VALUE_INT)
        return a->real == (double)b->integer;
    return value_equal(a, b);
}

static struct value value_copy(const struct value *value)
{
    switch (value->kind) {
    case VALUE_STRING:
        return value_bytes(value->string.bytes, value->string.length);
    case VALUE_LIST: {
        struct value list = {.kind = VALUE_LIST};
        list.list.count = value->list.count;
        list.list.items =
            list.list.count ? xcalloc(list.list.count, sizeof(struct value))
                            : NULL;
        for (size_t i = 0; i < list.list.count; i++)
            list.list.items[i] = value_copy(&value->list.items[i]);
        return list;
    }
    default:
        return *value;
    }
}

static void object_grow(struct object *object)
{
    if (object->count < object->capacity)
        return;
    size_t capacity = object->capacity ? object->capacity * 2 : 8;
    object->values = realloc(object->values, capacity * sizeof(struct value));
    if (object->values == NULL)
        die_at(__FILE__, __LINE__, "realloc", errno);
    if (object->kind == MANAGER_DICT) {
        object->keys = realloc(object->keys, capacity * sizeof(struct value));
        if (object->keys == NULL)
            die_at(__FILE__, __LINE__, "realloc", errno);
    }
    object->capacity = capacity;
}

/* The reply being built: ['return', value] or ['error', kind, text]. */
static struct value reply_return(struct value value)
{
    return value_list(2, value_string("return"), value);
}

static struct value reply_error(const char *kind, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static struct value reply_error(const char *kind, const char *format, ...)
{
    char text[256];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(text, sizeof text, format, arguments);
    va_end(arguments);
    return value_list(3, value_string("error"), value_string(kind),
                      value_string(text));
}

static struct value key_error(const struct value *key)
{
    char text[128];
    return reply_error("KeyError", "KeyError: %s",
                       value_format(key, text, sizeof text));
}

static bool is_method(const struct value *method, const char *name)
{
    return strcmp(method->string.bytes, name) == 0;
}

/* Python's l[i]: a negative index counts from the end. */
static bool list_index(const struct object *list, int64_t index, size_t *at)
{
    int64_t count = (int64_t)list->count;
    if (index < 0)
        index += count;
    if (index < 0 || index >= count)
        return false;
    *at = (size_t)index;
    return true;
}

static struct value new_object(enum manager_kind kind,
                               const struct value *initial)
{
    if (server.count == server.capacity) {
        server.capacity = server.capacity ? server.capacity * 2 : 16;
        server.objects =
            realloc(server.objects, server.capacity * sizeof *server.objects);
        if (server.objects == NULL)
            die_at(__FILE__, __LINE__, "realloc", errno);
    }
    struct object *object = &server.objects[server.count++];
    *object = (struct object){.kind = kind};
    if (initial != NULL && initial->kind == VALUE_LIST)
        for (size_t i = 0; i < initial->list.count; i++) {
            object_grow(object);
            object->values[object->count++] =
                value_copy(&initial->list.items[i]);
        }
    return reply_return(value_int((int64_t)server.count));
}

static struct value apply_dict(struct object *dict, const struct value *method,
                               const struct value *args)
{
    size_t n = args->list.count;
    const struct value *key = n >= 1 ? &args->list.items[0] : NULL;
    if (key != NULL && key->kind == VALUE_LIST &&
        !is_method(method, "keys") && !is_method(method, "len"))
        return reply_error("TypeError", "TypeError: unhashable type: 'list'");
    size_t at = 0;
    bool found = false;
    if (key != NULL)
        for (; at < dict->count && !found; at++)
            found = key_equal(&dict->keys[at], key);
    at = found ? at - 1 : at;
    if (is_method(method, "get") && n == 1)
        return found ? reply_return(value_copy(&dict->values[at]))
                     : key_error(key);
    if (is_method(method, "set") && n == 2) {
        if (found) { /* Python keeps the first key object: d[1.0] = x keeps 1 */
            value_free(&dict->values[at]);
            dict->values[at] = value_copy(&args->list.items[1]);
        } else {
            object_grow(dict);
            dict->keys[dict->count] = value_copy(key);
            dict->values[dict->count++] = value_copy(&args->list.items[1]);
        }
        return reply_return(value_none());
    }
    if (is_method(method, "delete") && n == 1) {
        if (!found)
            return key_error(key);
        value_free(&dict->keys[at]);
        value_free(&dict->values[at]);
        size_t after = dict->count - at - 1; /* keep the insertion order */
        memmove(&dict->keys[at], &dict->keys[at + 1], after * sizeof *dict->keys);
        memmove(&dict->values[at], &dict->values[at + 1],
                after * sizeof *dict->values);
        dict->count--;
        return reply_return(value_none());
    }
    if ((is_method(method, "keys") || is_method(method, "items")) && n == 0) {
        struct value list = {.kind = VALUE_LIST};
        list.list.count = dict->count;
        list.list.items =
            dict->count ? xcalloc(dict->count, sizeof(struct value)) : NULL;
        for (size_t i = 0; i < dict->count; i++)
            list.list.items[i] =
                is_method(method, "keys")
                    ? value_copy(&dict->keys[i])
                    : value_list(2, value_copy(&dict->keys[i]),
                                 value_copy(&dict->values[i]));
        return reply_return(list);
    }
    if (is_method(method, "len") && n == 0)
        return reply_return(value_int((int64_t)dict->count));
    return reply_error("TypeError", "TypeError: dict has no method %s with %zu "
                                    "argument(s)",
                       method->string.bytes, n);
}

static struct value apply_list(struct object *list, const struct value *method,
                               const struct value *args)
{
    size_t n = args->list.count, at = 0;
    const struct value *first = n >= 1 ? &args->list.items[0] : NULL;
    bool indexed = (is_method(method, "get") && n == 1) ||
                   (is_method(method, "set") && n == 2);
    if (indexed && first->kind != VALUE_INT)
        return reply_error("TypeError", "TypeError: list indices must be "
                                        "integers");
    if (indexed && !list_index(list, first->integer, &at))
        return reply_error("IndexError", "%s",
                           is_method(method, "set")
                               ? "IndexError: list assignment index out of "
                                 "range"
                               : "IndexError: list index out of range");
    if (is_method(method, "get") && n == 1)
        return reply_return(value_copy(&list->values[at]));
    if (is_method(method, "set") && n == 2) {
        value_free(&list->values[at]);
        list->values[at] = value_copy(&args->list.items[1]);
        return reply_return(value_none());
    }
    if (is_method(method, "append") && n == 1) {
        object_grow(list);
        list->values[list->count++] = value_copy(first);
        return reply_return(value_none());
    }
    if (is_method(method, "reverse") && n == 0) {
        for (size_t i = 0, j = list->count; i + 1 < j; i++, j--) {
            struct value swap = list->values[i];
            list->values[i] = list->values[j - 1];
            list->values[j - 1] = swap;
        }
        return reply_return(value_none());
    }
    if (is_method(method, "items") && n == 0) {
        struct value copy = {.kind = VALUE_LIST};
        copy.list.count = list->count;
        copy.list.items =
            list->count ? xcalloc(list->count, sizeof(struct value)) : NULL;
        for (size_t i = 0; i < list->count; i++)
            copy.list.items[i] = value_copy(&list->values[i]);
        return reply_return(copy);
    }
    if (is_method(method, "len") && n == 0)
        return reply_return(value_int((int64_t)list->count));
    return reply_error("TypeError", "TypeError: list has no method %s with %zu "
                                    "argument(s)",
                       method->string.bytes, n);
}

/* A well-formed request is [int, str, list].  Anything else: false, and
 * the connection is dropped (the peer does not speak our protocol). */
static bool request_valid(const struct value *request)
{
    return request->kind == VALUE_LIST && request->list.count == 3 &&
           request->list.items[0].kind == VALUE_INT &&
           request->list.items[1].kind == VALUE_STRING &&
           request->list.items[2].kind == VALUE_LIST;
}

/* Returns the reply; *shutdown set for the shutdown request. */
static struct value apply(const struct value *request, bool *shutdown)
{
    int64_t id = request->list.items[0].integer;
    const struct value *method = &request->list.items[1];
    const struct value *args = &request->list.items[2];
    if (id == 0) {
        if (is_method(method, "dict"))
            return new_object(MANAGER_DICT, NULL);
        if (is_method(method, "list") && args->list.count == 1)
            return new_object(MANAGER_LIST, &args->list.items[0]);
        if (is_method(method, "shutdown")) {
            *shutdown = true;
            return reply_return(value_none());
        }
        return reply_error("TypeError", "TypeError: the manager has no "
                                        "method %s",
                           method->string.bytes);
    }
    if (id < 0 || (uint64_t)id > server.count)
        return reply_error("KeyError", "KeyError: no object %" PRId64, id);
    struct object *object = &server.objects[id - 1];
    return object->kind == MANAGER_DICT ? apply_dict(object, method, args)
                                        : apply_list(object, method, args);
}

static pid_t peer_pid(int fd)
{
    struct ucred credentials;
    socklen_t size = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) == -1)
        return 0;
    return credentials.pid;
}

/* One client connection, until it closes or misbehaves. */
/* arg: the descriptor, times 2, plus 1 for a TCP connection. */
static void *serve_connection(void *arg)
{
    intptr_t word = (intptr_t)arg;
    bool tcp = word & 1;
    struct link link;
    link_open(&link, (int)(word >> 1));
    link.take_fd = !tcp; /* a page can only come over a Unix socket */
    pid_t peer = tcp ? 0 : peer_pid(link.fd);
    if (tcp) {
        struct sockaddr_in from;
        socklen_t size = sizeof from;
        char where[64] = "?";
        if (getpeername(link.fd, (struct sockaddr *)&from, &size) == 0) {
            char host[INET_ADDRSTRLEN] = "?";
            inet_ntop(AF_INET, &from.sin_addr, host, sizeof host);
            snprintf(where, sizeof where, "%s:%d", host, ntohs(from.sin_port));
        }
        const char *why = NULL;
        bool proven = deliver_challenge(&link, server.key, server.key_size,
                                        &why, where); /* logs its failures */
        if (proven && !answer_challenge(&link, server.key, server.key_size,
                                        &why)) {
            fprintf(stderr,
                    "manager: TCP connection from %s refused: %s; the "
                    "server goes on\n",
                    where, why);
            proven = false;
        }
        if (!proven) {
            link_close(&link);
            atomic_fetch_sub(&server.connections, 1);
            return NULL;
        }
    }
    for (;;) {
        struct value request;
        enum link_status status = link_recv(&link, &request);
        if (status == LINK_CLOSED)
            break; /* the client is done, or was killed: nothing to say */
        if (status != LINK_OK || !request_valid(&request)) {
            fprintf(stderr,
                    "manager: connection from pid %d: %s; connection "
                    "closed, the server goes on\n",
                    (int)peer,
                    status == LINK_TOO_LARGE
                        ? "frame larger than MANAGER_FRAME_MAX"
                    : status == LINK_BAD ? "malformed frame"
                                         : "not a request [id, method, args]");
            value_free(&request);
            break;
        }
        bool shutdown = false;
        CHECK_PT(pthread_mutex_lock(&server.lock));
        struct value reply = apply(&request, &shutdown);
        CHECK_PT(pthread_mutex_unlock(&server.lock));
        value_free(&request);
        if (shutdown) {
            /* Unlink first: from the reply on, the address is free. */
            unlink(server.socket_path);
            link_send(&link, &reply);
            _exit(EXIT_OK); /* every thread goes with the process */
        }
        if (link_send(&link, &reply) == LINK_TOO_LARGE) {
            value_free(&reply);
            reply = reply_error("TypeError", "the reply would be over "
                                             "MANAGER_FRAME_MAX");
            link_send(&link, &reply);
        }
        value_free(&reply);
    }
    link_close(&link);
    atomic_fetch_sub(&server.connections, 1);
    return NULL;
}

/* The server's main loop: accept, and a thread per connection. */
static _Noreturn void serve(int listener, int tcp_listener)
{
    pthread_attr_t detached;
    CHECK_PT(pthread_attr_init(&detached));
    CHECK_PT(pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED));
    CHECK_PT(pthread_attr_setstacksize(&detached, 256 * 1024));
    struct pollfd listeners[2] = {{.fd = listener, .events = POLLIN},
                                  {.fd = tcp_listener, .events = POLLIN}};
    for (;;) {
        if (poll(listeners, tcp_listener >= 0 ? 2 : 1, -1) == -1) {
            if (errno == EINTR)
                continue;
            die_at(__FILE__, __LINE__, "poll", errno);
        }
        bool tcp = tcp_listener >= 0 && (listeners[1].revents & POLLIN);
        int fd = accept4(tcp ? tcp_listener : listener, NULL, NULL,
                         SOCK_CLOEXEC);
        if (fd == -1 && (errno == EINTR || errno == ECONNABORTED))
            continue;
        if (fd == -1)
            die_at(__FILE__, __LINE__, "accept4", errno);
        if (atomic_fetch_add(&server.connections, 1) >= CONNECTIONS_MAX) {
            fprintf(stderr, "manager: over %d connections: pid %d refused\n",
                    CONNECTIONS_MAX, (int)peer_pid(fd));
            atomic_fetch_sub(&server.connections, 1);
            close(fd);
            continue;
        }
        if (tcp) { /* small frames each way: send them now, not batched */
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        pthread_t thread;
        CHECK_PT(pthread_create(&thread, &detached, serve_connection,
                                (void *)(((intptr_t)fd << 1) | tcp)));
    }
}

/* What the starter passes the server, in a memfd. */
struct server_config {
    char tcp[64]; /* "127.0.0.1:PORT", or empty: no TCP */
    size_t key_size;
    unsigned char key[MANAGER_KEY_MAX];
};

/* "HOST:PORT" with an IPv4 HOST and a PORT from 0 to 65535. */
static bool parse_tcp(const char *text, struct sockaddr_in *out)
{
    const char *colon = strrchr(text, ':');
    if (colon == NULL || colon == text || (size_t)(colon - text) >= 32)
        return false;
    char host[32];
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
        port > 65535)
        return false;
    *out = (struct sockaddr_in){.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port)};
    return inet_pton(AF_INET, host, &out->sin_addr) == 1;
}

/* How the server process starts: fork, then exec this same program
 * (/proc/self/exe) with SERVER_ENVIRONMENT set, and the constructor below
 * takes over before main() runs.  Why not just run the server in the forked
 * child?  The child of a process that has threads (the watchdog's, a
 * pool's) inherits a copy of every lock as it was at the fork, held or not,
 * and only the forking thread: creating threads there is unsafe (a
 * sanitizer runtime's own locks, say) and ThreadSanitizer refuses it.  An
 * exec starts the server afresh, with one thread -- CPython's "spawn"
 * start method, for the same reason.  The environment variable carries
 * the socket path and the descriptor of the "ready" pipe. */
#define SERVER_ENVIRONMENT "COMMON_MANAGER_SERVER"

__attribute__((constructor)) static void server_entry(void)
{
    const char *spec = getenv(SERVER_ENVIRONMENT);
    if (spec == NULL)
        return; /* an ordinary start of the program */
    static char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int ready = -1, config = -1;
    if (sscanf(spec, "%d,%d,%107[^\n]", &ready, &config, path) != 3)
        die_at(__FILE__, __LINE__, "manager: bad " SERVER_ENVIRONMENT, EINVAL);
    unsetenv(SERVER_ENVIRONMENT);
    server.socket_path = path;
    signal(SIGPIPE, SIG_IGN); /* a reply to a dead client is EPIPE */
    /* The configuration, from a memfd (not the environment: the key must
     * not show in /proc/PID/environ): the TCP address, then the key. */
    struct server_config settings;
    if (pread(config, &settings, sizeof settings, 0) != sizeof settings ||
        settings.key_size > MANAGER_KEY_MAX ||
        memchr(settings.tcp, '\0', sizeof settings.tcp) == NULL)
        die_at(__FILE__, __LINE__, "manager: bad configuration", EINVAL);
    close(config);
    memcpy(server.key, settings.key, settings.key_size);
    server.key_size = settings.key_size;
    char tcp[sizeof settings.tcp];
    memcpy(tcp, settings.tcp, sizeof tcp);
    explicit_bzero(&settings, sizeof settings);

    int listener = CHECK(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    memcpy(address.sun_path, path, sizeof address.sun_path);
    CHECK(bind(listener, (struct sockaddr *)&address, sizeof address));
    CHECK(listen(listener, 128));
    int tcp_listener = -1;
    uint16_t port = 0;
    if (tcp[0] != '\0') {
        struct sockaddr_in where;
        if (!parse_tcp(tcp, &where))
            die_at(__FILE__, __LINE__, "manager: bad TCP address", EINVAL);
        tcp_listener = CHECK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        int one = 1;
        CHECK(setsockopt(tcp_listener, SOL_SOCKET, SO_REUSEADDR, &one,
                         sizeof one));
        CHECK(bind(tcp_listener, (struct sockaddr *)&where, sizeof where));
        CHECK(listen(tcp_listener, 128));
        socklen_t size = sizeof where;
        CHECK(getsockname(tcp_listener, (struct sockaddr *)&where, &size));
        port = ntohs(where.sin_port);
    }
    unsigned char token[3] = {1, (unsigned char)(port >> 8),
                              (unsigned char)port};
    CHECK(write(ready, token, sizeof token));
    close(ready);
    serve(listener, tcp_listener);
}

struct server_start {
    struct manager *manager;
    int ready[2]; /* the server writes 3 bytes once it listens: 1, port */
    int config;   /* a memfd holding a struct server_config */
};

/* In the forked child: become the server (see server_entry). */
static int server_main(void *arg)
{
    struct server_start *start = arg;
    close(start->ready[0]);
    int flags = CHECK(fcntl(start->ready[1], F_GETFD));
    CHECK(fcntl(start->ready[1], F_SETFD, flags & ~FD_CLOEXEC));
    flags = CHECK(fcntl(start->config, F_GETFD));
    CHECK(fcntl(start->config, F_SETFD, flags & ~FD_CLOEXEC));
    /* The environment, plus ours (a new array: setenv() takes a lock that
     * another thread of the parent may have held at the fork). */
    char spec[256];
    snprintf(spec, sizeof spec, SERVER_ENVIRONMENT "=%d,%d,%s",
             start->ready[1], start->config, start->manager->address);
    size_t count = 0;
    while (environ[count] != NULL)
        count++;
    char **environment = xcalloc(count + 2, sizeof *environment);
    memcpy(environment, environ, count * sizeof *environment);
    environment[count] = spec;
    char *argv[] = {"manager", NULL};
    execve("/proc/self/exe", argv, environment);
    die_at(__FILE__, __LINE__, "execv(/proc/self/exe)", errno);
}

/* The directories' paths outlive their managers: the cleanup step that
 * removes one at exit (cleanup.h) holds on to its path. */
enum { MANAGERS_MAX = 8 };
static char directories[MANAGERS_MAX][200];
static int directories_used;

struct manager *manager_start(void)
{
    return manager_start_tcp(NULL, NULL, 0);
}

static uint64_t serials;

struct manager *manager_start_tcp(const char *tcp, const void *key,
                                  size_t key_size)
{
    struct sockaddr_in where;
    if (tcp != NULL && (!parse_tcp(tcp, &where) || key_size == 0 ||
                        key_size > MANAGER_KEY_MAX))
        die_at(__FILE__, __LINE__,
               "manager_start_tcp: bad address or key size", EINVAL);
    if (directories_used == MANAGERS_MAX)
        die_at(__FILE__, __LINE__, "manager_start: too many managers", EMFILE);
    struct manager *manager = xcalloc(1, sizeof *manager);
    manager->serial = ((uint64_t)getpid() << 24) | ++serials;
    manager->directory = directories[directories_used++];
    cleanup_tempdir("manager", manager->directory, sizeof directories[0]);
    CHECK(chmod(manager->directory, 0700)); /* mkdtemp's mode; said, not assumed */
    int length = snprintf(manager->address, sizeof manager->address,
                          "%s/socket", manager->directory);
    if (length < 0 || (size_t)length >= sizeof manager->address)
        die_at(__FILE__, __LINE__, "manager: socket path too long",
               ENAMETOOLONG);

    struct server_config settings = {.key_size = key_size};
    if (tcp != NULL) {
        snprintf(settings.tcp, sizeof settings.tcp, "%s", tcp);
        memcpy(settings.key, key, key_size);
        memcpy(manager->key, key, key_size);
        manager->key_size = key_size;
    }
    struct server_start start = {.manager = manager};
    start.config = CHECK(memfd_create("manager-config", MFD_CLOEXEC));
    if (write(start.config, &settings, sizeof settings) != sizeof settings)
        die_at(__FILE__, __LINE__, "write(manager configuration)", errno);
    explicit_bzero(&settings, sizeof settings);
    CHECK(pipe2(start.ready, O_CLOEXEC));
    proc_start_keeping(&manager->server, "manager", server_main, &start,
                       PROC_FDS(start.ready[1], start.config));
    close(start.ready[1]);
    close(start.config);
    unsigned char token[3];
    size_t got = 0;
    while (got < sizeof token) {
        ssize_t n = read(start.ready[0], token + got, sizeof token - got);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(start.ready[0]);
    if (got != sizeof token) { /* it died first: its error is on stderr */
        proc_join(&manager->server, -1);
        die_at(__FILE__, __LINE__, "manager: the server did not start",
               ECHILD);
    }
    if (tcp != NULL) {
        char host[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &where.sin_addr, host, sizeof host);
        snprintf(manager->tcp, sizeof manager->tcp, "%s:%u", host,
                 (unsigned)token[1] << 8 | token[2]);
    }
    return manager;
}

struct manager *manager_connect(const char *tcp, const void *key,
                                size_t key_size)
{
    struct sockaddr_in where;
    if (tcp == NULL || !parse_tcp(tcp, &where) || key_size == 0 ||
        key_size > MANAGER_KEY_MAX)
        die_at(__FILE__, __LINE__, "manager_connect: bad address or key size",
               EINVAL);
    struct manager *manager = xcalloc(1, sizeof *manager);
    manager->serial = ((uint64_t)getpid() << 24) | ++serials;
    manager->remote = true;
    snprintf(manager->tcp, sizeof manager->tcp, "%s", tcp);
    memcpy(manager->key, key, key_size);
    manager->key_size = key_size;
    return manager;
}

const char *manager_tcp_address(const struct manager *manager)
{
    return manager->tcp[0] != '\0' ? manager->tcp : NULL;
}

struct manager_proxy manager_proxy_at(struct manager *manager, int64_t id,
                                      enum manager_kind kind)
{
    return (struct manager_proxy){.manager = manager, .id = id, .kind = kind};
}

pid_t manager_pid(const struct manager *manager)
{
    return manager->server.pid;
}

const char *manager_address(const struct manager *manager)
{
    return manager->address;
}

void manager_set_connect_per_call(struct manager *manager, bool on)
{
    manager->connect_per_call = on;
}

/* ---- 3. The proxies ------------------------------------------------------- */

/* This thread's connection: to which manager, opened by which process. */
static __thread struct {
    struct link link;
    uint64_t serial;
    pid_t pid;
    bool open;
} cached;
static __thread char error_text[256];

/* getpid() is a system call in glibc (it stopped caching it): one per
 * proxy call, a few percent of a round trip.  The pid is cached here and
 * refreshed in every child by a fork handler. */
static atomic_int cached_pid;
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;

static void forget_pid(void)
{
    atomic_store_explicit(&cached_pid, 0, memory_order_relaxed);
}

static void watch_forks(void)
{
    CHECK_PT(pthread_atfork(NULL, NULL, forget_pid));
}

static pid_t current_pid(void)
{
    pthread_once(&pid_once, watch_forks);
    int pid = atomic_load_explicit(&cached_pid, memory_order_relaxed);
    if (pid == 0) {
        pid = (int)getpid();
        atomic_store_explicit(&cached_pid, pid, memory_order_relaxed);
    }
    return (pid_t)pid;
}

static pthread_key_t closer;
static pthread_once_t closer_once = PTHREAD_ONCE_INIT;

static void forget_connection(void)
{
    if (!cached.open)
        return;
    if (cached.pid == current_pid()) {
        link_close(&cached.link);
    } else {
        /* Inherited through fork: the parent's connection.  proc_start()
         * closed its descriptor in this child, and the number may have been
         * reused since: never close it here. */
        free(cached.link.buffer);
        peerwait_close(&cached.link.wait); /* our copy of its mapping */
        /* Nor its pipes: closed at fork too (a connection's descriptors
         * are close-on-exec and not kept by proc_start). */
    }
    cached.open = false;
}

static void close_at_thread_exit(void *unused)
{
    (void)unused;
    forget_connection();
}

static void make_closer(void)
{
    CHECK_PT(pthread_key_create(&closer, close_at_thread_exit));
}

int manager_connect_raw(const struct manager *manager)
{
    int fd = CHECK(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    memcpy(address.sun_path, manager->address, sizeof address.sun_path);
    while (connect(fd, (struct sockaddr *)&address, sizeof address) == -1) {
        if (errno == EINTR)
            continue;
        close(fd);
        if (errno == ENOENT || errno == ECONNREFUSED || errno == EAGAIN)
            return -1;
        die_at(__FILE__, __LINE__, "connect", errno);
    }
    return fd;
}

/* A TCP connection to a remote manager, the key proven both ways.
 * Returns the descriptor, or -1 with *status GONE (no one listens) or
 * AUTH_ERROR (the key check failed; error_text says which side refused). */
static int connect_tcp(const struct manager *manager,
                       enum manager_status *status)
{
    struct sockaddr_in where;
    *status = MANAGER_GONE;
    if (!parse_tcp(manager->tcp, &where))
        return -1;
    int fd = CHECK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    while (connect(fd, (struct sockaddr *)&where, sizeof where) == -1) {
        if (errno == EINTR)
            continue;
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct link link;
    link_open(&link, fd);
    const char *why = NULL;
    bool proven = answer_challenge(&link, manager->key, manager->key_size,
                                   &why) &&
                  deliver_challenge(&link, manager->key, manager->key_size,
                                    &why, NULL);
    link.fd = link.read_fd = link.write_fd = -1; /* stays open for the caller */
    link_close(&link);
    if (proven)
        return fd;
    close(fd);
    *status = MANAGER_AUTH_ERROR;
    snprintf(error_text, sizeof error_text,
             "the key check with the manager at %s failed: %s", manager->tcp,
             why);
    return -1;
}

static enum manager_status gone(const char *why)
{
    snprintf(error_text, sizeof error_text, "the manager is gone: %s", why);
    forget_connection();
    return MANAGER_GONE;
}

/* Send [id, method, args] and wait for the reply.  Takes ownership of
 * `args`.  On MANAGER_OK, *result (if not NULL) is the returned value. */
static enum manager_status call(struct manager *manager, int64_t id,
                                const char *method, struct value args,
                                struct value *result)
{
    if (result != NULL)
        *result = value_none();
    struct value request =
        value_list(3, value_int(id), value_string(method), args);
    pid_t me = current_pid();
    if (cached.open && (cached.serial != manager->serial || cached.pid != me))
        forget_connection();
    if (!cached.open) {
        enum manager_status refused = MANAGER_GONE;
        int fd = manager->remote ? connect_tcp(manager, &refused)
                                 : manager_connect_raw(manager);
        if (fd == -1) {
            value_free(&request);
            if (refused == MANAGER_AUTH_ERROR)
                return refused;
            return gone("no server listens at its address");
        }
        link_open(&cached.link, fd);
        /* A page can only go over a Unix socket, and pays only on a kept
         * connection (a connection per call would make one per call). */
        if (!manager->remote && !manager->connect_per_call) {
            int page = peerwait_page(), requests[2], replies[2];
            peerwait_open(&cached.link.wait, page, 0);
            output_ignore_sigpipe(); /* a dead server is EPIPE: "the manager is gone" */
            CHECK(pipe2(requests, O_CLOEXEC));
            CHECK(pipe2(replies, O_CLOEXEC));
            /* Sent with the first request, then closed here: */
            cached.link.attach[0] = page;
            cached.link.attach[1] = requests[0];
            cached.link.attach[2] = replies[1];
            cached.link.attached = 3;
            cached.link.write_fd = requests[1]; /* after the first frame */
            cached.link.read_fd = replies[0];
        }
        cached.serial = manager->serial;
        cached.pid = me;
        cached.open = true;
        pthread_once(&closer_once, make_closer);
        CHECK_PT(pthread_setspecific(closer, &cached));
    }
    enum link_status sent = link_send(&cached.link, &request);
    value_free(&request);
    if (sent == LINK_TOO_LARGE) {
        snprintf(error_text, sizeof error_text,
                 "the request is over MANAGER_FRAME_MAX (%zu bytes)",
                 (size_t)MANAGER_FRAME_MAX);
        return MANAGER_TOO_LARGE;
    }
    if (sent == LINK_CLOSED)
        return gone("connection closed");
    struct value reply;
    enum link_status got = link_recv(&cached.link, &reply);
    if (manager->connect_per_call)
        forget_connection();
    if (got == LINK_CLOSED)
        return gone("connection closed");
    bool returned = got == LINK_OK && reply.kind == VALUE_LIST &&
                    reply.list.count == 2 &&
                    reply.list.items[0].kind == VALUE_STRING &&
                    strcmp(reply.list.items[0].string.bytes, "return") == 0;
    bool failed = got == LINK_OK && reply.kind == VALUE_LIST &&
                  reply.list.count == 3 &&
                  reply.list.items[0].kind == VALUE_STRING &&
                  strcmp(reply.list.items[0].string.bytes, "error") == 0 &&
                  reply.list.items[1].kind == VALUE_STRING &&
                  reply.list.items[2].kind == VALUE_STRING;
    enum manager_status status = MANAGER_OK;
    if (returned) {
        if (result != NULL) {
            *result = reply.list.items[1];
            reply.list.items[1] = value_none();
        }
    } else if (failed) {
        const char *kind = reply.list.items[1].string.bytes;
        status = strcmp(kind, "KeyError") == 0     ? MANAGER_KEY_ERROR
                 : strcmp(kind, "IndexError") == 0 ? MANAGER_INDEX_ERROR
                                                   : MANAGER_TYPE_ERROR;
        snprintf(error_text, sizeof error_text, "%s",
                 reply.list.items[2].string.bytes);
    } else {
        snprintf(error_text, sizeof error_text,
                 "the manager's reply was not a valid frame");
        forget_connection();
        status = MANAGER_BAD_REPLY;
    }
    value_free(&reply);
    return status;
}

static struct value copy_of(const struct value *value)
{
    return value_copy(value);
}

static enum manager_status expect_kind(const struct manager_proxy *proxy,
                                       enum manager_kind kind)
{
    if (proxy->kind == kind)
        return MANAGER_OK;
    snprintf(error_text, sizeof error_text,
             "TypeError: a %s proxy used as a %s",
             proxy->kind == MANAGER_DICT ? "dict" : "list",
             kind == MANAGER_DICT ? "dict" : "list");
    return MANAGER_TYPE_ERROR;
}

static enum manager_status new_proxy(struct manager *manager,
                                     enum manager_kind kind,
                                     struct value args,
                                     struct manager_proxy *out)
{
    struct value id;
    enum manager_status status =
        call(manager, 0, kind == MANAGER_DICT ? "dict" : "list", args, &id);
    *out = (struct manager_proxy){.manager = manager, .kind = kind};
    if (status == MANAGER_OK)
        out->id = id.integer;
    value_free(&id);
    return status;
}

enum manager_status manager_dict(struct manager *manager,
                                 struct manager_proxy *out)
{
    return new_proxy(manager, MANAGER_DICT, value_list(0), out);
}

enum manager_status manager_list(struct manager *manager,
                                 const struct value *initial,
                                 struct manager_proxy *out)
{
    struct value items = initial != NULL && initial->kind == VALUE_LIST
                             ? copy_of(initial)
                             : value_list(0);
    return new_proxy(manager, MANAGER_LIST, value_list(1, items), out);
}

enum manager_status manager_dict_get(const struct manager_proxy *dict,
                                     const struct value *key, struct value *out)
{
    *out = value_none();
    enum manager_status status = expect_kind(dict, MANAGER_DICT);
    return status != MANAGER_OK ? status
                                : call(dict->manager, dict->id, "get",
                                       value_list(1, copy_of(key)), out);
}

enum manager_status manager_dict_set(const struct manager_proxy *dict,
                                     const struct value *key,
                                     const struct value *value)
{
    enum manager_status status = expect_kind(dict, MANAGER_DICT);
    return status != MANAGER_OK
               ? status
               : call(dict->manager, dict->id, "set",
                      value_list(2, copy_of(key), copy_of(value)), NULL);
}

enum manager_status manager_dict_delete(const struct manager_proxy *dict,
                                        const struct value *key)
{
    enum manager_status status = expect_kind(dict, MANAGER_DICT);
    return status != MANAGER_OK ? status
                                : call(dict->manager, dict->id, "delete",
                                       value_list(1, copy_of(key)), NULL);
}

enum manager_status manager_dict_keys(const struct manager_proxy *dict,
                                      struct value *out)
{
    *out = value_none();
    enum manager_status status = expect_kind(dict, MANAGER_DICT);
    return status != MANAGER_OK
               ? status
               : call(dict->manager, dict->id, "keys", value_list(0), out);
}

static enum manager_status length_of(const struct manager_proxy *proxy,
                                     enum manager_kind kind, size_t *out)
{
    *out = 0;
    enum manager_status status = expect_kind(proxy, kind);
    if (status != MANAGER_OK)
        return status;
    struct value length;
    status = call(proxy->manager, proxy->id, "len", value_list(0), &length);
    if (status == MANAGER_OK && length.kind == VALUE_INT)
        *out = (size_t)length.integer;
    return status;
}

enum manager_status manager_dict_len(const struct manager_proxy *dict,
                                     size_t *out)
{
    return length_of(dict, MANAGER_DICT, out);
}

enum manager_status manager_list_append(const struct manager_proxy *list,
                                        const struct value *value)
{
    enum manager_status status = expect_kind(list, MANAGER_LIST);
    return status != MANAGER_OK ? status
                                : call(list->manager, list->id, "append",
                                       value_list(1, copy_of(value)), NULL);
}

enum manager_status manager_list_get(const struct manager_proxy *list,
                                     int64_t index, struct value *out)
{
    *out = value_none();
    enum manager_status status = expect_kind(list, MANAGER_LIST);
    return status != MANAGER_OK ? status
                                : call(list->manager, list->id, "get",
                                       value_list(1, value_int(index)), out);
}

enum manager_status manager_list_set(const struct manager_proxy *list,
                                     int64_t index, const struct value *value)
{
    enum manager_status status = expect_kind(list, MANAGER_LIST);
    return status != MANAGER_OK
               ? status
               : call(list->manager, list->id, "set",
                      value_list(2, value_int(index), copy_of(value)), NULL);
}

enum manager_status manager_list_reverse(const struct manager_proxy *list)
{
    enum manager_status status = expect_kind(list, MANAGER_LIST);
    return status != MANAGER_OK ? status
                                : call(list->manager, list->id, "reverse",
                                       value_list(0), NULL);
}

enum manager_status manager_list_len(const struct manager_proxy *list,
                                     size_t *out)
{
    return length_of(list, MANAGER_LIST, out);
}

enum manager_status manager_copy(const struct manager_proxy *object,
                                 struct value *out)
{
    return call(object->manager, object->id, "items", value_list(0), out);
}

enum manager_status manager_format(const struct manager_proxy *object,
                                   char *buffer, size_t size)
{
    if (size > 0)
        buffer[0] = '\0';
    struct value items;
    enum manager_status status = manager_copy(object, &items);
    if (status != MANAGER_OK || size == 0)
        return status;
    if (object->kind == MANAGER_LIST) {
        value_format(&items, buffer, size);
    } else {
        /* {k: v, ...}: each key and value as value_format writes it. */
        size_t used = 0;
        char key[512], value[512];
        used += (size_t)snprintf(buffer, size, "{");
        for (size_t i = 0; i < items.list.count && used < size; i++) {
            const struct value *pair = items.list.items[i].list.items;
            used += (size_t)snprintf(
                buffer + used, size - used, "%s%s: %s", i > 0 ? ", " : "",
                value_format(&pair[0], key, sizeof key),
                value_format(&pair[1], value, sizeof value));
        }
        if (used < size)
            used += (size_t)snprintf(buffer + used, size - used, "}");
        if (used >= size && size >= 4)
            memcpy(buffer + size - 4, "...", 4);
    }
    value_free(&items);
    return MANAGER_OK;
}

void manager_disconnect(struct manager *manager)
{
    if (cached.open && cached.serial == manager->serial)
        forget_connection();
    explicit_bzero(manager->key, sizeof manager->key);
    free(manager);
}

bool manager_shutdown(struct manager *manager)
{
    /* Our own connection goes first: the server's thread for it ends. */
    if (cached.open && cached.serial == manager->serial)
        forget_connection();
    bool asked = false;
    int fd = manager_connect_raw(manager);
    if (fd != -1) {
        struct link link;
        link_open(&link, fd);
        struct value request = value_list(3, value_int(0),
                                          value_string("shutdown"),
                                          value_list(0));
        struct value reply;
        asked = link_send(&link, &request) == LINK_OK &&
                link_recv(&link, &reply) == LINK_OK;
        if (asked)
            value_free(&reply);
        value_free(&request);
        link_close(&link);
    }
    bool stopped = asked && proc_join(&manager->server, 10.0);
    if (!manager->server.joined) {
        proc_signal(&manager->server, SIGKILL);
        proc_join(&manager->server, -1);
    }
    stopped = stopped && manager->server.exitcode == 0;
    unlink(manager->address); /* a killed server could not */
    cleanup_tempdir_remove(manager->directory);
    free(manager);
    return stopped;
}

const char *manager_error_text(void)
{
    return error_text;
}

const char *manager_status_name(enum manager_status status)
{
    switch (status) {
    case MANAGER_OK: return "ok";
    case MANAGER_GONE: return "gone";
    case MANAGER_KEY_ERROR: return "KeyError";
    case MANAGER_INDEX_ERROR: return "IndexError";
    case MANAGER_TYPE_ERROR: return "TypeError";
    case MANAGER_TOO_LARGE: return "too large";
    case MANAGER_BAD_REPLY: return "bad reply";
    case MANAGER_AUTH_ERROR: return "AuthenticationError";
    }
    return "unknown";
}
