/* screen.h -- a full-screen terminal view that always gives the terminal back.
 *
 * screen_enter switches to the alternate screen (so the shell's scrollback
 * reappears untouched afterwards), hides the cursor, turns off line wrap
 * (long lines are cut, never wrapped into the next row) and puts the input
 * in raw mode so a single `q` arrives without Enter. ISIG stays on: Ctrl-C
 * and Ctrl-Z still raise signals, which the caller handles. screen_leave
 * undoes all of it and is safe to call twice; it is also registered with
 * atexit so an early exit cannot leave a raw, cursorless terminal. */
#ifndef ZENCTL_SCREEN_H
#define ZENCTL_SCREEN_H

/* Enters full-screen mode on stdout, reading keys from stdin when it is a
 * terminal. Returns ZEN_OK, or ZEN_ERR when stdout is not a terminal. */
int screen_enter(void);
void screen_leave(void);
/* Rows and columns of the terminal (24x80 when it will not say). */
void screen_size(int *rows, int *cols);
/* Starts a frame: cursor home. End it with screen_end_frame, which clears
 * whatever the previous, longer frame left below and flushes. Between the
 * two, end each line with screen_eol (clears the rest of the row). */
void screen_begin_frame(void);
void screen_eol(void);
void screen_end_frame(void);

#endif
