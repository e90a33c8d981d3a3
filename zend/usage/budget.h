/* budget.h -- GoZen's `budgets`, enforced (docs/usage.md, "Budgets").
 *
 * Three periods, calendar ones in the machine's local time zone: the day,
 * the ISO week (from Monday 00:00) and the month. For each configured limit
 * (zcfg.budgets: amount and action, globally or per profile with
 * per_project), the tracker keeps the period's spend in memory -- the
 * ledger's sum at start (budget_set_base) plus every request this process
 * records (budget_add) -- so the check per request is a few comparisons.
 * A new period starts from zero on its own (the tracker notices the period
 * start moved).
 *
 *   warn       spend >= amount: one budget_exceeded record (warn) per period
 *              and limit, a health reason; requests are served
 *   downgrade  requests go out one tier cheaper (opus -> sonnet -> haiku,
 *              the provider's tier keys, else the Anthropic defaults);
 *              logged once per period
 *   block      new requests get 429 budget_exceeded in the client's format
 *              with retry-after = seconds until the period resets
 * At 80 % of any amount: one budget_warning record per period and limit.
 *
 * Loop thread only. The clock is an argument everywhere, so tests can move
 * it across midnight, a Monday, a month end and DST changes. */
#ifndef ZEND_BUDGET_H
#define ZEND_BUDGET_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* The share of an amount that logs budget_warning. */
#define BUDGET_WARN_RATIO 0.8

enum budget_period { BUDGET_DAY, BUDGET_WEEK, BUDGET_MONTH, BUDGET_N_PERIODS };

/* "daily", "weekly", "monthly" (the config's keys, and Prometheus' label). */
const char *budget_period_name(enum budget_period p);
/* The start of the period holding now_ms, and the start of the next one,
 * in ms since the epoch, by the local time zone (DST-aware: a day may be
 * 23 or 25 hours long). */
int64_t budget_period_start(enum budget_period p, int64_t now_ms);
int64_t budget_period_next(enum budget_period p, int64_t now_ms);

struct budget_tracker;

struct budget_tracker *budget_new(void);
void budget_free(struct budget_tracker *b);

/* The ledger's sums at start: for each profile (NULL: no profile), its
 * spend since since_ms[period] (the period starts when they were asked
 * for). A base whose period has since ended is ignored. Adds to what the
 * tracker holds (requests recorded before the base arrived stay counted). */
void budget_set_base(struct budget_tracker *b, const int64_t since_ms[BUDGET_N_PERIODS],
                     const char *profile, const double cost_usd[BUDGET_N_PERIODS]);
/* A finished request's cost (unknown costs are not added). */
void budget_add(struct budget_tracker *b, const char *profile, double cost_usd, int64_t now_ms);

enum budget_action_taken { BUDGET_SERVE, BUDGET_DOWNGRADE, BUDGET_BLOCK };

struct budget_verdict {
    enum budget_action_taken action;  /* the strongest action of every exceeded limit */
    enum budget_period period;        /* DOWNGRADE/BLOCK: the limit that decided it */
    double spend, amount;             /* ... its spend and amount */
    int64_t reset_ms;                 /* ... when its period ends (epoch ms) */
};
/* Checks a new request of `profile` against cfg's budgets at now_ms; logs
 * budget_warning / budget_exceeded (and the downgrade) once per period and
 * limit as thresholds are crossed. */
void budget_check(struct budget_tracker *b, const struct zcfg *cfg, const char *profile,
                  int64_t now_ms, struct budget_verdict *out);

/* The model a downgraded request sends to provider p: one tier below
 * `model` (opus -> sonnet -> haiku; p's sonnet_model / haiku_model, else
 * claude-sonnet-4-5 / claude-haiku-4-5), or NULL when model is already the
 * cheapest tier or no tier is known. Points into p or static storage. */
const char *budget_downgrade_model(const struct zcfg_provider *p, const char *model);

/* The 429 message: "daily budget of $10.00 exceeded: $10.42 spent; resets
 * at 2026-12-03 00:00 (in 5h 12m)". */
void budget_message(const struct budget_verdict *v, int64_t now_ms, char *out, size_t outlen);

/* The usage.budget RPC result (proto/PROTOCOL.md): one entry per configured
 * limit (per profile of cfg when per_project): period, profile, amount,
 * spend, percent, action, state (ok/warning/exceeded), resets_at_ms. */
json_t *budget_report(struct budget_tracker *b, const struct zcfg *cfg, int64_t now_ms);
/* The global spend of each period right now (zend_budget_spend_usd). */
void budget_spend_now(struct budget_tracker *b, int64_t now_ms,
                      double out[BUDGET_N_PERIODS]);
/* Health's reasons: one "budget: daily spend $10.42 of $10.00 (block)" line
 * per limit at or above its amount; appends strings to reasons. */
void budget_health_reasons(struct budget_tracker *b, const struct zcfg *cfg, int64_t now_ms,
                           json_t *reasons);

#endif
