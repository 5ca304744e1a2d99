/* object.c: a Python-style Process object -- a run operation you may replace.
 *
 * Python's Process.start() forks, and the child calls self.run(), whose
 * default calls self._target(*self._args).  "Subclassing" (class
 * ClockProcess(Process): def run(self): ...) replaces run.  C has no
 * classes, but an object holding a function pointer is the same idea: the
 * default run calls the target; a "subclass" embeds the object first in
 * its own struct and points run at its own function (api.c: clock).
 */
#define _GNU_SOURCE
#include "process.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Runs in the child, on the child's copy of the object. */
static int object_main(void *arg)
{
    struct process_object *self = arg;
    return self->run(self);
}

/* Python's Process.run(): `if self._target: self._target(*self._args)`. */
static int default_run(struct process_object *self)
{
    /* EXERCISE 1: call the target with its args, and return what it
     * returns (0 when there is no target)
     * instead: (void)self; return 0; */
    return self->target != NULL ? self->target(self->args) : 0;
}

/* Python names unnamed processes Process-1, Process-2, ... (a subclass:
 * ClockProcess-3) in the order they are created, per parent process. */
static int created;

void process_object_init(struct process_object *self, int (*target)(void *),
                         void *args, const char *name)
{
    process_object_init_as(self, "Process", target, args, name);
}

void process_object_init_as(struct process_object *self,
                            const char *type_name, int (*target)(void *),
                            void *args, const char *name)
{
    memset(self, 0, sizeof *self);
    self->run = default_run;
    self->target = target;
    self->args = args;
    self->type_name = type_name;
    self->parent = getpid();
    created++;
    if (name != NULL)
        snprintf(self->name, sizeof self->name, "%s", name);
    else { /* Python: type(self).__name__ + '-' + the creation count */
        char full[64];
        snprintf(full, sizeof full, "%s-%d", type_name, created);
        snprintf(self->name, sizeof self->name, "%.15s", full);
    }
}

void process_object_start(struct process_object *self)
{
    if (self->daemon)
        proc_start_daemon_keeping(&self->proc, self->name, object_main, self,
                                  self->keep, self->keep_count);
    else
        proc_start_keeping(&self->proc, self->name, object_main, self,
                           self->keep, self->keep_count);
}

/* Like Python's exitcode property, which polls: a child that has ended is
 * reaped here, and its code shown; one still running shows None. */
const char *process_object_exitcode(struct process_object *self, char *text,
                                    int size)
{
    struct proc *child = &self->proc;
    if (child->pid != 0 && !child->joined && !proc_is_alive(child))
        proc_join(child, 0);
    if (!child->joined)
        snprintf(text, (size_t)size, "None");
    else
        snprintf(text, (size_t)size, "%d", child->exitcode);
    return text;
}

/* multiprocessing/process.py, BaseProcess.__repr__, in C. */
const char *process_object_repr(struct process_object *self, char *text,
                                int size)
{
    char code[16];
    process_object_exitcode(self, code, sizeof code); /* polls, as Python */
    int used = snprintf(text, (size_t)size, "<%s name='%s'", self->type_name,
                        self->name);
    if (self->proc.pid != 0)
        used += snprintf(text + used, (size_t)(size - used), " pid=%d",
                         (int)self->proc.pid);
    used += snprintf(text + used, (size_t)(size - used), " parent=%d %s",
                     (int)self->parent,
                     self->proc.pid == 0 ? "initial"
                     : self->proc.joined ? "stopped"
                                         : "started");
    if (self->proc.joined) {
        int exitcode = self->proc.exitcode;
        const char *name = exitcode < 0 ? sigabbrev_np(-exitcode) : NULL;
        if (name != NULL)
            used += snprintf(text + used, (size_t)(size - used),
                             " exitcode=-SIG%s", name);
        else
            used += snprintf(text + used, (size_t)(size - used),
                             " exitcode=%d", exitcode);
    }
    snprintf(text + used, (size_t)(size - used), "%s>",
             self->daemon ? " daemon" : "");
    return text;
}
