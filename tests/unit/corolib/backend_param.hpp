// Test suites parameterised by the backend the binary was linked with, so
// every test is named <Suite>.<Test>/<backend> and can be selected per backend.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "corolib/coroutine.hpp"

class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { ASSERT_EQ(GetParam(), corolib::backend_name()); }
};

#define COROLIB_INSTANTIATE_FOR_BACKEND(Suite)                                            \
  INSTANTIATE_TEST_SUITE_P(, Suite, ::testing::Values(std::string(COROLIB_TEST_BACKEND)), \
                           [](const auto& info) { return info.param; })
