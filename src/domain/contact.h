/*
 * contact.h - contacts (好友): mutual connections between two members.
 *
 * Owns the contacts table: one row per pair (lower id first), pending until
 * the member who did not ask accepts. Asking someone who already asked you
 * accepts at once. Contacts are shared between shops (they belong to the
 * members); a member has at most LIMIT_CONTACTS, pending included.
 */
#ifndef QUANZI_DOMAIN_CONTACT_H
#define QUANZI_DOMAIN_CONTACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/arena.h"
#include "util/err.h"

enum contact_state { CONTACT_ACCEPTED, CONTACT_INCOMING, CONTACT_OUTGOING };

struct contact {
    int64_t user_id;
    const char *display_name;
    enum contact_state state;
    int64_t since_ms; /* accepted, or asked */
};

const char *contact_state_name(enum contact_state s);

/* Asks `other`; *state is OUTGOING, or ACCEPTED when they had asked first.
 * Errors: ERR_INVALID (yourself), ERR_NOT_FOUND, ERR_ALREADY_CONTACT, ERR_CONFLICT (full). */
MUST_CHECK enum err contact_request(struct db *db, int64_t me, int64_t other,
                                    enum contact_state *state, struct errinfo *ei);
/* Accepts a request from `other`; ERR_NOT_FOUND when there is none. */
MUST_CHECK enum err contact_accept(struct db *db, int64_t me, int64_t other, struct errinfo *ei);
/* Removes a contact, or declines / withdraws a request; ERR_NOT_FOUND when none. */
MUST_CHECK enum err contact_remove(struct db *db, int64_t me, int64_t other);
/* A page of everyone connected to `me` (contacts and requests both ways, each with its
 * state), by user id after `after_user_id`: at most `limit`, *more when there are more. */
MUST_CHECK enum err contact_list(struct db *db, int64_t me, int64_t after_user_id, int64_t limit,
                                 struct arena *a, struct contact **out, size_t *n, bool *more);

#endif
