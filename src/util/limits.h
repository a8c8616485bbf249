/*
 * limits.h - every hard limit of quanzi in one place.
 * Related limits are tied together with static assertions.
 */
#ifndef QUANZI_UTIL_LIMITS_H
#define QUANZI_UTIL_LIMITS_H

/* HTTP */
#define LIMIT_BODY_BYTES (1024 * 1024)         /* default request body cap */
#define LIMIT_BODY_BYTES_MAX (4 * 1024 * 1024) /* highest value the config accepts */
#define LIMIT_DISCARD_BYTES (8 * 1024 * 1024)  /* read and dropped past a body limit */
#define LIMIT_ARENA_BYTES (8 * 1024 * 1024)    /* per-request memory */
#define LIMIT_JSON_DEPTH 32
#define LIMIT_PAGE_SIZE 100
#define LIMIT_CONNECTIONS 1024
#define LIMIT_CONNECTIONS_PER_IP 256
#define LIMIT_CONNECTION_MEMORY (16 * 1024) /* MHD per-connection buffer; caps headers */
#define LIMIT_CONNECTION_TIMEOUT_S 30
#define LIMIT_PATH_SEGMENTS 8

/* accounts */
#define LIMIT_LOGIN_BYTES 254
#define LIMIT_PASSWORD_MIN_CHARS 8
#define LIMIT_PASSWORD_MAX_BYTES 256
#define LIMIT_NAME_CHARS 32
#define LIMIT_TAGS 50
#define LIMIT_TAG_CHARS 20
#define LIMIT_LOGIN_FAILS_PER_ACCOUNT 5 /* per window */
#define LIMIT_LOGIN_FAILS_PER_IP 30     /* per window */
#define LIMIT_LOGIN_WINDOW_MS (15 * 60 * 1000)

/* shops */
#define LIMIT_SHOP_NAME_CHARS 40
#define LIMIT_SLUG_MIN 3
#define LIMIT_SLUG_MAX 40
#define LIMIT_STORY_CHARS 2000
#define LIMIT_STAFF_PER_SHOP 20

/* money and rates */
#define PLATFORM_MAX_COMMISSION_BPS 3000 /* l1 + l2 never above 30% */

/* circles (used by the circles issue) */
#define LIMIT_CIRCLE_CAPACITY 500 /* a chat group's size: small circles stay trusted */
#define LIMIT_CIRCLES_PER_SHOP 200
#define LIMIT_CONTACTS 5000 /* per member, pending included */

_Static_assert(LIMIT_BODY_BYTES <= LIMIT_BODY_BYTES_MAX, "body cap within its maximum");
_Static_assert(LIMIT_BODY_BYTES * 4 <= LIMIT_ARENA_BYTES,
               "arena holds a default body and its parse");
_Static_assert(LIMIT_BODY_BYTES_MAX < LIMIT_ARENA_BYTES, "arena holds the largest body");
_Static_assert(LIMIT_CONNECTIONS_PER_IP <= LIMIT_CONNECTIONS, "per-ip within total");
_Static_assert(LIMIT_LOGIN_FAILS_PER_ACCOUNT < LIMIT_LOGIN_FAILS_PER_IP, "ip limit is wider");
_Static_assert(LIMIT_PASSWORD_MIN_CHARS * 4 < LIMIT_PASSWORD_MAX_BYTES, "password bounds");

#endif
