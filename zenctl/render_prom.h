/* render_prom.h -- zend's metrics map as Prometheus text exposition.
 *
 * Format 0.0.4 (what node_exporter's textfile collector reads): every
 * family has # HELP and # TYPE before its samples, label values are
 * escaped, histogram buckets are cumulative and end with le="+Inf", and no
 * sample carries a timestamp (the textfile collector refuses them). Names
 * use base units (seconds, bytes) and counters end in _total, so
 * `promtool check metrics` has nothing to say. */
#ifndef ZENCTL_RENDER_PROM_H
#define ZENCTL_RENDER_PROM_H

#include <jansson.h>
#include <stdio.h>

/* Writes every family derived from a `metrics` result, zend_up 1 first. */
void zprom_write_metrics(FILE *out, const json_t *metrics);
/* Writes only zend_up 0: what a scrape says when zend cannot be reached,
 * so an alert can fire on it instead of on a file gone stale. */
void zprom_write_down(FILE *out);

#endif
