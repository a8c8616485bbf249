/*
 * routes.c - every route of the server, in one table (redis commands.def).
 * Paths are part of the contract (DESIGN.md §6).
 */
#include "api/api.h"

struct api_settings api_settings;

#define SMALL_BODY (16 * 1024)

const struct route api_routes[] = {
    /* operations */
    {"GET", "/healthz", api_healthz, AUTH_NONE, SMALL_BODY, "Liveness and database check"},
    {"GET", "/metrics", api_metrics, AUTH_NONE, SMALL_BODY, "Prometheus metrics"},
    {"GET", "/api/v1/openapi.json", api_openapi, AUTH_NONE, SMALL_BODY,
     "This API's OpenAPI 3 document"},
    {"POST", "/api/v1/test-clock", api_test_clock, AUTH_USER, SMALL_BODY,
     "Move the test server's clock forward and run due jobs (--test-clock only)"},

    /* accounts */
    {"POST", "/api/v1/auth/register", api_register, AUTH_NONE, SMALL_BODY, "Register a member"},
    {"POST", "/api/v1/auth/login", api_login, AUTH_NONE, SMALL_BODY, "Log in"},
    {"POST", "/api/v1/auth/logout", api_logout, AUTH_USER, SMALL_BODY, "Log out this session"},
    {"GET", "/api/v1/me", api_me, AUTH_USER, SMALL_BODY, "The logged-in member"},
    {"PUT", "/api/v1/me/interests", api_me_interests, AUTH_USER, 0,
     "Replace the member's declared interests"},

    /* shops */
    {"POST", "/api/v1/shops", api_shop_create, AUTH_USER, 0, "Open a shop (caller becomes owner)"},
    {"GET", "/api/v1/shops/{id}", api_shop_get, AUTH_OPTIONAL, SMALL_BODY, "A shop's profile"},
    {"PATCH", "/api/v1/shops/{id}", api_shop_patch, AUTH_USER, 0,
     "Change a shop's profile and settings (owner or staff)"},
    {"GET", "/api/v1/shops/{id}/staff", api_shop_staff_list, AUTH_USER, SMALL_BODY,
     "Who runs the shop (owner or staff)"},
    {"POST", "/api/v1/shops/{id}/staff", api_shop_staff_add, AUTH_USER, SMALL_BODY,
     "Add a staff member (owner)"},
    {"DELETE", "/api/v1/shops/{id}/staff/{user_id}", api_shop_staff_remove, AUTH_USER, SMALL_BODY,
     "Remove a staff member (owner)"},
};

const size_t api_routes_len = sizeof api_routes / sizeof api_routes[0];
