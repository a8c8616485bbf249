/*
 * routes.c - every route of the server, in one table (redis commands.def).
 * Paths are part of the contract (DESIGN.md §6).
 *
 * Columns: method, path pattern, handler, authentication, body limit in bytes
 * (0: the configured default), summary (also the OpenAPI summary), whether
 * the body is raw bytes rather than JSON, and who may call it: the access
 * check against the object its first {id} names (router.h; none: anyone
 * authenticated as the route says).
 */
#include "api/api.h"

struct api_settings api_settings;

#define SMALL_BODY (16 * 1024)
#define IMAGE_BODY (2 * 1024 * 1024)
#define JSON false
#define RAW true
/* no check beyond authentication: each caller sees what is theirs (or everyone's) */
#define ANYONE ACCESS_ANYONE, OBJECT_NONE

const struct route api_routes[] = {
    /* operations */
    {"GET", "/healthz", api_healthz, AUTH_NONE, SMALL_BODY, "Liveness and database check", JSON,
     ANYONE},
    {"GET", "/metrics", api_metrics, AUTH_NONE, SMALL_BODY,
     "Prometheus metrics (with metrics_token set: only for that bearer token)", JSON, ANYONE},
    {"GET", "/api/v1/openapi.json", api_openapi, AUTH_NONE, SMALL_BODY,
     "This API's OpenAPI 3 document", JSON, ANYONE},
    {"POST", "/api/v1/test-clock", api_test_clock, AUTH_USER, SMALL_BODY,
     "Move the test server's clock forward and run due jobs (--test-clock only)", JSON, ANYONE},

    /* accounts */
    {"POST", "/api/v1/auth/register", api_register, AUTH_NONE, SMALL_BODY, "Register a member",
     JSON, ANYONE},
    {"POST", "/api/v1/auth/login", api_login, AUTH_NONE, SMALL_BODY, "Log in", JSON, ANYONE},
    {"POST", "/api/v1/auth/logout", api_logout, AUTH_USER, SMALL_BODY, "Log out this session", JSON,
     ANYONE},
    {"GET", "/api/v1/me", api_me, AUTH_USER, SMALL_BODY, "The logged-in member", JSON, ANYONE},
    {"PUT", "/api/v1/me/interests", api_me_interests, AUTH_USER, 0,
     "Replace the member's declared interests", JSON, ANYONE},

    /* shops */
    {"POST", "/api/v1/shops", api_shop_create, AUTH_USER, 0, "Open a shop (caller becomes owner)",
     JSON, ANYONE},
    {"GET", "/api/v1/shops/{id}", api_shop_get, AUTH_OPTIONAL, SMALL_BODY, "A shop's profile", JSON,
     ANYONE},
    {"PATCH", "/api/v1/shops/{id}", api_shop_patch, AUTH_USER, 0,
     "Change a shop's profile and settings (owner or staff)", JSON, ACCESS_RUNNER, OBJECT_SHOP},
    {"GET", "/api/v1/shops/{id}/staff", api_shop_staff_list, AUTH_USER, SMALL_BODY,
     "Who runs the shop (owner or staff)", JSON, ACCESS_RUNNER, OBJECT_SHOP},
    {"POST", "/api/v1/shops/{id}/staff", api_shop_staff_add, AUTH_USER, SMALL_BODY,
     "Add a staff member (owner)", JSON, ACCESS_OWNER, OBJECT_SHOP},
    {"DELETE", "/api/v1/shops/{id}/staff/{user_id}", api_shop_staff_remove, AUTH_USER, SMALL_BODY,
     "Remove a staff member (owner)", JSON, ACCESS_OWNER, OBJECT_SHOP},

    /* catalogue */
    {"GET", "/api/v1/tags", api_tags_vocab, AUTH_NONE, SMALL_BODY,
     "The interest tag vocabulary (canonical name and English alias)", JSON, ANYONE},
    {"POST", "/api/v1/shops/{id}/products", api_product_create, AUTH_USER, 0,
     "Add a product (owner or staff)", JSON, ACCESS_RUNNER, OBJECT_SHOP},
    {"GET", "/api/v1/shops/{id}/products", api_product_list, AUTH_OPTIONAL, SMALL_BODY,
     "A shop's products, newest first (?limit, ?cursor, ?tag; ?status for owner or staff)", JSON,
     ANYONE},
    {"GET", "/api/v1/products/{id}", api_product_get, AUTH_OPTIONAL, SMALL_BODY, "A product", JSON,
     ANYONE},
    {"PATCH", "/api/v1/products/{id}", api_product_patch, AUTH_USER, 0,
     "Change a product (owner or staff)", JSON, ACCESS_RUNNER, OBJECT_PRODUCT},
    {"POST", "/api/v1/products/{id}/images", api_product_image_add, AUTH_USER, IMAGE_BODY,
     "Add an image: the PNG, JPEG or WebP file is the body (owner or staff)", RAW, ACCESS_RUNNER,
     OBJECT_PRODUCT},
    {"DELETE", "/api/v1/products/{id}/images/{image_id}", api_product_image_remove, AUTH_USER,
     SMALL_BODY, "Remove an image (owner or staff)", JSON, ACCESS_RUNNER, OBJECT_PRODUCT},
    {"GET", "/images/{file}", api_image_get, AUTH_NONE, SMALL_BODY,
     "An image file (cached for a year: names are content hashes)", JSON, ANYONE},

    /* circles */
    {"POST", "/api/v1/shops/{id}/circles", api_circle_create, AUTH_USER, SMALL_BODY,
     "Open a circle (owner or staff; the caller becomes its owner)", JSON, ACCESS_RUNNER,
     OBJECT_SHOP},
    {"GET", "/api/v1/shops/{id}/circles", api_circle_list, AUTH_USER, SMALL_BODY,
     "A shop's circles (owner or staff)", JSON, ACCESS_RUNNER, OBJECT_SHOP},
    {"GET", "/api/v1/circles/{id}", api_circle_get, AUTH_USER, SMALL_BODY,
     "A circle (its members, or who runs the shop)", JSON, ACCESS_CIRCLE, OBJECT_CIRCLE},
    {"PATCH", "/api/v1/circles/{id}", api_circle_patch, AUTH_USER, SMALL_BODY,
     "Change a circle (owner or staff)", JSON, ACCESS_RUNNER, OBJECT_CIRCLE},
    {"POST", "/api/v1/circles/{id}/invite-code", api_circle_rotate_code, AUTH_USER, SMALL_BODY,
     "Replace the invite code (owner, staff, circle owner or admin)", JSON, ACCESS_CIRCLE_ADMIN,
     OBJECT_CIRCLE},
    {"POST", "/api/v1/circles/join", api_circle_join, AUTH_USER, SMALL_BODY,
     "Join a circle with its invite code", JSON, ANYONE},
    {"POST", "/api/v1/circles/{id}/leave", api_circle_leave, AUTH_USER, SMALL_BODY,
     "Leave a circle", JSON, ACCESS_CIRCLE, OBJECT_CIRCLE},
    {"GET", "/api/v1/circles/{id}/members", api_circle_members, AUTH_USER, SMALL_BODY,
     "A circle's members (?limit, ?cursor)", JSON, ACCESS_CIRCLE, OBJECT_CIRCLE},
    {"PATCH", "/api/v1/circles/{id}/members/{user_id}", api_circle_member_patch, AUTH_USER,
     SMALL_BODY, "Make a member admin or member (owner or staff)", JSON, ACCESS_RUNNER,
     OBJECT_CIRCLE},
    {"DELETE", "/api/v1/circles/{id}/members/{user_id}", api_circle_member_remove, AUTH_USER,
     SMALL_BODY, "Remove a member (owner, staff, circle owner or admin)", JSON, ACCESS_CIRCLE_ADMIN,
     OBJECT_CIRCLE},
    {"GET", "/api/v1/me/circles", api_me_circles, AUTH_USER, SMALL_BODY,
     "The circles the member is in, in every shop", JSON, ANYONE},

    /* contacts */
    {"POST", "/api/v1/me/contacts", api_contact_request, AUTH_USER, SMALL_BODY,
     "Ask a member to be contacts (accepts at once if they asked first)", JSON, ANYONE},
    {"POST", "/api/v1/me/contacts/{user_id}/accept", api_contact_accept, AUTH_USER, SMALL_BODY,
     "Accept a contact request", JSON, ACCESS_SELF, OBJECT_NONE},
    {"DELETE", "/api/v1/me/contacts/{user_id}", api_contact_remove, AUTH_USER, SMALL_BODY,
     "Remove a contact, or decline or withdraw a request", JSON, ACCESS_SELF, OBJECT_NONE},
    {"GET", "/api/v1/me/contacts", api_contact_list, AUTH_USER, SMALL_BODY,
     "The member's contacts and open requests", JSON, ANYONE},

    /* orders */
    {"POST", "/api/v1/orders", api_order_create, AUTH_USER, SMALL_BODY,
     "Order from one shop (header Idempotency-Key required)", JSON, ANYONE},
    {"GET", "/api/v1/orders/{id}", api_order_get, AUTH_USER, SMALL_BODY,
     "An order with its timeline (its buyer, or who runs the shop)", JSON, ACCESS_PARTY,
     OBJECT_ORDER},
    {"GET", "/api/v1/me/orders", api_me_orders, AUTH_USER, SMALL_BODY,
     "The member's orders (?status, ?limit, ?cursor)", JSON, ANYONE},
    {"GET", "/api/v1/shops/{id}/orders", api_shop_orders, AUTH_USER, SMALL_BODY,
     "A shop's orders (owner or staff; ?status, ?limit, ?cursor)", JSON, ACCESS_RUNNER,
     OBJECT_SHOP},
    {"POST", "/api/v1/orders/{id}/confirm-payment", api_order_confirm_payment, AUTH_USER,
     SMALL_BODY, "Confirm the buyer's transfer (owner or staff; offline provider)", JSON,
     ACCESS_RUNNER_IN_TX, OBJECT_ORDER},
    {"POST", "/api/v1/orders/{id}/ship", api_order_ship, AUTH_USER, SMALL_BODY,
     "Ship with carrier and tracking number (owner or staff)", JSON, ACCESS_RUNNER, OBJECT_ORDER},
    {"POST", "/api/v1/orders/{id}/receive", api_order_receive, AUTH_USER, SMALL_BODY,
     "Confirm receipt (the buyer)", JSON, ACCESS_BUYER, OBJECT_ORDER},
    {"POST", "/api/v1/orders/{id}/cancel", api_order_cancel, AUTH_USER, SMALL_BODY,
     "Cancel an unpaid order (the buyer, owner or staff); stock comes back", JSON, ACCESS_PARTY,
     OBJECT_ORDER},
    {"POST", "/api/v1/orders/{id}/refunds", api_refund_request, AUTH_USER, SMALL_BODY,
     "Ask for a refund of part or all of the order (the buyer)", JSON, ACCESS_BUYER, OBJECT_ORDER},
    {"GET", "/api/v1/shops/{id}/refunds", api_shop_refunds, AUTH_USER, SMALL_BODY,
     "The shop's refunds, newest first, in ?status=requested|approved|rejected|withdrawn "
     "(owner or staff)",
     JSON, ACCESS_RUNNER, OBJECT_SHOP},
    {"POST", "/api/v1/refunds/{id}/withdraw", api_refund_withdraw, AUTH_USER, SMALL_BODY,
     "Withdraw a refund request the shop has not decided yet (the buyer)", JSON, ACCESS_BUYER,
     OBJECT_REFUND},
    {"POST", "/api/v1/refunds/{id}/approve", api_refund_approve, AUTH_USER, SMALL_BODY,
     "Approve a refund (owner or staff)", JSON, ACCESS_RUNNER, OBJECT_REFUND},
    {"POST", "/api/v1/refunds/{id}/reject", api_refund_reject, AUTH_USER, SMALL_BODY,
     "Reject a refund (owner or staff)", JSON, ACCESS_RUNNER, OBJECT_REFUND},

    /* distribution */
    {"POST", "/api/v1/shops/{id}/trials", api_trial_grant, AUTH_USER, SMALL_BODY,
     "Grant a member a free trial of a product (owner or staff); it counts as experience", JSON,
     ACCESS_RUNNER, OBJECT_SHOP},
    {"GET", "/api/v1/shops/{id}/promoter-terms", api_promoter_terms, AUTH_OPTIONAL, SMALL_BODY,
     "What a promoter of the shop earns, and the rules (before applying)", JSON, ANYONE},
    {"POST", "/api/v1/shops/{id}/promoters", api_promoter_apply, AUTH_USER, SMALL_BODY,
     "Apply as promoter ({invite_code?}; needs a delivered order or a trial)", JSON, ANYONE},
    {"GET", "/api/v1/shops/{id}/promoters", api_promoter_list, AUTH_USER, SMALL_BODY,
     "A shop's promoters with their sales (owner or staff)", JSON, ACCESS_RUNNER, OBJECT_SHOP},
    {"POST", "/api/v1/promoters/{id}/approve", api_promoter_approve, AUTH_USER, SMALL_BODY,
     "Approve or reinstate a promoter (owner or staff)", JSON, ACCESS_RUNNER, OBJECT_PROMOTER},
    {"POST", "/api/v1/promoters/{id}/suspend", api_promoter_suspend, AUTH_USER, SMALL_BODY,
     "Suspend a promoter: their links stop attributing (owner or staff)", JSON, ACCESS_RUNNER,
     OBJECT_PROMOTER},
    {"GET", "/api/v1/me/promoter", api_me_promoter, AUTH_USER, SMALL_BODY,
     "The caller as promoter of ?shop_id=: codes, balance, team, customers, rates", JSON, ANYONE},
    {"GET", "/api/v1/s/{token}", api_share_open, AUTH_OPTIONAL, SMALL_BODY,
     "Open a share link: the shop and promoter; binds a logged-in visitor", JSON, ANYONE},
    {"GET", "/api/v1/me/binding", api_me_binding, AUTH_USER, SMALL_BODY,
     "Who the caller is bound to in ?shop_id=, and until when", JSON, ANYONE},
    {"DELETE", "/api/v1/me/binding", api_me_unbind, AUTH_USER, SMALL_BODY,
     "End the caller's binding in ?shop_id=", JSON, ANYONE},
    {"GET", "/api/v1/me/commissions", api_me_commissions, AUTH_USER, SMALL_BODY,
     "The caller's commission (?shop_id, ?limit, ?cursor)", JSON, ANYONE},
    {"GET", "/api/v1/me/balance", api_me_balance, AUTH_USER, SMALL_BODY,
     "The caller's commission balance in ?shop_id=", JSON, ANYONE},
    {"POST", "/api/v1/me/withdrawals", api_withdrawal_request, AUTH_USER, SMALL_BODY,
     "Ask to withdraw available commission {shop_id, amount_fen}", JSON, ANYONE},
    {"GET", "/api/v1/me/withdrawals", api_me_withdrawals, AUTH_USER, SMALL_BODY,
     "The caller's withdrawals in ?shop_id=", JSON, ANYONE},
    {"GET", "/api/v1/shops/{id}/withdrawals", api_shop_withdrawals, AUTH_USER, SMALL_BODY,
     "A shop's withdrawals (owner or staff)", JSON, ACCESS_RUNNER, OBJECT_SHOP},
    {"POST", "/api/v1/withdrawals/{id}/approve", api_withdrawal_approve, AUTH_USER, SMALL_BODY,
     "Approve a withdrawal (owner or staff)", JSON, ACCESS_RUNNER, OBJECT_WITHDRAWAL},
    {"POST", "/api/v1/withdrawals/{id}/pay", api_withdrawal_pay, AUTH_USER, SMALL_BODY,
     "Record the transfer that paid a withdrawal {reference} (owner or staff)", JSON, ACCESS_RUNNER,
     OBJECT_WITHDRAWAL},
    {"POST", "/api/v1/withdrawals/{id}/reject", api_withdrawal_reject, AUTH_USER, SMALL_BODY,
     "Reject a withdrawal {note?}; the money returns to available (owner or staff)", JSON,
     ACCESS_RUNNER, OBJECT_WITHDRAWAL},
    {"GET", "/api/v1/shops/{id}/ledger", api_shop_ledger, AUTH_USER, SMALL_BODY,
     "The shop's accounts and ledger transactions (owner or staff)", JSON, ACCESS_RUNNER,
     OBJECT_SHOP},
    {"GET", "/api/v1/shops/{id}/audit", api_shop_audit, AUTH_USER, SMALL_BODY,
     "The compliance audit (owner or staff)", JSON, ACCESS_RUNNER, OBJECT_SHOP},
};

const size_t api_routes_len = sizeof api_routes / sizeof api_routes[0];
