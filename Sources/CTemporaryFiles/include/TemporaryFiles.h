#ifndef SWIFTLLAMA_TEMPORARY_FILES_H
#define SWIFTLLAMA_TEMPORARY_FILES_H

/// A process-wide table of temporary files to delete if the process is ended by a
/// signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGXFSZ, or a crash: SIGSEGV, SIGBUS,
/// SIGILL, SIGFPE, SIGABRT) or exits without removing them.
///
/// The signal handler is async-signal-safe: it only reads a fixed-size table of
/// preallocated paths and calls unlink(2), sigaction(2) and raise(3). After unlinking
/// it restores the action that was in place before (the default, or a handler such as
/// Swift's crash backtracer) and raises the signal again, so the process ends as it
/// would have without the table. Signals that were ignored when the handlers were
/// installed stay ignored.

/// Adds `path` to the table and installs the handlers (once per process). Returns the
/// slot to pass to `tf_unregister`, or -1 when the path is too long or the table is
/// full (the file is then not removed on a signal).
int tf_register(const char *path);

/// Removes the slot's path from the table (the file itself is left alone). Ignores -1.
void tf_unregister(int slot);

/// The number of paths the table holds at once.
int tf_capacity(void);

#endif
