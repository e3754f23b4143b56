// The handler of Boost's assertions in builds that keep them (Debug, the sanitizer and fuzz
// builds define BOOST_ENABLE_ASSERT_DEBUG_HANDLER; release builds compile them out).
//
// It aborts like assert() does, with one exception: Boost 1.74's Beast asserts `n >= 5` when
// it resumes the last chunk of a chunked body, yet a client that sends "0\r\n" and then one
// more byte reaches that point with 4 bytes, and the code after the assertion reads them
// correctly (release builds parse such a request). Without this exception a slow client could
// stop a Debug or sanitizer server. tests/http/server_hardening_test.cc trickles that request.
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace boost {

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  const char* beast_parser = "boost/beast/http/impl/basic_parser.ipp";
  size_t file_len = std::strlen(file), suffix_len = std::strlen(beast_parser);
  if (std::strcmp(expr, "n >= 5") == 0 && file_len >= suffix_len &&
      std::strcmp(file + file_len - suffix_len, beast_parser) == 0) {
    return;
  }
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed.\n", file, line, function, expr);
  std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file,
                          long line) {
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed: %s\n", file, line, function, expr, msg);
  std::abort();
}

}  // namespace boost
