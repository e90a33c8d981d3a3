#!/bin/sh
# Runs the real zend ($ZEND_REAL_BIN) under valgrind memcheck for the
# integration tests: any memory error or definite/indirect leak makes zend
# exit 99, which the tests' clean-shutdown check turns into a failure.
# Forked workers are checked too (valgrind follows fork).
# --fair-sched: valgrind runs one thread at a time; without it the usage
# ledger's writer thread (SQLite, slow under valgrind) can hold the event
# loop off long enough to skew the streaming tests' timings.
exec valgrind -q --error-exitcode=99 --leak-check=full --fair-sched=yes \
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
    "${ZEND_REAL_BIN:?set ZEND_REAL_BIN to the zend binary}" "$@"
