/* screen.c -- alternate screen, raw input, and a guaranteed way back. */
#include "screen.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "common.h"

#define ALT_SCREEN_ON "\033[?1049h"
#define ALT_SCREEN_OFF "\033[?1049l"
#define CURSOR_HIDE "\033[?25l"
#define CURSOR_SHOW "\033[?25h"
#define WRAP_OFF "\033[?7l"
#define WRAP_ON "\033[?7h"
#define CURSOR_HOME "\033[H"
#define CLEAR_TO_EOL "\033[K"
#define CLEAR_TO_END "\033[J"

#define DEFAULT_ROWS 24
#define DEFAULT_COLS 80

static struct termios saved_termios;
static int termios_saved;
static int active;

int screen_enter(void)
{
    static int atexit_registered;
    if (!isatty(STDOUT_FILENO))
        return ZEN_ERR;
    if (!atexit_registered && atexit(screen_leave) == 0)
        atexit_registered = 1;
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
        struct termios raw = saved_termios;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0)
            termios_saved = 1;
    }
    fputs(ALT_SCREEN_ON CURSOR_HIDE WRAP_OFF, stdout);
    fflush(stdout);
    active = 1;
    return ZEN_OK;
}

void screen_leave(void)
{
    if (!active)
        return;
    active = 0;
    fputs(WRAP_ON CURSOR_SHOW ALT_SCREEN_OFF, stdout);
    fflush(stdout);
    if (termios_saved) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
        termios_saved = 0;
    }
}

void screen_size(int *rows, int *cols)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
        *rows = ws.ws_row;
        *cols = ws.ws_col;
    } else {
        *rows = DEFAULT_ROWS;
        *cols = DEFAULT_COLS;
    }
}

void screen_begin_frame(void) { fputs(CURSOR_HOME, stdout); }

void screen_eol(void) { fputs(CLEAR_TO_EOL "\r\n", stdout); }

void screen_end_frame(void)
{
    fputs(CLEAR_TO_END, stdout);
    fflush(stdout);
}
