#!/usr/bin/env bash
# make soak, for 60 s (tests/soak/soak.sh): every fault kind, two hub restarts, 16 clients,
# 1,000 idle and 100 slow-loris connections; 0 requests unanswered, 0 processes of the run
# left after the stop, 0 sanitizer reports. The table is in this test's log.
export SOAK_SECONDS=60 SOAK_HUB_EVERY=20 SOAK_TABLE=/dev/null
exec bash "$(dirname "$0")/../soak/soak.sh"
