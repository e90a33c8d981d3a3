/* watch.h -- `zenctl metrics --watch`: zend pushes, zenctl renders.
 *
 * It subscribes once (metrics.subscribe) and renders every pushed tick; it
 * never polls. Three renderers, picked by where the output goes:
 *   -o json             one compact JSON object per tick and line;
 *   stdout not a tty    one compact line per tick, the header repeated every
 *                       WATCH_HEADER_EVERY lines (vmstat, redis-cli --stat);
 *   stdout a tty        a full-screen view redrawn in place, with rates and
 *                       deltas since the last tick; q or Ctrl-C quits.
 * Exit 0 when the user quits or the reader of a pipe goes away, 3 when zend
 * does (or stops sending ticks). */
#ifndef ZENCTL_WATCH_H
#define ZENCTL_WATCH_H

#include "commands.h"

/* zend refuses intervals under 100 ms (proto/PROTOCOL.md, `metrics.subscribe`). */
#define WATCH_MIN_INTERVAL_S 0.1
#define WATCH_HEADER_EVERY 20

int zc_watch_metrics(struct zc_ctx *ctx, double interval_s);

#endif
