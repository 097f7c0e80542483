#include "LineEditing.h"

#include <histedit.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct le_editor {
    EditLine *el;
    History *history;
    HistEvent event;
    char *prompt;
    /// Set by the Ctrl-C key: 1 on an empty line, 2 on a line with text.
    int interrupted;
};

static struct le_editor *editor_of(EditLine *el) {
    struct le_editor *editor = NULL;
    el_get(el, EL_CLIENTDATA, &editor);
    return editor;
}

static char *prompt_of(EditLine *el) { return editor_of(el)->prompt; }

/// Ctrl-C while a line is edited: ends `el_gets` (as at the end of input) and says
/// whether the line had text.
static unsigned char on_interrupt(EditLine *el, int key) {
    (void)key;
    struct le_editor *editor = editor_of(el);
    const LineInfo *line = el_line(el);
    editor->interrupted = line->lastchar > line->buffer ? 2 : 1;
    return CC_EOF;
}

le_editor *le_open(const char *program) {
    // Multibyte (UTF-8) input needs a UTF-8 character type; a bare C locale has none.
    setlocale(LC_CTYPE, "");
    if (strcmp(nl_langinfo(CODESET), "UTF-8") != 0) setlocale(LC_CTYPE, "C.UTF-8");
    struct le_editor *editor = calloc(1, sizeof *editor);
    if (!editor) return NULL;
    editor->prompt = strdup("");
    editor->el = el_init(program, stdin, stdout, stderr);
    editor->history = history_init();
    if (!editor->el || !editor->history || !editor->prompt) {
        le_close(editor);
        return NULL;
    }
    history(editor->history, &editor->event, H_SETSIZE, 1000);
    history(editor->history, &editor->event, H_SETUNIQUE, 1);
    el_set(editor->el, EL_CLIENTDATA, editor);
    el_set(editor->el, EL_EDITOR, "emacs");
    el_set(editor->el, EL_SIGNAL, 1);
    el_set(editor->el, EL_PROMPT, prompt_of);
    el_set(editor->el, EL_HIST, history, editor->history);
    el_set(editor->el, EL_ADDFN, "llama-interrupt", "Clear the line, or end the chat on an empty one", on_interrupt);
    el_set(editor->el, EL_BIND, "^C", "llama-interrupt", NULL);
    // While a line is edited, Ctrl-C reaches the editor as a key instead of as SIGINT.
    el_set(editor->el, EL_SETTY, "-d", "-isig", NULL);
    el_source(editor->el, NULL);
    return editor;
}

le_status le_read(le_editor *editor, const char *prompt, char **line) {
    *line = NULL;
    char *copy = strdup(prompt);
    if (copy) {
        free(editor->prompt);
        editor->prompt = copy;
    }
    editor->interrupted = 0;
    int count = 0;
    const char *text = el_gets(editor->el, &count);
    if (editor->interrupted) return editor->interrupted == 1 ? LE_INTERRUPTED_EMPTY : LE_INTERRUPTED;
    if (!text || count <= 0) return LE_END;
    size_t length = strlen(text);
    while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == '\r')) length--;
    *line = strndup(text, length);
    return *line ? LE_LINE : LE_END;
}

void le_remember(le_editor *editor, const char *line) {
    if (line[0] != '\0') history(editor->history, &editor->event, H_ENTER, line);
}

void le_close(le_editor *editor) {
    if (!editor) return;
    if (editor->el) el_end(editor->el);
    if (editor->history) history_end(editor->history);
    free(editor->prompt);
    free(editor);
}

static volatile sig_atomic_t interrupt_flag = 0;

static void on_sigint(int signal_number) {
    (void)signal_number;
    interrupt_flag = 1;
}

void le_catch_interrupts(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_sigint;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, NULL);
}

int le_take_interrupt(void) {
    int was = interrupt_flag;
    interrupt_flag = 0;
    return was;
}
