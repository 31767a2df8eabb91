/* SPDX-License-Identifier: MIT */
/* mcp-header: 2026-07-28 header values, encoded for an upstream and decoded back. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "proto/mcp-header.h"

static void round_trip(const char *value, const char *want_encoded)
{
        char *enc = NULL, *dec = NULL;

        ASSERT_EQ(mcp_header_value_encode(value, &enc), 0);
        ASSERT_STREQ(enc, want_encoded);
        ASSERT_EQ(mcp_header_value_decode(enc, strlen(enc), &dec), 0);
        ASSERT_STREQ(dec, value);
        free(enc);
        free(dec);
}

TEST(literal)
{
        round_trip("echo", "echo");
        round_trip("a tool", "a tool");
        round_trip("modern://greeting", "modern://greeting");
        round_trip("", "");
}

TEST(base64)
{
        round_trip(" lead", "=?base64?IGxlYWQ=?=");
        round_trip("trail ", "=?base64?dHJhaWwg?=");
        round_trip("caf\xc3\xa9", "=?base64?Y2Fmw6k=?=");
        round_trip("=?base64?x?=", "=?base64?PT9iYXNlNjQ/eD89?=");
        round_trip("a\r\nb", "=?base64?YQ0KYg==?=");
}
HARNESS_MAIN()
