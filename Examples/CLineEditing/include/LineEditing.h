#ifndef LINE_EDITING_H
#define LINE_EDITING_H

/// Line editing and history for `llama chat`, on libedit (BSD editline): libedit's
/// configuration calls are C variadic functions, which Swift cannot call.

typedef struct le_editor le_editor;

/// What `le_read` got.
typedef enum {
    /// A line (return pressed).
    LE_LINE = 0,
    /// The end of input (Ctrl-D on an empty line).
    LE_END = 1,
    /// Ctrl-C on an empty line.
    LE_INTERRUPTED_EMPTY = 2,
    /// Ctrl-C on a line with text, which is dropped.
    LE_INTERRUPTED = 3,
} le_status;

/// An editor on the terminal of standard input and output: emacs keys, history with
/// the arrow keys, the user's ~/.editrc. Ctrl-C is a key of the editor (the terminal
/// sends no SIGINT while a line is edited). NULL if libedit cannot start.
le_editor *le_open(const char *program);

/// Reads a line after `prompt`. On LE_LINE, `*line` is the line without its newline,
/// to be released with `free`; otherwise it is NULL.
le_status le_read(le_editor *editor, const char *prompt, char **line);

/// Adds `line` to the history (the up arrow brings it back).
void le_remember(le_editor *editor, const char *line);

/// Restores the terminal and releases the editor.
void le_close(le_editor *editor);

/// Makes SIGINT set a flag instead of ending the process (while an answer is being
/// written the terminal sends it on Ctrl-C).
void le_catch_interrupts(void);

/// Whether SIGINT came since the last call; clears the flag.
int le_take_interrupt(void);

#endif
