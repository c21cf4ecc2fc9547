// util::shell_quote: what /bin/sh reads back from a quoted word is the original string.
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "nosync/util/shell.h"

namespace nosync::util {
namespace {

// Runs `printf %s WORD` through /bin/sh and returns what it printed.
std::string echo_through_shell(const std::string& word) {
  FILE* pipe = popen(("printf %s " + word).c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string out;
  char buf[256];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(pipe), 0);
  return out;
}

TEST(ShellQuote, ShellReadsBackTheOriginalString) {
  for (const std::string s : {"plain", "with space", "it's", "''", "$HOME `id` $(id) \\n \"x\"", "a;b|c&d>e",
                              "*?[]", "-n", "tab\there", "trailing'"}) {
    EXPECT_EQ(echo_through_shell(shell_quote(s)), s) << "quoted as " << shell_quote(s);
  }
}

TEST(ShellQuote, EmptyStringIsOneEmptyWord) {
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(echo_through_shell(shell_quote("") + " " + shell_quote("x")), "x");
}

}  // namespace
}  // namespace nosync::util
