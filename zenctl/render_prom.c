/* render_prom.c -- Prometheus text exposition of a `metrics` result.
 *
 * Families are declared in one table so every one is written the same way:
 * HELP and TYPE first, then its samples. A field zend does not send (an
 * older daemon) leaves its family without samples, which the format allows,
 * rather than inventing a zero. */
#include "render_prom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PROM_PREFIX "zend_"
#define MS_PER_S 1000.0
/* Doubles hold every integer below 2^53 exactly. */
#define EXACT_INTEGER_LIMIT 9007199254740992.0

enum prom_type { PROM_GAUGE, PROM_COUNTER, PROM_HISTOGRAM, PROM_SUMMARY };

static const char *const type_names[] = {"gauge", "counter", "histogram", "summary"};

/* The shortest decimal that reads back as the same double (Go's 'g', -1,
 * which Prometheus' own clients use), so 0.05 prints as 0.05; but at most
 * VALUE_DIGITS significant digits, so a millisecond figure turned into
 * seconds prints as 0.000463 rather than 0.00046300000000000003. */
#define VALUE_DIGITS 12

static void format_value(double v, char out[32])
{
    if (isnan(v)) {
        strcpy(out, "NaN");
        return;
    }
    if (isinf(v)) {
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < EXACT_INTEGER_LIMIT) {
        snprintf(out, 32, "%.0f", v); /* counters: 100, not 1e+02 */
        return;
    }
    for (int prec = 1; prec <= VALUE_DIGITS; prec++) {
        snprintf(out, 32, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* Label values escape backslash, double quote and newline (the format's
 * only three); everything else, UTF-8 included, goes through as is. */
static void put_label_value(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", out);
        else if (*s == '"')
            fputs("\\\"", out);
        else if (*s == '\n')
            fputs("\\n", out);
        else
            fputc(*s, out);
    }
}

/* HELP text escapes backslash and newline. */
static void put_help(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", out);
        else if (*s == '\n')
            fputs("\\n", out);
        else
            fputc(*s, out);
    }
}

static void family(FILE *out, const char *name, enum prom_type type, const char *help)
{
    fprintf(out, "# HELP " PROM_PREFIX "%s ", name);
    put_help(out, help);
    fprintf(out, "\n# TYPE " PROM_PREFIX "%s %s\n", name, type_names[type]);
}

/* One sample. labels: NULL-terminated name, value, name, value, ... */
static void sample(FILE *out, const char *name, const char *suffix, const char *const *labels,
                   double v)
{
    char num[32];
    fprintf(out, PROM_PREFIX "%s%s", name, suffix);
    if (labels && labels[0]) {
        fputc('{', out);
        for (int i = 0; labels[i]; i += 2) {
            fprintf(out, "%s%s=\"", i ? "," : "", labels[i]);
            put_label_value(out, labels[i + 1]);
            fputc('"', out);
        }
        fputc('}', out);
    }
    format_value(v, num);
    fprintf(out, " %s\n", num);
}

static double num(const json_t *obj, const char *key)
{
    return json_number_value(json_object_get(obj, key));
}

/* ---- scalar families: a value read from a path in the map ---- */

struct scalar {
    const char *name;
    enum prom_type type;
    const char *section; /* sub-map holding key, or NULL for the top level */
    const char *key;
    const char *help;
};

static const struct scalar scalars[] = {
    {"uptime_seconds", PROM_GAUGE, NULL, "uptime_s",
     "Seconds since this zend worker started."},
    {"restarts_total", PROM_COUNTER, NULL, "restarts",
     "Worker restarts by the supervisor; the other counters reset at each."},
    {"requests_succeeded_total", PROM_COUNTER, NULL, "success_count",
     "Client requests that ended with a status below 400 (streams: completed)."},
    {"requests_failed_total", PROM_COUNTER, NULL, "error_count",
     "Client requests that did not succeed."},
    {"requests_rejected_total", PROM_COUNTER, NULL, "rejected_total",
     "Client requests refused by the concurrency limiter."},
    {"attempts_total", PROM_COUNTER, NULL, "attempts_total",
     "Upstream attempts, failovers included."},
    {"failovers_total", PROM_COUNTER, NULL, "failovers_total",
     "Times a request moved on to the next provider."},
    {"routed_total", PROM_COUNTER, NULL, "routed_total",
     "Client requests given a candidate list by routing."},
    {"served_by_first_pick_total", PROM_COUNTER, NULL, "served_by_first_pick",
     "Routed requests answered by the provider the strategy put first."},
    {"log_write_failed_total", PROM_COUNTER, NULL, "log_write_failed",
     "Log records zend.log did not get (a full disk, an I/O error)."},
    {"in_flight", PROM_GAUGE, NULL, "in_flight", "Client requests being served now."},
    {"in_flight_peak", PROM_GAUGE, "resources", "in_flight_peak",
     "Most client requests served at once since the worker started."},
    {"queued", PROM_GAUGE, NULL, "queued", "Client requests waiting for a free slot."},
    {"max_concurrent", PROM_GAUGE, NULL, "max_concurrent",
     "Configured limit of concurrent client requests."},
    {"rss_bytes", PROM_GAUGE, "resources", "rss_bytes", "Resident set size of zend."},
    {"rss_peak_bytes", PROM_GAUGE, "resources", "rss_peak_bytes",
     "Largest resident set size seen."},
    {"open_fds", PROM_GAUGE, "resources", "open_fds", "Open file descriptors."},
    {"open_fds_peak", PROM_GAUGE, "resources", "open_fds_peak",
     "Most open file descriptors seen."},
    {"client_connections", PROM_GAUGE, "resources", "client_connections",
     "Open client connections to the proxy."},
    {"client_connections_peak", PROM_GAUGE, "resources", "client_connections_peak",
     "Most client connections open at once."},
};

static void write_scalar(FILE *out, const json_t *m, const struct scalar *s)
{
    const json_t *where = s->section ? json_object_get(m, s->section) : m;
    const json_t *v = json_object_get(where, s->key);
    family(out, s->name, s->type, s->help);
    if (json_is_number(v))
        sample(out, s->name, "", NULL, json_number_value(v));
}

/* ---- labelled families ---- */

/* {key: n} maps, one sample per key under label `label`. */
static void write_count_map(FILE *out, const char *name, const char *help, const char *label,
                            const json_t *map)
{
    family(out, name, PROM_COUNTER, help);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)map, key, v) {
        if (!json_is_number(v))
            continue;
        const char *labels[] = {label, key, NULL};
        sample(out, name, "", labels, json_number_value(v));
    }
}

/* Percentiles zend computes (nearest rank over its last 1000 requests or
 * attempts), as a summary: {quantile="0.99"} samples, then _sum and _count
 * over everything since the worker started. That is a Prometheus client's
 * own summary shape, whose quantiles also cover a recent window only (a
 * time window there, a count here). The source fields are milliseconds;
 * labels: the family's other labels (provider), or NULL. */
static const struct {
    const char *quantile, *suffix;
} quantiles[] = {{"0.5", "p50_ms"}, {"0.95", "p95_ms"}, {"0.99", "p99_ms"}};

static void write_summary(FILE *out, const char *name, const json_t *m, const char *prefix,
                          const char *sum_key, const char *count_key, const char *provider)
{
    /* No observation yet: NaN, as Prometheus' clients say it, not zend's 0. */
    const json_t *count = json_object_get(m, count_key);
    int empty = json_is_number(count) && json_number_value(count) == 0;
    for (size_t i = 0; i < sizeof(quantiles) / sizeof(quantiles[0]); i++) {
        char key[64];
        snprintf(key, sizeof(key), "%s%s", prefix, quantiles[i].suffix);
        const json_t *v = json_object_get(m, key);
        if (!json_is_number(v))
            continue;
        const char *with_provider[] = {"provider", provider, "quantile", quantiles[i].quantile,
                                       NULL};
        const char *plain[] = {"quantile", quantiles[i].quantile, NULL};
        sample(out, name, "", provider ? with_provider : plain,
               empty ? NAN : json_number_value(v) / MS_PER_S);
    }
    const char *labels[] = {"provider", provider, NULL};
    if (json_is_number(json_object_get(m, sum_key)))
        sample(out, name, "_sum", provider ? labels : NULL, num(m, sum_key));
    if (json_is_number(count))
        sample(out, name, "_count", provider ? labels : NULL, json_number_value(count));
}

/* Buckets are cumulative already; zend sends one more count than bounds,
 * the last being +Inf. */
static void write_histogram(FILE *out, const json_t *h)
{
    static const char *const name = "request_duration_seconds";
    family(out, name, PROM_HISTOGRAM,
           "Client request duration, first byte in to last byte out.");
    const json_t *bounds = json_object_get(h, "bounds_s");
    const json_t *counts = json_object_get(h, "counts");
    size_t nb = json_array_size(bounds);
    if (!json_is_array(counts) || json_array_size(counts) != nb + 1)
        return;
    for (size_t i = 0; i <= nb; i++) {
        char le[32];
        if (i < nb)
            format_value(json_number_value(json_array_get(bounds, i)), le);
        else
            strcpy(le, "+Inf");
        const char *labels[] = {"le", le, NULL};
        sample(out, name, "_bucket", labels, json_number_value(json_array_get(counts, i)));
    }
    sample(out, name, "_sum", NULL, num(h, "sum_s"));
    sample(out, name, "_count", NULL, num(h, "count"));
}

/* One sample per provider from a number (or true/false, as 1/0) in its
 * entry; a provider without the field has no sample. */
static void write_provider_field(FILE *out, const json_t *providers, const char *name,
                                 enum prom_type type, const char *help, const char *key)
{
    const char *pname;
    json_t *p;
    family(out, name, type, help);
    json_object_foreach((json_t *)providers, pname, p) {
        const char *labels[] = {"provider", pname, NULL};
        const json_t *v = json_object_get(p, key);
        if (json_is_number(v) || json_is_boolean(v))
            sample(out, name, "", labels, json_is_boolean(v) ? json_is_true(v) : num(p, key));
    }
}

/* Each provider's state now, from the status zend puts in its entry. The
 * circuit is a state set (one series per state, 1 for the current one), so
 * a query needs no code table: zend_provider_circuit_state{state="open"} == 1. */
static void write_provider_states(FILE *out, const json_t *providers)
{
    static const char *const circuits[] = {"closed", "open", "half_open"};
    const char *pname;
    json_t *p;
    write_provider_field(out, providers, "provider_up", PROM_GAUGE,
                         "1 when the provider can take traffic now (neither cooling down nor "
                         "disabled).", "up");
    family(out, "provider_circuit_state", PROM_GAUGE,
           "The provider's circuit breaker: 1 for its current state, 0 for the others.");
    json_object_foreach((json_t *)providers, pname, p) {
        const char *circuit = json_string_value(json_object_get(p, "circuit"));
        for (size_t i = 0; circuit && i < sizeof(circuits) / sizeof(circuits[0]); i++) {
            const char *labels[] = {"provider", pname, "state", circuits[i], NULL};
            sample(out, "provider_circuit_state", "", labels, strcmp(circuit, circuits[i]) == 0);
        }
    }
    write_provider_field(out, providers, "provider_disabled", PROM_GAUGE,
                         "1 when the provider is switched off (zenctl provider disable, "
                         "disabled_providers).", "disabled");
    write_provider_field(out, providers, "provider_cooldown_seconds", PROM_GAUGE,
                         "Seconds left until the provider's open circuit lets a probe through; "
                         "0 when none.", "cooldown_s");
}

/* Tokens and cost since the worker started, per (provider, model): the
 * `tokens` array of the map. */
static void write_usage(FILE *out, const json_t *m)
{
    static const char *const kinds[] = {"input", "output", "cache_read", "cache_write"};
    const json_t *pairs = json_object_get(m, "tokens");
    size_t i;
    json_t *p;
    family(out, "tokens_total", PROM_COUNTER,
           "Tokens the providers reported, by provider, model and kind "
           "(input is the input neither read from nor written to the cache).");
    json_array_foreach(pairs, i, p) {
        const char *provider = json_string_value(json_object_get(p, "provider"));
        const char *model = json_string_value(json_object_get(p, "model"));
        for (size_t k = 0; provider && model && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
            const char *labels[] = {"provider", provider, "model", model, "kind", kinds[k], NULL};
            if (json_is_number(json_object_get(p, kinds[k])))
                sample(out, "tokens_total", "", labels, num(p, kinds[k]));
        }
    }
    family(out, "cost_usd_total", PROM_COUNTER,
           "Cost in USD of the answers whose price is known, by provider and model.");
    json_array_foreach(pairs, i, p) {
        const char *provider = json_string_value(json_object_get(p, "provider"));
        const char *model = json_string_value(json_object_get(p, "model"));
        const char *labels[] = {"provider", provider, "model", model, NULL};
        if (provider && model && json_is_number(json_object_get(p, "cost_usd")))
            sample(out, "cost_usd_total", "", labels, num(p, "cost_usd"));
    }
    family(out, "budget_spend_usd", PROM_GAUGE,
           "Spend in USD of the current budget period (calendar, local time).");
    const char *period;
    json_object_foreach(json_object_get(m, "budget_spend_usd"), period, p) {
        const char *labels[] = {"period", period, NULL};
        if (json_is_number(p))
            sample(out, "budget_spend_usd", "", labels, json_number_value(p));
    }
}

void zprom_write_down(FILE *out)
{
    family(out, "up", PROM_GAUGE, "1 when zenctl could read zend's metrics, else 0.");
    sample(out, "up", "", NULL, 0);
}

void zprom_write_metrics(FILE *out, const json_t *m)
{
    family(out, "up", PROM_GAUGE, "1 when zenctl could read zend's metrics, else 0.");
    sample(out, "up", "", NULL, 1);
    /* The usual build_info shape: constant 1, the facts in labels. */
    const char *version = json_string_value(json_object_get(m, "version"));
    family(out, "build_info", PROM_GAUGE, "zend's version (label), always 1.");
    if (version) {
        const char *labels[] = {"version", version, NULL};
        sample(out, "build_info", "", labels, 1);
    }
    for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++)
        write_scalar(out, m, &scalars[i]);

    write_count_map(out, "requests_total", "Client requests by final HTTP status.", "code",
                    json_object_get(m, "status_codes"));
    write_histogram(out, json_object_get(m, "latency_histogram"));
    family(out, "time_to_first_byte_seconds", PROM_SUMMARY,
           "Time to the first response byte; quantiles over the last 1000 requests.");
    write_summary(out, "time_to_first_byte_seconds", m, "ttfb_", "ttfb_sum_s", "ttfb_count",
                  NULL);
    write_count_map(out, "errors_total", "Failed attempts by error type.", "type",
                    json_object_get(m, "errors_by_type"));

    /* Per provider: one family at a time, every provider inside it. */
    const json_t *providers = json_object_get(m, "providers");
    const char *pname;
    json_t *p;
    write_provider_field(out, providers, "provider_requests_total", PROM_COUNTER,
                         "Attempts sent to each provider.", "requests");
    write_provider_field(out, providers, "provider_served_total", PROM_COUNTER,
                         "Client requests each provider answered in the end.", "served");
    family(out, "provider_picked_first_total", PROM_COUNTER,
           "Routed requests whose candidate list each provider headed.");
    const json_t *first = json_object_get(m, "picked_first");
    json_object_foreach((json_t *)first, pname, p) {
        const char *labels[] = {"provider", pname, NULL};
        if (json_is_number(p))
            sample(out, "provider_picked_first_total", "", labels, json_number_value(p));
    }
    family(out, "provider_errors_total", PROM_COUNTER,
           "Failed attempts by provider and error type.");
    json_object_foreach((json_t *)providers, pname, p) {
        const char *type;
        json_t *n;
        json_object_foreach(json_object_get(p, "errors_by_type"), type, n) {
            const char *labels[] = {"provider", pname, "type", type, NULL};
            if (json_is_number(n))
                sample(out, "provider_errors_total", "", labels, json_number_value(n));
        }
    }
    family(out, "provider_latency_seconds", PROM_SUMMARY,
           "Attempt duration per provider; quantiles over its last 1000 attempts.");
    json_object_foreach((json_t *)providers, pname, p)
        write_summary(out, "provider_latency_seconds", p, "latency_", "latency_sum_s",
                      "requests", pname);
    write_provider_states(out, providers);
    write_usage(out, m);
}
