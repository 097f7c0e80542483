#define _GNU_SOURCE
#include "TemporaryFiles.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

enum { SLOT_COUNT = 64 };

/// A slot is FREE, FILLING (a thread is copying a path in), LIVE (the path is a file
/// to delete), or CLAIMED (a signal handler or the exit hook is deleting it; the slot
/// is never reused after that, so its path cannot change under the handler).
enum { FREE = 0, FILLING = 1, LIVE = 2, CLAIMED = 3 };

static int slot_state[SLOT_COUNT];
static char slot_path[SLOT_COUNT][PATH_MAX];

static const int handled_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGXFSZ, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
enum { SIGNAL_COUNT = sizeof(handled_signals) / sizeof(handled_signals[0]) };
static struct sigaction previous_actions[SIGNAL_COUNT];

static pthread_once_t install_once = PTHREAD_ONCE_INIT;

/// Deletes every live path. Async-signal-safe: atomics and unlink(2) only.
static void unlink_all(void) {
    for (int i = 0; i < SLOT_COUNT; i++) {
        int expected = LIVE;
        if (__atomic_compare_exchange_n(&slot_state[i], &expected, CLAIMED, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            unlink(slot_path[i]);
        }
    }
}

static void handle_signal(int signal_number) {
    int saved_errno = errno;
    unlink_all();
    for (int i = 0; i < SIGNAL_COUNT; i++) {
        if (handled_signals[i] == signal_number) {
            sigaction(signal_number, &previous_actions[i], NULL);
            break;
        }
    }
    errno = saved_errno;
    // The signal is blocked while this handler runs; raised again, it is delivered
    // to the restored action as soon as the handler returns. A crash signal raised
    // by a faulting instruction also recurs when the instruction runs again.
    raise(signal_number);
}

static void exit_hook(void) { unlink_all(); }

static void install(void) {
    for (int i = 0; i < SIGNAL_COUNT; i++) {
        struct sigaction current;
        if (sigaction(handled_signals[i], NULL, &current) != 0) continue;
        // Leave alone signals the user or a parent chose to ignore (nohup).
        if (!(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_IGN) continue;
        previous_actions[i] = current;
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = handle_signal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_ONSTACK;
        sigaction(handled_signals[i], &action, NULL);
    }
    atexit(exit_hook);
}

int tf_register(const char *path) {
    size_t length = strlen(path);
    if (length >= PATH_MAX) return -1;
    pthread_once(&install_once, install);
    for (int i = 0; i < SLOT_COUNT; i++) {
        int expected = FREE;
        if (__atomic_compare_exchange_n(&slot_state[i], &expected, FILLING, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            memcpy(slot_path[i], path, length + 1);
            __atomic_store_n(&slot_state[i], LIVE, __ATOMIC_RELEASE);
            return i;
        }
    }
    return -1;
}

void tf_unregister(int slot) {
    if (slot < 0 || slot >= SLOT_COUNT) return;
    int expected = LIVE;
    // A CLAIMED slot stays claimed: the process is exiting and a handler may be reading it.
    __atomic_compare_exchange_n(&slot_state[slot], &expected, FREE, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

int tf_capacity(void) { return SLOT_COUNT; }
