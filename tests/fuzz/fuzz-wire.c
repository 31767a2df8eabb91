/* SPDX-License-Identifier: MIT */
/* Fuzz the wire: line framing, then each line as an envelope, as a hub reply line and as a
 * JSON-RPC message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "proto/jsonrpc.h"
#include "proto/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *p = (const char *)data;
        size_t left = size;

        while (left > 0) {
                long n = wire_find_line(p, left, 4096);
                cJSON *j;
                struct wire_envelope e;

                if (n == 0 || n < 0)
                        break;
                if ((size_t)n > left)
                        abort();
                j = cJSON_ParseWithLength(p, (size_t)n - 1);
                if (j) {
                        if (wire_envelope_from_json(j, &e) == 0) {
                                cJSON *again = wire_envelope_to_json(&e);
                                struct wire_envelope e2;
                                if (!again || wire_envelope_from_json(again, &e2) != 0 ||
                                    e2.op != e.op || strcmp(e2.client, e.client) != 0)
                                        abort();
                                cJSON_Delete(again);
                        }
                        const char *t = json_get_string(j, "t");
                        enum wire_reply k = wire_reply_from_string(t);
                        if (k >= 0 && strcmp(wire_reply_to_string(k), t) != 0)
                                abort();
                        (void)jsonrpc_classify(j);
                        cJSON_Delete(j);
                }
                p += n;
                left -= (size_t)n;
        }
        return 0;
}
