// Precompiled for every test file (see the Makefile): each of them starts
// with gtest, whose headers cost a third of a test file's compile time.
// No include guard: it is only ever included first, by -include.

#include <gtest/gtest.h>
