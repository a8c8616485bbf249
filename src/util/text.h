/*
 * text.h - small string helpers: UTF-8 counting and checks, trimming,
 * hex encoding. Inputs are NUL-terminated UTF-8 unless a length is given.
 */
#ifndef QUANZI_UTIL_TEXT_H
#define QUANZI_UTIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Number of code points, or -1 when `s` is not valid UTF-8. */
long text_utf8_chars(const char *s, size_t len);
/* Makes a NUL-terminated string valid UTF-8 in place: a multi-byte character cut
 * short at the end (by truncation) is dropped, any other invalid byte becomes '?'. */
void text_utf8_repair(char *s);
/* True when `s` has a C0/C1 control character or DEL (tab and newline too). */
bool text_has_control(const char *s, size_t len);
/* Like text_has_control() but allows '\n' and '\t' (multi-line text). */
bool text_has_control_but_newline(const char *s, size_t len);
/* Returns the slice of `s` without leading/trailing ASCII white space. */
void text_trim(const char **s, size_t *len);
/* Lower-case hex of `n` bytes into out (2n+1 bytes). */
void text_hex(const unsigned char *in, size_t n, char *out);
/* Parses a whole decimal string into a positive int64; false when not one. */
bool text_parse_id(const char *s, size_t len, int64_t *out);
/* Parses a whole decimal string (optionally signed) into int64 within bounds. */
bool text_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

#endif
