#include "test_helpers.h"

#include <sys/wait.h>

#include <csignal>

#include <array>
#include <cstdio>

namespace simkyc::test {

// The tests write to servers that may close a connection early (413, 408: issue 16): EPIPE, not death.
[[maybe_unused]] const bool kSigpipeIgnored = (std::signal(SIGPIPE, SIG_IGN), true);

Run run(const std::string& cmd) {
  Run r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace simkyc::test
