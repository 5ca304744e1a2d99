/* documents.c (lab 06): the documents' Manager program, line for line, and
 * the proxy gotcha (E11).
 *
 * The documents' program:
 *
 *     def f(d, l):
 *         d[1] = '1'
 *         d['2'] = 2
 *         d[0.25] = None
 *         l.reverse()
 *
 *     with Manager() as manager:
 *         d = manager.dict()
 *         l = manager.list(range(10))
 *         p = Process(target=f, args=(d, l)); p.start(); p.join()
 *         print(d)
 *         print(l)
 *
 * prints {1: '1', '2': 2, 0.25: None} and [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]:
 * the parent sees what the child did, although the two processes share no
 * memory.  Neither holds the dict: a third process, the manager's server,
 * does, and d and l are proxies -- an address and an object id.  Each
 * line of f() is one request to the server and one reply.
 */
#define _GNU_SOURCE
#include "share.h"

#include "checked.h"
#include "manager.h"
#include "proc.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every proxy call here must succeed: anything else is reported, and the
 * lab's check fails. */
static bool ok(enum manager_status status, const char *what)
{
    if (status == MANAGER_OK)
        return true;
    fprintf(stderr, "share: %s: %s (%s)\n", what, manager_status_name(status),
            manager_error_text());
    return false;
}

struct documents_args {
    struct manager_proxy d, l;
};

/* The documents' f(d, l), in the child process. */
static int f(void *arg)
{
    struct documents_args *a = arg;
    struct value one = value_int(1), text_one = value_string("1");
    struct value text_two = value_string("2"), two = value_int(2);
    struct value quarter = value_float(0.25), none = value_none();
    bool right = ok(manager_dict_set(&a->d, &one, &text_one), "d[1] = '1'") &&
                 ok(manager_dict_set(&a->d, &text_two, &two), "d['2'] = 2") &&
                 ok(manager_dict_set(&a->d, &quarter, &none),
                    "d[0.25] = None") &&
                 ok(manager_list_reverse(&a->l), "l.reverse()");
    printf("  child  pid %d: d[1] = '1'; d['2'] = 2; d[0.25] = None; "
           "l.reverse()   (4 proxy calls)\n",
           (int)getpid());
    value_free(&text_one);
    value_free(&text_two);
    return right ? EXIT_OK : EXIT_WRONG;
}

static bool left_behind(const char *address, pid_t server)
{
    struct stat info;
    return stat(address, &info) == 0 || kill(server, 0) == 0;
}

int experiment_manager(void)
{
    printf("share: E11 -- a manager process owns a dict and a list; a child "
           "changes them through proxies\n");
    struct manager *manager = manager_start();
    pid_t server = manager_pid(manager);
    char address[128];
    snprintf(address, sizeof address, "%s", manager_address(manager));
    printf("  manager pid %d: the server, listening on %s\n", (int)server,
           address);

    struct documents_args a;
    struct value range = value_list(0);
    for (int i = 0; i < 10; i++)
        value_list_append(&range, value_int(i));
    bool right = ok(manager_dict(manager, &a.d), "manager.dict()") &&
                 ok(manager_list(manager, &range, &a.l),
                    "manager.list(range(10))");
    value_free(&range);
    printf("  parent pid %d: d = manager.dict(); l = manager.list(range(10))\n",
           (int)getpid());

    struct proc p;
    if (right) {
        proc_start(&p, "f", f, &a);
        proc_join(&p, -1);
        right = p.exitcode == 0;
    }
    char d_text[256], l_text[256];
    right = right && ok(manager_format(&a.d, d_text, sizeof d_text), "print(d)") &&
            ok(manager_format(&a.l, l_text, sizeof l_text), "print(l)");
    if (right) {
        printf("  parent: print(d); print(l)\n%s\n%s\n", d_text, l_text);
        /* What CPython prints for the same program. */
        right = strcmp(d_text, "{1: '1', '2': 2, 0.25: None}") == 0 &&
                strcmp(l_text, "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]") == 0;
        printf("  %s\n", right ? "the parent sees every change the child "
                                 "made: what CPython prints"
                               : "WRONG: not what CPython prints");
    }
    bool stopped = manager_shutdown(manager);
    if (left_behind(address, server)) {
        printf("  WRONG: the manager left its process or socket behind\n");
        return EXIT_WRONG;
    }
    printf("  manager shut down%s: no server process, no socket file left\n",
           stopped ? "" : " (it had to be killed)");
    return right && stopped ? EXIT_OK : EXIT_WRONG;
}

/* ---- The proxy gotcha ----------------------------------------------------- */

struct copy_args {
    struct manager_proxy d;
    bool right;
};

static bool shows(const struct manager_proxy *d, const char *expected,
                  const char *who)
{
    struct value key = value_string("l"), got;
    char text[64] = "";
    bool right = ok(manager_dict_get(d, &key, &got), "d['l']");
    value_format(&got, text, sizeof text);
    printf("  %s d['l'] is %s\n", who, text);
    value_free(&key);
    value_free(&got);
    return right && strcmp(text, expected) == 0;
}

static int change_a_copy(void *arg)
{
    struct copy_args *a = arg;
    struct value key = value_string("l"), x;
    if (!ok(manager_dict_get(&a->d, &key, &x), "x = d['l']")) {
        value_free(&key);
        return EXIT_WRONG;
    }
    value_list_append(&x, value_int(3)); /* BUGGY ON PURPOSE: changes only our copy */
    char text[64];
    printf("  child:  x = d['l']; x.append(3)     -> x is %s\n",
           value_format(&x, text, sizeof text));
    bool right = shows(&a->d, "[0, 1, 2]", "child:  and yet");
    printf("          (x is a copy: the append never left this process)\n");
    right = right && ok(manager_dict_set(&a->d, &key, &x), "d['l'] = x");
    printf("  child:  d['l'] = x                  (the fix: set it back)\n");
    value_free(&key);
    value_free(&x);
    return right ? EXIT_OK : EXIT_WRONG;
}

int experiment_copy(void)
{
    printf("share: the proxy gotcha -- what a proxy returns is a copy\n");
    struct manager *manager = manager_start();
    struct copy_args a;
    struct value key = value_string("l");
    struct value list = value_list(3, value_int(0), value_int(1), value_int(2));
    bool right = ok(manager_dict(manager, &a.d), "manager.dict()") &&
                 ok(manager_dict_set(&a.d, &key, &list), "d['l'] = [0, 1, 2]");
    printf("  parent: d = manager.dict(); d['l'] = [0, 1, 2]\n");
    value_free(&key);
    value_free(&list);
    if (right) {
        struct proc child;
        proc_start(&child, "child", change_a_copy, &a);
        proc_join(&child, -1);
        right = child.exitcode == 0 &&
                shows(&a.d, "[0, 1, 2, 3]", "parent: after the child,");
    }
    printf("  %s\n", right ? "the manager's list changed only when the whole "
                             "list was set back"
                           : "WRONG: not what a proxy does");
    bool stopped = manager_shutdown(manager);
    return right && stopped ? EXIT_OK : EXIT_WRONG;
}
