#include "log_events.h"

#include <stddef.h>
#include <string.h>

#define EVENT_NAME(name, when) #name,
#define EVENT_WHEN(name, when) when,

const char *const zlog_event_names[] = {ZLOG_EVENTS(EVENT_NAME) NULL};
static const int event_when[] = {ZLOG_EVENTS(EVENT_WHEN)};

/* The table index of name, or -1. */
static int event_index(const char *name)
{
    for (int i = 0; name && zlog_event_names[i]; i++)
        if (strcmp(zlog_event_names[i], name) == 0)
            return i;
    return -1;
}

int zlog_event_known(const char *name) { return event_index(name) >= 0; }

int zlog_event_once(const char *name)
{
    int i = event_index(name);
    return i >= 0 && event_when[i] == ZLOG_EV_ONCE;
}
