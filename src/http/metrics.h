/*
 * metrics.h - request counters and latency histograms per route, rendered
 * in the Prometheus text format (version 0.0.4) for GET /metrics.
 * Lock-free: relaxed atomics only.
 */
#ifndef QUANZI_HTTP_METRICS_H
#define QUANZI_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "http/router.h"
#include "util/buf.h"

/* `routes` must outlive the metrics; two extra slots count unmatched paths and the web
 * front end's files (route_idx METRICS_WEB). */
#define METRICS_WEB (-3)
void metrics_init(const struct route *routes, size_t n);
void metrics_release(void);
void metrics_observe(int route_idx, int status, int64_t duration_us);
void metrics_render(struct buf *out, struct db *db);

#endif
