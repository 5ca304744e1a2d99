/* manager.h: a server process that owns dicts and lists, and proxies that
 * let any process change them: Python's multiprocessing.Manager() in C.
 *
 *     Python                              C
 *     manager = Manager()                 struct manager *m = manager_start();
 *     d = manager.dict()                  struct manager_proxy d;
 *                                         manager_dict(m, &d);
 *     l = manager.list(range(10))         manager_list(m, &initial, &l);
 *     d[1] = '1'      (in a child)        manager_dict_set(&d, &key, &value);
 *     l.reverse()     (in a child)        manager_list_reverse(&l);
 *     print(d)                            manager_format(&d, text, size);
 *     manager.shutdown()                  manager_shutdown(m);
 *
 * How it works.  manager_start() forks the server process.  It listens on
 * a Unix stream socket in a private directory (mode 0700, from
 * cleanup_tempdir(), so only this user can connect, and nothing is left
 * behind on any exit path), and runs one thread per client connection.
 * Every proxy method is one request and one reply, framed and encoded as
 * the channel's values (channel.h):
 *     request  [object id, method name, [arguments...]]
 *     reply    ['return', value]  or  ['error', 'KeyError', "text"]
 * The server applies each request under one lock, so every method is
 * atomic, as each method of a CPython proxy is.  Nothing is shared but
 * bytes on a socket: a value read through a proxy is a copy (the "copy"
 * gotcha: change a list you got from a dict, and the manager's list stays
 * as it was until you set it back).
 *
 * A call's reply is awaited as the channel awaits a message: spinning
 * first, while the server thread works (common/peerwait.h; the client
 * passes the shared page with its first request), then asleep.
 *
 * A connection starts on the Unix socket; the client's first request
 * carries (SCM_RIGHTS) the read end of a request pipe and the write end of
 * a reply pipe, and every later frame goes through those: a pipe's write
 * and read are cheaper than a socket's.  (TCP connections and raw ones
 * stay on their socket.)  Children started with proc_start() hold none of
 * a parent's connection descriptors; a child of a plain fork() holds
 * copies, and while it lives the server does not see the parent's
 * connection close.
 *
 * Connections, as CPython keeps them: one per (process, thread), opened by
 * its first call and kept for the next ones.  A proxy is a plain struct
 * (manager, object id): copy it, or fork after making it, and the child
 * opens its own connection on its first call (a connection inherited
 * through fork is never used: two processes would read each other's
 * replies).  manager_set_connect_per_call() opens a fresh connection for
 * every call instead, to show what keeping it saves.
 *
 * What can go wrong is a return value (enum manager_status), never a
 * crash and never a hang:
 *   - the manager killed (or shut down): every call returns MANAGER_GONE
 *     at once -- a call waiting for its reply sees the socket close, a new
 *     call finds no one listening;
 *   - a client killed in the middle of a call: its connection closes, its
 *     server thread ends, the server and every other client go on;
 *   - a malformed or oversized frame (over MANAGER_FRAME_MAX): the server
 *     logs one line on stderr naming the peer's pid, closes that
 *     connection, and goes on;
 *   - a Python error (a missing key, an index out of range, a list as a
 *     key): the call returns MANAGER_KEY_ERROR, MANAGER_INDEX_ERROR or
 *     MANAGER_TYPE_ERROR, the connection stays usable, and
 *     manager_error_text() says what Python would say ("KeyError: 3").
 * Unexpected system-call failures stop the program (checked.h).
 *
 * Values: None, integers, floats, strings and lists (channel.h).  Dict
 * keys are compared as Python compares them: 1 and 1.0 are the same key;
 * a list cannot be a key (unhashable).  The server keeps a dict in
 * insertion order, as Python does, and finds a key by looking at each in
 * turn: plenty for the dozens of keys of a lab, where CPython hashes.
 */
#ifndef COMMON_MANAGER_H
#define COMMON_MANAGER_H

#include "channel.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum manager_status {
    MANAGER_OK,
    MANAGER_GONE,        /* the server is not there (killed, shut down) */
    MANAGER_KEY_ERROR,   /* dict get/delete: no such key */
    MANAGER_INDEX_ERROR, /* list get/set: index out of range */
    MANAGER_TYPE_ERROR,  /* a list as a dict key; a method of the wrong kind */
    MANAGER_TOO_LARGE,   /* the request would be over MANAGER_FRAME_MAX */
    MANAGER_BAD_REPLY,   /* the reply was not a valid frame (connection dropped) */
    MANAGER_AUTH_ERROR,  /* TCP: the key check failed, on either side */
};

/* The longest shared key for TCP (CPython's authkey: 32 random bytes). */
enum { MANAGER_KEY_MAX = 64 };

/* The largest frame payload the server or a client accepts.  Every length
 * read from a socket is checked against it before anything is allocated. */
#define MANAGER_FRAME_MAX ((size_t)1 << 20)

struct manager;

/* A handle on one object in the server.  Plain data: copy it freely,
 * pass it to children through fork. */
enum manager_kind { MANAGER_DICT = 1, MANAGER_LIST = 2 };
struct manager_proxy {
    struct manager *manager;
    int64_t id;
    enum manager_kind kind;
};

/* Start the server process (named "manager": ps shows it) and wait until
 * it listens.  The caller's process owns it: call manager_shutdown() once
 * every client is done.  If the caller exits another way (the watchdog,
 * Ctrl+C, die_at), the server is a registered child (proc.h), killed and
 * reaped, and its directory removed (cleanup.h).  Call it from the
 * thread that will outlive the server (proc.h's PR_SET_PDEATHSIG caveat)
 * and before any client process is forked.  Never fails: a system failure
 * stops the program. */
struct manager *manager_start(void);

/* manager_start(), serving over TCP as well, on `tcp` ("127.0.0.1:PORT";
 * PORT 0: any free port, see manager_tcp_address) -- CPython's
 * BaseManager(address=(host, port), authkey=key), the documents' processes
 * "spread across machines".  Every TCP connection must prove the key
 * (1 to MANAGER_KEY_MAX bytes), and the server must prove it back: an
 * HMAC-SHA256 challenge each way (OpenSSL's libcrypto), so the key never
 * crosses the wire.  A client with a wrong key is refused, and the server
 * logs one line and goes on; the client's call returns MANAGER_AUTH_ERROR.
 * The Unix socket stays as it is: its 0700 directory already keeps other
 * users out.  A bad address or key size stops the program (EINVAL). */
struct manager *manager_start_tcp(const char *tcp, const void *key,
                                  size_t key_size);

/* The TCP address the manager serves on, "127.0.0.1:41234", or NULL. */
const char *manager_tcp_address(const struct manager *manager);

/* A handle on a manager served over TCP, by this program or another: its
 * calls go over TCP, each connection proving the key both ways.  Nothing
 * is checked now: an unreachable manager shows at the first call as
 * MANAGER_GONE, a wrong key as MANAGER_AUTH_ERROR (manager_error_text()
 * says which side refused).  Free it with manager_disconnect(). */
struct manager *manager_connect(const char *tcp, const void *key,
                                size_t key_size);
void manager_disconnect(struct manager *manager);

/* A proxy for an object known by its id: a manager numbers its objects
 * 1, 2, ... in the order they were made. */
struct manager_proxy manager_proxy_at(struct manager *manager, int64_t id,
                                      enum manager_kind kind);

/* Stop the server, reap it, remove its socket and directory, free the
 * handle.  A server that does not stop within 10 s is killed.  Returns
 * true if it stopped when asked (false: it had to be killed, or it was
 * already dead).  Only the process that started it calls this. */
bool manager_shutdown(struct manager *manager);

/* The server's pid (to kill it in a test or a demonstration) and the path
 * of its socket. */
pid_t manager_pid(const struct manager *manager);
const char *manager_address(const struct manager *manager);

/* From now on, in this process and in children forked after, every call
 * opens a new connection and closes it after the reply. */
void manager_set_connect_per_call(struct manager *manager, bool on);

/* New objects in the server: an empty dict, a list holding a copy of
 * `initial`'s items (a VALUE_LIST; NULL for an empty list). */
enum manager_status manager_dict(struct manager *manager,
                                 struct manager_proxy *out);
enum manager_status manager_list(struct manager *manager,
                                 const struct value *initial,
                                 struct manager_proxy *out);

/* dict: d[key] (a copy, into *out, which the caller frees), d[key] = value,
 * del d[key], list(d.keys()), len(d). */
enum manager_status manager_dict_get(const struct manager_proxy *dict,
                                     const struct value *key,
                                     struct value *out);
enum manager_status manager_dict_set(const struct manager_proxy *dict,
                                     const struct value *key,
                                     const struct value *value);
enum manager_status manager_dict_delete(const struct manager_proxy *dict,
                                        const struct value *key);
enum manager_status manager_dict_keys(const struct manager_proxy *dict,
                                      struct value *out);
enum manager_status manager_dict_len(const struct manager_proxy *dict,
                                     size_t *out);

/* list: l.append(value), l[index] (negative counts from the end, as in
 * Python), l[index] = value, l.reverse(), len(l). */
enum manager_status manager_list_append(const struct manager_proxy *list,
                                        const struct value *value);
enum manager_status manager_list_get(const struct manager_proxy *list,
                                     int64_t index, struct value *out);
enum manager_status manager_list_set(const struct manager_proxy *list,
                                     int64_t index, const struct value *value);
enum manager_status manager_list_reverse(const struct manager_proxy *list);
enum manager_status manager_list_len(const struct manager_proxy *list,
                                     size_t *out);

/* The whole object as one value, a copy: a list's items, or a dict's
 * [key, value] pairs in insertion order. */
enum manager_status manager_copy(const struct manager_proxy *object,
                                 struct value *out);

/* print(d) / print(l): the object as Python prints it,
 * {1: '1', '2': 2, 0.25: None} or [9, 8, 7].  Cut to `size` as
 * value_format() cuts.  On an error, the text is empty. */
enum manager_status manager_format(const struct manager_proxy *object,
                                   char *buffer, size_t size);

/* What the last failed call of this thread was, in Python's words
 * ("KeyError: 3", "the manager is gone: connection closed",
 * "the key check with the manager at 127.0.0.1:5000 failed: it refused
 * our answer to its challenge: a different key"). */
const char *manager_error_text(void);

/* "ok", "gone", "KeyError", "IndexError", "TypeError", "too large",
 * "bad reply". */
const char *manager_status_name(enum manager_status status);

/* For tests and the lab's bad-frame demonstration: open a raw connection
 * to the server (a connected socket descriptor, close-on-exec), or -1 if
 * no one listens. */
int manager_connect_raw(const struct manager *manager);

#endif
